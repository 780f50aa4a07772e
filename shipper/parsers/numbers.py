"""Numbers in metrics-style text: `key: 12.5%`, `key=40`, `key 3ms` pairs become numeric attributes.

The generic text parser (auto's fallback for timestamped lines) calls `numeric_attributes` on a line's message,
after its timestamp and level. This module owns the naming rule (schemas/README.md, "Numbers in text lines").

Only key/value shapes count, so prose, addresses, versions, dates and ids give nothing:
- `key=NUMBER[unit]` (spaces around `=` allowed) and `key: NUMBER[unit]` (a space after the colon, none before it, so
  `host:8080` and `10:30` are not pairs) take a number with or without a unit;
- `key NUMBER unit` and `key NUMBERunit` need a known unit (`took 35 ms`, `latency 3ms`; not `retry 3 of 5`).
The number is written plainly: optional sign, digits without leading zeros, an optional `.fraction`; it must end
where the token ends (a space, the end, `,` or `;` not followed by a digit, `.` then a space or the end, a closing
bracket or quote), so `1.2.3`, `10.0.0.1`, `2026-03-14`, `0x1f`, `12ab`, `1,234` and `12MB/s` are refused whole.

Speed: one left-to-right scan for digit runs on character codes, then a bounded look around each run (compiled,
a few native comparisons per character; a regex search for the runs cost more per line than the whole scan, and a
match object per run several times that). Bounded: the first _SCAN_LIMIT characters, at most MAX_ATTRIBUTES
attributes; each run is looked at once, and each look is bounded (_MAX_KEY, _MAX_SPACES, _MAX_UNIT).
"""

from typing import Final

MAX_ATTRIBUTES: Final = 32
"""Most numeric attributes taken from one message."""
_SCAN_LIMIT: Final = 8192
"""Characters of a message looked at (metrics lines are short; a long line's tail is left as text)."""
_MAX_KEY: Final = 64
_MAX_DIGITS: Final = 19
_MAX_SPACES: Final = 4
_MAX_UNIT: Final = 8

# unit (lower-cased) -> (name suffix, multiplier, divisor): the value in the suffix's base unit is value * mul / div
_NO_UNIT: Final = ("", 1, 1)
_UNITS: Final[dict[str, tuple[str, int, int]]] = {
    "%": ("_pct", 1, 1),
    "ns": ("_ms", 1, 1_000_000), "nsec": ("_ms", 1, 1_000_000),
    "us": ("_ms", 1, 1000), "\u00b5s": ("_ms", 1, 1000), "\u03bcs": ("_ms", 1, 1000), "usec": ("_ms", 1, 1000),
    "ms": ("_ms", 1, 1), "msec": ("_ms", 1, 1), "msecs": ("_ms", 1, 1), "millis": ("_ms", 1, 1),
    "s": ("_ms", 1000, 1), "sec": ("_ms", 1000, 1), "secs": ("_ms", 1000, 1), "second": ("_ms", 1000, 1),
    "seconds": ("_ms", 1000, 1),
    "min": ("_ms", 60_000, 1), "mins": ("_ms", 60_000, 1), "minute": ("_ms", 60_000, 1), "minutes": ("_ms", 60_000, 1),
    "h": ("_ms", 3_600_000, 1), "hr": ("_ms", 3_600_000, 1), "hrs": ("_ms", 3_600_000, 1),
    "hour": ("_ms", 3_600_000, 1), "hours": ("_ms", 3_600_000, 1),
    "day": ("_ms", 86_400_000, 1), "days": ("_ms", 86_400_000, 1),
    "b": ("_bytes", 1, 1), "byte": ("_bytes", 1, 1), "bytes": ("_bytes", 1, 1),
    "kb": ("_bytes", 1 << 10, 1), "kib": ("_bytes", 1 << 10, 1),
    "mb": ("_bytes", 1 << 20, 1), "mib": ("_bytes", 1 << 20, 1),
    "gb": ("_bytes", 1 << 30, 1), "gib": ("_bytes", 1 << 30, 1),
    "tb": ("_bytes", 1 << 40, 1), "tib": ("_bytes", 1 << 40, 1),
}
_SUFFIXES: Final = ("_pct", "_ms", "_bytes")
_DURATION_WORDS: Final = frozenset({"took", "in", "after", "for", "within", "elapsed", "spent", "taking", "lasted"})
"""Keys that say "it lasted": with a time unit the attribute is `duration_ms`."""
_RESERVED: Final = frozenset({
    # the event's own fields
    "schema_version", "event_id", "timestamp", "observed_timestamp", "severity_text", "severity_number", "body",
    "trace_id", "span_id", "resource", "attributes", "format", "input_id", "parse_error", "parse_error_reason", "flags",
    # roots of the dotted OTel/ECS attribute names (an attribute `log` would clash with `log.file.path` in a mapping)
    "log", "event", "exception", "error", "http", "url", "client", "server", "source", "destination", "network",
    "process", "thread", "code", "user", "user_agent", "host", "service", "trace", "span", "file", "iis", "apache",
    "message", "tags", "labels", "ecs", "agent", "observer", "cloud", "container", "kubernetes", "k8s", "os",
})
"""Names a numeric attribute must not take: it gets `_value` appended instead (`error: 3` gives `error_value`)."""
_names: Final[dict[tuple[str, str], str]] = {}
_NAME_LIMIT: Final = 4096

# character codes (the scan compares ints: compiled, `ord(text[i])` is a native read, a 1-character str is not)
_SPACE: Final = 32
_TAB: Final = 9
_DOT: Final = 46
_PERCENT_SIGN: Final = 37


def _is_digit(code: int) -> bool:
    return 48 <= code <= 57


def _is_letter(code: int) -> bool:
    return 97 <= code <= 122 or 65 <= code <= 90


def _is_key_code(code: int) -> bool:
    """ASCII letters, digits, `_`, `.`, `-`."""
    return _is_letter(code) or _is_digit(code) or code in (95, _DOT, 45)


def _is_unit_code(code: int) -> bool:
    return _is_letter(code) or code in (0xB5, 0x3BC)  # micro sign, Greek mu


def _before_key(code: int) -> bool:
    """What may precede a key: a space, a tab or one of `,;([{|"'`."""
    return code in (_SPACE, _TAB, 44, 59, 40, 91, 123, 124, 34, 39)


def _ends_token(text: str, pos: int, size: int) -> bool:
    """Whether a value ending before `pos` ends its token: the end, a space, `,` or `;` not followed by a digit, `.`
    followed by a space or the end, or one of `)]}|"'`."""
    if pos >= size:
        return True
    code = ord(text[pos])
    if code in (_SPACE, _TAB, 41, 93, 125, 124, 34, 39):
        return True
    if code in (44, 59):
        return pos + 1 >= size or not _is_digit(ord(text[pos + 1]))
    if code == _DOT:
        return pos + 1 >= size or ord(text[pos + 1]) in (_SPACE, _TAB)
    return False


def _unit_end(text: str, start: int, size: int) -> int:
    """The end of the unit word starting at `start` (start itself when none); -1 when the word is too long."""
    if start < size and ord(text[start]) == _PERCENT_SIGN:
        return start + 1
    end = start
    while end < size and _is_unit_code(ord(text[end])):
        end += 1
        if end - start > _MAX_UNIT:
            return -1
    return end


def _spaces_before(text: str, pos: int) -> int:
    """How many spaces and tabs end text[:pos] (counting stops past _MAX_SPACES)."""
    count = 0
    while pos > count and count <= _MAX_SPACES and ord(text[pos - count - 1]) in (_SPACE, _TAB):
        count += 1
    return count


def _name(key: str, suffix: str) -> str:
    """The attribute name for `key` with a unit of `suffix` ("" for none): see the module docstring."""
    cached = _names.get((key, suffix))
    if cached is not None:
        return cached
    parts: list[str] = []
    run = False
    for char in key.lower():
        if char.isalnum():
            parts.append(char)
            run = False
        elif not run:
            parts.append("_")
            run = True
    base = "".join(parts).strip("_")
    if suffix == "_ms" and base in _DURATION_WORDS:
        base = "duration"
    name = base if not suffix or base.endswith(suffix) else base + suffix
    if name in _RESERVED:
        name += "_value"
    if len(_names) >= _NAME_LIMIT:
        _names.clear()
    _names[(key, suffix)] = name
    return name


def numeric_attributes(message: str) -> dict[str, int | float]:
    """The numeric attributes a message's metrics pairs name; empty when it has none. Linear in len(message)."""
    found: dict[str, int | float] = {}
    text = message[:_SCAN_LIMIT] if len(message) > _SCAN_LIMIT else message
    size = len(text)
    i = 0
    while i < size:
        code = ord(text[i])
        if code < 48 or code > 57:
            i += 1
            continue
        # a number: digits, then `.digits` if there are
        start = i
        i += 1
        while i < size and _is_digit(ord(text[i])):
            i += 1
        integer_end = i
        if i + 1 < size and ord(text[i]) == _DOT and _is_digit(ord(text[i + 1])):
            i += 2
            while i < size and _is_digit(ord(text[i])):
                i += 1
        end = i  # the scan goes on from here whatever this number turns out to be
        if integer_end - start > _MAX_DIGITS or end - integer_end > _MAX_DIGITS + 1:
            continue
        if ord(text[start]) == 48 and integer_end - start > 1:
            continue  # leading zeros: an id, a zip code, a clock time
        # what precedes: an optional sign, then `=`, `: ` or spaces, then the key
        pos = start
        negative = False
        if pos > 0 and ord(text[pos - 1]) in (45, 43):
            negative = ord(text[pos - 1]) == 45
            pos -= 1
        spaces = _spaces_before(text, pos)
        pos -= spaces
        if pos == 0 or spaces > _MAX_SPACES:
            continue
        separator = ord(text[pos - 1])
        needs_unit = False
        if separator == 61:  # =
            pos -= 1
            spaces = _spaces_before(text, pos)
            if spaces > _MAX_SPACES:
                continue
            pos -= spaces
        elif separator == 58 and spaces > 0:  # `: `
            pos -= 1
        elif spaces > 0:
            needs_unit = True
        else:
            continue  # glued to what precedes: `v1.2`, `a-3`, `10.0.0.1`
        key_end = pos
        while pos > 0 and key_end - pos <= _MAX_KEY and _is_key_code(ord(text[pos - 1])):
            pos -= 1
        if pos == key_end or key_end - pos > _MAX_KEY:
            continue
        if pos > 0 and not _before_key(ord(text[pos - 1])):
            continue  # `http://host: 1`, `a=b 5ms`: not a key of its own
        if not _is_letter(ord(text[pos])):
            continue
        last = ord(text[key_end - 1])
        if not (_is_letter(last) or _is_digit(last)):
            continue
        # what follows: an optional unit (attached, or after one space), then the end of the token
        unit = ""
        after = _unit_end(text, end, size)
        if after == -1:
            continue
        if after > end:
            unit = text[end:after].lower()
            if unit not in _UNITS:
                continue  # `12ab`, `0x1f`, `3rd`: not a number with a unit
        elif end + 1 < size and ord(text[end]) == _SPACE:
            spaced = _unit_end(text, end + 1, size)
            if spaced > end + 1 and _ends_token(text, spaced, size):
                word = text[end + 1:spaced].lower()
                if word in _UNITS:
                    unit = word
                    after = spaced
        if not _ends_token(text, after, size) or (needs_unit and not unit):
            continue
        suffix, multiplier, divisor = _UNITS[unit] if unit else _NO_UNIT
        number = text[start:end]
        value: int | float = (
            int(number) * multiplier if integer_end == end and divisor == 1 else float(number) * multiplier / divisor
        )
        if suffix == "_bytes":
            value = round(value)
        name = _name(text[pos:key_end], suffix)
        found[name] = -value if negative and value else value
        if len(found) >= MAX_ATTRIBUTES:
            break
    return found
