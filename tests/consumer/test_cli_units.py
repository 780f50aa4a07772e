"""Pieces of the command line that need no service: times, durations, levels, FTS query quoting, progress lines."""

import logging

import pytest

from consumer.progress import Progress
from consumer.search import level_number
from consumer.sinks.sqlite_reader_query import fts_query
from consumer.timeargs import parse_time_ns
from logferry.durations import parse_duration
from schemas.timefmt import parse_rfc3339_ns


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("15m", 900), ("2h", 7200), ("7d", 604800), ("PT1H30M", 5400),
                                                ("P1DT2H", 93600), ("P1W", 604800), ("500ms", 0.5),
                                                ("1h30m", 5400), ("1h 30m", 5400), ("1.5s", 1.5)])
def test_durations_in_both_spellings(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "P", "PT", "10 parsecs", "-5m", "5", "s", "1..2s", "5x", "30S"])
def test_not_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_times_absolute_partial_and_relative() -> None:
    assert parse_time_ns("2026-05-01") == parse_rfc3339_ns("2026-05-01T00:00:00Z")
    assert parse_time_ns("2026-05-01T14:00") == parse_rfc3339_ns("2026-05-01T14:00:00Z")
    assert parse_time_ns("2026-05-01T14:00:00+02:00") == parse_rfc3339_ns("2026-05-01T12:00:00Z")
    assert parse_time_ns("15m", now_ns=10**18) == 10**18 - 900 * 10**9


def test_levels_mean_that_level_or_worse() -> None:
    assert [level_number(w) for w in ("trace", "debug", "info", "warn", "WARNING", "error", "fatal", "17")] == [
        1, 5, 9, 13, 13, 17, 21, 17
    ]
    with pytest.raises(ValueError):
        level_number("loud")


def test_search_words_never_become_fts_syntax() -> None:
    assert fts_query('disk-full user:42 "quoted" OR') == '"disk-full" "user:42" """quoted""" "OR"'


def test_progress_as_log_lines(caplog: pytest.LogCaptureFixture) -> None:
    progress = Progress("log", interval=0)
    with caplog.at_level(logging.INFO, logger="consumer.progress"):
        assert progress.due()
        progress.report(1500, 500)
    assert [(r.msg, r.events_done, r.events_left) for r in caplog.records] == [("Progress.", 1500, 500)]  # type: ignore[attr-defined]


def test_progress_as_a_bar_on_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    progress = Progress("bar", interval=0)
    progress.report(1500, 500)
    progress.finish()
    assert capsys.readouterr().err == "\r[######################........] 1,500 events done, 500 left \n"
