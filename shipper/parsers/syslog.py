"""syslog: RFC 5424 (structured data, NILVALUE, fractions, BOM before MSG) and RFC 3164 (BSD: optional PRI and
hostname, space-padded day, no year, no zone; also the RFC 3339 timestamp variant rsyslog writes)."""

import re
from typing import Any, Final

from schemas.severity import SYSLOG_LEVELS, SYSLOG_WORDS
from shipper.parsers.base import ORIGINAL, TIMEZONE, Event, ParseEnv, Parser, parsed, timestamp_unparsed
from shipper.parsers.bounded import Bounded
from shipper.parsers.clock import MONTHS, HeadCache
from shipper.parsers.declaration import Format, Shape

_RFC5424 = Bounded(
    r"<(\d{1,3})>(\d{1,2}) (\S++) (\S++) (\S++) (\S++) (\S++) "
    r"(-|(?:\[[^\s\]=\"]++(?:\s++[^\s=\]\"]++=\"[^\"\\]*+(?:\\.[^\"\\]*+)*+\")*+\s*+\])++)(?: (.*))?",
    re.S,
)
_SD_ELEMENT = Bounded(r"\[([^\s\]=\"]++)((?:\s++[^\s=\]\"]++=\"[^\"\\]*+(?:\\.[^\"\\]*+)*+\")*+)\s*+\]", re.S)
_SD_PARAM = Bounded(r"([^\s=\]\"]++)=\"([^\"\\]*+(?:\\.[^\"\\]*+)*+)\"", re.S)
_SD_ESCAPE = Bounded(r"\\([\"\\\]])")
_RFC3164 = Bounded(
    r"(?:<(\d{1,3})>)?(?:([A-Z][a-z]{2}) ([ \d]?\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?"
    # rsyslog's RFC 3339 variant always has the T and a zone; "date time text" alone is not taken for syslog
    r"|(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:?\d\d))) (.*)",
    re.S,
)
_TAG = re.compile(r"([^\s:\[\]]{1,128})(?:\[([^\]\s]*)\])?: ?(.*)", re.S)
"""what `_tag` answers (its reference, for tests/parsers/test_pipeline.py; parsing uses `_tag`)"""
_HEADER_FIELDS = ("log.syslog.hostname", "log.syslog.appname", "log.syslog.procid", "log.syslog.msgid")


def _one_word(value: str) -> bool:
    """`value.split() == [value]`: not empty, no whitespace (isprintable excludes every whitespace but the space)."""
    if value.isprintable():
        return value != "" and " " not in value
    return value.split() == [value]


def _tag(message: str) -> tuple[str, str | None, str] | None:
    """(app name, proc id, rest) for `tag[pid]: rest` or `tag: rest`, as `_TAG` would match, without the pattern."""
    colon = message.find(":")
    if colon <= 0:
        return None
    bracket = message.find("[", 0, colon)
    if bracket == -1:
        app, procid = message[:colon], None
    else:
        close = message.find("]", bracket)
        if close == -1 or message[close + 1:close + 2] != ":":
            return None
        app, procid, colon = message[:bracket], message[bracket + 1:close], close + 1
        if procid and not _one_word(procid):
            return None
    if not app or len(app) > 128 or "]" in app or not _one_word(app):
        return None
    if message[colon + 1:colon + 2] == " ":
        return app, procid, message[colon + 2:]
    return app, procid, message[colon + 1:]


_ZEROS: Final = "000000000"
_WORDS: Final = SYSLOG_WORDS
_NUMBERS: Final = SYSLOG_LEVELS  # _NUMBERS[pri & 7], indexed
Bsd = tuple[str | None, int, str, str]
"""PRI text (None when absent), where the timestamp starts, fraction ("" when none), the rest after the timestamp"""


def _split_bsd(text: str) -> Bsd | None:
    """An RFC 3164 line with a two-character day (`May  1 02:00:01`, `May 11 ...`) split as `_RFC3164` would, by string
    operations; the caller checks the timestamp itself. None for anything else (no PRI digits, a fraction that is not
    1-9 digits, the RFC 3339 variant, ...), which then goes through `_RFC3164` (tests/parsers/test_syslog.py)."""
    pri_text: str | None = None
    start = 0
    if text[:1] == "<":
        close = text.find(">", 1, 5)
        pri_text = text[1:close]
        if close == -1 or not pri_text or not pri_text.isdigit() or not pri_text.isascii():
            return None
        start = close + 1
    if text[start + 3:start + 4] != " " or text[start + 6:start + 7] != " ":
        return None
    after = text[start + 15:start + 16]
    if after == " ":
        return pri_text, start, "", text[start + 16:]
    if after != ".":
        return None
    space = text.find(" ", start + 16, start + 26)
    fraction = text[start + 16:space]
    if space == -1 or not fraction or not fraction.isdigit() or not fraction.isascii():
        return None
    return pri_text, start, fraction, text[space + 1:]


_fast = True
"""Whether `parse` tries `_split_bsd` first; tests turn it off to compare with the pattern path (see golog._fast)."""


class SyslogParser(Parser):
    """RFC 5424 when the PRI is followed by a version, else RFC 3164."""

    name = "syslog"

    def __init__(self, env: ParseEnv) -> None:
        super().__init__(env)
        self._bsd_heads = HeadCache()
        self._bsd_month = -1
        self._auto = env.settings.format == "auto"

    def parse(self, text: str) -> Event | None:
        first = text[:1]
        if first != "<" and not first.isdigit() and not (first.isupper() and text[3:4] == " "):
            return None  # cheap refusal (auto probes plain text here): the pattern needs a PRI, a month or a date first
        clock = self.clock
        if self._bsd_month != clock.observed_month_key:
            self._bsd_heads.clear()  # year inference depends on the observed month
            self._bsd_month = clock.observed_month_key
        # the usual RFC 3164 line whose timestamp was seen before (so valid), split without the pattern
        bsd = _split_bsd(text) if _fast else None
        if bsd is not None:
            pri_text, start, fraction, rest = bsd
            head = self._bsd_heads.known.get(text[start:start + 15])
            if head:
                return self._bsd_event(text, pri_text, f"{head}.{fraction}{_ZEROS[len(fraction):]}Z", True, rest)
        # RFC 5424 has a version after the PRI (`<34>1 `); checked before trying its long pattern
        if text[:1] == "<" and text[text.find(">", 1, 5) + 1:][:1].isdigit() and (match := _RFC5424.match(text)) is not None:
            return self._rfc5424(match, text)
        match = _RFC3164.match(text)
        if match is None:
            return None
        return self._rfc3164(match, text)

    def _rfc5424(self, match: Any, text: str) -> Event | None:
        pri = int(match[1])
        if pri > 191:
            return None
        attributes: dict[str, Any] = {
            "log.syslog.facility.code": pri >> 3,
            "log.syslog.severity.code": pri & 7,
            "log.syslog.version": int(match[2]),
        }
        for index, key in enumerate(_HEADER_FIELDS, start=4):
            if match[index] != "-":
                attributes[key] = match[index]
        if match[8] != "-":
            attributes["log.syslog.structured_data"] = {
                element[1]: {param[1]: _SD_ESCAPE.sub(r"\1", param[2]) for param in _SD_PARAM.finditer(element[2])}
                for element in _SD_ELEMENT.finditer(match[8])
            }
        message = match[9] or ""
        if message[:1] == "\ufeff":
            message = message[1:]
        flags = None
        if match[3] == "-":
            timestamp = self.clock.observed
        else:
            stamp = self.clock.iso(match[3])
            if stamp is None:
                timestamp, flags = self.clock.observed, ["timestamp_unparsed"]
            else:
                timestamp = stamp[0]
                if stamp[1]:
                    attributes[TIMEZONE] = self.clock.zone_name
        attributes[ORIGINAL] = text
        event = {
            "timestamp": timestamp,
            "severity_text": _WORDS[pri & 7],
            "severity_number": _NUMBERS[pri & 7],
            "body": message,
            "attributes": attributes,
        }
        if flags:
            event["flags"] = flags
        return event

    def _rfc3164(self, match: Any, text: str) -> Event | None:
        pri_text, month_name, day, hour, minute, second, fraction, iso_text, rest = match.groups()
        clock = self.clock
        if month_name is not None:
            start = len(pri_text) + 2 if pri_text is not None else 0
            key = text[start:start + 15]
            head = self._bsd_heads.known.get(key)
            if head is None:
                month = MONTHS.get(month_name)
                if month is None:
                    return None
                try:
                    head = clock.local_head((clock.year_for(month), month, int(day), int(hour), int(minute), int(second)))
                except ValueError:
                    head = ""  # an impossible date (Feb 30): observed time, flagged
                self._bsd_heads.put(key, head)
            timestamp = head + "." + fraction.ljust(9, "0") + "Z" if fraction else head + ".000000000Z"
            event = self._bsd_event(text, pri_text, timestamp, True, rest)
            return event if event is None or head else timestamp_unparsed(event, clock)
        stamp = clock.iso(iso_text)
        if stamp is None:
            return None
        event = self._bsd_event(text, pri_text, stamp[0], stamp[1], rest)
        if self._auto and pri_text is None and event is not None and "log.syslog.appname" not in event["attributes"]:
            return None  # auto: an RFC 3339 date without PRI or tag is a text line (hclog, MongoDB), read with its level
        return event

    def _bsd_event(self, text: str, pri_text: str | None, timestamp: str, zone_assumed: bool, rest: str) -> Event | None:
        """The event of an RFC 3164 line once its timestamp is read: PRI, hostname, tag."""
        first, _, after = rest.partition(" ")
        if first.endswith(":") or "[" in first or not after:
            hostname = None
            message = rest  # no hostname: local files written by syslog daemons often omit it
        else:
            hostname = first
            message = after
        tag = _tag(message)
        if pri_text is not None:
            pri = int(pri_text)
            if pri > 191:
                return None
            severity_text: str | None = _WORDS[pri & 7]
            severity_number = _NUMBERS[pri & 7]
            if zone_assumed and hostname is not None and tag is not None and tag[1]:
                # the usual line, built at once (the same keys in the same order as below)
                app, procid, message = tag
                attributes: dict[str, Any] = {
                    TIMEZONE: self.clock.zone_name,
                    "log.syslog.facility.code": pri >> 3,
                    "log.syslog.severity.code": pri & 7,
                    "log.syslog.hostname": hostname,
                    "log.syslog.appname": app,
                    "log.syslog.procid": procid,
                    ORIGINAL: text,
                }
                return parsed(timestamp, severity_text, severity_number, message, attributes)
            attributes = {TIMEZONE: self.clock.zone_name} if zone_assumed else {}
            attributes["log.syslog.facility.code"] = pri >> 3
            attributes["log.syslog.severity.code"] = pri & 7
        else:
            attributes = {TIMEZONE: self.clock.zone_name} if zone_assumed else {}
            severity_text, severity_number = None, 0
        if hostname is not None:
            attributes["log.syslog.hostname"] = hostname
        if tag is not None:
            attributes["log.syslog.appname"], procid, message = tag
            if procid:
                attributes["log.syslog.procid"] = procid
        attributes[ORIGINAL] = text
        return parsed(timestamp, severity_text, severity_number, message, attributes)

    def reject_reason(self, text: str) -> str:
        return "the line is neither RFC 5424 nor RFC 3164 syslog"


# an RFC 5424 line (`<`) may have `-` for its timestamp; the others always have one
FORMAT: Format = Format(
    SyslogParser,
    probes={Shape.ANGLE: 10, Shape.DASHED_DATE: 50, Shape.WORD: 10},
    timed=frozenset({Shape.DASHED_DATE, Shape.WORD}),
)
