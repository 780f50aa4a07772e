"""The files being followed: which are open, which stream each belongs to, and the life of each handle.

Decisions made here:
- identity: a file is identified once its first line is complete; its checkpoint key is its OS identity plus
  the first-line fingerprint (shipper.identity), so renames keep the checkpoint and inode reuse does not;
- resume: a checkpoint is trusted only when the file is not shorter and the offset marker matches, else the
  file starts again at 0 in the next generation (new event ids, so new content never takes old ones);
- rotation: a path that vanished or now names another file makes its handle drain to the end, then close
  after rotate_wait; a handle renamed to another matching name keeps being followed under it;
- copytruncate: when a file's content is replaced in place, its stream is parked for a while; a new file
  whose head and bytes before the parked position are the same (the rotated copy) continues that stream
  from there, so the lines written between the last read and the truncation are shipped once.
"""

import logging
import os
import socket
import time
from collections import deque
from dataclasses import dataclass, field, replace

from shipper import platform
from shipper.checkpoint import Checkpoint
from shipper.config import InputSettings, ShipperConfig
from shipper.delivery.acks import AckTracker
from shipper.delivery.producer import Delivery
from shipper.discovery.scanner import Found
from shipper.harvest.framing import Framer, resolve_encoding
from shipper.harvest.gzipped import GzipHarvester, is_gzip_path
from shipper.harvest.harvester import Harvester, State
from shipper.identity import file_key, fingerprint_of, fingerprint_of_key, marker_of, read_marker
from shipper.parsers.pipeline import StreamParser
from shipper.records import EncodedEvent, StreamContext
from shipper.streams import Start, Stream, decide_start, stream_id_for

log = logging.getLogger("shipper.files")

SLOT_TURN = 1.0  # seconds a busy file keeps its slot while other files wait for one


@dataclass
class Follow:
    """An open file: its harvester, the input it matched, and its stream once identified."""

    harvester: Harvester
    input: InputSettings
    stream: Stream | None = None
    defer_until: float = 0.0
    opened_at: float = field(default_factory=time.monotonic)
    size_at_open: int = 0
    """The size when opened: what `run --once` ships at most."""


@dataclass
class Parked:
    """A stream whose file was truncated in place, waiting for its rotated copy to continue it."""

    stream: Stream
    position: int
    tail: bytes
    until: float


class Files:
    """Open files, live streams and checkpoints."""

    def __init__(self, config: ShipperConfig, host_id: str, checkpoints: dict[str, Checkpoint], delivery: Delivery) -> None:
        self.settings = config.shipper
        self.host_id = host_id
        self.host_name = config.shipper.host_name or socket.gethostname()
        self.checkpoints = checkpoints
        self.keys_by_fingerprint: dict[str, list[str]] = {}
        for entry_key in checkpoints:
            self.keys_by_fingerprint.setdefault(fingerprint_of_key(entry_key), []).append(entry_key)
        self.checkpoints_dirty = False
        self.delivery = delivery
        self.follows: list[Follow] = []
        self.by_path: dict[str, Follow] = {}
        self.by_dev_ino: dict[tuple[int, int], Follow] = {}
        self.streams: dict[str, Stream] = {}  # live: attached to a handle or with events in flight
        self.attached: dict[str, Follow] = {}
        self.retired: list[Stream] = []
        self.parked: list[Parked] = []
        self.seen: dict[str, tuple[int, int, int, int]] = {}  # closed files: path -> (dev, ino, size, mtime_ns)
        self.waiting: deque[Found] = deque()
        self.waiting_paths: set[str] = set()
        self.unreadable: set[str] = set()
        self.lines_read = 0
        self.bytes_read = 0
        # Counting events by format costs a scan per event, so only when metrics are served.
        self.count_formats = bool(config.shipper.metrics_address)
        self.events_by_format: dict[str, int] = {}
        self.parse_failures = 0

    # -- discovery -------------------------------------------------------------------------------------------

    def apply_scan(self, found: dict[str, Found], now: float) -> None:
        """Drain handles whose path is gone or names another file; queue new and grown files for opening."""
        for follow in list(self.follows):
            h = follow.harvester
            if h.state is State.DRAINING:
                continue
            current = found.get(h.path)
            if current is None or (current.stat.st_dev, current.stat.st_ino) != h.dev_ino or platform.is_delete_pending(h.fd):
                self.start_draining(follow, now)
        ignore_older = self.settings.ignore_older
        wall = time.time()
        for path, item in found.items():
            if path in self.by_path or path in self.waiting_paths:
                continue
            st = item.stat
            renamed = self.by_dev_ino.get((st.st_dev, st.st_ino))
            if renamed is not None:
                if renamed.harvester.state is State.DRAINING:
                    log.info("Following a renamed file under its new name.", extra={"path": path, "was": renamed.harvester.path})
                    renamed.harvester.path = path
                    renamed.harvester.move(State.IDLE)
                    self.by_path[path] = renamed
                continue
            look = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
            previous = self.seen.get(path)
            if previous == look:
                continue
            if ignore_older and previous is None and wall - st.st_mtime > ignore_older:
                self.seen[path] = look
                continue
            self.waiting.append(item)
            self.waiting_paths.add(path)
        for path in [p for p in self.seen if p not in found]:
            del self.seen[path]

    def start_draining(self, follow: Follow, now: float) -> None:
        h = follow.harvester
        if self.by_path.get(h.path) is follow:
            del self.by_path[h.path]
        if h.state is State.OPENING:
            self.close(follow)
            return
        log.info("The file was rotated or deleted; reading its handle to the end.", extra={"path": h.path})
        h.move(State.DRAINING)
        h.next_poll = now

    def open_waiting(self, once: bool) -> None:
        """Open queued files while slots are free, closing idle files when others wait."""
        limit = self.settings.max_open_files
        excess = len(self.follows) + len(self.waiting) - limit
        if self.waiting and excess > 0:
            # Make room: idle files first (least recently active), then, so that busy files cannot keep
            # waiting ones out for ever, files that have had a turn for a while. A closed file's stream
            # stays live and continues where it stopped when the file is opened again.
            now = time.monotonic()
            quiet = [f for f in self.follows if f.stream is not None and f.stream.parser.held_from() is None]
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
        while self.waiting and len(self.follows) < limit:
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
            if h.dev_ino in self.by_dev_ino:
                h.close()
                continue
            follow = Follow(h, item.input, size_at_open=size)
            self.follows.append(follow)
            self.by_path[item.path] = follow
            self.by_dev_ino[h.dev_ino] = follow

    # -- identity --------------------------------------------------------------------------------------------

    def identify(self, follow: Follow, now: float, once: bool) -> None:
        """Give an OPENING file its stream once its first line is complete."""
        h = follow.harvester
        head = h.head()
        fingerprint = fingerprint_of(head)
        if fingerprint is None or now < follow.defer_until:
            h.next_poll = now + 0.2
            if once and fingerprint is None:
                self.close(follow)
            return
        key = file_key(h.os_identity, fingerprint)
        stream = self.streams.get(key)
        if stream is not None:
            if key in self.attached:
                self.close(follow)  # the same file under a second name (a hard link): read it once
                return
            if h.stat_size() >= stream.position and h.bytes_before(stream.position) == stream.tail:
                self._attach(follow, stream, stream.position)
                return
            # Replaced in place while it was closed: that stream ends here; the file starts a new generation.
            del self.streams[key]
            stream.retired = True
            self.retired.append(stream)
            self.set_checkpoint(replace(stream.checkpoint(), replaced=True))
            self.checkpoints_dirty = True
        checkpoint = self.checkpoints.get(key)
        inherited: Checkpoint | None = None
        if checkpoint is None:
            if self._adopt_copy(follow, key, fingerprint, now, once) or h.state is not State.OPENING:
                return
            inherited, deferred = self._copy_of_checkpoint(follow, key, fingerprint, now, once)
            if deferred:
                return
        if inherited is not None:
            start = Start(inherited.generation, inherited.offset, "copy of " + inherited.path)
        else:
            start = decide_start(checkpoint, h.stat_size(), lambda offset: read_marker(h.handle, offset))
        encoding, bom = resolve_encoding(follow.input.encoding, head)
        resumed = checkpoint is not None and start.reason == "resumed"
        if inherited is not None:
            identity = inherited.stream_identity
        elif resumed and checkpoint is not None:
            identity = checkpoint.stream_identity
        else:
            identity = key
        stream_id = stream_id_for(self.host_id, identity, start.generation)
        resource: dict[str, object] = {"host.name": self.host_name, "host.id": self.host_id}
        if follow.input.service_name:
            resource = {"service.name": follow.input.service_name, **resource}
        context = StreamContext(follow.input.id, stream_id, h.path, encoding, resource, dict(follow.input.fields))
        tracker = AckTracker(start.offset, marker_of(h.bytes_before(start.offset)), self.delivery.inflight, self.delivery)
        tracker.changed = not resumed
        stream = Stream(
            key=key, stream_identity=identity, generation=start.generation, stream_id=stream_id, fingerprint=fingerprint,
            input=follow.input, path=h.path, encoding=encoding, parser=StreamParser(follow.input, context),
            tracker=tracker, position=max(start.offset, bom), size=h.size, bom=bom,
        )
        stream.tail = h.bytes_before(stream.position)
        self.streams[key] = stream
        log.info(
            "Following a file.",
            extra={"path": h.path, "key": key, "stream_id": stream_id, "generation": start.generation,
                   "offset": stream.position, "start": start.reason},
        )
        self._attach(follow, stream, stream.position)

    def _attach(self, follow: Follow, stream: Stream, position: int) -> None:
        follow.stream = stream
        self.attached[stream.key] = follow
        follow.harvester.start(position, Framer(stream.encoding, self.settings.max_line_bytes), stream.bom)

    def _adopt_copy(self, follow: Follow, key: str, fingerprint: str, now: float, once: bool) -> bool:
        """Continue a truncated file's stream in its rotated copy; or wait a little when this looks like one."""
        h = follow.harvester
        self.parked = [p for p in self.parked if p.until > now]
        for parked in self.parked:
            if parked.stream.fingerprint == fingerprint and h.stat_size() >= parked.position and (
                h.bytes_before(parked.position) == parked.tail
            ):
                self.parked.remove(parked)
                stream = parked.stream
                self.retired.remove(stream)
                log.info("A rotated copy continues a truncated file's stream.", extra={"path": h.path, "from": stream.path})
                stream.retired = False
                stream.key = key
                stream.path = h.path
                stream.position, stream.tail = parked.position, parked.tail
                stream.tracker.changed = True
                self.streams[key] = stream
                self._attach(follow, stream, parked.position)
                return True
        if once or follow.defer_until:
            return False
        # Copied but the original not yet seen truncated: give the truncation a moment to show.
        for other in self.attached.values():
            live = other.stream
            if live is not None and live.fingerprint == fingerprint and other.harvester.position > 0 and (
                h.stat_size() >= other.harvester.position and h.bytes_before(other.harvester.position) == other.harvester.tail
            ):
                follow.defer_until = now + 2 * self.settings.rescan_interval + 1.0
                h.next_poll = now + 0.2
                return True
        return False

    def _copy_of_checkpoint(
        self, follow: Follow, key: str, fingerprint: str, now: float, once: bool
    ) -> tuple[Checkpoint | None, bool]:
        """(the checkpoint this new file continues, whether to wait before deciding).

        A new file with a known stream's first line and that stream's bytes just before its checkpoint is a copy
        of it (logrotate's copytruncate copy, also when the truncation happened while the shipper was down). Once
        the original no longer holds those bytes, the copy continues that stream from the checkpoint: lines it
        sends again keep their event ids. While the original still holds them, wait a moment for the truncation;
        after that the file is taken for a copy made on purpose and shipped as its own stream.
        """
        h = follow.harvester
        size = h.stat_size()
        for other_key in self.keys_by_fingerprint.get(fingerprint, ()):
            entry = self.checkpoints.get(other_key)
            if other_key == key or entry is None or entry.offset == 0 or size < entry.offset:
                continue
            if marker_of(h.bytes_before(entry.offset)) != entry.marker:
                continue
            if not self._still_holds(entry):
                log.info("A copy of a truncated file continues its stream.", extra={"path": h.path, "from": entry.path})
                return entry, False
            if not once and not follow.defer_until:
                follow.defer_until = now + 2 * self.settings.rescan_interval + 1.0
                h.next_poll = now + 0.2
                return None, True
        return None, False

    def _still_holds(self, entry: Checkpoint) -> bool:
        """Whether the file `entry` was made from still has the bytes before its checkpoint."""
        if entry.replaced:
            return False
        if entry.key in self.attached:
            return True  # open and not seen truncated (yet)
        try:
            with platform.open_for_reading(entry.path) as handle:
                if platform.file_identity(handle.fileno()) != entry.key.rsplit("/fp:", 1)[0]:
                    return False
                return read_marker(handle, entry.offset) == entry.marker
        except OSError:
            return False

    def set_checkpoint(self, entry: Checkpoint) -> None:
        self.checkpoints[entry.key] = entry
        keys = self.keys_by_fingerprint.setdefault(fingerprint_of_key(entry.key), [])
        if entry.key not in keys:
            keys.append(entry.key)

    def replaced(self, follow: Follow, now: float) -> None:
        """The open file's content was truncated or replaced: finish its stream, identify the file again."""
        h = follow.harvester
        stream = follow.stream
        assert stream is not None
        log.info("The file's content was replaced in place; reading it again as a new generation.", extra={"path": h.path})
        self.send(follow, stream.parser.flush(time.time_ns(), force=True))
        self._detach(follow)
        del self.streams[stream.key]
        stream.retired = True
        self.retired.append(stream)
        self.set_checkpoint(replace(stream.checkpoint(), replaced=True))
        self.checkpoints_dirty = True
        wait = max(self.settings.rotate_wait, 2 * self.settings.rescan_interval + 1.0)
        self.parked.append(Parked(stream, h.position, h.tail, now + wait))
        h.reopen()
        follow.defer_until = 0.0

    # -- delivery and closing --------------------------------------------------------------------------------

    def send(self, follow: Follow, events: list[EncodedEvent]) -> None:
        """Produce a stream's events; the checkpoint may then reach the read position or the first held record."""
        h = follow.harvester
        stream = follow.stream
        assert stream is not None
        held = stream.parser.held_from()
        end = h.position if held is None else min(held, h.position)
        if self.count_formats and events:
            self._count(events)
        self.delivery.send(stream.tracker, stream.stream_id, events, end, h.marker_before(end))
        stream.position = h.position
        stream.tail = h.tail
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

    def _detach(self, follow: Follow) -> None:
        stream = follow.stream
        if stream is not None and self.attached.get(stream.key) is follow:
            del self.attached[stream.key]
        follow.stream = None

    def close(self, follow: Follow, *, remember: bool = True) -> None:
        """Close the handle; a stream's held events are emitted first (its file is done for now).

        `remember`: the file was read to its end, so it is opened again only once it changes; without it the
        next rescan queues it again (it was closed with data left to read).
        """
        h = follow.harvester
        if follow.stream is not None and h.state is not State.OPENING:
            self.send(follow, follow.stream.parser.flush(time.time_ns(), force=True))
        self._detach(follow)
        if self.by_path.get(h.path) is follow:
            del self.by_path[h.path]
            if remember and h.state is not State.DRAINING:
                st = os.fstat(h.fd)
                self.seen[h.path] = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        if self.by_dev_ino.get(h.dev_ino) is follow:
            del self.by_dev_ino[h.dev_ino]
        self.follows.remove(follow)
        h.close()

    def failed(self, follow: Follow, error: OSError) -> None:
        """Reading the file failed: close it without touching its stream, which continues when it is opened again."""
        h = follow.harvester
        log.warning("Reading a file failed; it is tried again when it changes.", extra={"path": h.path, "error": str(error)})
        self._detach(follow)
        if self.by_path.get(h.path) is follow:
            del self.by_path[h.path]
            try:
                st = os.stat(h.path)
                self.seen[h.path] = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
            except OSError:
                pass
        if self.by_dev_ino.get(h.dev_ino) is follow:
            del self.by_dev_ino[h.dev_ino]
        self.follows.remove(follow)
        try:
            h.close()
        except OSError:
            pass

    def close_all(self) -> None:
        """At shutdown: close every handle without flushing parsers (held records are read again next start)."""
        for follow in list(self.follows):
            self._detach(follow)
            follow.harvester.close()
        self.follows.clear()
        self.by_path.clear()
        self.by_dev_ino.clear()

    # -- checkpoints -----------------------------------------------------------------------------------------

    def prune_checkpoints(self, retention: float) -> int:
        """Forget checkpoints unchanged for `retention` seconds whose file is no longer where it was.

        Kept while the file exists: its checkpoint is what stops it from being shipped again.
        """
        if retention <= 0:
            return 0
        cutoff = time.time() - retention
        live = set(self.streams)
        gone = []
        for key, entry in self.checkpoints.items():
            if entry.updated >= cutoff or key in live:
                continue
            try:
                with platform.open_for_reading(entry.path) as handle:
                    if platform.file_identity(handle.fileno()) == key.rsplit("/fp:", 1)[0]:
                        continue
            except OSError:
                pass
            gone.append(key)
        for key in gone:
            del self.checkpoints[key]
            keys = self.keys_by_fingerprint.get(fingerprint_of_key(key), [])
            if key in keys:
                keys.remove(key)
        if gone:
            self.checkpoints_dirty = True
            log.info("Forgot the checkpoints of files gone for longer than the retention.", extra={"count": len(gone)})
        return len(gone)

    def collect_checkpoints(self) -> bool:
        """Move acknowledged positions into the checkpoints; forget settled streams without a handle."""
        changed = self.checkpoints_dirty
        self.checkpoints_dirty = False
        for key, stream in list(self.streams.items()):
            if stream.tracker.changed:
                stream.tracker.changed = False
                self.set_checkpoint(stream.checkpoint())
                changed = True
            if key not in self.attached and stream.tracker.settled:
                del self.streams[key]
        self.retired = [s for s in self.retired if not s.tracker.settled or any(p.stream is s for p in self.parked)]
        return changed
