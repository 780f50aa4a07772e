"""Structured logs of our own: one JSON object per line on stderr (or `key=value` text on a terminal).

Messages are sentences; context goes in `extra`, never into the message:

    log.info("Opened the file.", extra={"path": path, "offset": offset})

Registered secrets are replaced by *** wherever they appear in a record.
"""

import logging
import re
import sys
import time
from typing import Any

import orjson

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}
_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Never print `value` in a log record from now on."""
    if value and len(value) >= 3:
        _secrets.add(value)


def redact(text: str) -> str:
    """`text` with every registered secret replaced by ***."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, "***")
    return text


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ts, level, logger, msg, then the record's extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update(_fields(record))
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return redact(orjson.dumps(entry, default=str).decode())


class TextFormatter(logging.Formatter):
    """`LEVEL logger: message key=value ...` for people at a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        extra = " ".join(f"{k}={v}" for k, v in _fields(record).items())
        line = f"{record.levelname:<7} {record.name}: {record.getMessage()}" + (f" {extra}" if extra else "")
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return redact(line)


class RepeatedClientLines(logging.Filter):
    """Lets one of librdkafka's repeated lines through per `interval` seconds.

    While a broker is down librdkafka reports every reconnect attempt (every 50-1000 ms); the first line says all
    an operator needs, and the next one after the interval carries how many were held back.
    """

    def __init__(self, interval: float = 30.0) -> None:
        super().__init__()
        self.interval = interval
        self.last: dict[tuple[str, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.endswith("librdkafka"):
            return True
        # The same failure differs only in its timings ("after 312ms"): compare without digits. A line from
        # logferry.kafka.ClientLog carries librdkafka's text in `detail` (the message is always the same sentence).
        text = f"{getattr(record, 'facility', '')} {getattr(record, 'detail', '')} {record.getMessage()}"
        key = (record.name, _DIGITS.sub("", text))
        now = time.monotonic()
        seen = self.last.get(key)
        if seen is not None and now - seen[0] < self.interval:
            self.last[key] = (seen[0], seen[1] + 1)
            return False
        if len(self.last) > 1000:
            self.last.clear()
        self.last[key] = (now, 0)
        if seen is not None and seen[1]:
            record.repeated = seen[1]
        return True


_DIGITS = re.compile(r"\d+")


def setup_logging(level: str = "info", style: str = "auto") -> None:
    """Send our logs to stderr as JSON lines (style "json"), text ("text"), or text on a terminal ("auto")."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RepeatedClientLines())
    use_json = style == "json" or (style == "auto" and not sys.stderr.isatty())
    handler.setFormatter(JsonFormatter() if use_json else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
