"""logfmt: `key=value key="quoted \\"value\\"" bare_key` pairs (no formal spec; Go's go-logfmt as the model)."""

import re
from typing import Any

from shipper.parsers.base import Event, Parser
from shipper.parsers.structured import structured_event

# key, then either ="quoted with escapes", =bare, or nothing (a bare key)
_PAIR = re.compile(r'([^\s="]+)(?:=(?:"([^"\\]*(?:\\.[^"\\]*)*)"|([^\s"]*)))?', re.S)
_START = re.compile(r'\s*[^\s="]+=')
_ESCAPE = re.compile(r"\\(.)", re.S)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}


def _unescape(match: re.Match[str]) -> str:
    char = match[1]
    return _ESCAPES.get(char, char)


class LogfmtParser(Parser):
    """Lines of key=value pairs. The first token must be a pair and at least two tokens must carry values
    (or the line is a single pair), so ordinary prose is not taken for logfmt."""

    name = "logfmt"
    attributes_last = True  # structured_event sets attributes last

    def parse(self, text: str) -> Event | None:
        if _START.match(text) is None:
            return None
        fields: dict[str, Any] = {}
        valued = 0
        pairs = _PAIR.findall(text)
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
