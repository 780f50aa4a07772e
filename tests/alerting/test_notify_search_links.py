"""The link and the command a notification gives to the matching events, from the evaluator's `search` text
(`<query> --since <time> [--until <time>]`): the console's q/since/until parameters, or a `consumer search` line a
shell runs as is."""

import shlex
import urllib.parse

from consumer.alerting.model import split_search
from consumer.alerting.notify.receivers.base import NotifiedAlert
from tests.support.notify import alert


def test_split_search_takes_the_times_off_the_query() -> None:
    assert split_search('level:error service:"billing api" --since 2030-01-15T08:00:00Z --until 2030-01-15T08:05:00Z') == (
        'level:error service:"billing api"', "2030-01-15T08:00:00Z", "2030-01-15T08:05:00Z")
    assert split_search("--since 2030-01-15T08:00:00Z") == ("", "2030-01-15T08:00:00Z", "")
    assert split_search("exit code") == ("exit code", "", "")


def test_the_link_and_the_command_carry_the_query_and_its_range() -> None:
    base = alert("job-failed")
    shown = NotifiedAlert.of(base)
    shown = NotifiedAlert(**{**shown.__dict__, "search": "\"exit code\" host:web1 'x' --since 2030-01-15T08:00:00Z "
                                                            "--until 2030-01-15T09:00:00Z"})
    url = urllib.parse.urlsplit(shown.search_url("https://logs.example.test/"))
    assert (url.scheme, url.netloc, url.path) == ("https", "logs.example.test", "/")
    assert urllib.parse.parse_qs(url.query) == {"q": ["\"exit code\" host:web1 'x'"], "since": ["2030-01-15T08:00:00Z"],
                                                "until": ["2030-01-15T09:00:00Z"]}
    assert shlex.split(shown.search_command()) == ["consumer", "search", "\"exit code\" host:web1 'x'", "--since",
                                                   "2030-01-15T08:00:00Z", "--until", "2030-01-15T09:00:00Z"]
    assert shown.search_url("") == ""


def test_a_huge_event_line_is_cut_in_what_is_notified() -> None:
    shown = NotifiedAlert.of(alert("billing-errors", samples=tuple("x" * 100_000 for _ in range(9))))
    assert len(shown.samples) == 5 and {len(line) for line in shown.samples} == {1000}
