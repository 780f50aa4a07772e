"""Expanding the inputs' globs (`**` = any number of directories) into the files to follow, minus excludes."""

import glob
import os
import re
from dataclasses import dataclass

from shipper.config import InputSettings


@dataclass(frozen=True)
class Found:
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
    """One rescan: every regular file matching an input's paths and none of its excludes."""

    def __init__(self, inputs: list[InputSettings]) -> None:
        self.inputs = inputs
        self.excludes = {item.id: [glob_regex(p) for p in item.exclude] for item in inputs}

    def scan(self) -> dict[str, Found]:
        found: dict[str, Found] = {}
        for item in self.inputs:
            excludes = self.excludes[item.id]
            for pattern in item.paths:
                for path in glob.iglob(pattern, recursive=True):
                    if path in found:
                        continue
                    normal = path.replace("\\", "/") if os.sep == "\\" else path
                    if any(rx.match(normal) or rx.match(os.path.basename(normal)) for rx in excludes):
                        continue
                    try:
                        st = os.stat(path)
                    except OSError:
                        continue  # vanished between listing and stat
                    if not _is_regular(st):
                        continue
                    found[path] = Found(path, item, st)
        return found


def _is_regular(st: os.stat_result) -> bool:
    import stat

    return stat.S_ISREG(st.st_mode)
