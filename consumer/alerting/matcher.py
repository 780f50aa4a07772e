"""A `consumer search` query evaluated against one event in memory, in time linear in the event's size.

The query is read by consumer.query (the same parser, the same errors); what it means here is what the SQLite index
answers: words are matched as the index's FTS5 `unicode61 remove_diacritics 2` tokenizer sees them (letters and
digits, case and diacritics folded; a word that splits into several tokens, `disk-full`, is a phrase of adjacent
tokens), `level` is that severity or worse, `service`/`host` equal the resource's, `trace_id` equals the event's, and
attributes are equal as text (nested objects by their dotted path, a list when any element is equal).

A bare 32-hex word matches as text or as the trace id, as in search (consumer.query.alternatives).

Cost: the field filters first (`fields_pass`, cheap, cacheable per (service, host, severity)); the body is tokenized
once, and only when a word must be looked for and a plain substring test did not already rule it out.
"""

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from consumer.query import alternatives, build_search, tokenize
from consumer.sinks.base import SearchQuery
from consumer.sinks.sqlite_reader_query import attribute_text, flat_attributes

_TOKEN = re.compile(r"[^\W_]+")


def tokens(text: str) -> list[str]:
    """`text`'s tokens as the index's tokenizer makes them: letter and digit runs, case and diacritics folded."""
    if not text.isascii():
        decomposed = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _TOKEN.findall(text.lower())


def body_text(event: dict[str, Any]) -> str:
    """The event's body as text (a structured body as its JSON)."""
    body = event.get("body")
    if type(body) is str:
        return body
    if body is None:
        return ""
    return orjson.dumps(body).decode()


@dataclass(frozen=True, slots=True)
class Clause:
    """One alternative of a query: every filter must hold."""

    min_severity: int | None
    service: str | None
    host: str | None
    trace_id: str | None
    phrases: tuple[tuple[str, ...], ...]  # each a run of adjacent tokens
    needles: tuple[str, ...]  # lower-case texts an ASCII body must contain for the phrases to be there
    attributes: tuple[tuple[str, str], ...]

    def fields_pass(self, severity: int, service: Any, host: Any) -> bool:
        return ((self.min_severity is None or severity >= self.min_severity)
                and (self.service is None or service == self.service)
                and (self.host is None or host == self.host))

    @property
    def fields_only(self) -> bool:
        """Whether `fields_pass` decides this clause alone (no trace id, words or attributes)."""
        return self.trace_id is None and not self.phrases and not self.attributes

    def rest_passes(self, event: dict[str, Any], body: "Body") -> bool:
        """The filters `fields_pass` does not check."""
        if self.trace_id is not None and event.get("trace_id") != self.trace_id:
            return False
        if self.phrases and not body.has(self.phrases, self.needles):
            return False
        return not (self.attributes and not body.attributes_match(self.attributes))


class Body:
    """An event's body and attributes as the clauses look at them: the body lower-cased and tokenized at most once,
    each needle and each attribute's texts looked up at most once, however many clauses ask."""

    __slots__ = ("_ascii", "_attributes", "_event", "_lower", "_needles", "_set", "_text", "_texts", "_tokens")

    def __init__(self, event: dict[str, Any], found_tokens: list[str] | None = None) -> None:
        """`found_tokens`: the body's tokens when the caller already made them (`tokens(body_text(event))`)."""
        self._event = event
        self._text = body_text(event)
        self._ascii = self._text.isascii()
        self._lower: str | None = None
        self._tokens: list[str] | None = found_tokens
        self._set: frozenset[str] | None = None if found_tokens is None else frozenset(found_tokens)
        self._needles: dict[str, bool] = {}
        self._texts: dict[str, tuple[str, ...]] = {}
        attributes = event.get("attributes")
        self._attributes: dict[str, Any] = attributes if type(attributes) is dict else {}

    def attributes_match(self, wanted: tuple[tuple[str, str], ...]) -> bool:
        for key, value in wanted:
            texts = self._texts.get(key)
            if texts is None:
                texts = self._texts[key] = _attribute_texts(self._attributes, key)
            if value not in texts:
                return False
        return True

    def has(self, phrases: tuple[tuple[str, ...], ...], needles: tuple[str, ...]) -> bool:
        if self._ascii:
            lower = self._lower
            if lower is None:
                lower = self._lower = self._text.lower()
            seen = self._needles
            for needle in needles:
                present = seen.get(needle)
                if present is None:
                    present = seen[needle] = needle in lower
                if not present:
                    return False
        text = self._text
        if self._tokens is None:
            self._tokens = tokens(text)
            self._set = frozenset(self._tokens)
        present_tokens = self._set
        assert present_tokens is not None
        for phrase in phrases:
            if phrase[0] not in present_tokens:
                return False
            if len(phrase) > 1 and not _has_run(self._tokens, phrase):
                return False
        return True


def _has_run(found: list[str], phrase: tuple[str, ...]) -> bool:
    """Whether `phrase` occurs as adjacent tokens of `found` (the phrase is short and fixed: linear in `found`)."""
    first, size = phrase[0], len(phrase)
    return any(token == first and tuple(found[i:i + size]) == phrase for i, token in enumerate(found))


def _attribute_texts(attributes: dict[str, Any], key: str) -> tuple[str, ...]:
    """The texts attribute `key` equals: its value (a list: each element, and the whole), at its flat key or, for a
    dotted key, at its nested path."""
    direct = attributes.get(key)
    kind = type(direct)
    if type(direct) is str:
        if "." not in key:
            return (direct,)
    elif kind is int:  # the JSON text of an integer (bool is not int here: `type` is exact)
        if "." not in key or key.split(".", 1)[0] not in attributes:
            return (str(direct),)
    elif direct is None and "." not in key:
        return ()
    found: list[Any] = []
    if direct is not None:
        found.append(direct)
    if "." in key and key.split(".", 1)[0] in attributes:
        found.extend(value for path, value in flat_attributes(attributes) if path == key and value is not direct)
    texts: list[str] = []
    for value in found:
        if type(value) is list:
            texts.extend(attribute_text(item) for item in value)
        texts.append(attribute_text(value))
    return tuple(texts)


def _clause(query: SearchQuery) -> Clause:
    phrases = tuple(t for t in (tuple(tokens(word)) for word in query.text.split()) if t)
    needles = tuple(" ".join(p) if len(p) == 1 else p[0] for p in phrases)
    return Clause(query.min_severity, query.service, query.host, query.trace_id, phrases, needles, query.attributes)


@dataclass(frozen=True, slots=True)
class Matcher:
    """A compiled query: an event matches when any clause holds (one clause but for a bare trace-id word)."""

    text: str
    clauses: tuple[Clause, ...]

    @property
    def matches_all(self) -> bool:
        return len(self.clauses) == 1 and self.clauses[0] == _EVERYTHING

    def fields_pass(self, severity: int, service: Any, host: Any) -> bool:
        return any(c.fields_pass(severity, service, host) for c in self.clauses)

    def matches(self, event: dict[str, Any], body: Body | None = None) -> bool:
        """Whether `event` (a unified event) matches."""
        resource = event.get("resource") or {}
        severity = event.get("severity_number") or 0
        service, host = resource.get("service.name"), resource.get("host.name")
        body = body or Body(event)
        return any(c.fields_pass(severity, service, host) and c.rest_passes(event, body) for c in self.clauses)


_EVERYTHING = Clause(None, None, None, None, (), (), ())


def compile_query(text: str) -> Matcher:
    """The matcher of query `text`; QuerySyntaxError (a ValueError) when the query cannot be read."""
    terms = tokenize(text)
    query = build_search(terms)
    found: Sequence[SearchQuery] = alternatives(query, terms)
    return Matcher(text, tuple(_clause(q) for q in found))
