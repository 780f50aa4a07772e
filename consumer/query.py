"""The search language: words and `field:value` terms, read in one left-to-right pass into a SearchQuery.

    level:error service:billing host:web1 trace_id:4bf92f3577b34da6a3ce929d0e0e4736
    order_id:42 http.response.status_code:500 msg:"disk full" timeout

- A word is full text: every word must appear in the body. A quoted word (`"user:42"`, `"a b"`) is text too, so a
  colon inside quotes is never a field; the words of a quoted phrase must all appear (not necessarily in order).
- `field:value` where the field starts with a letter, `_` or `@` and has letters, digits, `_ . - @`:
  `level` (or `severity`): that level or worse, as `--level`; `service` (`service.name`, `resource.service.name`)
  and `host` (`host.name`, `resource.host.name`): equality; `trace_id` (`trace.id`): 32 hex digits;
  `body`, `message`, `msg`: the value's words are full text; `attributes.KEY` or any other field: the attribute
  KEY equals the value, compared as text (`order_id:42` matches the number 42 and the string "42").
- A value is bare (up to the next blank) or quoted: `msg:"a b"`, with `\\"` and `\\\\` inside quotes.
- `scheme://...` (a bare value starting with `//`) stays a word, so a URL is text.
- A bare word of 32 hex digits is searched both as text and as the trace id (either matches), when no trace id is
  given otherwise: the ids are what people paste, and the text of most lines does not contain them.

The schema's other top-level fields (`span_id`, `timestamp`, `format`...) and `resource.*` other than service and
host are refused with a sentence rather than read as attributes that never match. Errors are QuerySyntaxError (a
ValueError): the CLI prints it and exits 2.

The scan looks at each character once; nothing backtracks.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from consumer.sinks.base import SearchQuery
from schemas.severity import severity_from_text


class QuerySyntaxError(ValueError):
    """The query text or a filter option cannot be read; the message is one sentence."""


@dataclass(frozen=True, slots=True)
class Word:
    """Full text: all of its words must appear."""

    text: str
    quoted: bool = False


@dataclass(frozen=True, slots=True)
class FieldTerm:
    """`key:value` as written (the key not yet resolved to a filter)."""

    key: str
    value: str


Term = Word | FieldTerm

_KEY_PUNCTUATION = frozenset("_.-@")
_HEX = frozenset("0123456789abcdefABCDEF")
TRACE_ID_LENGTH = 32

TEXT_FIELDS = frozenset({"body", "message", "msg"})
LEVEL_FIELDS = frozenset({"level", "severity"})
SERVICE_FIELDS = frozenset({"service", "service.name", "resource.service.name"})
HOST_FIELDS = frozenset({"host", "host.name", "resource.host.name"})
TRACE_FIELDS = frozenset({"trace_id", "trace.id"})
ATTRIBUTE_PREFIX = "attributes."
# Top-level fields of the unified event that are not filters: read as attributes they would silently match nothing.
NOT_FILTERS = frozenset({
    "span_id", "span.id", "timestamp", "observed_timestamp", "severity_number", "severity_text", "event_id", "format",
    "input_id", "flags", "schema_version", "parse_error", "parse_error_reason", "resource", "attributes",
})


def _is_key_start(char: str) -> bool:
    return char.isalpha() or char in "_@"


def _is_key_char(char: str) -> bool:
    return char.isalnum() or char in _KEY_PUNCTUATION


def tokenize(text: str) -> list[Term]:
    """The terms of `text`, left to right; QuerySyntaxError on an unclosed quote or text glued to a closing quote."""
    terms: list[Term] = []
    length = len(text)
    i = 0
    while i < length:
        char = text[i]
        if char.isspace():
            i += 1
            continue
        if char == '"':
            value, i = _quoted(text, i)
            terms.append(Word(value, quoted=True))
            continue
        start = i
        if _is_key_start(char):
            i += 1
            while i < length and _is_key_char(text[i]):
                i += 1
            if i < length and text[i] == ":":
                key = text[start:i]
                i += 1
                if i < length and text[i] == '"':
                    value, i = _quoted(text, i)
                    terms.append(FieldTerm(key, value))
                    continue
                value_start = i
                while i < length and not text[i].isspace():
                    i += 1
                value = text[value_start:i]
                if not value:
                    raise QuerySyntaxError(f'the field {key}: has no value (quote an empty one: {key}:"")')
                if value.startswith("//"):  # a URL (https://...): text, not a field
                    terms.append(Word(text[start:i]))
                else:
                    terms.append(FieldTerm(key, value))
                continue
        while i < length and not text[i].isspace():
            i += 1
        terms.append(Word(text[start:i]))
    return terms


def _quoted(text: str, opening: int) -> tuple[str, int]:
    """The value of the quoted string opening at `opening` and the index after its closing quote."""
    parts: list[str] = []
    length = len(text)
    i = opening + 1
    run = i
    while i < length:
        char = text[i]
        if char == "\\" and i + 1 < length and text[i + 1] in '"\\':
            parts.append(text[run:i])
            parts.append(text[i + 1])
            i += 2
            run = i
            continue
        if char == '"':
            parts.append(text[run:i])
            i += 1
            if i < length and not text[i].isspace():
                raise QuerySyntaxError(
                    f"a blank must follow the quote closed at character {i} (found {text[i]!r})")
            return "".join(parts), i
        i += 1
    raise QuerySyntaxError(f"the quote opened at character {opening + 1} is not closed")


def level_number(text: str) -> int:
    """The lowest severity number of level `text` (a word such as warn, or a number 0-24); ValueError otherwise."""
    if text.isdigit() and 0 <= int(text) <= 24:
        return int(text)
    number = severity_from_text(text)
    if number == 0:
        raise QuerySyntaxError(f"{text!r} is not a level such as debug, info, warn, error or fatal")
    # The bottom of the word's OTel range: "error" covers 17-20, "warn" 13-16.
    return ((number - 1) // 4) * 4 + 1


def trace_id(text: str) -> str:
    """`text` as a lower-case trace id; QuerySyntaxError unless it is 32 hex digits."""
    if not is_trace_id(text):
        raise QuerySyntaxError(f"the trace id {text!r} is not 32 hexadecimal digits")
    return text.lower()


def is_trace_id(text: str) -> bool:
    return len(text) == TRACE_ID_LENGTH and all(c in _HEX for c in text)


def attribute_option(text: str) -> tuple[str, str]:
    """`--attr key=value` as (key, value): the key exactly as the event carries it, the value possibly empty."""
    key, equals, value = text.partition("=")
    if not equals or not key:
        raise QuerySyntaxError(f"--attr {text!r} is not key=value")
    if '"' in key or "\\" in key or any(c.isspace() for c in key):
        raise QuerySyntaxError(f"the attribute key {key!r} has a quote, a backslash or a blank")
    return key, value


def job_filters(args: object) -> list[tuple[str, str]]:
    """`--job NAME` (the job's runs: its end events) and `--run ID` (every event of one run) as attribute filters on
    the fields `shipper exec` records (shipper.jobs.records)."""
    job, run = getattr(args, "job", None), getattr(args, "run", None)
    if run is not None and job is None:
        raise QuerySyntaxError("--run needs --job")
    if job is None:
        return []
    if run is not None:
        return [("job.name", job), ("job.run.id", run)]
    return [("job.name", job), ("event.name", "job.end")]


@dataclass
class _Filters:
    """The filters being gathered; a single-valued filter given twice must agree."""

    words: list[str]
    level: str | None = None
    service: str | None = None
    host: str | None = None
    trace: str | None = None

    def one(self, name: str, current: str | None, value: str) -> str:
        if current is not None and current != value:
            raise QuerySyntaxError(f"{name} is given twice with different values ({current!r} and {value!r})")
        return value


def build_search(terms: Iterable[Term], *, level: str | None = None, service: str | None = None,
                 host: str | None = None, trace: str | None = None, attributes: Sequence[tuple[str, str]] = (),
                 since: str | None = None, until: str | None = None, limit: int = 20) -> SearchQuery:
    """The SearchQuery of `terms` and the command-line filters (which must agree with the terms)."""
    found = _Filters(words=[], level=level, service=service, host=host,
                     trace=trace_id(trace) if trace is not None else None)
    pairs = list(attributes)
    for term in terms:
        if isinstance(term, Word):
            found.words.extend(term.text.split())
            continue
        key, value = term.key, term.value
        folded = key.lower()
        if folded in TEXT_FIELDS:
            found.words.extend(value.split())
        elif folded in LEVEL_FIELDS:
            found.level = found.one("level", found.level, value)
        elif folded in SERVICE_FIELDS:
            found.service = found.one("service", found.service, value)
        elif folded in HOST_FIELDS:
            found.host = found.one("host", found.host, value)
        elif folded in TRACE_FIELDS:
            found.trace = found.one("trace_id", found.trace, trace_id(value))
        elif folded in NOT_FILTERS or folded.startswith("resource."):
            raise QuerySyntaxError(
                f"{key} is not a field search filters on (fields: level, service, host, trace_id, body, or an "
                "attribute key; times: --since and --until)")
        elif key.startswith(ATTRIBUTE_PREFIX) and len(key) > len(ATTRIBUTE_PREFIX):
            pairs.append((key[len(ATTRIBUTE_PREFIX):], value))
        else:
            pairs.append((key, value))
    return SearchQuery(
        text=" ".join(found.words), since=since, until=until,
        min_severity=level_number(found.level) if found.level is not None else None,
        service=found.service, host=found.host, trace_id=found.trace, attributes=tuple(pairs), limit=limit,
    )


def alternatives(query: SearchQuery, terms: Sequence[Term]) -> tuple[SearchQuery, ...]:
    """`query`, plus the same search with its one bare 32-hex word read as the trace id instead of text."""
    if query.trace_id is not None:
        return (query,)
    candidates = [t.text for t in terms if isinstance(t, Word) and not t.quoted and is_trace_id(t.text)]
    if len(candidates) != 1:
        return (query,)
    word = candidates[0]
    rest = query.text.split()
    rest.remove(word)
    return query, replace(query, text=" ".join(rest), trace_id=word.lower())
