"""Typed configuration: declared once as dataclasses, loaded from TOML, validated before anything runs.

Every field carries a default (or is required) and a description in its metadata:

    @dataclass(frozen=True)
    class Section:
        topic: str = setting("logs", "Kafka topic the events go to.")

`load(cls, table, where)` turns a TOML table into `cls`, rejecting unknown keys and wrong types with a
ConfigError naming the dotted key. A dataclass may define `check(self, where: str) -> None` for rules across fields;
it receives the section's dotted key and raises ConfigError.

Durations are typed `Seconds` or `Milliseconds`: a number in that unit, or a string of one or more number+unit
parts, "500ms", "30s", "1h30m", "14d", or ISO 8601 "PT1H30M" (logferry.durations).

A section whose keys depend on one of them (a sink's `type`) subclasses `Tagged`: its `variants()` map each tag
value to the dataclass that declares that variant's keys, and the table is loaded as the variant its tag names.
"""

import dataclasses
import difflib
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, NewType, TypeVar

from logferry.durations import parse_duration
from logferry.errors import ConfigError

T = TypeVar("T")
REQUIRED: Any = dataclasses.MISSING

Seconds = NewType("Seconds", float)
Milliseconds = NewType("Milliseconds", int)


class Tagged:
    """A section whose key `tag` (default `default_tag`) chooses the dataclass it is loaded as."""

    tag: ClassVar[str] = "type"
    default_tag: ClassVar[str]
    # What a variant is called in an error ("unknown sink 'x'").
    noun: ClassVar[str] = "type"

    @classmethod
    def variants(cls) -> Mapping[str, type]:
        """Tag value -> the dataclass (a subclass of this one) declaring that variant's keys."""
        raise NotImplementedError


def setting(default: Any, description: str, *, factory: Any = None) -> Any:
    """A config field with its default (REQUIRED for none) and a one-line description."""
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata={"description": description})
    if isinstance(default, (list, dict)):
        value = default
        return dataclasses.field(default_factory=lambda: type(value)(value), metadata={"description": description})
    return dataclasses.field(default=default, metadata={"description": description})


def read_toml(path: str | Path) -> dict[str, Any]:
    """The parsed TOML file; ConfigError when it cannot be read or parsed."""
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError("", f"the config file {path} does not exist") from None
    except PermissionError:
        raise ConfigError("", f"the config file {path} cannot be read (permission denied)") from None
    except IsADirectoryError:
        raise ConfigError("", f"the config file {path} is a directory") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError("", f"the config file {path} is not valid TOML: {error}") from None
    except UnicodeDecodeError:
        raise ConfigError("", f"the config file {path} is not UTF-8 text") from None


def load(cls: type[T], table: Any, where: str = "") -> T:
    """An instance of dataclass `cls` from `table`, checked key by key; for a `Tagged` cls, of the variant the
    table's tag names."""
    if not isinstance(table, dict):
        raise ConfigError(where, f"expected a table, got {_kind(table)}")
    if issubclass(cls, Tagged) and not dataclasses.is_dataclass(cls):
        cls = _variant(cls, table, where)
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    for key in table:
        if key not in fields:
            close = difflib.get_close_matches(str(key), list(fields), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ConfigError(_join(where, str(key)), f"unknown key{hint}")
    values: dict[str, Any] = {}
    for name, field in fields.items():
        key = _join(where, name)
        if name in table:
            values[name] = _convert(hints[name], table[name], key)
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise ConfigError(key, "is required but missing")
    instance = cls(**values)
    check = getattr(instance, "check", None)
    if callable(check):
        check(where)
    return instance


def _variant(cls: type[Tagged], table: dict[str, Any], where: str) -> Any:
    tag = table.get(cls.tag, cls.default_tag)
    variants = cls.variants()
    if not isinstance(tag, str) or tag not in variants:
        known = ", ".join(sorted(variants))
        raise ConfigError(_join(where, cls.tag), f"unknown {cls.noun} {tag!r}; known: {known}")
    return variants[tag]


def describe(cls: type[Any], where: str = "") -> list[tuple[str, str, str]]:
    """(dotted key, default, description) for every setting of `cls`, nested sections included; a `Tagged` section
    lists each variant's keys, their descriptions starting with the variant ("opensearch: ...")."""
    rows: list[tuple[str, str, str]] = []
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        key = _join(where, field.name)
        kind = hints[field.name]
        inner = typing.get_args(kind)[0] if typing.get_origin(kind) is list and typing.get_args(kind) else None
        if isinstance(kind, type) and issubclass(kind, Tagged) and not dataclasses.is_dataclass(kind):
            seen: set[str] = set()
            for name, variant in sorted(kind.variants().items()):
                for row in describe(variant, key):
                    if row[0].endswith(f".{kind.tag}"):
                        if row[0] not in seen:
                            seen.add(row[0])
                            rows.append(row)
                        continue
                    rows.append((row[0], row[1], f"{name}: {row[2]}"))
            continue
        if dataclasses.is_dataclass(kind) or (inner is not None and dataclasses.is_dataclass(inner)):
            rows.extend(describe(typing.cast(type, inner or kind), key))
            continue
        if field.default is not dataclasses.MISSING:
            default = repr(field.default)
        elif field.default_factory is not dataclasses.MISSING:
            default = repr(field.default_factory())
        else:
            default = "(required)"
        rows.append((key, default, field.metadata.get("description", "")))
    return rows


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _kind(value: Any) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list", dict: "a table"}
    return names.get(type(value), type(value).__name__)


def _convert(kind: Any, value: Any, key: str) -> Any:
    origin = typing.get_origin(kind)
    args = typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        if value is None and len(options) < len(args):
            return None
        errors = []
        for option in options:
            try:
                return _convert(option, value, key)
            except ConfigError as error:
                errors.append(error.problem)
        raise ConfigError(key, errors[0] if len(errors) == 1 else "; or ".join(errors))
    if origin is typing.Literal:
        if value not in args:
            allowed = ", ".join(repr(a) for a in args)
            raise ConfigError(key, f"must be one of {allowed}, got {value!r}")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(key, f"expected a list, got {_kind(value)}")
        (item,) = args
        return [_convert(item, v, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(key, f"expected a table, got {_kind(value)}")
        _, item = args
        return {str(k): _convert(item, v, _join(key, str(k))) for k, v in value.items()}
    if dataclasses.is_dataclass(kind) or (isinstance(kind, type) and issubclass(kind, Tagged)):
        return load(typing.cast(type, kind), value, key)
    if kind is Seconds or kind is Milliseconds:
        return _duration(kind, value, key)
    if kind is Any:
        return value
    if kind is bool:
        if not isinstance(value, bool):
            raise ConfigError(key, f"expected true or false, got {_kind(value)}")
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(key, f"expected an integer, got {_kind(value)}")
        return value
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(key, f"expected a number, got {_kind(value)}")
        return float(value)
    if kind is str:
        if not isinstance(value, str):
            raise ConfigError(key, f"expected a string, got {_kind(value)}")
        return value
    raise ConfigError(key, f"unsupported setting type {kind!r}")


def _duration(kind: Any, value: Any, key: str) -> float | int:
    unit = "seconds" if kind is Seconds else "milliseconds"
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ConfigError(key, f"expected a duration (a number of {unit} or a string such as \"30s\"), got {_kind(value)}")
    if isinstance(value, str):
        try:
            seconds = parse_duration(value.strip())
        except ValueError as error:
            raise ConfigError(key, str(error)) from None
        if kind is Seconds:
            return seconds
        millis = seconds * 1000
        if abs(millis - round(millis)) > 1e-6:
            raise ConfigError(key, f"{value!r} is not a whole number of milliseconds")
        return round(millis)
    if kind is Milliseconds:
        if isinstance(value, float) and not value.is_integer():
            raise ConfigError(key, f"expected a whole number of milliseconds, got {value!r}")
        return int(value)
    return float(value)
