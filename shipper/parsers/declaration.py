"""What a format parser declares about itself, in one record in its own module (as a Fluent Bit plugin declares its
name, config map and callbacks in one struct), and the lists derived from those records.

A parser module ends with, for example,

    FORMAT: Format = Format(GoLogParser, probes={Shape.SLASHED_DATE: 10, Shape.WORD: 50})

and `shipper.parsers.registry.FORMATS` lists the records. A record may also name the shapes in which its format's
lines always write a time of day (`timed`): auto then spares a line without one the format's parse attempt. From that
one list come the config's known formats (`shipper.config.formats`), auto's candidates per line shape
(`candidates_by_shape`, computed once when auto is imported) and the build's compile list (setup.py reads `compiled`
from the sources, see `shipper.parsers._mypyc.declared_modules`). Nothing here registers anything anywhere: a record
is plain data.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shipper.parsers.base import Parser


class Shape(Enum):
    """How a line starts (after leading blanks): what auto looks at to pick its candidate formats."""

    OBJECT = "starts with {"
    ANGLE = "starts with <"  # a syslog PRI
    HASH = "starts with #"  # a W3C directive
    BRACKET = "starts with ["
    DASHED_DATE = "a digit, and - as the fifth character"  # 2026-03-14 ...
    SLASHED_DATE = "a digit, and / as the fifth character"  # 2026/03/14 ...
    DIGITS = "another line starting with a digit"
    WORD = "starts with a letter"
    OTHER = "anything else"


@dataclass(frozen=True)
class Format:
    """One format: its parser class (whose `name` is the config's `format` value), when auto tries it, and whether
    the build compiles it."""

    parser: "type[Parser]"
    probes: Mapping[Shape, int] = field(default_factory=lambda: MappingProxyType({}))
    """The line shapes for which auto tries this format, each with its rank among that shape's candidates (lower
    first; the registry's order breaks ties). Empty: auto never picks it (it needs settings, or is the fallback).
    Cheap refusals stay in the parser's `parse` (its first check), since a declared format needs them as well."""
    compiled: bool = True
    """Whether setup.py compiles the parser's module with mypyc (a literal: the build reads it from the source)."""
    timed: frozenset[Shape] = frozenset()
    """The shapes (among `probes`) in which every line the parser accepts writes a time of day as digits on both sides
    of a `:` (`12:00`, `2024:02:00`): auto does not try the format in that shape for a line without one, which it looks
    for once per line (shipper.parsers.layout.scan.clock_colon). Leave a shape out when a line without a time can
    parse (Python's `INFO:root:...`, an RFC 5424 `-` timestamp, IIS directives, logfmt, JSON)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "probes", MappingProxyType(dict(self.probes)))  # immutable, like the record
        object.__setattr__(self, "timed", frozenset(self.timed))
        unprobed = sorted(shape.name for shape in self.timed - self.probes.keys())
        if unprobed:
            raise ValueError(f"{self.name}: timed in shapes it is not probed for: {', '.join(unprobed)}")

    @property
    def name(self) -> str:
        """The config's `format` value (and the event's `format`): the parser class's `name`."""
        return self.parser.name


def format_names(formats: Iterable[Format]) -> tuple[str, ...]:
    """The declared names, in declaration order; ValueError when one is declared twice."""
    names = tuple(declared.name for declared in formats)
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ValueError(f"formats declared twice: {', '.join(twice)}")
    return names


def candidates_by_shape(formats: Iterable[Format], *, timeless: bool = False) -> dict[Shape, tuple[str, ...]]:
    """For each line shape, the formats auto tries for it, best ranked first (ties in declaration order); with
    `timeless`, only those that may accept a line without a time of day (the shape is not among their `timed`)."""
    ranked: dict[Shape, list[tuple[int, int, str]]] = {shape: [] for shape in Shape}
    for order, declared in enumerate(formats):
        for shape, rank in declared.probes.items():
            if not (timeless and shape in declared.timed):
                ranked[shape].append((rank, order, declared.name))
    return {shape: tuple(name for _, _, name in sorted(entries)) for shape, entries in ranked.items()}
