"""Processing's patterns and rules without a broker: each built-in pattern, the Luhn check, user patterns refused or
run in linear time, the config errors (one line naming the key, exit 2, the same in check-config)."""

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from logferry.errors import ConfigError
from shipper.config import InputSettings, RedactSettings, parse_config
from shipper.processing.patterns import BUILTINS, luhn_valid
from shipper.processing.pipeline import InputProcessing
from shipper.processing.redact import Redactor, RedactRule
from tests.support.kafka import ROOT

MIB = 1 << 20
BOUND_S = 20.0
"""Generous: a linear pass over 1 MiB takes milliseconds; a super-linear one takes hours."""


def redact(text: str, builtin: str) -> tuple[str, dict[str, int]]:
    counts: dict[str, int] = {}
    event: dict[str, Any] = {"body": text, "attributes": {}}
    Redactor([RedactRule(RedactSettings(builtin=builtin), "r")], counts).apply(event)
    return event["body"], counts


@pytest.mark.parametrize(("builtin", "text", "expected"), [
    ("credit_card", "paid with 4111 1111 1111 1111 today", "paid with [REDACTED:credit_card] today"),
    ("credit_card", "card=5500-0000-0000-0004;", "card=[REDACTED:credit_card];"),
    ("credit_card", "amex 378282246310005", "amex [REDACTED:credit_card]"),
    ("credit_card", "not luhn 4111 1111 1111 1112", "not luhn 4111 1111 1111 1112"),
    ("credit_card", "order 1234567890123 shipped", "order 1234567890123 shipped"),
    ("credit_card", "too short 4111111", "too short 4111111"),
    ("email", "from bob.smith+tag@mail.example.co.uk ok", "from [REDACTED:email] ok"),
    ("email", "user@localhost is no address", "user@localhost is no address"),
    ("bearer_token", "Authorization: Bearer eyJhbGciOi.J9x-y_z==", "Authorization: Bearer [REDACTED:bearer_token]"),
    ("bearer_token", "authorization: bearer abc123", "authorization: bearer [REDACTED:bearer_token]"),
    ("aws_key", "key AKIAIOSFODNN7EXAMPLE used", "key [REDACTED:aws_key] used"),
    ("aws_key", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
     "aws_secret_access_key = [REDACTED:aws_key]"),
    ("aws_key", "AKIAIOSFODNN7EXAMPLEX is longer", "AKIAIOSFODNN7EXAMPLEX is longer"),
    ("password", "login password=hunter2&next=1", "login password=[REDACTED:password]&next=1"),
    ("password", 'cfg {"password": "s3cr et"}', 'cfg {"password": [REDACTED:password]}'),
    ("password", "PASSWD: 'x y'", "PASSWD: [REDACTED:password]"),
    ("password", "the password was not given", "the password was not given"),
])
def test_each_builtin_pattern_redacts_what_it_names_and_nothing_else(builtin: str, text: str, expected: str) -> None:
    body, counts = redact(text, builtin)
    assert body == expected
    assert counts == ({builtin: 1} if body != text else {})


def test_luhn_check() -> None:
    assert luhn_valid("4111111111111111") and luhn_valid("79927398713")
    assert not luhn_valid("4111111111111112") and not luhn_valid("79927398710")


@pytest.mark.parametrize("name", sorted(BUILTINS))
@pytest.mark.parametrize("line", [
    "a" * MIB, "1" * MIB, "1 " * (MIB // 2), "a@" * (MIB // 2), "a." * (MIB // 2) + "@", "x@" + "1." * (MIB // 2),
    "password=" * (MIB // 9), 'password="' * (MIB // 10), "bearer " * (MIB // 7), "AKIA" * (MIB // 4),
    "aws_secret_access_key=" + "a" * MIB,
])
def test_builtin_patterns_take_linear_time_on_hostile_lines(name: str, line: str) -> None:
    start = time.process_time()
    redact(line, name)
    assert time.process_time() - start < BOUND_S


def _input(**processing: Any) -> InputSettings:
    config = parse_config({"kafka": {"bootstrap_servers": "127.0.0.1:9092"},
                           "inputs": [{"id": "app", "paths": ["logs/*.log"], **processing}]})
    return config.inputs[0]


def test_a_pathological_user_pattern_runs_in_bounded_time_on_a_1_mib_line() -> None:
    # (a+)+$ and (x|x|xx)*y backtrack exponentially in Python's re; RE2 runs them in one linear pass
    settings = _input(exclude_lines=["(a+)+$", "(x|x|xx)*y"],
                      redact=[{"pattern": "(a|aa)+b", "name": "evil"}],
                      drop=[{"field": "body", "matches": "(.*a){20}z"}])
    processing = InputProcessing(settings, "logs", "inputs[0]")
    line = ("a" * MIB + "!").encode()
    start = time.process_time()
    parser = processing.wrap(_Collect(), "utf-8")  # type: ignore[arg-type]
    parser.feed([(0, len(line) + 1, line, False)], 0)
    assert processing.dropped == {}  # "!" at the end: (a+)+$ does not match, the line is kept
    assert processing.chain is not None and processing.chain.redactor is not None
    event: dict[str, Any] = {"body": line.decode(), "attributes": {}}
    processing.chain.redactor.apply(event)
    assert not any(rule.drops(event) for rule in processing.chain.drops)
    assert event["body"] == line.decode() and processing.redacted == {}
    assert time.process_time() - start < BOUND_S


class _Collect:
    def __init__(self) -> None:
        self.seen: list[Any] = []

    def feed(self, records: Any, observed_ns: int) -> list[Any]:
        self.seen.extend(records)
        return []

    def flush(self, observed_ns: int, *, force: bool) -> list[Any]:
        return []

    def held_from(self) -> int | None:
        return None


@pytest.mark.parametrize(("processing", "key", "says"), [
    ({"include_lines": ["ok", "(a)\\1"]}, "inputs[0].include_lines[1]", "RE2"),
    ({"exclude_lines": ["(?<=x)y"]}, "inputs[0].exclude_lines[0]", "look-around"),
    ({"redact": [{"builtin": "ssn"}]}, "inputs[0].redact[0].builtin", "unknown pattern 'ssn'"),
    ({"redact": [{"pattern": "x+"}]}, "inputs[0].redact[0].name", "is required"),
    ({"redact": [{"builtin": "email", "pattern": "x"}]}, "inputs[0].redact[0]", "exactly one"),
    ({"drop": [{"field": "body"}]}, "inputs[0].drop[0]", "needs a condition"),
    ({"drop": [{"field": "body", "matches": "(?=a)"}]}, "inputs[0].drop[0].matches", "RE2"),
    ({"topic": "logs-{}"}, "inputs[0].topic", "empty"),
    ({"topic": "logs topic"}, "inputs[0].topic", "not a valid Kafka topic name"),
    ({"remove": ["log.file.path"]}, "inputs[0].remove[0]", "cannot be removed"),
])
def test_bad_processing_settings_are_one_error_naming_the_key(processing: dict[str, Any], key: str, says: str) -> None:
    with pytest.raises(ConfigError) as raised:
        _input(**processing)
    assert raised.value.key == key and says in str(raised.value)


@pytest.mark.parametrize("command", ["check-config", "run"])
def test_a_bad_pattern_exits_2_with_one_line_in_run_and_check_config(tmp_path: Path, command: str) -> None:
    config = tmp_path / "shipper.toml"
    config.write_text(
        f'[shipper]\nstate_dir = "{tmp_path / "state"}"\n[kafka]\nbootstrap_servers = "127.0.0.1:9"\n'
        f'[[inputs]]\nid = "app"\npaths = ["{tmp_path}/*.log"]\nexclude_lines = ["(a)\\\\1"]\n'
    )
    args = [command, "--config", str(config)] + (["--once"] if command == "run" else [])
    result = subprocess.run([sys.executable, "-m", "shipper", *args], cwd=ROOT, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "inputs[0].exclude_lines[0]" in result.stderr


def test_built_in_redaction_leaves_events_without_a_hint_as_encoded_and_redacts_the_others() -> None:
    from shipper.parsers.pipeline import StreamParser
    from shipper.records import StreamContext

    settings = _input(format="plain", redact=[{"builtin": name} for name in sorted(BUILTINS)])
    processing = InputProcessing(settings, "logs", "inputs[0]")
    context = StreamContext("app", "0123456789abcdef", "app.log", "utf-8", {"host.name": "h"}, {})
    lines = [b"nothing to hide in Asia, 123", b"card 4111-1111-1111-1111", b"PassWord: x1", b"mail a@b.io",
             b"Bearer tok", b"id 1234567890123 fails luhn"]
    records = []
    offset = 0
    for line in lines:
        records.append((offset, offset + len(line) + 1, line, False))
        offset += len(line) + 1
    events = StreamParser(settings, context).feed(records, 1_700_000_000_000_000_000)
    assert processing.chain is not None and processing.chain.screen is not None
    kept, topics = processing.chain.apply(events)
    assert topics is None and [e.event_id for e in kept] == [e.event_id for e in events]
    assert kept[0] is events[0]  # no hint in its JSON: not decoded, not encoded again
    bodies = [orjson.loads(e.value)["body"] for e in kept]
    assert bodies == ["nothing to hide in Asia, 123", "card [REDACTED:credit_card]", "PassWord: [REDACTED:password]",
                      "mail [REDACTED:email]", "Bearer [REDACTED:bearer_token]", "id 1234567890123 fails luhn"]
    assert kept[5].value == events[5].value  # a candidate that failed the Luhn check: the same bytes
    assert processing.redacted == {"credit_card": 1, "password": 1, "email": 1, "bearer_token": 1}


def test_line_filters_judge_decoded_text_in_other_encodings() -> None:
    settings = _input(encoding="latin-1", include_lines=["café"], exclude_lines=["^skip"])
    processing = InputProcessing(settings, "logs", "inputs[0]")
    collect = _Collect()
    parser = processing.wrap(collect, "latin-1")  # type: ignore[arg-type]
    lines = ["un café".encode("latin-1"), b"tea", "skip café".encode("latin-1")]
    parser.feed([(i * 20, i * 20 + 20, line, False) for i, line in enumerate(lines)], 0)
    assert [record[2] for record in collect.seen] == [lines[0]]
    assert processing.dropped == {"include_lines": 1, "exclude_lines": 1}
