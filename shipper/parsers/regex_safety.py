"""Keeping a user's regular expression from running away.

Two guards, both needed because Python's backtracking engines have no general defence:
- at validation: `catastrophic_shape` rejects the classic exponential shape, an unbounded repeat inside another
  unbounded repeat (`(a+)+`, `(\\w+\\s?)*`, `(?:x*y?)+`), with a message naming it;
- at run time: patterns run with the `regex` module and a per-line timeout (`[inputs.regex] timeout_ms`), on lines
  already bounded by `max_line_bytes`; a line that hits the timeout becomes a flagged parse-error event.
"""

import re
from typing import Any

import regex


def compile_user_pattern(pattern: str) -> "regex.Pattern[str]":
    """The pattern compiled the way the regex parser runs it (DOTALL, VERSION0 = `re` syntax)."""
    return regex.compile(pattern, regex.S | regex.V0)


def catastrophic_shape(pattern: str) -> str | None:
    """A description of a nested unbounded repeat in `pattern`, or None when it has none."""
    try:
        tree = re._parser.parse(pattern)  # type: ignore[attr-defined]
    except re.error:
        return None  # syntax errors are reported by compilation
    return _walk(list(tree))


def _is_unbounded(op: Any, value: Any) -> bool:
    # sre's MAXREPEAT is 2**32-1 on 64-bit builds; any bound this high is unbounded in practice.
    return str(op) in ("MAX_REPEAT", "MIN_REPEAT") and value[1] >= 65535


def _walk(items: list[Any]) -> str | None:
    for op, value in items:
        name = str(op)
        if name in ("MAX_REPEAT", "MIN_REPEAT"):
            body = list(value[2])
            if _is_unbounded(op, value) and _only_repeats(body) is True:
                return "an unbounded repeat directly inside another unbounded repeat, as in (a+)+ or (\\w+\\s?)*"
            found = _walk(body)
        elif name == "SUBPATTERN":
            found = _walk(list(value[-1]))
        elif name == "BRANCH":
            found = next((f for f in (_walk(list(b)) for b in value[1]) if f), None)
        else:
            found = None
        if found:
            return found
    return None


def _only_repeats(items: list[Any]) -> bool | None:
    """True when `items` hold an unbounded repeat and nothing that must match exactly once (which would anchor
    each round of an outer repeat); False when something mandatory is there; None when there is no repeat."""
    seen_unbounded = False
    for op, value in items:
        name = str(op)
        if name in ("MAX_REPEAT", "MIN_REPEAT"):
            if _is_unbounded(op, value):
                seen_unbounded = True
            elif value[0] > 0:
                return False
        elif name == "SUBPATTERN":
            inner = _only_repeats(list(value[-1]))
            if inner is False:
                return False
            seen_unbounded = seen_unbounded or inner is True
        elif name in ("AT", "ASSERT", "ASSERT_NOT"):
            continue
        else:
            return False
    return True if seen_unbounded else None
