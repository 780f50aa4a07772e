"""iis: W3C extended log files as IIS writes them. `#Fields:` names the columns and may change in the middle
of a file, so the column list is per stream state. Times are UTC; `+` stands for a space in user agents
and `-` for an empty value. Directive lines (`#Software`, `#Date`, ...) become events of their own."""

from typing import Any

from schemas.severity import ERROR, INFO, WARN
from shipper.parsers.base import ORIGINAL, Event, ParseEnv, Parser
from shipper.parsers.clock import HeadCache
from shipper.parsers.declaration import Format, Shape

# IIS's default selection, used until a #Fields directive is seen (e.g. when reading resumes mid-file).
DEFAULT_FIELDS = (
    "date", "time", "s-ip", "cs-method", "cs-uri-stem", "cs-uri-query", "s-port", "cs-username", "c-ip",
    "cs(User-Agent)", "cs(Referer)", "sc-status", "sc-substatus", "sc-win32-status", "time-taken",
)
_PLUS_SPACED = frozenset(("cs(User-Agent)", "cs(Referer)"))
_NAMES = {
    "s-ip": "server.address", "s-port": "server.port", "s-sitename": "iis.site", "s-computername": "host.hostname",
    "c-ip": "client.address", "cs-username": "user.name", "cs-method": "http.request.method",
    "cs-uri-stem": "url.path", "cs-uri-query": "url.query", "sc-status": "http.response.status_code",
    "sc-substatus": "iis.substatus", "sc-win32-status": "iis.win32_status", "sc-bytes": "http.response.size",
    "cs-bytes": "http.request.size", "time-taken": "iis.time_taken_ms", "cs-version": "network.protocol.version",
    "cs-host": "url.domain", "cs(User-Agent)": "user_agent.original", "cs(Referer)": "http.request.header.referer",
    "cs(Cookie)": "http.request.header.cookie",
}
_INTEGERS = frozenset(("s-port", "sc-status", "sc-substatus", "sc-win32-status", "sc-bytes", "cs-bytes", "time-taken"))


class IisParser(Parser):
    """One W3C line per event, columns from the latest `#Fields:` directive."""

    name = "iis"

    def __init__(self, env: ParseEnv) -> None:
        super().__init__(env)
        self.fields: list[str] = list(DEFAULT_FIELDS)
        self._heads = HeadCache()

    def parse(self, text: str) -> Event | None:
        if text[:1] == "#":
            return self._directive(text)
        values = text.split(" ")
        if len(values) != len(self.fields):
            return None
        attributes: dict[str, Any] = {}
        date = time = ""
        status = 0
        for name, value in zip(self.fields, values, strict=True):
            if name == "date":
                date = value
            elif name == "time":
                time = value
            elif value != "-":
                if name in _INTEGERS:
                    if not value.isdigit():
                        return None
                    attributes[_NAMES[name]] = int(value)
                else:
                    attributes[_NAMES.get(name, "iis." + name)] = value.replace("+", " ") if name in _PLUS_SPACED else value
        if "http.response.status_code" in attributes:
            status = attributes["http.response.status_code"]
        timestamp = self._timestamp(date, time)
        if timestamp is None:
            return None
        return {
            "timestamp": timestamp,
            "severity_text": None,
            "severity_number": ERROR if status >= 500 else WARN if status >= 400 else INFO,
            "body": text,
            "attributes": attributes,
        }

    def _timestamp(self, date: str, time: str) -> str | None:
        if not date:
            return self.clock.observed
        key = date + " " + time
        head = self._heads.known.get(key)
        if head is None:
            stamp = self.clock.iso(key + "Z")
            if stamp is None:
                return None
            head = stamp[0]
            self._heads.put(key, head)
        return head

    def _directive(self, text: str) -> Event | None:
        name, _, value = text[1:].partition(":")
        if not name or " " in name:
            return None
        value = value.strip()
        attributes: dict[str, Any] = {"iis.directive": name}
        timestamp = self.clock.observed
        if name == "Fields":
            self.fields = value.split()
        elif name == "Date":
            stamp = self.clock.iso(value + "Z")
            if stamp is not None:
                timestamp = stamp[0]
        attributes[ORIGINAL] = text
        return {"timestamp": timestamp, "severity_text": None, "severity_number": 0, "body": value, "attributes": attributes}

    def reject_reason(self, text: str) -> str:
        return f"the line does not have the {len(self.fields)} columns named by #Fields"


FORMAT: Format = Format(IisParser, probes={Shape.HASH: 10, Shape.DASHED_DATE: 40})
