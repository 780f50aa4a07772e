"""nginx / Apache access logs in the common and combined formats (plus trailing fields such as nginx's
default "$http_x_forwarded_for"). The body is the line itself; the request's parts become attributes."""

import re
from typing import Any, Final

from schemas.severity import ERROR as _ERROR_LEVEL
from schemas.severity import INFO as _INFO_LEVEL
from schemas.severity import WARN as _WARN_LEVEL
from shipper.parsers.base import Event, ParseEnv, Parser, timestamp_unparsed
from shipper.parsers.bounded import Bounded
from shipper.parsers.clock import MONTHS, HeadCache
from shipper.parsers.declaration import Format, Shape

# Linear by construction (see bounded): a quoted string is one deterministic scan (each character is either plain, a
# backslash escape or the closing quote), the fields before it are separated by single spaces they cannot contain.
_QUOTED = r'"([^"\\]*+(?:\\.[^"\\]*+)*+)"'
_LINE = Bounded(
    rf"(\S++) (\S++) (\S++) \[(\d\d/[A-Z][a-z]{{2}}/\d{{4}}:\d\d:\d\d:\d\d(?: [+-]\d{{4}})?)\] {_QUOTED} (\d{{3}}|-) (\d+|-)"
    rf"(?: {_QUOTED} {_QUOTED})?(.*)",
    re.S,
)
_EXTRA = Bounded(rf"\s*+(?:{_QUOTED}|(\S++))", re.S)
"""the trailing fields, on the rest of the line without its trailing whitespace (findall would try every position
of a trailing run of whitespace, each to the end of the line: quadratic)"""
# One client address (IPv4 or IPv6, optional port; `unknown`); an address holds no comma and no whitespace, so a list
# is split at its commas (_address_list). The IPv6 part was not possessive and could split `a::1` in several ways:
# inside the old `address(\s*,\s*address)*` pattern every way was tried at every element, exponential in the length.
_ADDRESS = Bounded(r"\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?|\[?+[0-9A-Fa-f]*+:[0-9A-Fa-f:.]*+\]?+(?::\d+)?|unknown")
_ESCAPED = Bounded(r'\\(["\\])')


ERROR: Final = _ERROR_LEVEL
INFO: Final = _INFO_LEVEL
WARN: Final = _WARN_LEVEL
_STAMP: Final = Bounded(r"\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d(?: [+-]\d{4})?")
Fields = tuple[str, str, str, str, str, str, str, str | None, str | None, str]
"""client, ident, user, time, request, status, bytes, referer, user agent, the rest of the line"""


def _address_list(value: str) -> bool:
    """Whether `value` is a list of addresses, `address(\\s*,\\s*address)*`, by splitting at the commas (linear)."""
    pieces = value.split(",")
    last = len(pieces) - 1
    for index, piece in enumerate(pieces):
        address = piece.lstrip() if index else piece
        if index < last:
            address = address.rstrip()
        if _ADDRESS.fullmatch(address) is None:
            return False
    return True


def _text(value: str) -> str:
    return _ESCAPED.sub(r"\1", value) if "\\" in value else value


def _split_line(text: str) -> Fields | None:
    """The fields of the usual line by plain string searching (several times faster than the pattern); None for
    anything unusual (escapes, odd spacing, missing parts), which then goes through `_LINE`. Whenever it answers,
    it answers what `_LINE` would (tests/parsers/test_access.py)."""
    first = text.find(" ")
    second = text.find(" ", first + 1)
    third = text.find(" ", second + 1)
    if first <= 0 or second <= first + 1 or third <= second + 1 or text[third + 1:third + 2] != "[" or "\\" in text:
        return None
    if not text[:third].isprintable() and text[:third].split() != [text[:first], text[first + 1:second], text[second + 1:third]]:
        return None  # other whitespace than the two spaces (isprintable excludes every whitespace but the space)
    close = text.find('] "', third + 2)
    if close == -1:
        return None
    quote = text.find('" ', close + 3)
    if quote == -1:
        return None
    request = text[close + 3:quote]
    space = text.find(" ", quote + 2)
    if space == -1 or '"' in request:
        return None
    status = text[quote + 2:space]
    if not ((len(status) == 3 and status.isdigit() and status.isascii()) or status == "-"):
        return None
    after = text.find(" ", space + 1)
    size = text[space + 1:] if after == -1 else text[space + 1:after]
    if not ((size.isdigit() and size.isascii()) or size == "-"):
        return None
    peer, ident, user, stamp = text[:first], text[first + 1:second], text[second + 1:third], text[third + 2:close]
    if after == -1:
        return peer, ident, user, stamp, request, status, size, None, None, ""
    if text[after + 1:after + 2] != '"':
        return None
    middle = text.find('" "', after + 2)
    if middle == -1:
        return None
    referer = text[after + 2:middle]
    end = text.find('"', middle + 3)
    if end == -1 or '"' in referer:
        return None
    return peer, ident, user, stamp, request, status, size, referer, text[middle + 3:end], text[end + 1:]


_fast = True
"""Whether `parse` tries `_split_line` first; tests turn it off to force the pattern path (a module variable, not a
swapped function: a compiled module (setup.py) binds direct calls to a function at build time, where swapping would
no longer reach them)."""


class AccessLogParser(Parser):
    """`client ident user [time] "request" status bytes ["referer" "user agent"] [extra...]`."""

    name = "nginx"

    def __init__(self, env: ParseEnv) -> None:
        super().__init__(env)
        self._heads = HeadCache()

    def parse(self, text: str) -> Event | None:
        if " [" not in text:  # cheap refusal (auto probes plain text here): every access line has " [time]"
            return None
        fields = _split_line(text) if _fast else None
        if fields is None:
            match = _LINE.match(text)
            if match is None:
                return None
            peer, ident, user, stamp, request, status, size, referer, agent, rest = match.groups()
            request = _text(request)
            referer = referer and _text(referer)
            agent = agent and _text(agent)
            fields = (peer, ident, user, stamp, request, status, size, referer, agent, rest)
        peer, ident, user, stamp, request, status, size, referer, agent, rest = fields
        head = self._heads.known.get(stamp)
        if head is None:
            if _STAMP.fullmatch(stamp) is None:
                return None
            try:
                head = self._head(stamp)
            except (ValueError, KeyError):
                head = ""  # an impossible date: observed time, flagged
            self._heads.put(stamp, head)
        parts = request.split(" ")
        if len(parts) == 3:
            method, url, protocol = parts
            usual = user == "-" and ident == "-" and status != "-" and size != "-"
            if usual and referer and referer != "-" and agent and agent != "-":
                # the usual combined line, built at once (the same keys in the same order as below)
                number = int(status)
                attributes: dict[str, Any] = {
                    "client.address": peer,
                    "http.request.method": method,
                    "url.original": url,
                    "network.protocol.version": protocol.rpartition("/")[2],
                    "http.response.status_code": number,
                    "http.response.body.size": int(size),
                    "http.request.header.referer": referer,
                    "user_agent.original": agent,
                }
                if rest:
                    self._extra(rest, attributes)
                return self._event(head, number, text, attributes)
            attributes = {
                "client.address": peer,
                "http.request.method": method,
                "url.original": url,
                "network.protocol.version": protocol.rpartition("/")[2],
            }
        else:
            attributes = {"client.address": peer}
            if request:
                attributes["http.request.line"] = request
        if user != "-":
            attributes["user.name"] = user
        if ident != "-":
            attributes["log.ident"] = ident
        number = 0
        if status != "-":
            number = int(status)
            attributes["http.response.status_code"] = number
        if size != "-":
            attributes["http.response.body.size"] = int(size)
        if referer and referer != "-":
            attributes["http.request.header.referer"] = referer
        if agent and agent != "-":
            attributes["user_agent.original"] = agent
        if rest:
            self._extra(rest, attributes)
        return self._event(head, number, text, attributes)

    def _event(self, head: str, status: int, text: str, attributes: dict[str, Any]) -> Event:
        """The event of an access line (severity from the status); timed at the observed time when `head` is ""."""
        event = {
            "timestamp": head,
            "severity_text": None,
            "severity_number": ERROR if status >= 500 else WARN if status >= 400 else INFO,
            "body": text,
            "attributes": attributes,
        }
        return event if head else timestamp_unparsed(event, self.clock)

    def _head(self, stamp: str) -> str:
        # 10/Oct/2000:13:55:36 -0700 (no fraction; a missing zone means the input's zone)
        day, month, year = int(stamp[0:2]), MONTHS[stamp[3:6]], int(stamp[7:11])
        hour, minute, second = int(stamp[12:14]), int(stamp[15:17]), int(stamp[18:20])
        if len(stamp) > 20:
            zone = stamp[21:]
            offset = (int(zone[1:3]) * 3600 + int(zone[3:5]) * 60) * (1 if zone[0] == "+" else -1)
            head = self.clock.offset_head((year, month, day, hour, minute, second), offset)
        else:
            head = self.clock.local_head((year, month, day, hour, minute, second))
        return f"{head}.000000000Z"

    @staticmethod
    def _extra(rest: str, attributes: dict[str, Any]) -> None:
        values = [quoted if bare is None or bare == "" else bare for quoted, bare in _EXTRA.findall(rest.rstrip())]
        values = [value for value in values if value != ""] if values else values
        if not values:
            return
        first = values[0]
        if first != "-" and _address_list(first):
            attributes["http.request.header.x-forwarded-for"] = first
            attributes["network.peer.address"] = attributes["client.address"]  # the proxy that connected
            attributes["client.address"] = first.split(",", 1)[0].strip()
            values = values[1:]
        elif first == "-":
            values = values[1:]
        if values:
            attributes["log.extra_fields"] = [_text(value) for value in values]

    def reject_reason(self, text: str) -> str:
        return f"the line is not an {self.name} access log line (common or combined format)"


class ApacheAccessParser(AccessLogParser):
    """The same formats under Apache's name."""

    name = "apache"


# auto reports Apache access lines as nginx (one format, two names), so only nginx is probed
NGINX: Format = Format(AccessLogParser, probes={Shape.DIGITS: 10, Shape.WORD: 40}, timed=frozenset({Shape.DIGITS, Shape.WORD}))
APACHE: Format = Format(ApacheAccessParser)
