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
    # The next space, "=" and quote at or after `pos`, each searched for again only once `pos` has passed it: a search
    # per key to the end of a line without spaces (`a"a"a"...`) was quadratic in the line.
    next_space = next_equals = next_quote = -1
    while True:
        while pos < size:  # where no key can start, findall moves on
            char = text[pos]
            if char not in {" ", "=", '"'}:
                break
            pos += 1
        if pos >= size:
            return pairs
        next_space = _next(text, " ", pos, next_space, size)
        next_equals = _next(text, "=", pos, next_equals, size)
        next_quote = _next(text, '"', pos, next_quote, size)
        end = _first(_first(next_space, next_equals), next_quote)  # the key ends at the first space, "=" or quote
        key = text[pos:end]
        if end == size or text[end] != "=":
            pairs.append((key, "", "", False))  # a bare key
            pos = end
            continue
        start = end + 1
        if start < size and text[start] == '"':
            next_quote = _next(text, '"', start + 1, next_quote, size)
            if next_quote == size:  # no closing quote: the bare alternative matches the empty value before the quote
                pairs.append((key, "", "", True))
                pos = start
            else:
                pairs.append((key, text[start + 1:next_quote], "", True))
                pos = next_quote + 1
            continue
        next_space = _next(text, " ", start, next_space, size)
        next_quote = _next(text, '"', start, next_quote, size)
        end = _first(next_space, next_quote)  # a bare value ends at a space or a quote
        pairs.append((key, "", text[start:end], True))
        pos = end


def _first(one: int, other: int) -> int:
    """The smaller position (min() is a generic call when compiled)."""
    return one if one < other else other


def _next(text: str, char: str, pos: int, known: int, size: int) -> int:
    """The first `char` in text[pos:] (`size` when none), given `known`, the first one at or after an earlier `pos`
    (-1 when not searched yet): still the answer unless `pos` has passed it."""
    if known >= pos:
        return known
    found = text.find(char, pos)
    return size if found == -1 else found


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
