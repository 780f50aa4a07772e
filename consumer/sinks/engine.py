"""The search-engine sink (OpenSearch, Elasticsearch): bulk requests with `_id = event_id` into daily indices; Kafka
keeps the offsets. The engines differ only in their client (consumer.sinks.engine_client), so this is the one
implementation of bulk, retries and exactly once for both.

Events are written with the `create` action, and each document carries its content hash and source
(`logferry.content_hash`, `.topic`, `.partition`, `.offset`; `consumer.content`). An event whose `_id` exists already
(409) is looked up: the same hash is a duplicate (skipped), another hash a conflict: the document stays as it is (the
first version) and `<prefix>-conflicts` gets one document per distinct other version (`_id` = event id + hash) with
both versions and their sources. Every item of every bulk response is checked, even on HTTP 200:
- 2xx: written; 409 on an event: resolved as above;
- 429, 5xx, and connection errors or timeouts of the whole request: retried with exponential backoff and jitter
  (tenacity), only the items that failed; after `retry_attempts` the flush fails as retriable and the worker
  pauses its partitions, keeps polling, and calls flush() again later;
- other 4xx (an event against the schema's types): the record goes to the dead letters (Kafka topic and the
  `<prefix>-deadletters` index) and counts as done. The mapping (consumer.sinks.engine_schema) refuses no valid event.
Per partition, only the offset below which every item succeeded is reported durable (`SinkError.durable` on a
partial failure), so offset N+1 is never committed while N failed.
"""

import base64
import logging
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import orjson
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from consumer.content import content_hash
from consumer.records import Batch, DeadLetter, TopicPartitionKey
from consumer.sinks.base import FlushResult, PublishDeadLetters, Sink, SinkError
from consumer.sinks.engine_client import EngineClient, EngineRequestError
from consumer.sinks.engine_retention import RetentionSweeper
from consumer.sinks.engine_schema import (
    SINK_FIELD,
    TEMPLATE_VERSION,
    conflicts_index,
    deadletters_index,
    events_index,
    from_document,
    templates,
    to_document,
)
from consumer.sinks.engine_settings import EngineSettings

log = logging.getLogger(__name__)

BULK_MAX_BYTES = 8 * 1_048_576


class TransientFailure(Exception):
    """Some items failed in a way that may pass on retry."""


@dataclass(slots=True)
class Item:
    """One event's bulk entry: where it came from and its two NDJSON lines."""

    topic: str
    partition: int
    offset: int
    lines: bytes
    index: str = ""
    event_id: str = ""
    content_hash: str = ""  # hex


def transient(error: BaseException) -> bool:
    if isinstance(error, TransientFailure):
        return True
    return isinstance(error, EngineRequestError) and error.transient


def install_templates(client: EngineClient, settings: EngineSettings) -> list[str]:
    """Put each template whose installed `_meta.version` is missing or older than TEMPLATE_VERSION (a newer one, put
    by a newer consumer of the same prefix, is left alone); the names put."""
    put = []
    for name, body in templates(settings.index_prefix, settings.number_of_replicas, client.flat_field).items():
        installed = client.template_version(name)
        if installed is None or installed < TEMPLATE_VERSION:
            client.put_template(name, body)
            put.append(name)
    return put


class EngineSink(Sink):
    """Bulk-indexes batches; Kafka's committed offsets say where each partition resumes."""

    owns_offsets = False

    def __init__(self, settings: EngineSettings, client: EngineClient, publish: PublishDeadLetters) -> None:
        self._settings = settings
        self._prefix = settings.index_prefix
        self._publish = publish
        self._client = client
        self._name = client.name
        self._items: list[Item] = []
        self._dead: list[DeadLetter] = []
        self._next_offsets: dict[TopicPartitionKey, int] = {}
        # Items created, duplicates, conflicts recorded since the last successful flush: a flush that fails part-way
        # has written some, and the next successful one reports them.
        self._written = [0, 0, 0]
        self._pool = ThreadPoolExecutor(max_workers=settings.bulk_concurrency, thread_name_prefix="bulk")
        self._retention = RetentionSweeper(client, settings)

    def setup(self) -> None:
        try:
            for trial in Retrying(stop=stop_after_attempt(8), wait=wait_exponential_jitter(initial=0.5, max=8),
                                  retry=retry_if_exception(transient), reraise=True, before_sleep=self._log_setup_retry):
                with trial:
                    put = install_templates(self._client, self._settings)
        except EngineRequestError as error:
            raise SinkError(f"cannot set up {self._name} at {self._settings.url}: {error}", retriable=error.transient) from error
        if put:
            log.info("Index templates installed.", extra={"templates": put, "template_version": TEMPLATE_VERSION})
        self._retention.start()

    def prepare(self, event: dict[str, Any], raw: bytes) -> Any:
        # Without its closing brace, which add() puts after the sink's field. The slice is also a copy of exactly the
        # document's size: orjson's own result sits in a buffer of several KiB, and 20,000 of them held until the
        # batch is added would cost 150 MiB.
        open_document = orjson.dumps(to_document(event))[:-1]
        return events_index(self._prefix, event["timestamp"]), event["event_id"], open_document, content_hash(event).hex()

    def add(self, batch: Batch) -> None:
        for (index, event_id, open_document, digest), (topic, partition, offset) in zip(batch.items, batch.sources,
                                                                                        strict=True):
            # The sink's own field goes after the event's: the document is the event's with one more key.
            lines = b"".join((
                b'{"create":{"_index":"', index.encode(), b'","_id":"', event_id.encode(), b'"}}\n', open_document,
                b',"' + SINK_FIELD.encode() + b'":', orjson.dumps({"content_hash": digest, "topic": topic,
                                                                  "partition": partition, "offset": offset}), b"}\n",
            ))
            self._items.append(Item(topic, partition, offset, lines, index, event_id, digest))
        self._dead.extend(batch.dead_letters)
        self._next_offsets.update(batch.next_offsets)

    def buffered(self) -> int:
        return len(self._items) + len(self._dead)

    def drop(self, partitions: Iterable[TopicPartitionKey]) -> None:
        gone = set(partitions)
        self._items = [i for i in self._items if (i.topic, i.partition) not in gone]
        self._dead = [d for d in self._dead if (d.topic, d.partition) not in gone]
        for tp in gone:
            self._next_offsets.pop(tp, None)

    def flush(self) -> FlushResult:
        if not self._next_offsets:
            return FlushResult()
        try:
            self._bulk()
        except (EngineRequestError, TransientFailure) as error:
            raise SinkError(f"bulk indexing into {self._settings.url} failed: {error}", retriable=True,
                            durable=self._durable()) from error
        if self._dead:
            try:
                self._write_dead_letters(self._dead)
            except SinkError as error:
                error.durable = self._durable()
                raise
        result = FlushResult(durable=dict(self._next_offsets), indexed=self._written[0], duplicates=self._written[1],
                             dead_letters=len(self._dead), id_conflicts=self._written[2])
        self._items, self._dead, self._next_offsets, self._written = [], [], {}, [0, 0, 0]
        return result

    def _durable(self) -> dict[TopicPartitionKey, int]:
        """Per partition, the lowest offset not yet written (a failed item or a dead letter still to store), or the
        batch's next offset when nothing of the partition is outstanding."""
        blocked: dict[TopicPartitionKey, int] = {}
        for topic, partition, offset in [(i.topic, i.partition, i.offset) for i in self._items] + [
            (d.topic, d.partition, d.offset) for d in self._dead
        ]:
            key = (topic, partition)
            blocked[key] = min(offset, blocked.get(key, offset))
        return {tp: blocked.get(tp, o) for tp, o in self._next_offsets.items()}

    def _bulk(self) -> None:
        """Index the buffered items, retrying transient failures (counted in `_written`). Refused items move to the
        dead letters; when this raises, the items still failing are what stays buffered."""
        written = self._written  # created, duplicates, conflicts

        def send(chunk: list[Item]) -> dict[str, Any] | EngineRequestError:
            try:
                return self._client.bulk(b"".join(i.lines for i in chunk))
            except EngineRequestError as error:
                return error

        def attempt() -> None:
            still: list[Item] = []
            existing: list[Item] = []
            failure: EngineRequestError | None = None
            refusals: dict[str, int] = {}
            chunks = list(_chunks(self._items, BULK_MAX_BYTES // self._settings.bulk_concurrency))
            # Concurrent requests let the node index on every core; one bulk runs on one write thread per shard.
            for chunk, response in zip(chunks, self._pool.map(send, chunks), strict=True):
                if isinstance(response, EngineRequestError):
                    if not response.transient:
                        raise response
                    still.extend(chunk)
                    failure = failure or response
                    kind = f"{response.status or 'connection'} request"
                    refusals[kind] = refusals.get(kind, 0) + len(chunk)
                    continue
                for item, outcome in zip(chunk, response["items"], strict=True):
                    status, result, error = _outcome(outcome)
                    if status < 300:
                        written[0 if result == "created" else 1] += 1
                    elif status == 409:
                        existing.append(item)
                    elif status == 429 or status >= 500:
                        still.append(item)
                        kind = f"{status} {error.get('type') if isinstance(error, dict) else 'error'}"
                        refusals[kind] = refusals.get(kind, 0) + 1
                    else:
                        self._dead.append(_rejected(self._name, item, status, error))
            if existing:
                try:
                    still.extend(self._resolve_existing(existing, written))
                except EngineRequestError as error:
                    if not error.transient:
                        raise
                    still.extend(existing)
                    failure = failure or error
            self._items = still
            if still:
                self.retried_items += len(still)
                log.warning("The search engine refused bulk items for now; they are sent again.",
                            extra={"engine": self._name, "items": len(still), "refusals": refusals})
            if failure is not None:
                raise failure
            if still:
                raise TransientFailure(f"{len(still)} items were refused for now (429 or 5xx)")

        for trial in Retrying(stop=stop_after_attempt(self._settings.retry_attempts),
                              wait=wait_exponential_jitter(initial=0.2, max=5.0),
                              retry=retry_if_exception(transient), reraise=True):
            with trial:
                attempt()

    def _resolve_existing(self, items: list[Item], written: list[int]) -> list[Item]:
        """Items whose `_id` exists: count the duplicates, record the conflicts; returns the items to send again."""
        found_docs = self._client.mget([{"_index": i.index, "_id": i.event_id} for i in items])
        again: list[Item] = []
        conflicts: list[tuple[Item, dict[str, Any]]] = []
        for item, found in zip(items, found_docs, strict=True):
            if not found.get("found"):
                again.append(item)  # deleted since: create it again
                continue
            stored: dict[str, Any] = found["_source"]
            own = stored.get(SINK_FIELD)
            stored_hash = own.get("content_hash") if isinstance(own, dict) else None
            if stored_hash is None:  # written before documents carried their hash
                stored_hash = content_hash(from_document(stored)).hex()
            if stored_hash == item.content_hash:
                written[1] += 1
            else:
                conflicts.append((item, stored))
        if not conflicts:
            return again
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        lines = []
        for item, stored in conflicts:
            field = stored.get(SINK_FIELD)
            sink: dict[str, Any] = field if isinstance(field, dict) else {}
            rejected = item.lines.split(b"\n", 1)[1].rstrip(b"\n")
            lines.append(orjson.dumps({"create": {"_index": conflicts_index(self._prefix),
                                                  "_id": f"{item.event_id}:{item.content_hash}"}}))
            lines.append(orjson.dumps({
                "event_id": item.event_id, "content_hash": item.content_hash, "detected_at": now,
                "kept": {"event": orjson.dumps(from_document(stored)).decode(), "topic": sink.get("topic"),
                         "partition": sink.get("partition"), "offset": sink.get("offset")},
                "rejected": {"event": orjson.dumps(from_document(orjson.loads(rejected))).decode(), "topic": item.topic,
                             "partition": item.partition, "offset": item.offset},
            }))
        outcome = self._client.bulk(b"\n".join(lines) + b"\n")
        recorded = 0
        for (item, _stored), entry in zip(conflicts, outcome.get("items", []), strict=True):
            status, _result, error = _outcome(entry)
            if status < 300:
                written[2] += 1
                recorded += 1
            elif status == 409:
                written[1] += 1  # recorded before (a replay)
            elif status == 429 or status >= 500:
                again.append(item)
            else:
                self._dead.append(_rejected(self._name, item, status, error))
        if recorded:
            log.warning(
                "Events arrived again under an event_id the index holds with different content; the index keeps the "
                "first version and the conflicts index has both.",
                extra={"conflicts": recorded, "event_id": conflicts[0][0].event_id},
            )
        return again

    def _write_dead_letters(self, letters: list[DeadLetter]) -> None:
        self._publish(letters)
        lines = []
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        for letter in letters:
            lines.append(orjson.dumps({"index": {"_index": deadletters_index(self._prefix),
                                                 "_id": f"{letter.topic}:{letter.partition}:{letter.offset}"}}))
            record = {
                "topic": letter.topic, "partition": letter.partition, "offset": letter.offset, "error": letter.error,
                "size": letter.size, "raw_text": letter.raw.decode("utf-8", "replace"),
                "raw_base64": base64.b64encode(letter.raw).decode(), "received_at": now,
            }
            if letter.key is not None:
                record["key_base64"] = base64.b64encode(letter.key).decode()
            lines.append(orjson.dumps(record))
        try:
            response = self._client.bulk(b"\n".join(lines) + b"\n")
        except EngineRequestError as error:
            raise SinkError(f"writing dead letters to {self._settings.url} failed: {error}", retriable=True) from error
        if response.get("errors"):
            raise SinkError(f"{self._name} refused dead letters: {response['items'][:1]}", retriable=True)

    def close(self) -> None:
        self._retention.stop()
        self._pool.shutdown(wait=True)
        self._client.close()

    def _log_setup_retry(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        log.warning("The search engine cannot be reached yet; retrying.",
                    extra={"engine": self._name, "attempt": state.attempt_number, "error": str(error)})


def _chunks(items: list[Item], max_bytes: int) -> Iterable[list[Item]]:
    chunk: list[Item] = []
    size = 0
    for item in items:
        if chunk and size + len(item.lines) > max_bytes:
            yield chunk
            chunk, size = [], 0
        chunk.append(item)
        size += len(item.lines)
    if chunk:
        yield chunk


def _outcome(outcome: dict[str, Any]) -> tuple[int, str, Any]:
    (result,) = outcome.values()
    return int(result.get("status", 500)), result.get("result", ""), result.get("error")


def _rejected(engine: str, item: Item, status: int, error: Any) -> DeadLetter:
    # The event again (not the document): a dead letter is re-published as it came once the cause is fixed.
    document = orjson.dumps(from_document(orjson.loads(item.lines.split(b"\n", 1)[1])))
    reason = error.get("reason") if isinstance(error, dict) else error
    kind = error.get("type") if isinstance(error, dict) else "error"
    return DeadLetter(topic=item.topic, partition=item.partition, offset=item.offset, key=None, raw=document,
                      error=f"{engine} refused the event ({status} {kind}): {reason}", size=len(document))
