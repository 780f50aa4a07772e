"""The encoder (shipper.parsers.encoder, spliced bytes) against the reference builder (schemas.event.reference_event,
a plain dict): the same bytes, byte for byte, since the key order is part of the wire's contract. Random parsed fields
in any order with `attributes` last (and some with a key after it), attribute names that clash with the stream's own,
resources of their own, pipeline flags, failure events, offsets around the splice's cache boundaries, and observed
times that change between batches (the encoder's heads are per batch); then every golden input's real parsed fields."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas import ids
from schemas.event import reference_event, reference_failure
from schemas.validate import schema_errors
from shipper.parsers.auto import Prober
from shipper.parsers.base import JOINS, ParseEnv
from shipper.parsers.clock import Clock
from shipper.parsers.encoder import Heads, StreamEncoder
from shipper.records import EncodedEvent, StreamContext
from tests.parsers.support import OBSERVED_NS, RESOURCE, STREAM, make_settings, parse_settings, split_records
from tests.parsers.test_real_world import NOW_NS as REAL_WORLD_NOW_NS

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
_PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# JSON-able values as parsers produce them (decoded text never holds lone surrogates: bad bytes are replaced)
_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
_scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | _text
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
                       max_leaves=6)
# the stream's constant attribute names among them, so the clash path is drawn often
_CLASHING = ("env", "log.file.path", "log.file.name", "log.file.record_offset")
_attribute_keys = st.sampled_from((*_CLASHING, "log.record.original", "code.lineno", "user")) | _text
_PIPELINE_FLAGS = ("truncated", "encoding_replaced", "multiline_truncated", "parse_timeout")
_flags = st.lists(st.sampled_from((*_PIPELINE_FLAGS, "timestamp_unparsed")), max_size=4)
_hex = "0123456789abcdef"


def _resource(value: dict[str, Any], as_fragment: bool) -> Any:
    # structured records with their own service get the stream's resource pre-serialised (orjson.Fragment)
    return orjson.Fragment(orjson.dumps(value)) if as_fragment else value


@st.composite
def parsed_fields(draw: st.DrawFn) -> Callable[[], dict[str, Any]]:
    """A maker of one parsed event (fresh dicts each call: the encoder may complete the attributes in place)."""
    pairs: list[tuple[str, Any]] = [
        ("timestamp", draw(_text)),
        ("severity_text", draw(st.none() | _text)),
        ("severity_number", draw(st.integers(0, 24))),
        ("body", draw(_text | st.dictionaries(_text, _values, max_size=3))),
    ]
    if draw(st.booleans()):
        pairs.append(("trace_id", draw(st.text(_hex, min_size=32, max_size=32))))
    if draw(st.booleans()):
        pairs.append(("span_id", draw(st.text(_hex, min_size=16, max_size=16))))
    if draw(st.integers(0, 3)) == 0:
        own = draw(st.dictionaries(_text, _text, max_size=3))
        pairs.append(("resource", (own, draw(st.booleans()))))
    if draw(st.integers(0, 3)) == 0:
        pairs.append(("flags", draw(_flags)))
    pairs = draw(st.permutations(pairs))  # any order: only `attributes` last is the parsers' contract
    attributes = draw(st.dictionaries(_attribute_keys, _values, max_size=5))
    late = draw(st.none() | _flags.filter(bool)) if not any(key == "flags" for key, _ in pairs) else None

    def make() -> dict[str, Any]:
        event = {key: _resource(*value) if key == "resource" else orjson.loads(orjson.dumps(value))
                 for key, value in pairs}
        event["attributes"] = orjson.loads(orjson.dumps(attributes))
        if late is not None:
            event["flags"] = list(late)  # base.add_flag on a built event: a key after the attributes
        return event

    return make


_item = st.fixed_dictionaries({
    "parsed": parsed_fields(),
    "format": st.sampled_from(("json", "nginx", "golog", "plain", 'we"ird\\format')),
    "flags": _flags,
    "failure": st.integers(0, 5).map(lambda n: n == 0),
    "text": _text,
    "reason": _text,
    "step": st.sampled_from((0, 1, 37, 999, 1000, 4095, 4096, 10**6)) | st.integers(0, 2**40),
})
_batch = st.tuples(st.sampled_from((0, 1, 10**9, 86_400 * 10**9 + 7)), st.lists(_item, min_size=1, max_size=6))
_stream = st.fixed_dictionaries({
    "stream": st.text(_hex, min_size=16, max_size=16),
    "input_id": _text,
    "path": st.sampled_from(("/var/log/app.log", "C:\\logs\\IIS\\u_ex.log", "relative.log", "/tmp/ü é/x.log")),
    "fields": st.dictionaries(st.sampled_from(("env", "team", "log.file.name")) | _text, _values, max_size=3),
    "resource": st.dictionaries(_text, _text, max_size=3),
    "start": st.sampled_from((0, 995, 4090, 2**32)) | st.integers(0, 2**44),
})


def _encode_and_reference(encoder: StreamEncoder, heads: Heads, stream: dict[str, Any], item: dict[str, Any], *,
                          offset: int, observed: str) -> tuple[EncodedEvent, dict[str, Any]]:
    common = {"stream": stream["stream"], "offset": offset, "input_id": stream["input_id"], "log_format": item["format"],
              "observed_timestamp": observed, "resource": stream["resource"], "path": stream["path"],
              "fields": stream["fields"], "flags": item["flags"]}
    end = offset + 1 + len(item["text"])
    if item["failure"]:
        encoded = encoder.failure(item["text"], offset, end, log_format=item["format"], reason=item["reason"],
                                  flags=list(item["flags"]))
        return encoded, reference_failure(item["text"], reason=item["reason"], **common)
    make = item["parsed"]
    encoded = encoder.encode_flagged(make(), heads, offset, end, list(item["flags"]))
    return encoded, reference_event(make(), **common)


@_PROPERTY
@given(stream=_stream, batches=st.lists(_batch, min_size=1, max_size=4))
def test_encoder_bytes_equal_the_reference_builder(
    stream: dict[str, Any], batches: list[tuple[int, list[dict[str, Any]]]],
) -> None:
    context = StreamContext(stream["input_id"], stream["stream"], stream["path"], "utf-8", stream["resource"],
                            stream["fields"])
    clock = Clock("UTC")
    encoder = StreamEncoder(context, clock)
    offset = stream["start"]
    for shift, items in batches:
        clock.set_observed(OBSERVED_NS + shift)
        batch_heads: dict[str, Heads] = {}  # as the pipeline's routes: taken once per batch and format
        for item in items:
            offset += item["step"]
            heads = batch_heads.setdefault(item["format"], encoder.heads(item["format"]))
            encoded, reference = _encode_and_reference(encoder, heads, stream, item, offset=offset, observed=clock.observed)
            assert encoded.value == orjson.dumps(reference)
            assert encoded.event_id == ids.event_id(stream["stream"], offset).encode() == reference["event_id"].encode()
            assert (encoded.offset, encoded.end) == (offset, offset + 1 + len(item["text"]))


def test_the_reference_events_conform_to_the_schema() -> None:
    common: dict[str, Any] = {"stream": STREAM, "offset": 4096, "input_id": "app", "log_format": "golog",
                              "observed_timestamp": "2024-05-01T02:00:05.123456789Z", "resource": RESOURCE,
                              "path": "/var/log/app.log", "fields": {"env": "prod"}}
    parsed = {"timestamp": "2024-05-01T02:00:01.000000000Z", "severity_text": "ERROR", "severity_number": 17,
              "body": "db timeout", "attributes": {"code.filepath": "worker.go", "code.lineno": 42}}
    event = reference_event(parsed, flags=["truncated"], **common)
    assert schema_errors(event) == []
    assert list(event) == ["event_id", "schema_version", "format", "input_id", "parse_error", "observed_timestamp",
                           "resource", "timestamp", "severity_text", "severity_number", "body", "attributes", "flags"]
    assert event["attributes"] == {"code.filepath": "worker.go", "code.lineno": 42, "env": "prod",
                                   "log.file.path": "/var/log/app.log", "log.file.name": "app.log",
                                   "log.file.record_offset": 4096}
    failure = reference_failure("\x00 odd", reason="", **common)
    assert schema_errors(failure) == []
    assert failure["parse_error"] is True and failure["parse_error_reason"] == "unparsable"
    assert failure["body"] == failure["attributes"]["log.record.original"] == "\x00 odd"
    assert failure["timestamp"] == failure["observed_timestamp"]


def _golden_inputs() -> list[Path]:
    # each format's golden inputs (and those of its folder read in auto, parser by parser), and the real-world corpus
    # (tests/golden/real-world/layouts, read in auto); auto/'s expectations are about auto's choices, not the encoder
    return sorted(path for path in GOLDEN.rglob("*.log") if path.parent.name != "auto")


@pytest.mark.parametrize("path", _golden_inputs(), ids=lambda path: f"{path.parent.name}/{path.name}")
def test_real_parsed_fields_encode_as_the_reference(path: Path) -> None:
    settings_ = make_settings("auto", {}) if path.parent.name == "layouts" else parse_settings(path)
    records, encoding = split_records(path.read_bytes(), settings_.encoding)
    context = StreamContext("golden", STREAM, f"/logs/{path.name}", encoding, dict(RESOURCE), {"env": "test"})
    clock = Clock(settings_.timezone)
    # (the real-world corpus is observed when its epoch stamps and year-less dates are plausible, as in its own test)
    clock.set_observed(REAL_WORLD_NOW_NS if path.parent.name == "layouts" else OBSERVED_NS)
    prober = Prober(ParseEnv(clock, settings_, context.resource))
    declared = None if settings_.format == "auto" else prober.parser(settings_.format)
    encoder = StreamEncoder(context, clock)
    compared = 0
    for record in records:
        text = record.data.decode(encoding, "replace")
        parser = declared
        if parser is None:  # a golden input read in auto: what auto makes of the line, twice (two fresh dicts)
            found, again = prober.probe(text), prober.probe(text)
            if found is None or again is None:
                continue
            parser, first, second = found[0], found[1], again[1]
        else:
            first, second = parser.parse(text), parser.parse(text)  # two fresh dicts of the same fields
        if first is None or second is None:
            continue
        for event in (first, second):
            event.pop("_partial", None)
            event.pop(JOINS, None)  # the pipeline holds such an event for its continuation lines and removes the mark
        encoded = encoder.encode(first, encoder.heads(parser.name), record.offset, record.end)
        reference = reference_event(second, stream=STREAM, offset=record.offset, input_id="golden",
                                    log_format=parser.name, observed_timestamp=clock.observed, resource=RESOURCE,
                                    path=f"/logs/{path.name}", fields={"env": "test"})
        assert encoded.value == orjson.dumps(reference), text
        compared += 1
    assert compared, "no line of the golden input parsed"
