"""The built-in parsers' patterns, with a bound on the work they may do on one line.

The guarantee is linearity by construction: no built-in pattern has two unbounded repeats that may take the same
text (where they would, the repeat is possessive, `*+`, or the scan is done with str methods instead), so a pattern
call costs at most a constant times the line's length. tests/hostile/test_parser_linearity.py checks it with
adversarial lines for every format (<= 10 ms of CPU per KiB of line).

The bound is the backstop for a pattern we got wrong, the way user patterns are bounded (regex_safety): `re` cannot
be stopped once it runs, and it holds the GIL meanwhile (the stop handler, metrics and /health would wait), while the
`regex` module stops a match at a timeout. A line of GUARDED_FROM characters or more runs each pattern on its
regex-module twin with a timeout of FLOOR_S + PER_KIB_S per KiB of the line: 50 ms + 1 ms per KiB, 1.07 s for a
1 MiB line, where the linear patterns need a few ms. Shorter lines run on `re`: with a timeout, a regex-module call
costs 3-4 µs more than an `re` call, more than most lines' whole parse, and the work on a short line is bounded by
its length once the patterns are linear. A line meets at most a dozen pattern calls (auto probes up to seven
formats, python tries five layouts), so the work per line is bounded by a dozen timeouts.

A pattern stopped at its bound raises ParseBudgetExceeded; the pipeline ships the line as a parse-error event with
the reason and the flag `parse_timeout`: never dropped, never a crash, and the checkpoint moves past it.
"""

import re
from typing import Any, Final

import regex

from shipper.parsers._mypyc import mypyc_attr

GUARDED_FROM: Final = 4096
"""Lines of this many characters or more run on the regex module, with a timeout."""
FLOOR_S: Final = 0.05
PER_KIB_S: Final = 0.001


@mypyc_attr(native_class=False)
class ParseBudgetExceeded(TimeoutError):
    """A built-in pattern ran past its bound on a line and was stopped."""


def timeout_for(length: int) -> float:
    """Seconds a pattern call may take on a line of `length` characters (when guarded)."""
    return FLOOR_S + PER_KIB_S * length / 1024


def _exceeded(length: int) -> ParseBudgetExceeded:
    return ParseBudgetExceeded(
        f"parsing the line took longer than its bound ({timeout_for(length) * 1000:.0f} ms for {length} characters)"
        " and was stopped"
    )


_EXTRA_SPACES: Final = "\\x1c-\\x1f"
"""the separators `re` takes for `\\s` (str.isspace) and the regex module does not (Unicode White_Space)"""
_WORD: Final = "\\p{L}\\p{N}_"
"""what `re` takes for `\\w`: letters, numbers (str.isalnum) and the underscore"""


def _for_regex(pattern: str) -> str:
    """`pattern` for the regex module, with `re`'s `\\s`, `\\w` (`\\S`, `\\W`) spelled out so both engines take the same
    characters (tests/parsers/test_bounded.py). Only characters unassigned in Python's Unicode tables and assigned in
    the regex module's newer ones may still be read differently, and only on lines of GUARDED_FROM characters or more."""
    out: list[str] = []
    index = 0
    in_class = False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            escaped = pattern[index + 1]
            if escaped == "s":
                out.append("\\s" + _EXTRA_SPACES if in_class else "[\\s" + _EXTRA_SPACES + "]")
            elif escaped == "w":  # re: str.isalnum() or "_"; the regex module's \\w also takes marks and joiners
                out.append(_WORD if in_class else "[" + _WORD + "]")
            elif escaped in "SW":
                if in_class:
                    raise ValueError(f"\\{escaped} inside a character class is not translated")
                out.append("[^" + ("\\s" + _EXTRA_SPACES if escaped == "S" else _WORD) + "]")
            else:
                out.append(char + escaped)
            index += 2
            continue
        out.append(char)
        index += 1
        if char == "[" and not in_class:
            in_class = True
            for literal in ("^", "]"):  # `[^...`, and a `]` first in a class is a literal
                if pattern[index:index + 1] == literal:
                    out.append(literal)
                    index += 1
        elif char == "]" and in_class:
            in_class = False
    return "".join(out)


class Bounded:
    """One pattern, run by `re` on short lines and by the regex module with a timeout on long ones (same syntax:
    the regex module's VERSION0 is `re`'s)."""

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self.pattern = re.compile(pattern, flags)
        self.guarded = regex.compile(_for_regex(pattern), flags | regex.V0)

    def match(self, text: str) -> Any:
        """`re.Pattern.match`; raises ParseBudgetExceeded when stopped."""
        length = len(text)
        if length < GUARDED_FROM:
            return self.pattern.match(text)
        try:
            return self.guarded.match(text, timeout=timeout_for(length))
        except TimeoutError:
            raise _exceeded(length) from None

    def fullmatch(self, text: str) -> Any:
        """`re.Pattern.fullmatch`; raises ParseBudgetExceeded when stopped."""
        length = len(text)
        if length < GUARDED_FROM:
            return self.pattern.fullmatch(text)
        try:
            return self.guarded.fullmatch(text, timeout=timeout_for(length))
        except TimeoutError:
            raise _exceeded(length) from None

    def search(self, text: str) -> Any:
        """`re.Pattern.search`; raises ParseBudgetExceeded when stopped."""
        length = len(text)
        if length < GUARDED_FROM:
            return self.pattern.search(text)
        try:
            return self.guarded.search(text, timeout=timeout_for(length))
        except TimeoutError:
            raise _exceeded(length) from None

    def findall(self, text: str) -> list[Any]:
        """`re.Pattern.findall`; raises ParseBudgetExceeded when stopped."""
        length = len(text)
        if length < GUARDED_FROM:
            return self.pattern.findall(text)
        try:
            return list(self.guarded.findall(text, timeout=timeout_for(length)))
        except TimeoutError:
            raise _exceeded(length) from None

    def finditer(self, text: str) -> list[Any]:
        """The matches of `re.Pattern.finditer`, as a list (so a timeout is raised here, not while iterating)."""
        length = len(text)
        if length < GUARDED_FROM:
            return list(self.pattern.finditer(text))
        try:
            return list(self.guarded.finditer(text, timeout=timeout_for(length)))
        except TimeoutError:
            raise _exceeded(length) from None

    def sub(self, replacement: Any, text: str) -> str:
        """`re.Pattern.sub`; raises ParseBudgetExceeded when stopped."""
        length = len(text)
        if length < GUARDED_FROM:
            return self.pattern.sub(replacement, text)
        try:
            return str(self.guarded.sub(replacement, text, timeout=timeout_for(length)))
        except TimeoutError:
            raise _exceeded(length) from None
