"""The files being followed: opening, identifying, rotation, replacement in place, delivery and closing.

Who decides what:
- `table.FileTable`: the open files and their indexes, changed only through its add/remove path;
- `resolve.resolve`: which stream a newly identified file continues and where (pure; the facts are read here);
- `book.CheckpointBook`: the checkpoints, and the one place acknowledgements become checkpoints;
- the harvester: its own state, backoff and read position (its stream's cursor).

Rules kept here:
- rotation: a path that vanished or now names another file makes its handle drain to the end, then close
  after rotate_wait; a handle renamed to another matching name keeps being followed under it;
- copytruncate: when a file's content is replaced in place, its stream is parked for a while; a new file
  whose head and bytes before the parked position are the same (the rotated copy) continues that stream
  from there, so the lines written between the last read and the truncation are shipped once;
- closing: a closed file is remembered as it was when last read to its end, so any growth reopens it.
"""

import logging
import os
import socket
import time
from collections import deque
from dataclasses import dataclass

from shipper import platform
from shipper.book import CheckpointBook
from shipper.checkpoint import Checkpoint
from shipper.config import ShipperConfig
from shipper.delivery.acks import AckTracker
from shipper.delivery.producer import Delivery
from shipper.discovery.scanner import Found
from shipper.harvest import encodings
from shipper.harvest.framing import Framer
from shipper.harvest.gzipped import GzipHarvester, is_gzip_path
from shipper.harvest.harvester import Harvester, State
from shipper.identity import (
    FINGERPRINT_BYTES,
    LF,
    FileKey,
    fingerprint_of_line,
    first_line_of,
    line_end_of,
    marker_of,
    read_marker,
)
from shipper.parsers.pipeline import StreamParser
from shipper.processing.pipeline import InputProcessing
from shipper.records import EncodedEvent, StreamContext
from shipper.resolve import Adopt, Begin, Continue, CopySource, Defer, Duplicate, FileFacts, Known, LiveFacts, offsets_of, resolve
from shipper.streams import Cursor, StartReason, Stream, stream_id_for
from shipper.table import FileTable, Follow, Seen

__all__ = ["Files", "Follow"]

log = logging.getLogger("shipper.files")

SLOT_TURN = 1.0  # seconds a busy file keeps its slot while other files wait for one
IDENTIFY_RETRY = 0.2  # seconds before looking again at a file not ready to be identified


@dataclass
class Parked:
    """A stream whose file was truncated in place, waiting for its rotated copy to continue it."""

    stream: Stream
    until: float


class Files:
    """Open files, live streams and checkpoints."""

    def __init__(
        self, config: ShipperConfig, host_id: str, checkpoints: dict[FileKey, Checkpoint], delivery: Delivery
    ) -> None:
        self.settings = config.shipper
        self.host_id = host_id
        self.host_name = config.shipper.host_name or socket.gethostname()
        self.book = CheckpointBook(checkpoints)
        self.delivery = delivery
        self.table = FileTable()
        self.streams: dict[FileKey, Stream] = {}  # live: attached to a handle or with events in flight
        self.retired: list[Stream] = []
        self.parked: list[Parked] = []
        self.waiting: deque[Found] = deque()
        self.waiting_paths: set[str] = set()
        self.unreadable: set[str] = set()
        self.lines_read = 0
        self.bytes_read = 0
        # Counting events by format costs a scan per event, so only when metrics are served.
        self.count_formats = bool(config.shipper.metrics_address)
        self.events_by_format: dict[str, int] = {}
        self.parse_failures = 0
        # Built once per input (validated with the config already); shipper.metrics reads their counters.
        self.processing = {
            item.id: InputProcessing(item, config.kafka.topic, f"inputs[{i}]") for i, item in enumerate(config.inputs)
        }

    @property
    def follows(self) -> list[Follow]:
        return self.table.follows

    @property
    def by_path(self) -> dict[str, Follow]:
        return self.table.by_path

    @property
    def checkpoints(self) -> dict[FileKey, Checkpoint]:
        return self.book.entries

    # -- discovery -------------------------------------------------------------------------------------------

    def apply_scan(self, found: dict[str, Found], now: float) -> None:
        """Drain handles whose path is gone or names another file; queue new and grown files for opening."""
        table = self.table
        for follow in list(table.follows):
            h = follow.harvester
            if h.state is State.DRAINING:
                continue
            current = found.get(h.path)
            if current is None or (current.stat.st_dev, current.stat.st_ino) != h.dev_ino or platform.is_delete_pending(h.fd):
                self.start_draining(follow, now)
        ignore_older = self.settings.ignore_older
        wall = time.time()
        for path, item in found.items():
            if path in table.by_path or path in self.waiting_paths:
                continue
            st = item.stat
            renamed = table.by_dev_ino.get((st.st_dev, st.st_ino))
            if renamed is not None:
                if renamed.harvester.state is State.DRAINING:
                    log.info("Following a renamed file under its new name.", extra={"path": path, "was": renamed.harvester.path})
                    renamed.harvester.renamed(path)
                    table.list_path(renamed, path)
                continue
            look = Seen(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
            previous = table.seen.get(path)
            if previous == look:
                continue
            if ignore_older and previous is None and wall - st.st_mtime > ignore_older:
                table.seen[path] = look
                continue
            self.waiting.append(item)
            self.waiting_paths.add(path)
        table.forget_missing(found)  # type: ignore[arg-type]

    def start_draining(self, follow: Follow, now: float) -> None:
        h = follow.harvester
        self.table.unlist_path(follow)
        if h.state is State.OPENING:
            self.close(follow)
            return
        log.info("The file was rotated or deleted; reading its handle to the end.", extra={"path": h.path})
        h.drain(now)

    def open_waiting(self, once: bool) -> None:
        """Open queued files while slots are free, closing idle files when others wait."""
        limit = self.settings.max_open_files
        table = self.table
        excess = len(table) + len(self.waiting) - limit
        if self.waiting and excess > 0:
            # Make room: idle files first (least recently active), then, so that busy files cannot keep
            # waiting ones out for ever, files that have had a turn for a while. A closed file's stream
            # stays live and continues where it stopped when the file is opened again.
            now = time.monotonic()
            quiet = [f for f in table.follows if f.stream is not None and f.stream.parser.held_from() is None]
            idle = sorted((f for f in quiet if f.harvester.state is State.IDLE), key=lambda f: f.harvester.last_data)
            busy = sorted(
                (f for f in quiet if f.harvester.state is State.READING and now - f.opened_at >= SLOT_TURN),
                key=lambda f: f.opened_at,
            )
            for follow in idle[:excess]:
                self.close(follow)
            for follow in busy[: max(0, excess - len(idle))]:
                h = follow.harvester
                again = Found(h.path, follow.input, os.fstat(h.fd))
                self.close(follow, remember=False)
                self.waiting.append(again)
                self.waiting_paths.add(again.path)
        while self.waiting and len(table) < limit:
            item = self.waiting.popleft()
            self.waiting_paths.discard(item.path)
            opener = GzipHarvester.open if is_gzip_path(item.path) else Harvester.open
            try:
                h = opener(item.path, self.settings.read_chunk_bytes)
                size = h.stat_size()
            except FileNotFoundError:
                continue
            except OSError as error:
                if item.path not in self.unreadable:  # tried again at every rescan; said once
                    self.unreadable.add(item.path)
                    log.warning(
                        "Cannot open a file; it is tried again at every rescan.", extra={"path": item.path, "error": str(error)}
                    )
                continue
            self.unreadable.discard(item.path)
            if h.dev_ino in table.by_dev_ino:
                h.close()
                continue
            table.add(Follow(h, item.input, size_at_open=size))

    # -- identity --------------------------------------------------------------------------------------------

    def identify(self, follow: Follow, now: float, once: bool) -> None:
        """Give an OPENING file its stream once its first line is complete."""
        h = follow.harvester
        head = h.head()
        first_line = first_line_of(head)
        if first_line is None or now < follow.defer_until:
            h.defer(now, IDENTIFY_RETRY)
            if once and first_line is None:
                self.close(follow)
            return
        fingerprint = fingerprint_of_line(first_line)
        key = FileKey(h.os_identity, fingerprint)
        facts = self._facts(follow, key, fingerprint, now, once)
        decision = resolve(facts)
        if isinstance(decision, Duplicate):
            self.close(follow)  # the same file under a second name (a hard link): read it once
        elif isinstance(decision, Continue):
            self._attach(follow, self.streams[key], first_line)
        elif isinstance(decision, Adopt):
            self._adopt(follow, key, self._parked_for(fingerprint, now)[decision.index], first_line)
        elif isinstance(decision, Defer):
            follow.defer_until = now + 2 * self.settings.rescan_interval + 1.0
            h.defer(now, IDENTIFY_RETRY)
        else:
            self._begin(follow, key, first_line, decision, now=now, once=once)

    def _parked_for(self, fingerprint: str, now: float) -> list[Parked]:
        self.parked = [p for p in self.parked if p.until > now]
        return [p for p in self.parked if p.stream.fingerprint == fingerprint]

    def _facts(self, follow: Follow, key: FileKey, fingerprint: str, now: float, once: bool) -> FileFacts:
        """What the resolver needs to know about this file, read from it and from the other streams."""
        h = follow.harvester
        size = h.stat_size()
        may_wait = not once and not follow.defer_until
        live = self.streams.get(key)
        live_facts = None
        if live is not None:
            live_facts = LiveFacts(live.cursor.position, live.cursor.tail, key in self.table.attached, live.generation)
        checkpoint = self.book.get(key)
        parked: list[Known] = []
        originals: list[Known] = []
        sources: list[CopySource] = []
        if live is None and checkpoint is None:
            parked = [Known(p.stream.cursor.position, p.stream.cursor.tail) for p in self._parked_for(fingerprint, now)]
            if may_wait:
                originals = [
                    Known(other.harvester.position, other.harvester.tail)
                    for other in self.table.attached.values()
                    if other.stream is not None and other.stream.fingerprint == fingerprint
                ]
            for entry in self.book.same_fingerprint(key):
                if entry.offset and size >= entry.offset:
                    sources.append(CopySource(entry, self._still_holds(entry)))
        facts = FileFacts(size, {}, live_facts, checkpoint, parked, originals, sources, may_wait)
        before = {offset: h.bytes_before(offset) for offset in offsets_of(facts)}
        return FileFacts(size, before, live_facts, checkpoint, parked, originals, sources, may_wait)

    def _begin(self, follow: Follow, key: FileKey, first_line: bytes, decision: Begin, *, now: float, once: bool) -> None:
        h = follow.harvester
        fingerprint = key.fingerprint
        start = decision.start
        inherited = decision.inherited
        resumed = start.reason is StartReason.RESUMED
        known = inherited if inherited is not None else self.book.get(key) if resumed else None
        recorded = known.encoding if known is not None else ""
        head = h.sample(encodings.DETECT_BYTES)
        resolved = encodings.resolve(follow.input.encoding, head, recorded, start.offset)
        if resolved is None:
            # Too few bytes to tell its encoding (shipper.harvest.encodings): like an incomplete first line.
            h.defer(now, IDENTIFY_RETRY)
            if once:
                self.close(follow)
            return
        if decision.retire_live:
            # Replaced in place while it was closed: that stream ends here; the file starts a new generation.
            self._retire(self.streams.pop(key))
        checkpoint = self.book.get(key)
        if inherited is not None:
            log.info("A copy of a truncated file continues its stream.", extra={"path": h.path, "from": inherited.path})
        if inherited is not None:
            identity = inherited.stream_identity
        elif resumed and checkpoint is not None:
            identity = checkpoint.stream_identity
        else:
            identity = str(key)
        encoding, bom = resolved.codec, resolved.bom
        line_end = line_end_of(head[:FINGERPRINT_BYTES]) if encoding not in encodings.WIDE else LF
        stream_id = stream_id_for(self.host_id, identity, start.generation)
        resource: dict[str, object] = {"host.name": self.host_name, "host.id": self.host_id}
        if follow.input.service_name:
            resource = {"service.name": follow.input.service_name, **resource}
        context = StreamContext(follow.input.id, stream_id, h.path, encoding, resource, dict(follow.input.fields))
        tracker = AckTracker(start.offset, marker_of(h.bytes_before(start.offset)), self.delivery.inflight, self.delivery)
        tracker.changed = not resumed
        processing = self.processing[follow.input.id]
        stream = Stream(
            key=key, stream_identity=identity, generation=start.generation, stream_id=stream_id, fingerprint=fingerprint,
            input=follow.input, path=h.path, encoding=encoding, line_end=line_end,
            parser=processing.wrap(StreamParser(follow.input, context), encoding), tracker=tracker,
            cursor=Cursor(max(start.offset, bom)), size=h.size, bom=bom, chain=processing.chain, topic=processing.topic,
        )
        self.streams[key] = stream
        log.info(
            "Following a file.",
            extra={"path": h.path, "key": str(key), "stream_id": stream_id, "generation": start.generation,
                   "offset": stream.cursor.position, "start": start.reason.value, "encoding": encoding,
                   "encoding_source": resolved.source.value},
        )
        self._attach(follow, stream, first_line)

    def _attach(self, follow: Follow, stream: Stream, first_line: bytes) -> None:
        self.table.attach(follow, stream)
        framer = Framer(stream.encoding, self.settings.max_line_bytes, stream.line_end)
        follow.harvester.start(stream.cursor, framer, stream.bom, first_line)

    def _adopt(self, follow: Follow, key: FileKey, parked: Parked, first_line: bytes) -> None:
        """Continue a truncated file's stream in its rotated copy."""
        self.parked.remove(parked)
        stream = parked.stream
        self.retired.remove(stream)
        log.info(
            "A rotated copy continues a truncated file's stream.", extra={"path": follow.harvester.path, "from": stream.path}
        )
        stream.retired = False
        stream.key = key
        stream.path = follow.harvester.path
        stream.tracker.changed = True
        self.streams[key] = stream
        self._attach(follow, stream, first_line)

    def _retire(self, stream: Stream) -> None:
        stream.retired = True
        self.retired.append(stream)
        self.book.retire(stream)

    def _still_holds(self, entry: Checkpoint) -> bool:
        """Whether the file `entry` was made from still has the bytes before its checkpoint."""
        if entry.replaced:
            return False
        if entry.key in self.table.attached:
            return True  # open and not seen truncated (yet)
        try:
            with platform.open_for_reading(entry.path) as handle:
                if platform.file_identity(handle.fileno()) != entry.key.os_identity:
                    return False
                return read_marker(handle, entry.offset) == entry.marker
        except OSError:
            return False

    def replaced(self, follow: Follow, now: float) -> None:
        """The open file's content was truncated or replaced: finish its stream, identify the file again."""
        h = follow.harvester
        stream = follow.stream
        assert stream is not None
        log.info("The file's content was replaced in place; reading it again as a new generation.", extra={"path": h.path})
        self.send(follow, stream.parser.flush(time.time_ns(), force=True))
        self.table.detach(follow)
        del self.streams[stream.key]
        self._retire(stream)
        wait = max(self.settings.rotate_wait, 2 * self.settings.rescan_interval + 1.0)
        self.parked.append(Parked(stream, now + wait))  # it keeps its cursor: where the copy would continue
        h.reopen()
        follow.defer_until = 0.0

    # -- delivery and closing --------------------------------------------------------------------------------

    def send(self, follow: Follow, events: list[EncodedEvent]) -> None:
        """Produce a stream's events; the checkpoint may then reach the read position or the first held record."""
        h = follow.harvester
        stream = follow.stream
        assert stream is not None
        held = stream.parser.held_from()
        position = h.cursor.position
        end = position if held is None else min(held, position)
        topics = None
        if stream.chain is not None and events:
            events, topics = stream.chain.apply(events)  # dropped events are not sent; `end` covers them
        if self.count_formats and events:
            self._count(events)
        self.delivery.send(stream.tracker, stream.stream_id, events, end, h.marker_before(end), topic=stream.topic, topics=topics)
        stream.size = h.size

    def _count(self, events: list[EncodedEvent]) -> None:
        counts = self.events_by_format
        for event in events:
            value = event.value
            start = value.find(b'"format":"')
            name = value[start + 10 : value.find(b'"', start + 10)].decode() if start >= 0 else "unknown"
            counts[name] = counts.get(name, 0) + 1
            if b'"parse_error":true' in value:
                self.parse_failures += 1

    def close(self, follow: Follow, *, remember: bool = True) -> None:
        """Close the handle; a stream's held events are emitted first (its file is done for now).

        `remember`: the file was read to its end, so it is opened again only once it changes; without it the
        next rescan queues it again (it was closed with data left to read).
        """
        h = follow.harvester
        if follow.stream is not None and h.state is not State.OPENING:
            self.send(follow, follow.stream.parser.flush(time.time_ns(), force=True))
        seen = None
        if remember and h.state is not State.DRAINING:
            seen = self._seen(h, fallback=True)
        self.table.remove(follow, seen)
        h.close()

    def failed(self, follow: Follow, error: OSError) -> None:
        """Reading the file failed: close it without touching its stream, which continues when it is opened again."""
        h = follow.harvester
        log.warning("Reading a file failed; it is tried again when it changes.", extra={"path": h.path, "error": str(error)})
        try:
            seen = self._seen(h, fallback=True)
        except OSError:
            seen = None
        self.table.remove(follow, seen)
        try:
            h.close()
        except OSError:
            pass

    def _seen(self, h: Harvester, *, fallback: bool) -> Seen | None:
        """The look that, at the next rescan, means "unchanged since the last read to its end"."""
        dev, ino = h.dev_ino
        if h.read_to is not None:
            size, mtime_ns = h.read_to
            return Seen(dev, ino, size, mtime_ns)
        if not fallback:
            return None
        st = os.fstat(h.fd)  # never read (first line incomplete): unchanged until it grows
        return Seen(dev, ino, st.st_size, st.st_mtime_ns)

    def close_all(self) -> None:
        """At shutdown: close every handle without flushing parsers (held records are read again next start)."""
        for follow in list(self.table.follows):
            follow.harvester.close()
        self.table.clear()

    # -- checkpoints -----------------------------------------------------------------------------------------

    def prune_checkpoints(self, retention: float) -> int:
        """Forget checkpoints unchanged for `retention` seconds whose file is no longer where it was.

        Kept while the file exists: its checkpoint is what stops it from being shipped again.
        """
        gone = self.book.prune(retention, set(self.streams), _still_there)
        if gone:
            log.info("Forgot the checkpoints of files gone for longer than the retention.", extra={"count": gone})
        return gone

    def collect_checkpoints(self) -> bool:
        """Move acknowledged positions into the checkpoints; forget settled streams without a handle.

        True when the checkpoints changed since they were last saved (`book.saved()`).
        """
        self.book.collect(self.streams.values())
        attached = self.table.attached
        for key in [k for k, s in self.streams.items() if k not in attached and s.tracker.settled]:
            del self.streams[key]
        self.retired = [s for s in self.retired if not s.tracker.settled or any(p.stream is s for p in self.parked)]
        return self.book.dirty


def _still_there(entry: Checkpoint) -> bool:
    """Whether the file a checkpoint was made from is still at its path."""
    try:
        with platform.open_for_reading(entry.path) as handle:
            return platform.file_identity(handle.fileno()) == entry.key.os_identity
    except OSError:
        return False

