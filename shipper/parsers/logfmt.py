"""logfmt: `key=value key="quoted \\"value\\"" bare_key` pairs (no formal spec; Go's go-logfmt as the model).

As go-logfmt: a bare key is true, `key=` and `key=""` are empty strings, a repeated key's last value wins; a quoted
key is not a key (the line is then not logfmt when it starts with one). Linear in the line: one left-to-right scan,
and whether a key had an `=` is known from its own pair (it was looked up in the whole line per key: quadratic).
"""

import re
from typing import Any, Final

from shipper.parsers.base import Event, Parser
from shipper.parsers.bounded import Bounded
from shipper.parsers.declaration import Format, Shape
from shipper.parsers.structured import structured_event

# key, then either ="quoted with escapes", =bare, or nothing (a bare key); each part ends where the next one must
# start, so the pattern is deterministic (possessive repeats say so)
_PAIR: Final = Bounded(r'([^\s="]++)(?:=(?:"([^"\\]*+(?:\\.[^"\\]*+)*+)"|([^\s"]*+)))?', re.S)
_START: Final = Bounded(r'\s*+[^\s="]++=')
_OTHER_SPACES: Final = ("\t", "\n", "\x0b", "\x0c", "\r", "\x1c", "\x1d", "\x1e", "\x1f")  # ASCII isspace() but " "
# go-logfmt unquotes as encoding/json does: \" \\ \/ \b \f \n \r \t and \uXXXX (a surrogate pair as one character, a lone
# surrogate as U+FFFD: it has no UTF-8 form); any other escaped character stands for itself
_ESCAPE = Bounded(r"\\(u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|.)", re.S)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}
Pair = tuple[str, str, str, bool]
"""key, quoted value ("" when none), bare value ("" when none), whether the key had an `=`"""


def _pattern_pairs(text: str) -> list[Pair]:
    """The pairs of `text` by `_PAIR`."""
    return [
        (match[1], match[2] or "", match[3] or "", match.end() != match.end(1)) for match in _PAIR.finditer(text)
    ]


def _pairs(text: str) -> list[Pair] | None:
    """`_pattern_pairs(text)` by string searching, for lines without backslashes whose only whitespace is the space;
    None for other lines, which then go through the pattern. Whenever it answers, it answers what the pattern would
    (tests/parsers/test_logfmt.py)."""
    if "\\" in text:
        return None
    if text.isascii():
        for space in _OTHER_SPACES:
            if space in text:
                return None
    elif not text.isprintable():  # isprintable excludes every whitespace but the space
        return None
    pairs: list[Pair] = []
    size = len(text)
    pos = 0
    while True:
        while pos < size:  # where no key can start, findall moves on
            char = text[pos]
            if char not in {" ", "=", '"'}:
                break
            pos += 1
        if pos >= size:
            return pairs
        end = text.find(" ", pos)  # the key ends at the first space, "=" or quote
        if end == -1:
            end = size
        found = text.find("=", pos, end)
        if found != -1:
            end = found
        found = text.find('"', pos, end)
        if found != -1:
            end = found
        key = text[pos:end]
        if end == size or text[end] != "=":
            pairs.append((key, "", "", False))  # a bare key
            pos = end
            continue
        start = end + 1
        if start < size and text[start] == '"':
            close = text.find('"', start + 1)
            if close == -1:  # no closing quote: the bare alternative matches the empty value before the quote
                pairs.append((key, "", "", True))
                pos = start
            else:
                pairs.append((key, text[start + 1:close], "", True))
                pos = close + 1
            continue
        end = text.find(" ", start)  # a bare value ends at a space or a quote
        if end == -1:
            end = size
        found = text.find('"', start, end)
        if found != -1:
            end = found
        pairs.append((key, "", text[start:end], True))
        pos = end


_fast = True
"""Whether `parse` tries `_pairs` first; tests turn it off to compare with the pattern (see golog._fast)."""


def _unescape(match: Any) -> str:
    escaped: str = match[1]
    if len(escaped) == 1:
        return _ESCAPES.get(escaped, escaped)
    if len(escaped) == 5:
        code = int(escaped[1:], 16)
        return "\ufffd" if 0xD800 <= code <= 0xDFFF else chr(code)
    high = int(escaped[1:5], 16)
    low = int(escaped[7:], 16)
    return chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))


class LogfmtParser(Parser):
    """Lines of key=value pairs. The first token must be a pair and at least two tokens must carry values
    (or the line is a single pair), so ordinary prose is not taken for logfmt."""

    name = "logfmt"

    def parse(self, text: str) -> Event | None:
        if "=" not in text or _START.match(text) is None:  # no "=": a cheap refusal (auto probes plain text here)
            return None
        fields: dict[str, Any] = {}
        valued = 0
        fast = _pairs(text) if _fast else None
        pairs = _pattern_pairs(text) if fast is None else fast
        for key, quoted, bare, equals in pairs:
            if quoted:
                fields[key] = _ESCAPE.sub(_unescape, quoted) if "\\" in quoted else quoted
                valued += 1
            elif bare:
                fields[key] = bare
                valued += 1
            elif equals:  # `key=` and `key=""` give an empty string
                fields[key] = ""
                valued += 1
            else:  # a bare key gives true
                fields[key] = True
        if valued < 2 and len(pairs) != 1:
            return None
        return structured_event(self.env, fields, text)

    def reject_reason(self, text: str) -> str:
        return "the line is not logfmt: it must start with key=value and hold at least two pairs"


FORMAT: Format = Format(LogfmtParser, probes={Shape.DASHED_DATE: 70, Shape.DIGITS: 40, Shape.WORD: 30, Shape.OTHER: 10})
