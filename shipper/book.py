"""The checkpoint book: the checkpoints in memory, and the one place acknowledgements become checkpoints.

Streams' ack trackers move as Kafka acknowledges; `collect` turns every moved tracker into its stream's checkpoint.
The book stays dirty until a save succeeded (`saved()`), so a failed write (a full disk) is simply tried again.
"""

import time
from collections.abc import Callable, Iterable
from dataclasses import replace

from shipper.checkpoint import Checkpoint
from shipper.identity import FileKey
from shipper.streams import Stream


class CheckpointBook:
    def __init__(self, checkpoints: dict[FileKey, Checkpoint]) -> None:
        self.entries = checkpoints
        self.by_fingerprint: dict[str, list[FileKey]] = {}
        for key in checkpoints:
            self.by_fingerprint.setdefault(key.fingerprint, []).append(key)
        self.dirty = False

    def get(self, key: FileKey) -> Checkpoint | None:
        return self.entries.get(key)

    def same_fingerprint(self, key: FileKey) -> list[Checkpoint]:
        """The checkpoints of other files with this key's fingerprint (copies, or the file it was copied from)."""
        return [self.entries[k] for k in self.by_fingerprint.get(key.fingerprint, ()) if k != key and k in self.entries]

    def _set(self, entry: Checkpoint) -> None:
        self.entries[entry.key] = entry
        keys = self.by_fingerprint.setdefault(entry.key.fingerprint, [])
        if entry.key not in keys:
            keys.append(entry.key)
        self.dirty = True

    def retire(self, stream: Stream) -> None:
        """The stream's content was replaced: its checkpoint says so, and the next reader starts a new generation."""
        self._set(replace(stream.checkpoint(), replaced=True))

    def collect(self, streams: Iterable[Stream]) -> None:
        """Turn acknowledged positions into checkpoints."""
        for stream in streams:
            tracker = stream.tracker
            if tracker.changed:
                tracker.changed = False
                self._set(stream.checkpoint())

    def prune(self, retention: float, live: set[FileKey], still_there: Callable[[Checkpoint], bool]) -> int:
        """Forget checkpoints unchanged for `retention` seconds whose file is no longer where it was."""
        if retention <= 0:
            return 0
        cutoff = time.time() - retention
        gone = [
            key for key, entry in self.entries.items()
            if entry.updated < cutoff and key not in live and not still_there(entry)
        ]
        for key in gone:
            del self.entries[key]
            keys = self.by_fingerprint.get(key.fingerprint, [])
            if key in keys:
                keys.remove(key)
        if gone:
            self.dirty = True
        return len(gone)

    def snapshot(self) -> list[Checkpoint]:
        return list(self.entries.values())

    def saved(self) -> None:
        self.dirty = False
