"""The file table: every open file and the indexes over it, changed only through `add`, `remove` and friends.

Indexes: the open files in opening order, by path (the name each is followed under; a draining handle has none),
by (dev, ino) (a second name of an open file is not opened twice), by stream key (the handle reading each live
stream), and, for closed files, what they looked like when last read to their end (`seen`), so a rescan reopens
exactly the files that changed since.
"""

import time
from dataclasses import dataclass, field

from shipper.config import InputSettings
from shipper.harvest.harvester import Harvester
from shipper.identity import FileKey
from shipper.streams import Stream


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


@dataclass(frozen=True)
class Seen:
    """A closed file as it was when last read to its end: any other look at it means it changed."""

    dev: int
    ino: int
    size: int
    mtime_ns: int


class FileTable:
    def __init__(self) -> None:
        self.follows: list[Follow] = []
        self.by_path: dict[str, Follow] = {}
        self.by_dev_ino: dict[tuple[int, int], Follow] = {}
        self.attached: dict[FileKey, Follow] = {}
        self.seen: dict[str, Seen] = {}

    def __len__(self) -> int:
        return len(self.follows)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.follows)

    def add(self, follow: Follow) -> None:
        h = follow.harvester
        self.follows.append(follow)
        self.by_path[h.path] = follow
        self.by_dev_ino[h.dev_ino] = follow
        self.seen.pop(h.path, None)

    def remove(self, follow: Follow, seen: Seen | None = None) -> None:
        """Forget an open file in every index; `seen`: remember its path's look, so only a change reopens it."""
        h = follow.harvester
        self.detach(follow)
        if self.by_path.get(h.path) is follow:
            del self.by_path[h.path]
            if seen is not None:
                self.seen[h.path] = seen
        if self.by_dev_ino.get(h.dev_ino) is follow:
            del self.by_dev_ino[h.dev_ino]
        self.follows.remove(follow)

    def unlist_path(self, follow: Follow) -> None:
        """The file's path is gone or names another file (it keeps being read as a draining handle)."""
        path = follow.harvester.path
        if self.by_path.get(path) is follow:
            del self.by_path[path]

    def list_path(self, follow: Follow, path: str) -> None:
        """A draining handle's file reappeared under `path`."""
        self.by_path[path] = follow

    def attach(self, follow: Follow, stream: Stream) -> None:
        follow.stream = stream
        self.attached[stream.key] = follow

    def detach(self, follow: Follow) -> None:
        stream = follow.stream
        if stream is not None and self.attached.get(stream.key) is follow:
            del self.attached[stream.key]
        follow.stream = None

    def forget_missing(self, present: dict[str, object]) -> None:
        """Drop what is remembered of closed files that no rescan finds any more."""
        for path in [p for p in self.seen if p not in present]:
            del self.seen[path]

    def clear(self) -> None:
        for follow in self.follows:
            self.detach(follow)
        self.follows.clear()
        self.by_path.clear()
        self.by_dev_ino.clear()
