"""Continuation lines of an event (stack traces, multi-line messages) folded into it.

A Java trace starts with the exception line (`java.lang.IllegalStateException: boom`) followed by `at ...`
frames, `Caused by:`, `Suppressed:` and `... N more`; a Python traceback starts with
`Traceback (most recent call last):` and ends with the exception line (`ValueError: bad`).
The trace goes to exception.stacktrace with exception.type and exception.message; other continuation
lines are appended to the body.
"""


from shipper.parsers.base import ORIGINAL, Event
from shipper.parsers.bounded import Bounded

# A qualified name's last word must name an exception (Java: hold Exception, Error or Throwable; Python: end in Error,
# Exception, ...). The patterns take the dotted name possessively and the word's check is a substring test: the word
# as `[\w$]*(?:Exception|Error|Throwable)[\w$]*` had two repeats over the same characters, quadratic in a long word.
_JAVA_NAME = r"(?:[A-Za-z_$][\w$]*+\.)*+([\w$]*+)"
_JAVA_KINDS = ("Exception", "Error", "Throwable")
_PYTHON_KINDS = ("Error", "Exception", "Warning", "Exit", "Interrupt", "Iteration")
_JAVA_EXCEPTION = Bounded(rf"(?:Exception in thread \"[^\"]*+\" )?({_JAVA_NAME})(?::\s?(.*))?")
_PYTHON_EXCEPTION = Bounded(r"([A-Za-z_]\w*+(?:\.[A-Za-z_]\w*+)*+)(?::\s?(.*))?")
_JAVA_CONTINUATION = Bounded(
    r"\s|Caused by:|Suppressed:|\.\.\. \d+ (?:more|common frames omitted)|Exception in thread |"
    rf"{_JAVA_NAME}(?::|$)"
)
_PYTHON_CONTINUATION = Bounded(
    r"\s|Traceback \(most recent call last\):|During handling of the above exception|The above exception was|"
    r"(?:[A-Za-z_]\w*+\.)*+(\w*+)(?::|$)"
)


def _java_word(word: str) -> bool:
    return _JAVA_KINDS[0] in word or _JAVA_KINDS[1] in word or _JAVA_KINDS[2] in word


def java_continues(text: str) -> bool:
    """Whether `text` looks like a line of a Java stack trace."""
    match = _JAVA_CONTINUATION.match(text)
    return match is not None and (match[1] is None or _java_word(match[1]))


def python_continues(text: str) -> bool:
    """Whether `text` looks like a line of a Python traceback."""
    match = _PYTHON_CONTINUATION.match(text)
    return match is not None and (match[1] is None or match[1].endswith(_PYTHON_KINDS))


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
    if match is not None and _java_word(match[2]):
        attributes["exception.type"] = match[1]
        if match[3] is not None:
            attributes["exception.message"] = match[3]
        attributes["exception.stacktrace"] = rest
        return event
    body = event["body"]
    event["body"] = f"{body}\n{rest}" if isinstance(body, str) else body
    return event
