"""Expanding the inputs' globs (`**` = any number of directories) into the files to follow, minus excludes."""

import logging
import os
import re
import stat
from collections.abc import Callable
from typing import NamedTuple

from shipper.config import InputSettings
from shipper.discovery.walk import Stopped, Walk, never

log = logging.getLogger("shipper.discovery")


class Found(NamedTuple):
    """A file a scan found (a tuple: a scan builds one per file, and a frozen dataclass costs twice as much)."""

    path: str
    input: InputSettings
    stat: os.stat_result


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A regex matching what `pattern` matches: `*` and `?` stay inside a path segment, `**/` spans any."""
    pattern = pattern.replace("\\", "/") if os.sep == "\\" else pattern
    out = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            close = pattern.find("]", i + 1)
            if close < 0:
                out.append(re.escape(char))
            else:
                body = pattern[i + 1 : close]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = close
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("".join(out) + r"\Z")


class Scanner:
    """One rescan: every regular file matching an input's paths and none of its excludes.

    `should_stop` is asked between directories; a scan it interrupts returns the previous scan's result
    (empty before the first), so a stop never looks like every file vanished.
    """

    def __init__(self, inputs: list[InputSettings], should_stop: Callable[[], bool] = never) -> None:
        self.inputs = inputs
        self.should_stop = should_stop
        self.excludes = {item.id: [glob_regex(p) for p in item.exclude] for item in inputs}
        self.last: dict[str, Found] = {}
        self.stopped = False  # the last scan was interrupted by should_stop
        # Of the last complete scan, for Hints: the directories results can come from, and how many files
        # found are symlinks (a write to a link's target is no event in the link's directory).
        self.directories: set[tuple[int, int]] = set()
        self.linked_files = 0
        self._warned: set[tuple[str, str]] = set()

    def scan(self) -> dict[str, Found]:
        try:
            found = self._scan()
        except Stopped:
            self.stopped = True
            return self.last
        self.stopped = False
        self.last = found
        return found

    def _scan(self) -> dict[str, Found]:
        found: dict[str, Found] = {}
        directories: set[tuple[int, int]] = set()
        linked_files = 0
        for item in self.inputs:
            excludes = self.excludes[item.id]
            for pattern in item.paths:
                walk = Walk(pattern, item.max_depth, self.should_stop)
                for path, entry in walk.paths():
                    if path in found:
                        continue
                    if entry is not None and _is_directory(entry):
                        continue  # known from the listing, without a stat
                    if excludes and _excluded(path, excludes):
                        continue
                    try:
                        st = os.stat(path)
                    except OSError:
                        continue  # vanished between listing and stat, a dangling or looping link, or not ours
                    if not stat.S_ISREG(st.st_mode):
                        continue
                    found[path] = Found(path, item, st)
                    if entry.is_symlink() if entry is not None else os.path.islink(path):
                        linked_files += 1
                directories |= walk.directories
                self._report(item, pattern, walk)
        self.directories, self.linked_files = directories, linked_files
        return found

    def _report(self, item: InputSettings, pattern: str, walk: Walk) -> None:
        """Log once per pattern that `**` met its depth limit (loops are cut silently: that is their fix)."""
        if walk.too_deep and (pattern, "depth") not in self._warned:
            self._warned.add((pattern, "depth"))
            log.warning(
                "Directories deeper than max_depth under a ** glob are not scanned.",
                extra={"input": item.id, "pattern": pattern, "max_depth": item.max_depth, "directories": walk.too_deep},
            )


def _excluded(path: str, excludes: list[re.Pattern[str]]) -> bool:
    normal = path.replace("\\", "/") if os.sep == "\\" else path
    return any(rx.match(normal) or rx.match(os.path.basename(normal)) for rx in excludes)


def _is_directory(entry: "os.DirEntry[str]") -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False
