"""Pieces of the command line that need no service: times, durations, levels, FTS query quoting, progress lines."""

import logging
import sys

import pytest

from consumer.search import level_number
from consumer.sinks.sqlite_reader_query import fts_query
from consumer.timeargs import parse_time_ns
from logferry.durations import parse_duration
from logferry.progress import Progress
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


def test_progress_as_log_lines_with_rate_and_eta_and_quiet_when_idle(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = iter([100.0, 110.0, 120.0, 130.0])
    monkeypatch.setattr("logferry.progress.time.monotonic", lambda: next(clock))
    progress = Progress("log", interval=0)
    with caplog.at_level(logging.INFO, logger="logferry.progress"):
        progress.report(1500, 500)  # t=100: the first line, no rate yet
        progress.report(2500, 0)  # t=110: 100 events/s, nothing left
        progress.report(2500, 0)  # t=120: idle, quiet
        progress.report(2600, 200)  # t=130: work again
    lines = [(r.events_done, r.events_left, getattr(r, "events_per_s", None), getattr(r, "eta_s", None))  # type: ignore[attr-defined]
             for r in caplog.records]
    assert lines == [(1500, 500, None, None), (2500, 0, 100.0, None), (2600, 200, 10.0, 20)]


def test_progress_bar_is_cleared_before_a_log_line_and_ended_by_finish(capsys: pytest.CaptureFixture[str]) -> None:
    handler = logging.StreamHandler(sys.stderr)
    logging.getLogger().addHandler(handler)
    try:
        progress = Progress("bar", interval=0)
        progress.report(1500, 500)
        logging.getLogger("consumer.test").warning("A line.")
        progress.finish()
    finally:
        logging.getLogger().removeHandler(handler)
    err = capsys.readouterr().err
    bar = "\r\x1b[K[######################........] 1,500 events done, 500 left"
    assert err == bar + "\r\x1b[K" + "A line.\n", "cleared once for the line; finish adds no empty line"
