"""The regular expressions of processing: users' patterns compiled with RE2, and the built-in named patterns.

Users' patterns (include_lines, exclude_lines, drop `matches`, redact `pattern`) run on RE2 (the google-re2
package): its matching time is linear in the text for every pattern it accepts, so no pattern can make a line cost
more than a constant times its length. RE2 refuses what cannot run in linear time (backreferences, look-around);
the config error says so and names the key. That is stricter than the `regex` format's guard (a shape check and a
per-line timeout, shipper.parsers.regex_safety): a filter runs on every line of the input, where a timeout would
turn into a dropped or a kept line at the machine's whim.

The built-in patterns run on Python's `re`, which is faster than the RE2 binding on short strings; each is linear
by construction (no two unbounded repeats that may take the same characters; a match may start only at the start
of a run of its first class, `(?<![...])`, so a long run is scanned once, not once per position; quoted values are
bounded). tests/shipper/test_processing_patterns.py runs each on adversarial 1 MiB lines.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from logferry.errors import ConfigError


def compile_user(pattern: str, key: str, *, as_bytes: bool = False) -> Any:
    """`pattern` compiled by RE2 (for matching bytes when `as_bytes`: UTF-8 text without decoding it); ConfigError
    naming `key` when it is not a valid RE2 pattern."""
    import re2

    options = re2.Options()
    options.log_errors = False  # the error goes into the ConfigError, not as a raw line to stderr
    try:
        return re2.compile(pattern.encode() if as_bytes else pattern, options)
    except re2.error as error:
        detail = error.args[0].decode(errors="replace") if error.args and isinstance(error.args[0], bytes) else str(error)
        raise ConfigError(key, f"is not a pattern RE2 accepts ({detail}); backreferences and look-around are not "
                          "supported: they cannot run in linear time") from None


def luhn_valid(digits: str) -> bool:
    """Whether the digits pass the Luhn check (the check digit of payment card numbers)."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _card_number(match: "re.Match[str]") -> bool:
    digits = "".join(c for c in match.group(0) if c.isdigit())
    return 13 <= len(digits) <= 19 and luhn_valid(digits)


@dataclass(frozen=True)
class Builtin:
    """A named pattern: `regex` finds candidates; group `keep`, when present, is kept before the replacement (the
    `password=` of `password=hunter2`); `check` (when set) confirms a candidate (the Luhn check)."""

    name: str
    regex: "re.Pattern[str]"
    description: str
    check: Callable[["re.Match[str]"], bool] | None = None
    hints: tuple[str, ...] = ()
    """Substrings one of which every match contains (with `folded_hints`): a text without any is not searched (most
    lines hold no secret, and `in` costs far less than a regex search)."""
    folded_hints: tuple[str, ...] = ()
    """Such substrings in lower case, looked for in the text in lower case (where the pattern ignores case)."""
    screen: bytes = b""
    """For a pattern without hints: a bytes pattern every match's UTF-8 text (and so its JSON) matches."""


BUILTINS: Final[dict[str, Builtin]] = {
    b.name: b
    for b in (
        Builtin(
            "credit_card",
            # 13 to 19 digits, single spaces or dashes between them, not inside a longer number; then the Luhn check
            re.compile(r"(?<![0-9])[0-9](?:[ -]?[0-9]){12,18}(?![0-9])"),
            "payment card numbers (13-19 digits, spaces or dashes allowed) that pass the Luhn check",
            _card_number,
            screen=rb"[0-9](?:[ -]?[0-9]){12}",
        ),
        Builtin(
            "email",
            re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"),
            "e-mail addresses",
            hints=("@",),
        ),
        Builtin(
            "bearer_token",
            re.compile(r"(?i)(?P<keep>(?<![A-Za-z0-9])bearer[ \t]+)[A-Za-z0-9._~+/-]+=*"),
            "the token after `Bearer ` (Authorization headers); the word Bearer is kept",
            folded_hints=("bearer",),
        ),
        Builtin(
            "aws_key",
            re.compile(
                r"(?<![A-Z0-9])(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Z0-9])"
                r"|(?i:(?P<keep>aws_?secret_?access_?key[\"']?[ \t]*[=:][ \t]*[\"']?))[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])"
            ),
            "AWS access key ids (AKIA..., ASIA...) and 40-character secret keys after aws_secret_access_key",
            hints=("AKIA", "ASIA", "AGPA", "AIDA", "AROA", "AIPA", "ANPA", "ANVA", "ABIA", "ACCA"), folded_hints=("secret",),
        ),
        Builtin(
            "password",
            re.compile(r"(?i)(?P<keep>(?<![A-Za-z0-9_])(?:password|passwd)[\"']?[ \t]*[=:][ \t]*)"
                       r"(?:\"[^\"\n]{0,256}\"|'[^'\n]{0,256}'|[^\s&,;\"']+)"),
            "the value after password= or password: (also passwd, quoted or not); the key is kept",
            folded_hints=("passw",),
        ),
    )
}
"""The built-in patterns by name ([[inputs.redact]] builtin = ...)."""


def screen_for(builtins: list[Builtin]) -> Any:
    """One bytes pattern that finds something in an event's JSON whenever one of `builtins` could match in one of
    its strings (their hints, case folded where theirs are; their screens); None when one of them has neither.
    JSON leaves these ASCII letters, digits, '@', ' ' and '-' as they are, so a miss on the JSON is a miss in every
    string of the event: the event is left as the encoder made it, without decoding it. On RE2: one pass over the
    JSON whatever the number of alternatives (Python's re tries each alternative at each position)."""
    parts: list[bytes] = []
    for builtin in builtins:
        if builtin.hints or builtin.folded_hints:
            parts.extend(re.escape(hint.encode()) for hint in builtin.hints)
            parts.extend(b"(?i:" + re.escape(hint.encode()) + b")" for hint in builtin.folded_hints)
        elif builtin.screen:
            parts.append(b"(?:" + builtin.screen + b")")
        else:
            return None
    return compile_user(b"|".join(parts).decode(), "redact", as_bytes=True) if parts else None
