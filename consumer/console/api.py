"""The console's JSON endpoints, as plain functions of (parameters, reader pool): the Starlette routes (app.py) run
them on worker threads. Every endpoint reads; none writes.

    /api/search      a page of events newest first, and the cursor of the next (older) page
    /api/facets      counts per level class, service and host
    /api/histogram   counts per interval and severity class
    /api/tail        (app.py) server-sent events: new matching events as they are indexed
    /api/pipeline    lag per partition, the last flush, totals, the group's members
    /api/deadletters the latest dead letters; /api/deadletter one of them, whole
    /api/alerts      the alert evaluator's alerts (pending, firing, resolved within [console] resolved_within) and
                     silences, read-only from its state file ([console] alerts_state)
    /api/jobs        the last runs of each `shipper exec` job (jobs.py)
"""

import base64
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from consumer.alerting.model import Alert, AlertState, split_search
from consumer.alerting.reader import SilenceView, StateUnavailable, read_state
from consumer.config import ConsumerConfig
from consumer.console.jobs import RUNS_PER_JOB, job_runs
from consumer.console.params import PageCursor, histogram_interval, page_queries, parse_request
from consumer.console.readers import ReaderPool
from consumer.search import search_all
from consumer.sinks.base import DeadLetterRecord
from consumer.sinks.sqlite_rows import timestamp_ns
from schemas.timefmt import format_ns

FACET_LIMIT = 10
DEAD_LETTERS_LISTED = 50
PREVIEW_BYTES = 240
MAX_RUNS_PER_JOB = 100


def _stamp(event: dict[str, Any]) -> int | None:
    try:
        return timestamp_ns(str(event.get("timestamp")))
    except ValueError:
        return None


def search(params: Mapping[str, str], pool: ReaderPool) -> dict[str, Any]:
    request = parse_request(params)
    before = params.get("before", "").strip()
    cursor = PageCursor.parse(before) if before else None
    queries = page_queries(request, cursor)
    events = pool.call(lambda reader: search_all(reader, queries))
    if cursor is not None:
        skipped = 0
        kept = []
        for event in events:
            if skipped < cursor.skip and _stamp(event) == cursor.timestamp_ns:
                skipped += 1
                continue
            kept.append(event)
        events = kept[: request.queries[0].limit]
    following = None
    if len(events) >= request.queries[0].limit:
        last = _stamp(events[-1])
        if last is not None:
            shown = sum(1 for e in events if _stamp(e) == last)
            if cursor is not None and cursor.timestamp_ns == last:
                shown += cursor.skip
            following = PageCursor(last, shown).text()
    return {"events": events, "next": following, "since_ns": request.since_ns, "until_ns": request.until_ns}


def facets(params: Mapping[str, str], pool: ReaderPool) -> dict[str, Any]:
    request = parse_request(params)
    counts = pool.call(lambda reader: reader.facets(request.counting, FACET_LIMIT))
    return {**counts.as_json(), "since_ns": request.since_ns, "until_ns": request.until_ns}


def histogram(params: Mapping[str, str], pool: ReaderPool) -> dict[str, Any]:
    request = parse_request(params)
    query = request.counting
    since_ns = request.since_ns
    if since_ns is None:
        oldest = pool.call(lambda reader: reader.oldest_timestamp())
        since_ns = timestamp_ns(oldest) if oldest is not None else request.until_ns - 3600 * 1_000_000_000
        since_ns = min(since_ns, request.until_ns - 1)
    interval = histogram_interval(params, since_ns, request.until_ns)
    query = replace(query, since=format_ns(since_ns))
    return pool.call(lambda reader: reader.histogram(query, interval)).as_json()


def pipeline(config: ConsumerConfig, pool: ReaderPool) -> dict[str, Any]:
    from consumer.status import collect_status

    status = collect_status(config)
    status["last_flush"] = pool.call(lambda reader: reader.last_write())
    return status


def _letter(letter: DeadLetterRecord, whole: bool) -> dict[str, Any]:
    found: dict[str, Any] = {
        "topic": letter.topic, "partition": letter.partition, "offset": letter.offset, "error": letter.error,
        "size": letter.size, "received_at": letter.received_at, "redriven_at": letter.redriven_at,
    }
    if whole:
        found["raw_text"] = letter.raw.decode("utf-8", "replace")
        found["raw_base64"] = base64.b64encode(letter.raw).decode()
        found["key_text"] = letter.key.decode("utf-8", "replace") if letter.key is not None else None
        found["cut"] = len(letter.raw) < letter.size
    else:
        found["preview"] = letter.raw[:PREVIEW_BYTES].decode("utf-8", "replace")
    return found


def dead_letters(params: Mapping[str, str], pool: ReaderPool) -> dict[str, Any]:
    topic = params.get("topic") or None
    letters = pool.call(lambda reader: reader.dead_letters(DEAD_LETTERS_LISTED, topic))
    return {"dead_letters": [_letter(d, whole=False) for d in letters]}


def dead_letter(params: Mapping[str, str], pool: ReaderPool) -> dict[str, Any] | None:
    topic = params.get("topic", "")
    partition, offset = params.get("partition", ""), params.get("offset", "")
    if not topic or not partition.isdigit() or not offset.isdigit():
        raise ValueError("a dead letter is named by topic, partition and offset")
    letter = pool.call(lambda reader: reader.dead_letter(topic, int(partition), int(offset)))
    return _letter(letter, whole=True) if letter is not None else None


def _time_text(nanoseconds: int | None) -> str | None:
    return format_ns(nanoseconds) if nanoseconds is not None else None


def _alert(alert: Alert, silences: list[SilenceView]) -> dict[str, Any]:
    query, since, until = split_search(alert.search)
    key = alert.key
    return {
        "fingerprint": key.fingerprint, "rule": key.rule, "group": [list(pair) for pair in key.group],
        "group_text": key.group_text, "episode": key.episode, "state": alert.state.value,
        "severity": alert.severity.value, "summary": alert.summary, "count": alert.count, "late": alert.late,
        "started_at": _time_text(alert.started_at), "fired_at": _time_text(alert.fired_at),
        "resolved_at": _time_text(alert.resolved_at), "labels": dict(alert.labels),
        "annotations": dict(alert.annotations), "samples": list(alert.samples), "search": alert.search,
        "query": query, "since": since, "until": until,
        "silenced_by": [s.id for s in silences if s.mutes(alert)],
    }


STATE_ORDER = {AlertState.FIRING: 0, AlertState.PENDING: 1, AlertState.RESOLVED: 2}


def alerts(config: ConsumerConfig) -> dict[str, Any]:
    """The evaluator's alerts, firing first then pending then resolved (each newest episode first), and silences."""
    settings = config.console
    if not settings.alerts_state:
        return {"available": False, "reason": "no alert state file is configured ([console] alerts_state in the "
                                              "consumer config)", "alerts": [], "silences": [], "counts": {}}
    try:
        snapshot = read_state(settings.alerts_state, settings.resolved_within)
    except StateUnavailable as error:
        return {"available": False, "reason": str(error), "alerts": [], "silences": [], "counts": {}}
    ordered = sorted(snapshot.alerts, key=lambda a: STATE_ORDER[a.state])  # stable: newest episode first within
    return {
        "available": True, "alerts": [_alert(a, snapshot.silences) for a in ordered], "counts": snapshot.counts(),
        "silences": [{"id": s.id, "rule": s.rule, "matchers": s.matchers, "comment": s.comment,
                      "created": format_ns(int(s.created * 1e9)), "until": format_ns(int(s.until * 1e9))}
                     for s in snapshot.silences],
        "resolved_within_s": settings.resolved_within, "read_at": format_ns(int(snapshot.read_at * 1e9)),
    }


def jobs(params: Mapping[str, str], pool: ReaderPool) -> dict[str, Any]:
    text = params.get("runs", "").strip()
    per_job = RUNS_PER_JOB if not text else int(text) if text.isdigit() else 0
    if not 1 <= per_job <= MAX_RUNS_PER_JOB:
        raise ValueError(f"runs must be a number from 1 to {MAX_RUNS_PER_JOB}")
    return job_runs(pool, per_job)
