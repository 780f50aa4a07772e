"""The evaluator's pure parts: cron schedules in a time zone, the in-memory matcher against what search means, and
a schedule absence rule turned by a given wall clock."""

import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from consumer.alerting.compiled import NS, compile_rule
from consumer.alerting.config import parse_evaluator_config
from consumer.alerting.cron import CronError, parse_cron
from consumer.alerting.engine import Engine
from consumer.alerting.fastpath import Dispatch
from consumer.alerting.matcher import compile_query
from consumer.alerting.model import AlertState
from logferry.errors import ConfigError
from tests.alerting.helpers import events


def _ns(text: str, zone: str = "UTC") -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).timestamp()) * NS


def test_cron_next_occurrence_in_a_named_zone_across_daylight_saving() -> None:
    nightly = parse_cron("0 3 * * *", "Europe/Paris")
    assert nightly.next_after(_ns("2026-03-28 12:00")) == _ns("2026-03-29 01:00")  # 03:00 CEST = 01:00 UTC
    assert nightly.next_after(_ns("2026-03-27 12:00")) == _ns("2026-03-28 02:00")  # 03:00 CET = 02:00 UTC
    weekdays = parse_cron("30 8 * * mon-fri", "UTC")
    assert weekdays.next_after(_ns("2026-05-01 09:00")) == _ns("2026-05-04 08:30")  # Friday -> Monday
    assert parse_cron("*/15 * * * *", "UTC").previous_before(_ns("2026-05-01 09:07")) == _ns("2026-05-01 09:00")
    for text, key in (("0 24 * * *", "schedule"), ("* * *", "schedule"), ("0 0 31 2 *", "schedule")):
        with pytest.raises(CronError) as raised:
            parse_cron(text, "UTC")
        assert raised.value.key == key
    with pytest.raises(CronError):
        parse_cron("0 3 * * *", "Nowhere/City")


def test_matcher_means_what_search_means() -> None:
    event = events([0], body="Disk-full on /var: écriture refusée", attributes={"exit_code": 3, "job": {"id": "a"}})[0]
    assert compile_query("disk-full level:error service:billing").matches(event)
    assert compile_query("ECRITURE").matches(event)  # case and diacritics folded, as the FTS5 tokenizer does
    assert compile_query("exit_code:3 job.id:a").matches(event)
    assert not compile_query("full-disk").matches(event)  # a phrase: adjacent tokens in order
    assert not compile_query("level:fatal").matches(event)
    assert not compile_query("disk host:web-2").matches(event)
    assert not compile_query("exit_code:4").matches(event)
    assert compile_query("").matches(event)


def test_a_schedule_absence_fires_at_the_deadline_and_resolves_when_the_job_reports() -> None:
    config = parse_evaluator_config({"alert": {"allowed_lateness": 0}, "rules": [
        {"name": "nightly", "type": "absence", "schedule": "0 3 * * *", "timezone": "Europe/Paris",
         "match": "reconcile finished", "group_by": ["host"]}]})
    rule = compile_rule(0, config.rules[0], 0.0)
    dispatch, engine = Dispatch([rule]), Engine([rule])
    day1 = _ns("2026-06-01 02:30", "Europe/Paris")
    for host in ("db-1", "db-2"):
        item = dispatch.prepare(events([day1], host=host, body="reconcile finished")[0])
        assert item is not None
        engine.ingest([item], day1, catching_up=False)
    assert engine.evaluate(day1 + 3600 * NS, catching_up=False) == []  # both reported before the 03:00 deadline
    day2 = day1 + 86_400 * NS
    item = dispatch.prepare(events([day2], host="db-1", body="reconcile finished")[0])
    assert item is not None
    engine.ingest([item], day2, catching_up=False)
    changes = engine.evaluate(day2 + 3600 * NS, catching_up=False)
    assert [(a.state, a.key.group, a.started_at) for a in changes] == [
        (AlertState.FIRING, (("host", "db-2"),), _ns("2026-06-02 03:00", "Europe/Paris"))]
    late_report = dispatch.prepare(events([day2 + 2 * 3600 * NS], host="db-2", body="reconcile finished")[0])
    assert late_report is not None
    resolved = engine.ingest([late_report], day2 + 2 * 3600 * NS, catching_up=False)
    assert [(a.state, a.resolved_at) for a in resolved] == [(AlertState.RESOLVED, day2 + 2 * 3600 * NS)]


def test_a_threshold_reached_within_one_batch_of_recent_events_fires() -> None:
    # Five errors over five seconds, all in one batch and all newer than the allowed lateness: the windows ending at
    # the first buckets hold fewer than three, which is undecided (late events may still come), and the scan must go
    # on to the windows that already hold instead of stopping at the first undecided one.
    config = parse_evaluator_config({"alert": {"allowed_lateness": "30s"}, "rules": [
        {"name": "burst", "type": "threshold", "match": "level:error", "group_by": ["service"], "window": "1m",
         "step": "1s", "threshold": 3}]})
    rule = compile_rule(0, config.rules[0], config.alert.allowed_lateness)
    dispatch, engine = Dispatch([rule]), Engine([rule])
    now = time.time_ns() // NS * NS
    stamps = [now - 5 * NS + i * NS for i in range(5)]
    items = [dispatch.prepare(event) for event in events(stamps, service="billing")]
    assert all(item is not None for item in items)
    changes = engine.ingest([item for item in items if item is not None], now, catching_up=False)
    assert [(a.state, a.key.group, a.started_at) for a in changes] == [
        (AlertState.FIRING, (("service", "billing"),), stamps[2])]


def test_a_ratio_that_holds_only_once_the_unmatched_events_left_the_window_fires() -> None:
    # Ten events that only count, then ten matching ones, a bucket later: the window ending at the newest bucket
    # holds half, the next one (the counted ones gone, no new bucket) all. The scan stops early past the newest
    # bucket only where no later window can hold (threshold, or fewer than min_count): not here.
    config = parse_evaluator_config({"alert": {"allowed_lateness": "1s"}, "rules": [
        {"name": "share", "type": "ratio", "match": "level:error", "total": "service:billing", "group_by": ["service"],
         "window": "2s", "step": "1s", "ratio": 0.9, "min_count": 5}]})
    rule = compile_rule(0, config.rules[0], config.alert.allowed_lateness)
    dispatch, engine = Dispatch([rule]), Engine([rule])
    start = (time.time_ns() - 3600 * NS) // NS * NS
    counted = events([start + i * 1000 for i in range(10)], level=("INFO", 9))
    matched = events([start + NS + i * 1000 for i in range(10)], start=10)
    items = [dispatch.prepare(event) for event in counted + matched]
    assert all(item is not None for item in items)
    changes = engine.ingest([item for item in items if item is not None], time.time_ns(), catching_up=False)
    # It fires, then resolves: every window after it is behind the frontier and empty.
    assert [(a.state, a.key.group, a.started_at) for a in changes] == [
        (AlertState.FIRING, (("service", "billing"),), start + 2 * NS),
        (AlertState.RESOLVED, (("service", "billing"),), start + 2 * NS)]


@pytest.mark.parametrize(("table", "problem"), [
    ({"type": "match", "match": "exited code", "interval": "5m"}, "does not apply to a match rule"),
    ({"type": "absence", "match": "reconcile finished", "schedule": "0 3 * * *"}, "does not apply with a schedule"),
])
def test_for_is_refused_where_it_would_be_ignored(table: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_evaluator_config({"rules": [{"name": "r", **table, "for": "1m"}]})
    assert raised.value.key == "rules[0].for" and problem in raised.value.problem
    parse_evaluator_config({"rules": [{"name": "r", **table}]})  # without `for` the same rule is fine


@pytest.mark.parametrize("table", [
    {"type": "threshold", "match": "level:error", "window": "5m", "threshold": 3},
    {"type": "ratio", "match": "level:error", "window": "10m"},
    {"type": "absence", "match": "heartbeat", "window": "10m"},
])
def test_for_is_kept_where_a_condition_holds_over_time(table: dict[str, Any]) -> None:
    config = parse_evaluator_config({"rules": [{"name": "r", **table, "for": "1m"}]})
    assert compile_rule(0, config.rules[0], 0.0).for_ == 60 * NS
