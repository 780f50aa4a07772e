"""The shipper's configuration, declared once: every key with its type, default and description.

    [shipper]            process-wide settings (state, limits, intervals)
    [kafka]              where events go
    [health]             when /health answers 503
    [[inputs]]           which files to follow and how to parse them

`load_config(path)` reads and validates the whole file before anything starts; it raises ConfigError
with one sentence naming the key and the problem.
"""

import glob
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from logferry.config import REQUIRED, Milliseconds, Seconds, load, read_toml, setting
from logferry.errors import ConfigError
from logferry.health import HealthSettings
from logferry.kafka import KafkaConnection


def default_state_dir() -> str:
    """Where checkpoints live unless configured: %ProgramData%\\logferry\\state on Windows, /var/lib/logferry elsewhere."""
    if sys.platform == "win32":
        return str(Path(os.environ.get("PROGRAMDATA", r"C:\ProgramData")) / "logferry" / "state")
    return "/var/lib/logferry"


def formats() -> tuple[str, ...]:
    """The known `format` values: auto, then every format shipper.parsers.registry declares. Imported when asked, not
    with this module: the parsers import this module for their settings."""
    from shipper.parsers.registry import NAMES

    return ("auto", *NAMES)


DATE_ORDERS = ("mdy", "dmy", "ymd")
ENCODINGS = ("auto", "utf-8", "utf-16", "utf-16-le", "utf-16-be", "latin-1", "cp1252")


@dataclass(frozen=True, kw_only=True)
class MultilineSettings:
    """How consecutive lines are grouped into one event."""

    mode: Literal["off", "start", "continue"] = setting(
        "off",
        "off: one line, one event (parsers such as java and python still join their own continuation lines); "
        "start: a line matching `pattern` starts a new event; continue: a line matching `pattern` continues the previous one.",
    )
    pattern: str = setting("", "Regular expression for mode start or continue.")
    max_lines: int = setting(500, "Most lines in one event; further lines start a new event.")
    max_bytes: int = setting(1_048_576, "Most bytes in one event; further lines start a new event.")
    flush_timeout: Seconds = setting(3.0, "Seconds after which a pending event is emitted when no line follows.")

    def check(self, where: str) -> None:
        if self.mode != "off":
            if not self.pattern:
                raise ConfigError(f"{where}.pattern", f"is required when mode is {self.mode!r}")
            _compile(self.pattern, f"{where}.pattern")
            _refuse_catastrophic(self.pattern, f"{where}.pattern")
        if self.max_lines < 1:
            raise ConfigError(f"{where}.max_lines", "must be at least 1")
        if self.max_bytes < 1:
            raise ConfigError(f"{where}.max_bytes", "must be at least 1")
        if self.flush_timeout <= 0:
            raise ConfigError(f"{where}.flush_timeout", "must be greater than 0")


CaptureType = Literal["int", "float", "bool"]
CAPTURE_TYPES: tuple[str, ...] = get_args(CaptureType)
"""The types a regex capture can be given (`[inputs.regex] types`); shipper.parsers.regex_user converts them."""


@dataclass(frozen=True, kw_only=True)
class RegexSettings:
    """The user pattern for format = "regex"."""

    pattern: str = setting("", "Regular expression with named groups: timestamp, level, message; others become attributes.")
    timestamp_format: str = setting("", "strptime format of the timestamp group; empty to accept RFC 3339 / ISO 8601.")
    timeout_ms: float = setting(100.0, "Most milliseconds the pattern may run on one line; a longer run flags the line.")
    types: dict[str, CaptureType] = setting(
        {},
        "Types of named groups other than timestamp, level and message: " + ", ".join(CAPTURE_TYPES) + " (bool takes "
        "true/false, yes/no, on/off, 1/0 in any case); a capture that does not convert stays a string, flagged "
        "type_conversion_failed.",
    )


@dataclass(frozen=True, kw_only=True)
class DropSettings:
    """One [[inputs.drop]] rule: events left out after parsing (shipper.processing.drop)."""

    name: str = setting("drop", "The rule's name: the `reason` label of logferry_shipper_dropped_events_total.")
    field: str = setting(REQUIRED, "The field judged: body, severity_text, severity_number, attributes.<key>, "
                         "resource.<key>, or a bare key (resource, then attributes, then the event's own fields).")
    equals: list[str | int | float | bool] = setting([], "Drop when the field has one of these values (same kind).")
    matches: str = setting("", "Drop when this regular expression (RE2 syntax, linear time) matches the field's text.")
    below: float | None = setting(None, "Drop when the field is a number below this (severity_number below 9: TRACE, DEBUG).")


@dataclass(frozen=True, kw_only=True)
class RedactSettings:
    """One [[inputs.redact]] rule: a pattern replaced in the body and every attribute (shipper.processing.redact)."""

    builtin: str = setting("", "A built-in pattern: credit_card (Luhn-checked), email, bearer_token, aws_key, password.")
    pattern: str = setting("", "A regular expression (RE2 syntax, linear time) to replace instead of a built-in one.")
    name: str = setting("", "The rule's name, for metrics and the default replacement; defaults to `builtin`.")
    replacement: str = setting("", "The literal text a match becomes; empty for \"[REDACTED:<name>]\".")


@dataclass(frozen=True, kw_only=True)
class InputSettings:
    """One group of files followed the same way."""

    id: str = setting(REQUIRED, "A short name for this input; recorded in every event as input_id.")
    paths: list[str] = setting(REQUIRED, "Glob patterns of files to follow; ** matches any number of directories.")
    exclude: list[str] = setting([], "Glob patterns of files to leave alone (for example rotated *.gz).")
    max_depth: int = setting(16, "Most directories one ** in `paths` spans; deeper ones are not scanned (1 to 256).")
    format: str = setting(
        "auto", "Log format: auto (recognised line by line) or a format declared in shipper.parsers.registry (json, syslog, ...)."
    )
    encoding: str = setting(
        "auto",
        "Text encoding: " + ", ".join(ENCODINGS) + ". auto detects each file's from its head (a BOM, else NUL bytes for"
        " UTF-16 LE/BE, else UTF-8) and keeps it with the checkpoint; utf-16 takes the byte order from the BOM.",
    )
    timezone: str = setting("local", "IANA zone for timestamps written without one; 'local' is the host's zone.")
    date_order: str = setting(
        "mdy",
        "How text lines' ambiguous numeric dates are read until a value over 12 shows the order: mdy (01/02/2026 is "
        "January 2), dmy (February 1) or ymd (for two-digit years first, 26/01/02); " + ", ".join(DATE_ORDERS) + ".",
    )
    service_name: str = setting("", "resource service.name for these events; empty for none.")
    fields: dict[str, str | int | float | bool] = setting({}, "Static attributes added to every event of this input.")
    multiline: MultilineSettings = setting(None, "Multiline grouping.", factory=MultilineSettings)
    regex: RegexSettings = setting(None, "Pattern for format = 'regex'.", factory=RegexSettings)
    include_lines: list[str] = setting(
        [], "Regular expressions (RE2 syntax): only raw lines matching one are shipped; empty for all lines."
    )
    exclude_lines: list[str] = setting([], "Regular expressions (RE2 syntax): raw lines matching one are not shipped.")
    drop: list[DropSettings] = setting([], "Rules dropping parsed events by a field's value ([[inputs.drop]]).")
    redact: list[RedactSettings] = setting([], "Redaction rules, applied in order ([[inputs.redact]]).")
    rename: dict[str, str] = setting({}, "Attribute keys renamed: old key = new key.")
    remove: list[str] = setting([], "Attribute keys removed from every event.")
    topic: str = setting(
        "", "Topic for this input's events instead of kafka.topic; {field} parts are filled from each event, as in "
        "\"logs-{service.name}\" (an event without the field goes to kafka.topic)."
    )

    def check(self, where: str) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", self.id):
            raise ConfigError(f"{where}.id", "must be 1-64 letters, digits, '_', '.' or '-'")
        if not self.paths:
            raise ConfigError(f"{where}.paths", "must list at least one glob")
        for i, pattern in enumerate([*self.paths, *self.exclude]):
            key = f"{where}.paths[{i}]" if i < len(self.paths) else f"{where}.exclude[{i - len(self.paths)}]"
            check_glob(pattern, key)
        if not 1 <= self.max_depth <= 256:
            raise ConfigError(f"{where}.max_depth", "must be from 1 to 256")
        known = formats()
        if self.format not in known:
            raise ConfigError(f"{where}.format", f"unknown format {self.format!r}; known: {', '.join(known)}")
        if self.encoding.lower() not in ENCODINGS:
            raise ConfigError(f"{where}.encoding", f"unknown encoding {self.encoding!r}; known: {', '.join(ENCODINGS)}")
        if self.date_order not in DATE_ORDERS:
            raise ConfigError(f"{where}.date_order", f"unknown date order {self.date_order!r}; known: {', '.join(DATE_ORDERS)}")
        if self.timezone != "local":
            try:
                ZoneInfo(self.timezone)
            except (ZoneInfoNotFoundError, ValueError):
                raise ConfigError(f"{where}.timezone", f"{self.timezone!r} is not an IANA time zone") from None
        if self.format == "regex":
            if not self.regex.pattern:
                raise ConfigError(f"{where}.regex.pattern", "is required when format is 'regex'")
            compiled = _compile(self.regex.pattern, f"{where}.regex.pattern")
            if not compiled.groupindex:
                raise ConfigError(f"{where}.regex.pattern", "has no named groups such as (?P<message>...)")
            check_user_regex(self.regex, f"{where}.regex")
        from shipper.processing.pipeline import check_processing

        check_processing(self, where)


@dataclass(frozen=True, kw_only=True)
class ShipperSettings:
    """Process-wide settings."""

    state_dir: str = setting(default_state_dir(), "Directory for checkpoints and the host id; created if missing.")
    host_id: str = setting("", "Host id for event ids; empty to use the OS machine id (or one generated and kept).")
    host_name: str = setting("", "resource host.name; empty for the machine's name.")
    rescan_interval: Seconds = setting(2.0, "Seconds between glob rescans (file-system events only hint in between).")
    healthy_rescan_interval: Seconds = setting(
        30.0,
        "Seconds between rescans while file-system events are known to cover every matched directory (Linux); "
        "never shorter than rescan_interval.",
    )
    checkpoint_interval: Seconds = setting(1.0, "Most seconds between checkpoint writes while running.")
    read_chunk_bytes: int = setting(
        262_144, "Bytes read from a file at once (a chunk's lines and events live at once: bigger costs memory, not speed)."
    )
    file_budget_bytes: int = setting(4_194_304, "Most bytes read from one file per turn, so busy files cannot starve quiet ones.")
    max_line_bytes: int = setting(1_048_576, "Longer lines are truncated to this many bytes and flagged, never dropped.")
    max_open_files: int = setting(512, "Most files held open at once; the rest wait their turn.")
    close_inactive: Seconds = setting(300.0, "Seconds without new data after which a file is closed (reopened when it grows).")
    ignore_older: Seconds = setting(0.0, "Skip files not modified for this many seconds when first seen; 0 ships everything.")
    rotate_wait: Seconds = setting(5.0, "Seconds a renamed or deleted file stays open after its last byte was read.")
    max_inflight_bytes: int = setting(
        8_388_608, "Reading pauses while this many bytes await Kafka's acknowledgement (librdkafka holds a copy of each event)."
    )
    shutdown_timeout: Seconds = setting(30.0, "Seconds to wait for acknowledgements when stopping.")
    checkpoint_retention: Seconds = setting(
        2_592_000.0, "Seconds a checkpoint of a file no longer found on disk is kept (30 days); 0 keeps them for ever."
    )
    log_level: Literal["debug", "info", "warning", "error"] = setting("info", "Level of the shipper's own logs.")
    log_format: Literal["auto", "json", "text"] = setting("auto", "Own logs as JSON lines, text, or text on a terminal.")
    metrics_address: str = setting("", "host:port for the Prometheus /metrics and /health endpoints; empty for off.")
    progress: Literal["auto", "bar", "log", "off"] = setting(
        "auto", "Progress of `run --once` (bytes read and left, rate, time left): a bar on a terminal (auto), a log line "
        "a minute, or none."
    )

    def check(self, where: str) -> None:
        for name in ("read_chunk_bytes", "file_budget_bytes", "max_line_bytes", "max_open_files", "max_inflight_bytes"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{where}.{name}", "must be at least 1")
        if self.checkpoint_retention < 0:
            raise ConfigError(f"{where}.checkpoint_retention", "must be 0 or more")
        if self.healthy_rescan_interval <= 0:
            raise ConfigError(f"{where}.healthy_rescan_interval", "must be greater than 0")
        for name in ("rescan_interval", "checkpoint_interval", "close_inactive", "rotate_wait", "shutdown_timeout"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{where}.{name}", "must be greater than 0")
        if self.metrics_address:
            check_listen_address(self.metrics_address, f"{where}.metrics_address")


@dataclass(frozen=True, kw_only=True)
class ShipperKafka(KafkaConnection):
    """Where events go, on top of the connection settings."""

    topic: str = setting("logs", "Topic the events are produced to.")
    compression: Literal["zstd", "lz4", "gzip", "snappy", "none"] = setting(
        "lz4", "Batch compression (lz4 costs the least CPU here and on the broker, which decompresses to validate)."
    )
    linger_ms: Milliseconds = setting(20, "Milliseconds librdkafka waits to fill a batch.")
    max_message_bytes: int = setting(1_000_000, "Largest message the broker accepts; bigger events are truncated and flagged.")
    allow_duplicates: bool = setting(
        False, "Accept [kafka.librdkafka] settings that void exactly-once delivery (enable.idempotence = false, acks other "
        "than all): a producer retry may then write an event twice, and acks below all may lose acknowledged ones."
    )

    def check(self, where: str) -> None:
        super().check(where)
        if not self.allow_duplicates:
            idempotence = self.librdkafka.get("enable.idempotence", True)
            if idempotence is False or str(idempotence).lower() == "false":
                raise ConfigError(f"{where}.librdkafka.enable.idempotence", "= false voids exactly-once delivery; set "
                                  f"{where}.allow_duplicates = true if that is meant")
            acks = str(self.librdkafka.get("acks", "all")).lower()
            if acks not in ("all", "-1"):
                raise ConfigError(f"{where}.librdkafka.acks", f"= {acks!r} voids exactly-once delivery (acknowledged "
                                  f"events can be lost); set {where}.allow_duplicates = true if that is meant")
        if not re.fullmatch(r"[A-Za-z0-9._-]{1,249}", self.topic):
            raise ConfigError(f"{where}.topic", f"{self.topic!r} is not a valid Kafka topic name")
        if self.max_message_bytes < 1024:
            raise ConfigError(f"{where}.max_message_bytes", "must be at least 1024")


@dataclass(frozen=True, kw_only=True)
class JobSettings:
    """`shipper exec`: how a scheduled job's output is read and how its runs are kept (shipper.jobs)."""

    format: str = setting("auto", "Format of the job's output lines: auto or a declared format, as an input's `format`.")
    multiline: MultilineSettings = setting(None, "Multiline grouping of each output stream.", factory=MultilineSettings)
    kill_grace: Seconds = setting(
        10.0, "Seconds between the polite stop (SIGTERM) of a timed-out job's process group and SIGKILL (Linux)."
    )
    end_unknown_after: Seconds = setting(
        60.0, "Seconds a run's spool may stay without an end, its `exec` gone, before a running shipper records it as "
        "ended-unknown (the next `exec` does so at once)."
    )
    spool_retention: Seconds = setting(
        86_400.0, "Seconds a finished run's spool is kept once it is fully shipped (then deleted by the next `exec`)."
    )

    def check(self, where: str) -> None:
        known = formats()
        if self.format not in known:
            raise ConfigError(f"{where}.format", f"unknown format {self.format!r}; known: {', '.join(known)}")
        for name in ("kill_grace", "end_unknown_after"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{where}.{name}", "must be greater than 0")
        if self.spool_retention < 0:
            raise ConfigError(f"{where}.spool_retention", "must be 0 or more")


@dataclass(frozen=True, kw_only=True)
class ShipperConfig:
    """The whole shipper config file."""

    shipper: ShipperSettings = setting(None, "Process-wide settings.", factory=ShipperSettings)
    kafka: ShipperKafka = setting(None, "Kafka destination.", factory=ShipperKafka)
    health: HealthSettings = setting(None, "When /health answers 503.", factory=HealthSettings)
    jobs: JobSettings = setting(None, "Scheduled jobs run by `shipper exec`.", factory=JobSettings)
    inputs: list[InputSettings] = setting(REQUIRED, "Files to follow.")

    def check(self, where: str) -> None:
        if not self.inputs:
            raise ConfigError("inputs", "at least one [[inputs]] table is required")
        seen: set[str] = set()
        for i, item in enumerate(self.inputs):
            if item.id in seen:
                raise ConfigError(f"inputs[{i}].id", f"{item.id!r} is used by another input")
            seen.add(item.id)


def load_config(path: str | Path) -> ShipperConfig:
    """The validated config in the TOML file at `path`."""
    return parse_config(read_toml(path))


def parse_config(table: dict[str, Any]) -> ShipperConfig:
    """The validated config in an already parsed TOML table."""
    return load(ShipperConfig, table)


def check_glob(pattern: str, key: str) -> None:
    """ConfigError unless `pattern` is a usable absolute or relative glob."""
    if not pattern.strip():
        raise ConfigError(key, "is an empty glob")
    if "\x00" in pattern:
        raise ConfigError(key, "contains a NUL byte")
    if pattern.count("[") != pattern.count("]"):
        raise ConfigError(key, f"{pattern!r} has an unbalanced '[' or ']'")
    for part in re.split(r"[\\/]", pattern):
        if "**" in part and part != "**":
            raise ConfigError(key, f"{pattern!r}: '**' must be a whole path segment, as in dir/**/*.log")
    try:
        glob.translate(pattern, recursive=True, include_hidden=True) if hasattr(glob, "translate") else None
    except (ValueError, re.error) as error:
        raise ConfigError(key, f"{pattern!r} is not a valid glob: {error}") from None


def check_listen_address(value: str, key: str) -> None:
    """ConfigError unless `value` is host:port with a valid port."""
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(key, f"{value!r} is not a host:port address with a port from 1 to 65535")


_STRPTIME_DIRECTIVES = set("aAwdbBmyYHIpMSfzZjUWcxXGuV%")


def check_user_regex(settings: RegexSettings, key: str) -> None:
    """ConfigError for a pattern with a catastrophic-backtracking shape, a type for a group it lacks, a bad timeout or
    timestamp format."""
    from shipper.parsers.regex_safety import compile_user_pattern

    _refuse_catastrophic(settings.pattern, f"{key}.pattern")
    try:
        groups = compile_user_pattern(settings.pattern).groupindex
    except Exception as error:  # the regex module raises its own error type
        raise ConfigError(f"{key}.pattern", f"invalid regular expression: {error}") from None
    for name in settings.types:
        if name in ("timestamp", "level", "message"):
            raise ConfigError(f"{key}.types.{name}", f"the {name} group is not typed (only other groups are)")
        if name not in groups:
            raise ConfigError(f"{key}.types.{name}", f"the pattern has no group named {name!r}")
    if not 0 < settings.timeout_ms <= 10_000:
        raise ConfigError(f"{key}.timeout_ms", "must be greater than 0 and at most 10000")
    directives = re.findall(r"%(.)", settings.timestamp_format)
    unknown = [d for d in directives if d not in _STRPTIME_DIRECTIVES]
    if unknown or (settings.timestamp_format.endswith("%") and not settings.timestamp_format.endswith("%%")):
        raise ConfigError(f"{key}.timestamp_format", f"{settings.timestamp_format!r} is not a strptime format")


def _refuse_catastrophic(pattern: str, key: str) -> None:
    """ConfigError for a user pattern (regex format, multiline) with a catastrophic-backtracking shape such as (a+)+:
    short lines run it without a time bound, so it must be refused before anything runs."""
    from shipper.parsers.regex_safety import catastrophic_shape

    shape = catastrophic_shape(pattern)
    if shape:
        raise ConfigError(key, f"can take exponential time: {shape}; make the inner repeat atomic (?>...)")


def _compile(pattern: str, key: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as error:
        raise ConfigError(key, f"invalid regular expression: {error}") from None
