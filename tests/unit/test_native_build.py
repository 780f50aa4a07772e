"""The guard against stale mypyc builds (shipper.parsers._mypyc.use_sources_if_stale), on a throwaway package.

An editable install builds extensions beside the sources and Python imports an extension before a .py of the same
name, so a source edited after the build would silently run as its old compiled self. The guard compares each
compiled source with the hash the build recorded and, on any mismatch, imports the package's modules from source.
"""

import hashlib
import importlib
import sys
import warnings
from collections.abc import Iterator
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import pytest

from shipper.parsers._mypyc import MANIFEST

INIT = (
    "from pathlib import Path\n"
    "from shipper.parsers._mypyc import use_sources_if_stale\n"
    "use_sources_if_stale(__name__, Path(__file__).resolve().parent)\n"
)


@pytest.fixture
def package(tmp_path: Path) -> Iterator[Path]:
    """A package `stalecheck` with one module and a fake extension of it (garbage: importing it would fail)."""
    directory = tmp_path / "stalecheck"
    directory.mkdir()
    (directory / "__init__.py").write_text(INIT)
    (directory / "mod.py").write_text('ORIGIN = "source"\n')
    (directory / f"mod{EXTENSION_SUFFIXES[0]}").write_bytes(b"not a shared library")
    sys.path.insert(0, str(tmp_path))
    finders = list(sys.meta_path)
    try:
        yield directory
    finally:
        sys.path.remove(str(tmp_path))
        sys.meta_path[:] = finders
        for name in [name for name in sys.modules if name == "stalecheck" or name.startswith("stalecheck.")]:
            del sys.modules[name]


def _record(directory: Path, digest: str) -> None:
    (directory / MANIFEST).write_text(f"mod {digest}\n")


def test_an_edited_source_runs_as_source_with_a_warning(package: Path) -> None:
    _record(package, hashlib.sha256(b"what was compiled\n").hexdigest())
    with pytest.warns(RuntimeWarning, match=r"do not match their sources \(mod\)"):
        importlib.import_module("stalecheck")
    module = importlib.import_module("stalecheck.mod")
    assert module.ORIGIN == "source"
    assert module.__file__ is not None and module.__file__.endswith("mod.py")


def test_a_missing_record_counts_as_stale(package: Path) -> None:
    with pytest.warns(RuntimeWarning, match=f"no valid {MANIFEST}"):
        importlib.import_module("stalecheck")
    assert importlib.import_module("stalecheck.mod").ORIGIN == "source"


def test_a_current_build_is_kept(package: Path) -> None:
    _record(package, hashlib.sha256((package / "mod.py").read_bytes()).hexdigest())
    finders = len(sys.meta_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        importlib.import_module("stalecheck")
    assert len(sys.meta_path) == finders  # no redirect: Python would load the (here fake) extension
    with pytest.raises(ImportError):
        importlib.import_module("stalecheck.mod")


@pytest.mark.parametrize("package_name", ["shipper.parsers", "shipper.delivery", "shipper.harvest"])
def test_every_compiled_package_runs_the_guard(package_name: str) -> None:
    init = Path(importlib.import_module(package_name).__file__ or "")
    assert "use_sources_if_stale(__name__" in init.read_text()
