"""Continuation lines of an event (stack traces, multi-line messages) folded into it.

A Java trace starts with the exception line (`java.lang.IllegalStateException: boom`) followed by `at ...`
frames, `Caused by:`, `Suppressed:` and `... N more`; a Python traceback starts with
`Traceback (most recent call last):` and ends with the exception line (`ValueError: bad`).
The trace goes to exception.stacktrace with exception.type and exception.message; other continuation
lines are appended to the body.
"""

import re

from shipper.parsers.base import ORIGINAL, Event

_JAVA_EXCEPTION = re.compile(
    r"(?:Exception in thread \"[^\"]*\" )?((?:[A-Za-z_$][\w$]*\.)*[\w$]*(?:Exception|Error|Throwable)[\w$]*)(?::\s?(.*))?"
)
_PYTHON_EXCEPTION = re.compile(r"([A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*)(?::\s?(.*))?")
_JAVA_CONTINUATION = re.compile(
    r"\s|Caused by:|Suppressed:|\.\.\. \d+ (?:more|common frames omitted)|Exception in thread |"
    r"(?:[A-Za-z_$][\w$]*\.)*[\w$]*(?:Exception|Error|Throwable)[\w$]*(?::|$)"
)
_PYTHON_CONTINUATION = re.compile(
    r"\s|Traceback \(most recent call last\):|During handling of the above exception|The above exception was|"
    r"(?:[A-Za-z_]\w*\.)*\w*(?:Error|Exception|Warning|Exit|Interrupt|Iteration)(?::|$)"
)


def java_continues(text: str) -> bool:
    """Whether `text` looks like a line of a Java stack trace."""
    return _JAVA_CONTINUATION.match(text) is not None


def python_continues(text: str) -> bool:
    """Whether `text` looks like a line of a Python traceback."""
    return _PYTHON_CONTINUATION.match(text) is not None


def attach(event: Event, text: str) -> Event:
    """`event` (parsed from the first line of `text`) completed with the lines after the first."""
    rest = text.partition("\n")[2]
    attributes = event["attributes"]
    attributes[ORIGINAL] = text
    if not rest:
        return event
    lines = rest.split("\n")
    first = lines[0].strip()
    if first.startswith("Traceback (most recent call last):"):
        attributes["exception.stacktrace"] = rest
        for line in reversed(lines):
            if line and not line[0].isspace():
                match = _PYTHON_EXCEPTION.fullmatch(line)
                if match is not None and not line.startswith(("Traceback", "During handling", "The above exception")):
                    attributes["exception.type"] = match[1]
                    if match[2] is not None:
                        attributes["exception.message"] = match[2]
                    break
        return event
    match = _JAVA_EXCEPTION.fullmatch(first)
    if match is not None:
        attributes["exception.type"] = match[1]
        if match[2] is not None:
            attributes["exception.message"] = match[2]
        attributes["exception.stacktrace"] = rest
        return event
    body = event["body"]
    event["body"] = f"{body}\n{rest}" if isinstance(body, str) else body
    return event
