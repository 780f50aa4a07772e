"""nginx / Apache access logs in the common and combined formats (plus trailing fields such as nginx's
default "$http_x_forwarded_for"). The body is the line itself; the request's parts become attributes."""

import re
from typing import Any

from schemas.severity import ERROR, INFO, WARN
from shipper.parsers.base import Event, Parser
from shipper.parsers.clock import MONTHS

_QUOTED = r'"([^"\\]*(?:\\.[^"\\]*)*)"'
_LINE = re.compile(
    rf"(\S+) (\S+) (\S+) \[(\d\d/[A-Z][a-z]{{2}}/\d{{4}}:\d\d:\d\d:\d\d(?: [+-]\d{{4}})?)\] {_QUOTED} (\d{{3}}|-) (\d+|-)"
    rf"(?: {_QUOTED} {_QUOTED})?(.*)",
    re.S,
)
_EXTRA = re.compile(rf"\s*(?:{_QUOTED}|(\S+))", re.S)
_ADDRESS = r"(?:\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?|\[?[0-9A-Fa-f]*:[0-9A-Fa-f:.]*\]?(?::\d+)?|unknown)"
_ADDRESS_LIST = re.compile(rf"{_ADDRESS}(?:\s*,\s*{_ADDRESS})*")
_ESCAPED = re.compile(r'\\(["\\])')


def _text(value: str) -> str:
    return _ESCAPED.sub(r"\1", value) if "\\" in value else value


class AccessLogParser(Parser):
    """`client ident user [time] "request" status bytes ["referer" "user agent"] [extra...]`."""

    name = "nginx"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._heads: dict[str, str] = {}

    def parse(self, text: str) -> Event | None:
        match = _LINE.match(text)
        if match is None:
            return None
        stamp = match[4]
        head = self._heads.get(stamp)
        if head is None:
            try:
                head = self._head(stamp)
            except (ValueError, KeyError):
                return None
            if len(self._heads) > 4096:
                self._heads.clear()
            self._heads[stamp] = head
        peer, ident, user, request, status, size, referer, agent, rest = match.group(1, 2, 3, 5, 6, 7, 8, 9, 10)
        attributes: dict[str, Any] = {"network.peer.address": peer, "client.address": peer}
        if user != "-":
            attributes["user.name"] = user
        if ident != "-":
            attributes["log.ident"] = ident
        if request:
            request = _text(request)
            parts = request.split(" ")
            if len(parts) == 3:
                attributes["http.request.method"] = parts[0]
                attributes["url.original"] = parts[1]
                attributes["network.protocol.version"] = parts[2].rpartition("/")[2]
            else:
                attributes["http.request.line"] = request
        number = 0
        if status != "-":
            number = int(status)
            attributes["http.response.status_code"] = number
        if size != "-":
            attributes["http.response.body.size"] = int(size)
        if referer and referer != "-":
            attributes["http.request.header.referer"] = _text(referer)
        if agent and agent != "-":
            attributes["user_agent.original"] = _text(agent)
        if rest:
            self._extra(rest, attributes)
        return {
            "timestamp": head,
            "severity_text": None,
            "severity_number": ERROR if number >= 500 else WARN if number >= 400 else INFO,
            "body": text,
            "attributes": attributes,
        }

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
        values = [quoted if bare is None or bare == "" else bare for quoted, bare in _EXTRA.findall(rest)]
        values = [value for value in values if value != ""] if values else values
        if not values:
            return
        first = values[0]
        if first != "-" and _ADDRESS_LIST.fullmatch(first):
            attributes["http.request.header.x-forwarded-for"] = first
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
