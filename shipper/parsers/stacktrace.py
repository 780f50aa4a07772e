"""Continuation lines of an event (stack traces, multi-line messages) folded into it.

A Java trace starts with the exception line (`java.lang.IllegalStateException: boom`) followed by `at ...`
frames, `Caused by:`, `Suppressed:` and `... N more`; a Python traceback starts with
`Traceback (most recent call last):` and ends with the exception line (`ValueError: bad`).
The trace goes to exception.stacktrace with exception.type and exception.message; other continuation
lines are appended to the body.

A Go crash report starts with `panic: ...` or `fatal error: ...` (the golog parser reads that line and names the
exception) and goes on with the goroutines' traces: `goroutine 1 [running]:`, function lines (`main.main()`,
`panic({0x4b2f80?, 0xc000012345?})`, `net/http.(*conn).serve.func1()`), tab-indented `/path/file.go:12 +0x1d` lines,
`created by ...`, `[signal SIGSEGV: ...]`, blank lines between them, `exit status 2` from `go run`.
"""


from typing import Final

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


_GO_TRACE_HEADS: Final = (
    "\t", " ", "goroutine ", "created by ", "[signal ", "exit status ", "runtime stack:", "runtime: ", "...", "PC=", "SIG",
)
"""how the Go runtime starts the lines of a trace other than function lines (file lines and nested panics are
indented; `...additional frames elided...`; `PC=` and `SIGQUIT: quit` in a dump on a signal)"""


def go_continues(text: str) -> bool:
    """Whether `text` looks like a line of a Go crash report after its first line. Linear: prefix tests and two
    searches."""
    if not text:
        return True  # between the panic and its goroutines, between goroutines, before `exit status 2`
    if text.startswith(_GO_TRACE_HEADS):
        return True
    # a function line: a name without spaces, then its arguments in parentheses
    paren = text.find("(")
    return paren > 0 and text[-1] == ")" and text.find(" ", 0, paren) == -1


def attach_go(event: Event, text: str) -> Event:
    """`event` (parsed from the first line of `text`, which starts a Go crash report, bare or after a golog head)
    completed with the lines after the first: the report as printed, from its first line, is exception.stacktrace."""
    rest = text.partition("\n")[2]
    attributes = event["attributes"]
    attributes[ORIGINAL] = text
    if rest:
        body = event["body"]
        attributes["exception.stacktrace"] = f"{body}\n{rest}" if "exception.type" in attributes else rest
    return event


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
