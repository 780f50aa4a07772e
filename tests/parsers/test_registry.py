"""One record per format (shipper.parsers.declaration): the config's formats, auto's candidates and the build's compile
list are derived from the registry's tuple of records, and a new format needs nothing but its record."""

import runpy
import shutil
from pathlib import Path

import pytest

from shipper.config import InputSettings, formats
from shipper.parsers import auto, registry
from shipper.parsers._mypyc import declared_modules
from shipper.parsers.base import Event, Parser
from shipper.parsers.clock import HEAD_LIMIT, HeadCache
from shipper.parsers.declaration import Format, Shape, candidates_by_shape, format_names
from shipper.parsers.plain import PlainParser
from shipper.parsers.registry import FORMATS, NAMES, PARSERS

ROOT = Path(__file__).resolve().parents[2]
PARSERS_DIR = ROOT / "shipper" / "parsers"
# auto's candidates per line shape as they were hand-kept in auto.py before the records: the order must not change
# (tests/parsers/test_auto.py and tests/golden/auto hold the outcome; this holds the order itself).
CANDIDATES_BEFORE = {
    Shape.OBJECT: ("json", "docker"),
    Shape.ANGLE: ("syslog",),
    Shape.HASH: ("iis",),
    Shape.BRACKET: ("apache_error", "python", "java", "golog"),
    Shape.DASHED_DATE: ("cri", "python", "java", "iis", "syslog", "golog", "logfmt"),
    Shape.SLASHED_DATE: ("golog",),
    Shape.DIGITS: ("nginx", "java", "golog", "logfmt"),
    Shape.WORD: ("syslog", "python", "logfmt", "nginx", "golog", "java"),
    Shape.OTHER: ("logfmt", "golog"),
}
FORMATS_BEFORE = (
    "auto", "json", "logfmt", "syslog", "nginx", "apache", "apache_error", "iis", "golog", "python", "java",
    "cri", "docker", "regex", "text", "plain",
)


class TsvParser(Parser):
    """A format that does not exist: what a new parser module would hold."""

    name = "tsv"

    def parse(self, text: str) -> Event | None:
        return None


def _module(declared: Format) -> str:
    return declared.parser.__module__.rpartition(".")[2]


def test_the_config_knows_exactly_the_declared_formats() -> None:
    assert formats() == ("auto", *NAMES) == FORMATS_BEFORE
    assert set(PARSERS) == set(NAMES)
    assert all(PARSERS[declared.name] is declared.parser for declared in FORMATS)


def test_auto_candidates_are_derived_in_todays_order() -> None:
    assert auto.CANDIDATES == CANDIDATES_BEFORE
    lines = {
        Shape.OBJECT: '{"msg": "x"}', Shape.ANGLE: "<13>May  1 02:00:01 host app: x", Shape.HASH: "#Fields: date time",
        Shape.BRACKET: "[Wed Oct 11 14:32:52 2000] [error] x", Shape.DASHED_DATE: "2026-03-14 10:00:00 INFO x",
        Shape.SLASHED_DATE: "2026/03/14 10:00:00 x", Shape.DIGITS: "10.0.0.1 - - [x]", Shape.WORD: "May  1 x",
        Shape.OTHER: "-x",
    }
    for shape, line in lines.items():
        assert auto.candidates(line) == CANDIDATES_BEFORE[shape]
        assert auto.candidates("  \t" + line) == CANDIDATES_BEFORE[shape]


def test_the_build_compiles_what_the_records_declare() -> None:
    declared = declared_modules(PARSERS_DIR)
    assert declared == {_module(record): record.compiled for record in FORMATS}
    assert declared["regex_user"] is False  # its time goes to the regex engine
    setup = runpy.run_path(str(ROOT / "setup.py"), run_name="setup_read_by_tests")  # not __main__: builds nothing
    expected = {*setup["PARSER_SUPPORT"], *(_module(record) for record in FORMATS if record.compiled)}
    assert setup["GROUPS"]["shipper/parsers"] == tuple(sorted(expected))
    assert "regex_user" not in setup["GROUPS"]["shipper/parsers"]


def test_a_record_is_compiled_unless_it_says_otherwise_as_the_build_reads_it() -> None:
    assert Format(PlainParser).compiled is True  # declared_modules reads a missing `compiled` as True


def test_a_new_format_needs_only_its_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    extra = Format(TsvParser, probes={Shape.DIGITS: 15, Shape.OTHER: 5}, compiled=False)
    extended = (*FORMATS, extra)
    # auto: ranked among the others by its own record; every other shape's list unchanged
    derived = candidates_by_shape(extended)
    assert derived[Shape.DIGITS] == ("nginx", "tsv", "java", "golog", "logfmt")
    assert derived[Shape.OTHER] == ("tsv", "logfmt", "golog")
    assert {shape: names for shape, names in derived.items() if "tsv" not in names} == {
        shape: names for shape, names in CANDIDATES_BEFORE.items() if shape not in (Shape.DIGITS, Shape.OTHER)
    }
    # the config: known, and valid in an input
    monkeypatch.setattr(registry, "NAMES", format_names(extended))
    assert formats()[-1] == "tsv"
    InputSettings(id="tsv", paths=["/logs/*.tsv"], format="tsv").check("inputs[0]")
    # the build: the registry's sources plus the new module and its line, read as setup.py reads them
    for source in PARSERS_DIR.glob("*.py"):
        shutil.copy(source, tmp_path / source.name)
    (tmp_path / "tsv.py").write_text(
        "from shipper.parsers.declaration import Format, Shape\n\n"
        "FORMAT = Format(TsvParser, probes={Shape.DIGITS: 15}, compiled=False)\n"
    )
    text = (tmp_path / "registry.py").read_text()
    text = text.replace("from shipper.parsers import (\n", "from shipper.parsers import (\n    tsv,\n", 1)
    text = text.replace("    plain.FORMAT,\n", "    plain.FORMAT,\n    tsv.FORMAT,\n", 1)
    (tmp_path / "registry.py").write_text(text)
    assert declared_modules(tmp_path) == {**declared_modules(PARSERS_DIR), "tsv": False}


def test_a_format_declared_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="declared twice: golog"):
        format_names((*FORMATS, FORMATS[NAMES.index("golog")]))


@pytest.mark.parametrize(
    ("registry_text", "module_text", "problem"),
    [
        ("FORMATS = [tsv.FORMAT]\n", "", "not a tuple literal"),
        ("from shipper.parsers import tsv\nFORMATS = (tsv.parsers()[0],)\n", "", "is not module.RECORD"),
        ("FORMATS = (tsv.FORMAT,)\n", "FORMAT = Format(TsvParser)\n", "is not module.RECORD"),  # never imported
        ("from shipper.parsers import tsv\nFORMATS = (tsv.FORMAT,)\n", "FORMAT = Format(TsvParser, compiled=FAST)\n",
         "not a literal True or False"),
        ("from shipper.parsers import tsv\nFORMATS = (tsv.OTHER,)\n", "FORMAT = Format(TsvParser)\n", "assigns no OTHER"),
        ("X = 1\n", "", "assigns no FORMATS"),
    ],
)
def test_the_build_refuses_a_registry_it_cannot_read(tmp_path: Path, registry_text: str, module_text: str, problem: str) -> None:
    (tmp_path / "registry.py").write_text(registry_text)
    (tmp_path / "tsv.py").write_text(module_text)
    with pytest.raises(ValueError, match=problem):
        declared_modules(tmp_path)


def test_the_head_cache_keeps_heads_until_it_is_full_then_starts_over() -> None:
    cache = HeadCache(limit=3)
    assert cache.known.get("10:00:00") is None
    for second in range(3):
        cache.put(f"10:00:0{second}", f"head {second}")
    assert [cache.known.get(f"10:00:0{second}") for second in range(3)] == ["head 0", "head 1", "head 2"]
    cache.put("10:00:03", "head 3")  # full: starts over with this one
    assert len(cache) == 1
    assert cache.known == {"10:00:03": "head 3"}
    cache.put("bad", "")  # an impossible date is remembered as ""
    assert cache.known.get("bad") == ""
    cache.clear()
    assert len(cache) == 0 and cache.known.get("10:00:03") is None
    assert HeadCache().limit == HEAD_LIMIT == 4096


@pytest.mark.parametrize("module", ["access", "apache_error", "golog", "iis", "java", "python_logging", "syslog"])
def test_every_parser_with_a_head_cache_uses_the_shared_one(module: str) -> None:
    source = (PARSERS_DIR / f"{module}.py").read_text()
    assert "HeadCache()" in source
    assert "4096" not in source and "dict[str, str] = {}" not in source  # no bound or dict of its own
