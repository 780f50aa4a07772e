"""Retention in a search engine: whole daily event indices are deleted once their day is older than `retention`,
dead letters once received longer ago than `deadletter_retention`. A sweep runs at the sink's start and then every
`retention_interval` on a thread of its own, off the hot path; a failed sweep is logged and tried again next time.

An index <prefix>-events-YYYY.MM.DD holds the events stamped that UTC day, so it is deleted when its day's end is more
than `retention` ago: every event in it is older than that. Deleting an index is one cheap request and frees its disk
at once, unlike deleting documents."""

import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import orjson

from consumer.sinks.engine_client import EngineClient, EngineRequestError
from consumer.sinks.engine_schema import deadletters_index, events_pattern, index_day
from consumer.sinks.engine_settings import EngineSettings

log = logging.getLogger(__name__)


@dataclass
class SweepResult:
    """What one sweep deleted."""

    indices: list[str] = field(default_factory=list)
    dead_letters: int = 0


def expired_indices(names: list[str], prefix: str, retention_seconds: float, now: datetime) -> list[str]:
    """The daily event indices among `names` whose whole day ended more than `retention_seconds` before `now`."""
    cutoff = now - timedelta(seconds=retention_seconds)
    expired = []
    for name in names:
        day = index_day(prefix, name)
        if day is not None and datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1) <= cutoff:
            expired.append(name)
    return sorted(expired)


def sweep(client: EngineClient, settings: EngineSettings, now: datetime | None = None) -> SweepResult:
    """Delete what `settings` says is expired at `now` (the current time by default). Raises EngineRequestError."""
    now = now or datetime.now(UTC)
    result = SweepResult()
    if settings.retention > 0:
        for name in expired_indices(client.indices(events_pattern(settings.index_prefix)), settings.index_prefix,
                                    settings.retention, now):
            client.delete_index(name)
            result.indices.append(name)
    if settings.deadletter_retention > 0:
        cutoff = (now - timedelta(seconds=settings.deadletter_retention)).strftime("%Y-%m-%dT%H:%M:%SZ")
        result.dead_letters = delete_older(client, deadletters_index(settings.index_prefix), "received_at", cutoff)
    return result


def delete_older(client: EngineClient, index: str, field: str, cutoff: str, page: int = 1_000) -> int:
    """Delete the documents of `index` whose `field` is before `cutoff`, a page of ids at a time; how many.

    Searched and deleted by id rather than with _delete_by_query, which needs the reindex module (the minimal
    distributions the tests run lack it); dead letters are few, so this costs little."""
    deleted = 0
    while True:
        hits = client.search(index, {"query": {"range": {field: {"lt": cutoff}}}, "size": page, "_source": False,
                                     "track_total_hits": False})["hits"]["hits"]
        if not hits:
            return deleted
        lines = b"".join(orjson.dumps({"delete": {"_index": hit["_index"], "_id": hit["_id"]}}) + b"\n" for hit in hits)
        response = client.bulk(lines, refresh=True)
        deleted += sum(1 for item in response.get("items", []) if item.get("delete", {}).get("status") == 200)
        if response.get("errors"):
            raise EngineRequestError(f"deleting expired documents of {index} failed: {response['items'][:1]}", None)


class RetentionSweeper:
    """Runs `sweep` at start and every `retention_interval` until stopped; nothing when no retention is set."""

    def __init__(self, client: EngineClient, settings: EngineSettings) -> None:
        self._client = client
        self._settings = settings
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None or not (self._settings.retention or self._settings.deadletter_retention):
            return
        self._thread = threading.Thread(target=self._run, name="retention", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        # The first sweep runs even when a stop comes at once (a short `run --once`): stop() waits for it.
        while True:
            try:
                result = sweep(self._client, self._settings)
            except EngineRequestError as error:
                log.warning("A retention sweep failed; it runs again later.", extra={"error": str(error)})
            else:
                if result.indices or result.dead_letters:
                    log.info("Expired indices and dead letters were deleted.",
                             extra={"indices": result.indices, "dead_letters": result.dead_letters})
            if self._stopping.wait(self._settings.retention_interval):
                return
