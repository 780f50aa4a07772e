"""The checkpoint store interface and its file implementation.

A checkpoint says, for one file identity (never a path), which stream its bytes belong to (identity +
generation) and the offset below which every record was acknowledged by Kafka, with the offset marker that
proves on resume that the bytes before it are still the ones that were shipped.

The file is versioned JSON, written to a temporary file, fsynced, renamed over the old one, and the directory
fsynced, so a crash leaves either the old or the new checkpoints, never a torn file. An older version is read
through one upgrade function per version (`UPGRADES`), so every file ever written keeps resuming:

- version 1: each checkpoint's `key` is the key's text form (`dev:1/ino:2/fp:abcd`);
- version 2: the key's parts are fields of their own (`os_identity`, `fingerprint`), so nothing parses text;
- version 3: each checkpoint records the codec its file is decoded with (`encoding`, detected or configured), so a
  restart mid-file decodes the same way; upgraded entries hold "" (not recorded: decided again when resumed).
"""

import dataclasses
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import orjson

from shipper import platform
from shipper.identity import FileKey

FORMAT_VERSION = 3


class CheckpointError(Exception):
    """The checkpoint file cannot be read or written."""


@dataclass
class Checkpoint:
    key: FileKey
    """The file identity: OS identity and first-line fingerprint."""
    stream_identity: str
    """What the stream id is made from; the key, or the key of the file this stream was first read from."""
    generation: int
    offset: int
    """Every record below this byte offset was acknowledged."""
    marker: str
    """Hash of the bytes just before `offset` (shipper.identity.marker_of)."""
    path: str
    input_id: str
    size: int = 0
    """The file's size when last seen."""
    updated: float = 0.0
    """Unix time of the last change."""
    replaced: bool = False
    """The content was seen replaced in place: the next reader starts a new generation at 0."""
    encoding: str = ""
    """The codec the file is decoded with (utf-8, utf-16-le, ...); "" when not recorded (an older version's entry)."""


class CheckpointStore(Protocol):
    """Where checkpoints persist."""

    def load(self) -> dict[FileKey, Checkpoint]: ...

    def save(self, checkpoints: Iterable[Checkpoint]) -> None: ...


class JsonFileStore:
    """Checkpoints in one versioned JSON file, replaced atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[FileKey, Checkpoint]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as error:
            raise CheckpointError(f"cannot read {self.path}: {error.strerror}") from None
        try:
            document: Any = orjson.loads(raw)
        except orjson.JSONDecodeError as error:
            raise CheckpointError(f"{self.path} is not valid JSON: {error}") from None
        version = document.get("version") if isinstance(document, dict) else None
        if not isinstance(version, int) or not 1 <= version <= FORMAT_VERSION:
            raise CheckpointError(f"{self.path} is not a checkpoint file of version 1 to {FORMAT_VERSION}")
        try:
            while version < FORMAT_VERSION:
                document = UPGRADES[version](document)
                version += 1
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise CheckpointError(f"{self.path} holds a malformed version {version} checkpoint: {error}") from None
        names = {f.name for f in dataclasses.fields(Checkpoint)} - {"key"}
        out: dict[FileKey, Checkpoint] = {}
        for item in document.get("checkpoints", []):
            try:
                key = FileKey(str(item["os_identity"]), str(item["fingerprint"]))
                checkpoint = Checkpoint(key=key, **{k: v for k, v in item.items() if k in names})
            except (KeyError, TypeError, AttributeError) as error:
                raise CheckpointError(f"{self.path} holds a malformed checkpoint: {error}") from None
            out[checkpoint.key] = checkpoint
        return out

    def save(self, checkpoints: Iterable[Checkpoint]) -> None:
        document = {"version": FORMAT_VERSION, "checkpoints": [to_document(c) for c in checkpoints]}
        data = orjson.dumps(document, option=orjson.OPT_INDENT_2)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        platform.replace_file(str(tmp), str(self.path))
        _fsync_directory(self.path.parent)


def to_document(checkpoint: Checkpoint) -> dict[str, Any]:
    """A checkpoint as the current version writes it."""
    # vars(): the fields are plain values, and dataclasses.asdict() costs far more per entry.
    fields = dict(vars(checkpoint))
    key = fields.pop("key")
    return {"os_identity": key.os_identity, "fingerprint": key.fingerprint, **fields}


def _upgrade_1_to_2(document: dict[str, Any]) -> dict[str, Any]:
    """Version 1 held the key's text form; version 2 holds its parts."""
    upgraded = []
    for item in document.get("checkpoints", []):
        fields = dict(item)
        key = FileKey.parse(fields.pop("key"))
        upgraded.append({"os_identity": key.os_identity, "fingerprint": key.fingerprint, **fields})
    return {**document, "version": 2, "checkpoints": upgraded}


def _upgrade_2_to_3(document: dict[str, Any]) -> dict[str, Any]:
    """Version 2 recorded no codec: "" says so, and a resumed stream decides it again (shipper.harvest.encodings)."""
    upgraded = [{**item, "encoding": ""} for item in document.get("checkpoints", [])]
    return {**document, "version": 3, "checkpoints": upgraded}


UPGRADES: dict[int, Any] = {1: _upgrade_1_to_2, 2: _upgrade_2_to_3}
"""version N -> the function that turns a version-N document into a version-N+1 one."""


def _fsync_directory(directory: Path) -> None:
    if sys.platform == "win32":
        return  # Windows cannot open a directory for fsync; MoveFileEx is durable enough there.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


STORES: dict[str, type[JsonFileStore]] = {"file": JsonFileStore}
