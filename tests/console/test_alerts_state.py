"""The evaluator's state file read by the console: consumer.alerting.reader over a file a real evaluation wrote
(the evaluator's own sink and store), read-only without blocking the evaluator, and `consumer serve`'s /api/alerts
from `[console] alerts_state`."""

import json
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from consumer.alerting.reader import StateUnavailable, open_readonly, read_state
from consumer.alerting.seam import silences
from consumer.alerting.store import open_state
from tests.alerting.helpers import events
from tests.console.pipeline import ROOT, free_port
from tests.console.support import NS, Evaluation, event, sqlite_index
from tests.support.polling import poll_until

RULE = """
[[rules]]
name = "payment-errors"
type = "threshold"
match = "level:error payment"
group_by = ["service"]
window = "1m"
threshold = 3
severity = "critical"
"""
DAY = 86_400.0


@pytest.fixture
def evaluation(tmp_path: Path) -> Iterator[Evaluation]:
    made = Evaluation(tmp_path, RULE)
    now = time.time_ns()
    # one event a batch, as a stream of lines arrives (see the report: a batch of several at once is undecided)
    for item in events([now - (5 - i) * NS for i in range(5)], service="billing", body="payment failed"):
        made.write([item])
    try:
        yield made
    finally:
        made.close()


def test_the_reader_shows_the_firing_alert_with_its_group_count_and_silences(evaluation: Evaluation) -> None:
    snapshot = read_state(str(evaluation.path), DAY)
    assert [(a.key.rule, a.state.value, a.key.group, a.count, a.late) for a in snapshot.alerts] == [
        ("payment-errors", "firing", (("service", "billing"),), 3, False)]  # the count when it fired
    assert snapshot.counts() == {"pending": 0, "firing": 1, "resolved": 0}
    assert snapshot.silences == []
    alert = snapshot.alerts[0]
    assert alert.search.startswith('level:error payment service:billing --since ')
    # a silence added by the notifier's own code (what `alert silence` runs)
    writer = open_state(str(evaluation.path))
    try:
        writer.execute("BEGIN IMMEDIATE")
        added = silences().add(writer, "payment-errors", {"service": "billing"}, time.time() + 3600, "deploying")
        writer.execute("COMMIT")
    finally:
        writer.close()
    shown = read_state(str(evaluation.path), DAY)
    assert [(s.id, s.rule, s.matchers, s.comment) for s in shown.silences] == [
        (added, "payment-errors", {"service": "billing"}, "deploying")]
    assert shown.silences[0].mutes(shown.alerts[0])


def test_a_read_only_reader_never_blocks_the_evaluators_writes(evaluation: Evaluation) -> None:
    reader = open_readonly(str(evaluation.path))
    try:
        reader.execute("BEGIN")
        (before,) = reader.execute("SELECT count(*) FROM alerts").fetchone()
        # while the read transaction is open, the evaluator records another group's alert...
        now = time.time_ns()
        for item in events([now - (3 - i) * NS for i in range(3)], service="api", body="payment failed", start=10):
            evaluation.write([item])
        # ...and a writer that would not wait one moment (busy timeout 0) commits too
        impatient = sqlite3.connect(evaluation.path, timeout=0, isolation_level=None)
        impatient.execute("BEGIN IMMEDIATE")
        impatient.execute("INSERT INTO meta (key, value) VALUES ('console-test', '1')")
        impatient.execute("COMMIT")
        impatient.close()
        (during,) = reader.execute("SELECT count(*) FROM alerts").fetchone()
        reader.execute("COMMIT")
        (after,) = reader.execute("SELECT count(*) FROM alerts").fetchone()
        assert (before, during, after) == (1, 1, 2)  # the reader's snapshot, then the new state
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            reader.execute("DELETE FROM alerts")
    finally:
        reader.close()
    assert sorted(a.key.group_text for a in read_state(str(evaluation.path), DAY).alerts) == [
        "service=api", "service=billing"]


def test_a_missing_or_foreign_file_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(StateUnavailable, match="does not exist"):
        read_state(str(tmp_path / "absent.db"), DAY)
    index = sqlite_index(tmp_path)  # the index's database is not the evaluator's
    index.close()
    with pytest.raises(StateUnavailable, match="is not an alert state file"):
        read_state(str(tmp_path / "logs.db"), DAY)
    assert not (tmp_path / "absent.db").exists()  # read-only: nothing created


def _get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture
def served(evaluation: Evaluation, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    index = sqlite_index(tmp_path)
    index.write([event(0, at_ns=time.time_ns() - NS, body="payment failed", service="billing", level=("ERROR", 17)),
                 event(1, at_ns=time.time_ns() - NS, body="payment failed", service="api", level=("ERROR", 17))])
    index.close()
    config = tmp_path / "consumer.toml"
    config.write_text(f'[kafka]\ntopics = ["console-test"]\n\n[sink]\ntype = "sqlite"\npath = "{tmp_path / "logs.db"}"\n'
                      f'\n[console]\nalerts_state = "{evaluation.path}"\n')
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "consumer", "serve", "--config", str(config), "--listen",
                                f"127.0.0.1:{port}"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        poll_until(lambda: _get(f"{base}/api/health")[0], lambda status: status == 200, deadline=60,
                   what="serve to answer", transient=(OSError,), interval=0.2)
        yield base, config
    finally:
        process.kill()
        process.communicate(timeout=30)


def test_serve_answers_the_alerts_of_its_configured_state_file(served: tuple[str, Path], evaluation: Evaluation) -> None:
    base, _config = served
    status, _headers, body = _get(f"{base}/api/alerts")
    assert status == 200
    answer = json.loads(body)
    assert answer["available"] is True and answer["counts"] == {"pending": 0, "firing": 1, "resolved": 0}
    (alert,) = answer["alerts"]
    assert (alert["rule"], alert["state"], alert["group_text"], alert["count"], alert["late"], alert["severity"]) == (
        "payment-errors", "firing", "service=billing", 3, False, "critical")
    assert alert["query"] == "level:error payment service:billing" and alert["since"] and alert["until"] == ""
    # the alert's search, as the page runs it, finds the indexed line
    found = json.loads(_get(f"{base}/api/search?" + urllib.parse.urlencode(
        {"q": alert["query"], "since": alert["since"]}))[2])
    assert [e["body"] for e in found["events"]] == ["payment failed"]


def test_without_the_state_file_the_panel_says_why(tmp_path: Path) -> None:
    config = tmp_path / "consumer.toml"
    config.write_text(f'[kafka]\ntopics = ["console-test"]\n\n[sink]\ntype = "sqlite"\npath = "{tmp_path / "logs.db"}"\n'
                      f'\n[console]\nalerts_state = "{tmp_path / "not-yet.db"}"\n')
    from consumer.config import load_config
    from consumer.console.api import alerts

    answer = alerts(load_config(config))
    assert answer["available"] is False and "does not exist" in answer["reason"]
    assert not (tmp_path / "not-yet.db").exists()
    bare = tmp_path / "bare.toml"
    bare.write_text('[kafka]\ntopics = ["console-test"]\n')
    assert "alerts_state" in alerts(load_config(bare))["reason"]
