"""Expanding one glob into the paths it names, with os.scandir, loop-proof and bounded.

It names the same paths as `glob.iglob(pattern, recursive=True)` for trees without directory loops (same
spelling: the literal prefix as written, then `os.path.join` of the names; `*` and `?` skip names starting
with '.', unless the pattern segment starts with one; `**` does not enter hidden directories), and differs where
glob cannot end:

- Under `**` a real directory (device + inode) is entered at most once per position in the pattern, so
  `sub/a -> .` and `sub/b -> .` cost one visit each instead of 2^40 paths. Directories reached through a
  symlink are entered only after every directory reached without one, so a file inside the tree is always named
  by its real path, whatever order the file system lists entries in.
- `**` spans at most `max_depth` directories; deeper ones are counted in `Walk.too_deep` and left alone.
- `should_stop()` is asked before every directory is listed; when it answers True the walk raises Stopped.

Nothing is stat'ed but the directories listed (for the loop check, and so Hints can tell whether the OS watches
every directory a result comes from) and, by the caller, the files found.
"""

import fnmatch
import glob
import heapq
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

DEFAULT_MAX_DEPTH = 16


class Stopped(Exception):
    """The walk was asked to stop before it finished."""


def never() -> bool:
    return False


@dataclass(frozen=True)
class Segment:
    """One path segment of a pattern: a literal name, a wildcard name, or `**`."""

    text: str
    magic: bool
    recursive: bool
    match: Callable[[str], object] | None
    hidden_ok: bool  # the segment itself starts with '.', so it may match hidden names


def _segment(text: str) -> Segment:
    if text == "**":
        return Segment(text, True, True, None, False)
    if not glob.has_magic(text):
        return Segment(text, False, False, None, True)
    rx = re.compile(fnmatch.translate(os.path.normcase(text)))
    if os.path.normcase("A") == "A":
        match: Callable[[str], object] = rx.match
    else:  # Windows: names compare case-insensitively, as fnmatch.filter does there
        def match(name: str, _rx: re.Pattern[str] = rx) -> object:
            return _rx.match(os.path.normcase(name))
    return Segment(text, True, False, match, text.startswith("."))


def split_pattern(pattern: str) -> tuple[str, list[Segment]]:
    """The literal directory before the first wildcard (as glob spells it), and the segments after it.

    A trailing `**` becomes `**/*` (what glob yields for it that is not a directory); a trailing separator
    (directories only) leaves no segment that can name a file, so the list ends with an empty literal.
    """
    names: list[str] = []
    rest = pattern
    while glob.has_magic(rest):
        dirname, basename = os.path.split(rest)
        if dirname == rest:  # a drive or UNC root with a wildcard in it: glob treats it as literal too
            break
        names.append(basename)
        rest = dirname
        if not dirname:
            break
    names.reverse()
    if names and names[-1] == "**":
        names.append("*")
    return rest, [_segment(name) for name in names]


@dataclass
class Walk:
    """One expansion of one pattern: iterate `paths()` once, then read the counters."""

    pattern: str
    max_depth: int = DEFAULT_MAX_DEPTH
    should_stop: Callable[[], bool] = never
    too_deep: int = 0  # directories `**` did not enter because of max_depth
    loops: int = 0  # directories `**` did not enter again (a symlink back to one already walked)
    listed: int = 0  # directories listed
    directories: set[tuple[int, int]] = field(default_factory=set)  # (st_dev, st_ino) of each listed or named
    _seen: set[tuple[int, int, int]] = field(default_factory=set)
    _segments: list[Segment] = field(default_factory=list)
    _pending: list[tuple[str, int, int]] = field(default_factory=list)
    _linked: list[tuple[str, int, int]] = field(default_factory=list)

    def paths(self) -> Iterator[tuple[str, "os.DirEntry[str] | None"]]:
        """Every path the pattern names that may be a file (the caller stats and keeps the regular ones)."""
        prefix, segments = split_pattern(self.pattern)
        if not segments:  # no wildcard at all: the pattern names one path
            if os.path.basename(self.pattern):
                self._note(os.path.dirname(self.pattern))
                yield self.pattern, None
            return
        self._segments = segments
        # Work items: (directory as spelt in results, segment index, depth under the current `**`).
        # Directories reached through a symlink wait in `linked` (a heap, so the order does not depend on the
        # file system's listing order) until `pending` is empty.
        self._pending = [(prefix, 0, 0)]
        self._linked = []
        pending, linked = self._pending, self._linked
        while pending or linked:
            directory, index, depth = pending.pop() if pending else heapq.heappop(linked)
            segment = segments[index]
            if not segment.magic:
                yield from self._literal(directory, index)
            elif not segment.recursive:
                yield from self._matching(directory, index, self._list(directory))
            elif (st := self._enter(directory, index)) is not None:
                entries = self._list(directory, st)
                spelt = _speller(directory)
                for entry in entries:
                    if entry.name[0] == "." or not _is_dir(entry):
                        continue
                    if depth >= self.max_depth:
                        self.too_deep += 1
                        break
                    self._push(spelt(entry), index, depth + 1, entry)
                # `**` matching no more directories: the next segment, from here. A wildcard reuses the listing.
                after = segments[index + 1]
                if after.magic and not after.recursive:
                    yield from self._matching(directory, index + 1, entries)
                else:
                    pending.append((directory, index + 1, 0))

    def _literal(self, directory: str, index: int) -> Iterator[tuple[str, "os.DirEntry[str] | None"]]:
        text = self._segments[index].text
        path = os.path.join(directory, text)
        if index < len(self._segments) - 1:
            self._pending.append((path, index + 1, 0))
        elif text:
            self._note(directory)
            yield path, None

    def _matching(
        self, directory: str, index: int, entries: list["os.DirEntry[str]"]
    ) -> Iterator[tuple[str, "os.DirEntry[str] | None"]]:
        """The entries a wildcard segment matches: results when it is the last segment, else directories to enter."""
        segment = self._segments[index]
        assert segment.match is not None
        final = index == len(self._segments) - 1
        match, hidden_ok = segment.match, segment.hidden_ok
        spelt = _speller(directory)
        for entry in entries:
            name = entry.name
            if (name[0] == "." and not hidden_ok) or not match(name):
                continue
            if final:
                yield spelt(entry), entry
            elif _is_dir(entry):
                self._push(spelt(entry), index + 1, 0, entry)

    def _push(self, path: str, index: int, depth: int, entry: "os.DirEntry[str]") -> None:
        if _is_symlink(entry):
            heapq.heappush(self._linked, (path, index, depth))
        else:
            self._pending.append((path, index, depth))

    def _list(self, directory: str, st: os.stat_result | None = None) -> list["os.DirEntry[str]"]:
        if self.should_stop():
            raise Stopped
        self.listed += 1
        try:
            with os.scandir(directory or os.curdir) as entries:
                listing = list(entries)
        except OSError:
            return []  # gone, not a directory, or not ours to read: as glob, name nothing there
        if st is None:
            self._note(directory)
        else:
            self.directories.add((st.st_dev, st.st_ino))
        return listing

    def _note(self, directory: str) -> None:
        """Remember a directory results come from (for Hints: is every one of them watched?)."""
        try:
            st = os.stat(directory or os.curdir)
        except OSError:
            return
        self.directories.add((st.st_dev, st.st_ino))

    def _enter(self, directory: str, index: int) -> os.stat_result | None:
        """The directory's stat the first time `**` at `index` reaches this real directory, else None."""
        try:
            st = os.stat(directory or os.curdir)
        except OSError:
            return None
        key = (index, st.st_dev, st.st_ino)
        if key in self._seen:
            self.loops += 1
            return None
        self._seen.add(key)
        return st


def _speller(directory: str) -> Callable[["os.DirEntry[str]"], str]:
    """How glob spells an entry's path: `os.path.join(directory, name)`, which DirEntry.path already is, except
    in the current directory (listed as '.', spelt without a prefix)."""
    if directory:
        return _entry_path
    return _entry_name


def _entry_path(entry: "os.DirEntry[str]") -> str:
    return entry.path


def _entry_name(entry: "os.DirEntry[str]") -> str:
    return entry.name


def _is_dir(entry: "os.DirEntry[str]") -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _is_symlink(entry: "os.DirEntry[str]") -> bool:
    try:
        return entry.is_symlink()
    except OSError:
        return False
