"""Typed captures of the user regex format (issue #12, item 6): `[inputs.regex] types = { cpu = "float", ... }`.

A bad type, or a type for a group the pattern lacks, is refused before anything runs (one line naming the key, exit
2); a capture that does not convert at run time keeps its text and flags the event `type_conversion_failed`.
"""

import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logferry.errors import ConfigError
from shipper.config import CAPTURE_TYPES, parse_config
from shipper.parsers.regex_user import CONVERSION_FAILED, CONVERTERS
from tests.hostile.test_broken_configs import check_config
from tests.parsers.support import make_settings, parse_bytes

PATTERN = r"^(?P<timestamp>\S+) cpu=(?P<cpu>\S+) status=(?P<status>\S+) ok=(?P<ok>\S+)(?: (?P<rest>.*))?$"
TYPES = {"cpu": "float", "status": "int", "ok": "bool"}


def _events(lines: list[str], types: dict[str, str] | None = None) -> list[dict[str, Any]]:
    regex = {"pattern": PATTERN, "types": TYPES if types is None else types}
    raw = "".join(line + "\n" for line in lines).encode()
    return parse_bytes(raw, make_settings("regex", {"regex": regex}))


def test_typed_captures_become_numbers_and_booleans() -> None:
    (event,) = _events(["2026-03-14T10:00:00Z cpu=12.5 status=200 ok=true tail text"])
    attributes = event["attributes"]
    assert attributes["cpu"] == 12.5 and type(attributes["cpu"]) is float
    assert attributes["status"] == 200 and type(attributes["status"]) is int
    assert attributes["ok"] is True
    assert attributes["rest"] == "tail text"  # untyped: a string as before
    assert "flags" not in event and event["parse_error"] is False
    assert event["timestamp"] == "2026-03-14T10:00:00.000000000Z"


def test_float_takes_integers_and_exponents_int_keeps_its_sign() -> None:
    (event,) = _events(["2026-03-14T10:00:00Z cpu=40 status=-1 ok=OFF"])
    assert event["attributes"]["cpu"] == 40.0 and type(event["attributes"]["cpu"]) is float
    assert event["attributes"]["status"] == -1 and event["attributes"]["ok"] is False
    (event,) = _events(["2026-03-14T10:00:00Z cpu=1.5e3 status=+7 ok=1"])
    assert event["attributes"] == {**event["attributes"], "cpu": 1500.0, "status": 7, "ok": True}


def test_a_capture_that_does_not_convert_keeps_its_text_and_flags_the_event() -> None:
    (event,) = _events(["2026-03-14T10:00:00Z cpu=high status=2xx ok=maybe"])
    assert event["attributes"]["cpu"] == "high"
    assert event["attributes"]["status"] == "2xx"
    assert event["attributes"]["ok"] == "maybe"
    assert event["flags"] == [CONVERSION_FAILED]
    assert event["parse_error"] is False and event["format"] == "regex"


def test_one_bad_capture_flags_the_event_and_the_others_still_convert() -> None:
    (event,) = _events(["2026-03-14T10:00:00Z cpu=nan status=200 ok=yes"])
    assert event["attributes"]["cpu"] == "nan" and event["attributes"]["status"] == 200
    assert event["attributes"]["ok"] is True
    assert event["flags"] == [CONVERSION_FAILED]


def test_the_flag_joins_a_timestamp_flag() -> None:
    (event,) = _events(["2026-02-30T10:00:00Z cpu=x status=1 ok=no"])
    assert sorted(event["flags"]) == sorted([CONVERSION_FAILED, "timestamp_unparsed"])
    assert event["attributes"]["cpu"] == "x" and event["attributes"]["timestamp"] == "2026-02-30T10:00:00Z"


def test_without_types_captures_stay_strings() -> None:
    (event,) = _events(["2026-03-14T10:00:00Z cpu=12.5 status=200 ok=true"], types={})
    assert (event["attributes"]["cpu"], event["attributes"]["status"], event["attributes"]["ok"]) == ("12.5", "200", "true")
    assert "flags" not in event


@pytest.mark.parametrize(("kind", "text", "expected"), [
    ("int", "0", 0), ("int", "-12", -12), ("int", "+12", 12), ("int", "9223372036854775807", 2**63 - 1),
    ("int", "-9223372036854775808", -(2**63)),
    ("float", "12.5", 12.5), ("float", "-0.5", -0.5), ("float", ".5", 0.5), ("float", "5.", 5.0), ("float", "1e-3", 0.001),
    ("float", "40", 40.0),
    ("bool", "true", True), ("bool", "TRUE", True), ("bool", "Yes", True), ("bool", "on", True), ("bool", "1", True),
    ("bool", "false", False), ("bool", "No", False), ("bool", "OFF", False), ("bool", "0", False),
])
def test_conversions(kind: str, text: str, expected: object) -> None:
    value = CONVERTERS[kind](text)
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize(("kind", "text"), [
    ("int", ""), ("int", "1.0"), ("int", "1_000"), ("int", "0x1f"), ("int", "1e3"), ("int", "12a"), ("int", "--1"),
    ("int", "9223372036854775808"), ("int", "1" * 5000), ("int", "\u0661\u0662"),  # Arabic-Indic digits: not ASCII decimal
    ("float", ""), ("float", "nan"), ("float", "inf"), ("float", "-Infinity"), ("float", "1e999"), ("float", "1_0.5"),
    ("float", "1.2.3"), ("float", "."), ("float", "e5"), ("float", "12%"),
    ("bool", ""), ("bool", "t"), ("bool", "y"), ("bool", "2"), ("bool", "truee"), ("bool", "enabled"),
])
def test_values_out_of_shape_do_not_convert(kind: str, text: str) -> None:
    assert CONVERTERS[kind](text) is None


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(sorted(CONVERTERS)), st.text(max_size=40) | st.from_regex(r"[-+]?[0-9.eE]{0,25}", fullmatch=True))
def test_converters_never_raise_and_give_json_values(kind: str, text: str) -> None:
    value = CONVERTERS[kind](text)
    if value is not None:
        assert type(value) is {"int": int, "float": float, "bool": bool}[kind]
        assert not isinstance(value, float) or math.isfinite(value)


def test_every_declared_type_has_a_converter() -> None:
    assert set(CAPTURE_TYPES) == set(CONVERTERS)


def _config(types: str, pattern: str = PATTERN, log_format: str = "regex") -> str:
    return (
        f'[[inputs]]\nid = "a"\npaths = ["/var/log/*.log"]\nformat = "{log_format}"\n'
        f"[inputs.regex]\npattern = '{pattern}'\ntypes = {types}\n"
    )


@pytest.mark.parametrize(("types", "key", "problem"), [
    ('{ cpu = "decimal" }', "inputs[0].regex.types.cpu", "must be one of 'int', 'float', 'bool', got 'decimal'"),
    ('{ cpu = 1 }', "inputs[0].regex.types.cpu", "must be one of"),
    ('{ load = "float" }', "inputs[0].regex.types.load", "the pattern has no group named 'load'"),
    ('{ message = "int" }', "inputs[0].regex.types.message", "the message group is not typed"),
    ('"float"', "inputs[0].regex.types", "expected a table"),
])
def test_a_bad_type_is_one_line_naming_the_key_and_exit_2(tmp_path: Path, types: str, key: str, problem: str) -> None:
    config = tmp_path / "shipper.toml"
    config.write_text(_config(types))
    result = check_config("shipper", config)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith("config error: ") and key in lines[0] and problem in lines[0], lines[0]


def test_good_types_pass_validation(tmp_path: Path) -> None:
    config = tmp_path / "shipper.toml"
    config.write_text(_config('{ cpu = "float", status = "int", ok = "bool" }'))
    result = check_config("shipper", config)
    assert result.returncode == 0, result.stdout + result.stderr


def test_validation_names_the_key_in_process() -> None:
    table = {
        "inputs": [{"id": "a", "paths": ["/x/*.log"], "format": "regex",
                    "regex": {"pattern": PATTERN, "types": {"cpu": "float", "load": "int"}}}],
    }
    with pytest.raises(ConfigError) as caught:
        parse_config(table)
    assert caught.value.key == "inputs[0].regex.types.load"
