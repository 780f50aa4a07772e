"""`consumer search --histogram` (the text bar chart) and `search --follow` (the terminal's live tail) on a SQLite
index written through the sink."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.console.pipeline import ROOT
from tests.console.support import NS, Index, event, sqlite_index
from tests.support.polling import poll_until

BASE = 1_780_000_000 * NS - (1_780_000_000 * NS) % (3600 * NS)


@pytest.fixture
def index(tmp_path: Path) -> Iterator[Index]:
    made = sqlite_index(tmp_path)
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def config(index: Index, tmp_path: Path) -> Path:
    path = tmp_path / "consumer.toml"
    path.write_text(f'[kafka]\ntopics = ["console-test"]\n\n[sink]\ntype = "sqlite"\npath = "{tmp_path / "logs.db"}"\n')
    return path


def _search(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "consumer", "search", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def test_the_histogram_prints_one_bar_per_interval_with_its_count(index: Index, config: Path) -> None:
    # 3 events in the first 10 minutes, none in the second, 6 (2 of them errors) in the third
    index.write([event(i, at_ns=BASE + i * NS) for i in range(3)]
                + [event(10 + i, at_ns=BASE + 1200 * NS + i * NS, level=("ERROR", 17) if i < 2 else ("INFO", 9))
                   for i in range(6)])
    result = _search("--config", str(config), "--histogram", "--since", "2026-05-28T20:00:00Z",
                     "--until", "2026-05-28T20:30:00Z", "--interval", "10m")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines[:3]] == ["2026-05-28T20:00:00Z", "2026-05-28T20:10:00Z", "2026-05-28T20:20:00Z"]
    assert lines[0].split()[-1] == "3" and lines[1].split()[-1] == "0" and "(2 warn+)" in lines[2]
    assert lines[2].count("#") == 50 and lines[0].count("#") == 25 and "#" not in lines[1]
    assert lines[3] == "9 event(s) in 3 interval(s) of 600 s"
    filtered = _search("--config", str(config), "--histogram", "level:error", "--since", "2026-05-28T20:00:00Z",
                       "--until", "2026-05-28T20:30:00Z", "--interval", "10m", "--json")
    assert '"total":2' in filtered.stdout


def test_bad_histogram_options_are_one_line_and_exit_2(index: Index, config: Path) -> None:
    for args in (["--histogram", "--follow"], ["--interval", "5m"], ["--histogram", "--interval", "soon"],
                 ["--histogram", "--since", "1h", "--interval", "1s", "--until", "2026-05-28T20:00:00Z"]):
        result = _search("--config", str(config), *args)
        assert result.returncode == 2, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr, args


def test_follow_prints_new_matching_events_and_stops_on_sigterm(index: Index, config: Path, tmp_path: Path) -> None:
    now = time.time_ns()
    index.write([event(i, at_ns=now - 60 * NS + i * NS, body=f"old match {i}") for i in range(3)])
    out = tmp_path / "follow.out"
    with open(out, "wb") as handle:
        process = subprocess.Popen([sys.executable, "-m", "consumer", "search", "--config", str(config), "--follow",
                                    "match", "--limit", "2"], cwd=ROOT, stdout=handle, stderr=subprocess.PIPE,
                                   env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        poll_until(out.read_text, lambda text: "old match 2" in text, deadline=60, what="the newest matches")
        index.write([event(100 + i, at_ns=now + i * NS, body=f"{'new match' if i != 1 else 'other'} {i}") for i in range(3)])
        text = poll_until(out.read_text, lambda text: "new match 2" in text, deadline=60, what="the new matches")
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=30)
        assert process.returncode == 0, err
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=30)
    bodies = [line.rsplit(": ", 1)[-1] for line in text.splitlines()]
    assert bodies == ["old match 1", "old match 2", "new match 0", "new match 2"]
