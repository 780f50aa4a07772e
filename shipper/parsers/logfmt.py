"""logfmt: `key=value key="quoted \\"value\\"" bare_key` pairs (no formal spec; Go's go-logfmt as the model)."""

import re
from typing import Any, Final

from shipper.parsers.base import Event, Parser
from shipper.parsers.structured import structured_event

# key, then either ="quoted with escapes", =bare, or nothing (a bare key)
_PAIR: Final = re.compile(r'([^\s="]+)(?:=(?:"([^"\\]*(?:\\.[^"\\]*)*)"|([^\s"]*)))?', re.S)
_START: Final = re.compile(r'\s*[^\s="]+=')
_OTHER_SPACES: Final = ("\t", "\n", "\x0b", "\x0c", "\r", "\x1c", "\x1d", "\x1e", "\x1f")  # ASCII isspace() but " "
_ESCAPE = re.compile(r"\\(.)", re.S)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}


def _pairs(text: str) -> list[tuple[str, str, str]] | None:
    """`_PAIR.findall(text)` by string searching, for lines without backslashes whose only whitespace is the space;
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
    pairs: list[tuple[str, str, str]] = []
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
            pairs.append((key, "", ""))  # a bare key
            pos = end
            continue
        start = end + 1
        if start < size and text[start] == '"':
            close = text.find('"', start + 1)
            if close == -1:  # no closing quote: the bare alternative matches the empty value before the quote
                pairs.append((key, "", ""))
                pos = start
            else:
                pairs.append((key, text[start + 1:close], ""))
                pos = close + 1
            continue
        end = text.find(" ", start)  # a bare value ends at a space or a quote
        if end == -1:
            end = size
        found = text.find('"', start, end)
        if found != -1:
            end = found
        pairs.append((key, "", text[start:end]))
        pos = end


_fast = True
"""Whether `parse` tries `_pairs` first; tests turn it off to compare with the pattern (see golog._fast)."""


def _unescape(match: re.Match[str]) -> str:
    char = match[1]
    return _ESCAPES.get(char, char)


class LogfmtParser(Parser):
    """Lines of key=value pairs. The first token must be a pair and at least two tokens must carry values
    (or the line is a single pair), so ordinary prose is not taken for logfmt."""

    name = "logfmt"
    attributes_last = True  # structured_event sets attributes last

    def parse(self, text: str) -> Event | None:
        if "=" not in text or _START.match(text) is None:  # no "=": a cheap refusal (auto probes plain text here)
            return None
        fields: dict[str, Any] = {}
        valued = 0
        fast = _pairs(text) if _fast else None
        pairs: list[tuple[str, str, str]] = _PAIR.findall(text) if fast is None else fast
        for key, quoted, bare in pairs:
            if quoted:
                fields[key] = _ESCAPE.sub(_unescape, quoted) if "\\" in quoted else quoted
                valued += 1
            elif bare:
                fields[key] = bare
                valued += 1
            else:
                # `key=` and `key=""` give an empty string, a bare key gives true
                fields[key] = "" if (key + "=") in text else True
                valued += (key + "=") in text
        if valued < 2 and len(pairs) != 1:
            return None
        return structured_event(self.env, fields, text)

    def reject_reason(self, text: str) -> str:
        return "the line is not logfmt: it must start with key=value and hold at least two pairs"
