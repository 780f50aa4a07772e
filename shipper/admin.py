"""`status` and `checkpoints show|reset`: what the shipper knows about each file, and replaying from a point.

Both read the files on disk and the checkpoint file; `reset` takes the state directory's lock, so it refuses
to run while a shipper is running (which would overwrite the change). A reset keeps the stream's generation:
re-shipped lines get the event ids they had, and the consumer drops the copies it already indexed.
"""

import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import orjson

from shipper import platform
from shipper.checkpoint.lock import StateLock, StateLocked
from shipper.checkpoint.store import Checkpoint, CheckpointError, JsonFileStore
from shipper.config import ShipperConfig
from shipper.discovery.scanner import Found, Scanner, glob_regex
from shipper.errors import ShipperError, UsageError
from shipper.harvest import encodings
from shipper.harvest.framing import Framer
from shipper.identity import FINGERPRINT_BYTES, FileKey, fingerprint_of, marker_of
from shipper.runner import checkpoint_path


@dataclass
class FileStatus:
    path: str
    input_id: str
    key: str | None
    """None while the file's first line is incomplete (not identified yet)."""
    size: int
    offset: int
    generation: int
    encoding: str | None = None
    """The codec its checkpoint recorded, else the one it would be read with now; None while too short to tell."""
    last_read: float | None = None
    """Unix time the checkpoint last moved (acknowledged lines), None before the first."""

    @property
    def behind(self) -> int:
        return max(0, self.size - self.offset)


def _load(config: ShipperConfig) -> dict[FileKey, Checkpoint]:
    try:
        return JsonFileStore(checkpoint_path(config)).load()
    except CheckpointError as error:
        raise ShipperError(str(error)) from None


def path_matcher(path_glob: str | None) -> Callable[[str], bool]:
    """Whether a path matches `--path`: an absolute glob the whole path, a relative one its last segments (`app.log`,
    `rot.log*`, `nginx/*.log`); `*` stays inside a segment, `**` crosses `/`."""
    if not path_glob:
        return lambda path: True
    pattern = path_glob.replace("\\", "/")
    absolute = pattern.startswith("/") or (len(pattern) > 1 and pattern[1] == ":")
    rx = glob_regex(pattern if absolute else "**/" + pattern)
    return lambda path: rx.fullmatch(path.replace("\\", "/")) is not None


def _files(config: ShipperConfig, path_glob: str | None) -> list[Found]:
    found = sorted(Scanner(config.inputs).scan().values(), key=lambda f: f.path)
    matches = path_matcher(path_glob)
    return [f for f in found if matches(f.path)]


def _current_keys(config: ShipperConfig) -> dict[FileKey, str]:
    """The identity of every file the inputs match now -> its current path."""
    keys: dict[FileKey, str] = {}
    for item in _files(config, None):
        try:
            with platform.open_for_reading(item.path) as handle:
                identity = platform.file_identity(handle.fileno())
                fingerprint = fingerprint_of(_read_head(handle)[:FINGERPRINT_BYTES])
        except OSError:
            continue
        if fingerprint:
            keys[FileKey(identity, fingerprint)] = item.path
    return keys


def _nothing_matched(path_glob: str | None, what: str) -> int:
    print(f"No {what} matches --path {path_glob!r}." if path_glob else f"No {what} is known.", file=sys.stderr)
    return 1


def file_status(config: ShipperConfig, path_glob: str | None = None) -> list[FileStatus]:
    checkpoints = _load(config)
    out = []
    for item in _files(config, path_glob):
        try:
            with platform.open_for_reading(item.path) as handle:
                identity = platform.file_identity(handle.fileno())
                head = _read_head(handle)
        except OSError:
            continue
        fingerprint = fingerprint_of(head[:FINGERPRINT_BYTES])
        key = FileKey(identity, fingerprint) if fingerprint else None
        checkpoint = checkpoints.get(key) if key else None
        current = checkpoint if checkpoint and not checkpoint.replaced else None
        offset = current.offset if current else 0
        generation = checkpoint.generation if checkpoint else 0
        resolved = encodings.resolve(item.input.encoding, head, current.encoding if current else "", offset)
        out.append(FileStatus(
            item.path, item.input.id, str(key) if key else None, item.stat.st_size, offset, generation,
            resolved.codec if resolved else None, checkpoint.updated if checkpoint and checkpoint.updated else None,
        ))
    return out


def running_shipper(config: ShipperConfig) -> int | None:
    """The pid of the shipper running with this state directory (0: one runs, pid unknown), None when none runs."""
    return StateLock(Path(config.shipper.state_dir)).holder()


def status(config: ShipperConfig, *, as_json: bool) -> int:
    """Per file: path, input, identity, encoding, checkpoint, size, bytes behind, last read; and whether a shipper
    runs. --json: one object per file (schema in README), then one `{"shipper": {"running": ..., "pid": ...}}`."""
    rows = file_status(config)
    pid = running_shipper(config)
    if as_json:
        for row in rows:
            sys.stdout.write(orjson.dumps({**row.__dict__, "behind": row.behind}).decode() + "\n")
        sys.stdout.write(orjson.dumps({"shipper": {"running": pid is not None, "pid": pid or None,
                                                   "state_dir": config.shipper.state_dir}}).decode() + "\n")
        return 0
    if pid is None:
        print(f"shipper: not running (state directory {config.shipper.state_dir})")
    else:
        print(f"shipper: running{f', pid {pid}' if pid else ''} (state directory {config.shipper.state_dir})")
    print(f"{'PATH':<50} {'INPUT':<12} {'ENCODING':<10} {'CHECKPOINT':>12} {'SIZE':>12} {'BEHIND':>12}  LAST READ")
    for row in rows:
        last = _time_text(row.last_read) if row.last_read else "-"
        print(
            f"{row.path:<50} {row.input_id:<12} {row.encoding or '-':<10} {row.offset:>12}"
            f" {row.size:>12} {row.behind:>12}  {last}"
        )
    return 0


def _time_text(unix: float) -> str:
    return datetime.fromtimestamp(unix, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def show_checkpoints(config: ShipperConfig, path_glob: str | None, *, as_json: bool) -> int:
    """Every checkpoint whose file's current path or recorded path matches --path; a file that moved (rotation) is
    shown under its current path, one that is gone under its last path with `(gone)`."""
    matches = path_matcher(path_glob)
    current = _current_keys(config)
    shown = 0
    for checkpoint in _load(config).values():
        path = current.get(checkpoint.key)
        if not (matches(checkpoint.path) or (path is not None and matches(path))):
            continue
        shown += 1
        if as_json:
            sys.stdout.write(orjson.dumps({**vars(checkpoint), "key": str(checkpoint.key), "current_path": path}).decode()
                             + "\n")
        else:
            where = path if path is not None else f"{checkpoint.path} (gone)"
            print(
                f"{where}  offset={checkpoint.offset} generation={checkpoint.generation}"
                f" encoding={checkpoint.encoding or '-'} input={checkpoint.input_id} key={checkpoint.key}"
            )
    return 0 if shown or not path_glob else _nothing_matched(path_glob, "checkpoint")


def reset_checkpoints(config: ShipperConfig, path_glob: str | None, *, to_start: bool, to_end: bool, offset: int | None) -> int:
    if not (to_start or to_end or offset is not None):
        raise UsageError("checkpoints reset needs one of --to-start, --to-end or --offset N")
    if offset is not None and offset < 0:
        raise UsageError("--offset must be 0 or more")
    lock = StateLock(Path(config.shipper.state_dir))
    try:
        lock.acquire()
    except StateLocked as error:
        raise ShipperError(f"{error}; stop it before resetting checkpoints") from None
    try:
        store = JsonFileStore(checkpoint_path(config))
        checkpoints = _load(config)
        changed = 0
        matches = path_matcher(path_glob)
        # The same paths as `show`: the file's current path or the one its checkpoint recorded (before a rotation).
        recorded = {path: checkpoints[key].path for key, path in _current_keys(config).items() if key in checkpoints}
        files = [f for f in _files(config, None) if matches(f.path) or (f.path in recorded and matches(recorded[f.path]))]
        if not files:
            return _nothing_matched(path_glob, "file")
        for item in files:
            done = _reset_one(item, checkpoints, to_start=to_start, to_end=to_end, offset=offset)
            if done is not None:
                checkpoints[done.key] = done
                print(f"{item.path}: checkpoint set to {done.offset}")
                changed += 1
        store.save(checkpoints.values())
        print(f"{changed} checkpoint(s) reset")
    finally:
        lock.release()
    return 0


def _reset_one(
    item: Found, checkpoints: dict[FileKey, Checkpoint], *, to_start: bool, to_end: bool, offset: int | None
) -> Checkpoint | None:
    with platform.open_for_reading(item.path) as handle:
        head = _read_head(handle)
        fingerprint = fingerprint_of(head[:FINGERPRINT_BYTES])
        if fingerprint is None:
            return None
        key = FileKey(platform.file_identity(handle.fileno()), fingerprint)
        previous = checkpoints.get(key)
        recorded = previous.encoding if previous is not None and not previous.replaced else ""
        resolved = encodings.resolve(item.input.encoding, head, recorded)
        if resolved is None:
            return None  # too short to tell its encoding: nothing to reset yet
        encoding, bom = resolved.codec, resolved.bom
        framer = Framer(encoding, 1)
        size = item.stat.st_size
        if to_start:
            target = 0
        elif to_end:
            target = _line_start_at_or_before(handle, size, framer, bom)
        else:
            target = _line_start_at_or_after(handle, min(offset or 0, size), framer, bom)
        handle.seek(max(0, target - 64))
        marker = marker_of(handle.read(target - max(0, target - 64)) or b"")
    if previous is not None:
        return replace(
            previous, offset=target, marker=marker, replaced=False, path=item.path, size=size, encoding=encoding
        )
    return Checkpoint(key=key, stream_identity=str(key), generation=0, offset=target, marker=marker, path=item.path,
                      input_id=item.input.id, size=size, encoding=encoding)


def _read_head(handle: object) -> bytes:
    """The bytes the file's identity and encoding are read from (the first DETECT_BYTES)."""
    assert hasattr(handle, "seek") and hasattr(handle, "read")
    handle.seek(0)
    return handle.read(encodings.DETECT_BYTES) or b""


def _line_start_at_or_before(handle: object, size: int, framer: Framer, bom: int) -> int:
    """The offset just after the last complete line that ends at or before `size`."""
    assert hasattr(handle, "seek") and hasattr(handle, "read")
    window = 1 << 20
    end = size
    while end > bom:
        start = max(bom, end - window)
        handle.seek(start)
        data = handle.read(end - start) or b""
        index = data.rfind(framer.newline)
        while index >= 0 and framer.wide and (start + index - bom) % 2:
            index = data.rfind(framer.newline, 0, index)
        if index >= 0:
            return start + index + len(framer.newline)
        end = start
    return 0


def _line_start_at_or_after(handle: object, offset: int, framer: Framer, bom: int) -> int:
    """`offset` if a line starts there, else the start of the next line."""
    assert hasattr(handle, "seek") and hasattr(handle, "read")
    if offset <= bom:
        return 0
    if framer.wide and (offset - bom) % 2:
        offset += 1
    nl = len(framer.newline)
    handle.seek(offset - nl)
    if handle.read(nl) == framer.newline:
        return offset
    position = offset
    while True:
        handle.seek(position)
        data = handle.read(1 << 20) or b""
        if not data:
            return position
        index = framer.find_newline(data)
        if index >= 0:
            return position + index + nl
        position += len(data) - len(data) % 2
