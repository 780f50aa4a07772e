"""What the optional mypyc build (setup.py) needs at run time. Never compiled: this module always runs as plain Python.

- `mypyc_attr`: mypyc's class options without a run-time dependency on mypy (only the build and the tests install
  it). mypyc reads the decorator when compiling; at run time it changes nothing.
- `use_sources_if_stale`: an editable install builds the extensions next to the sources, and Python imports an
  extension before a .py of the same name. After a parser is edited (or a checkout changed it) without reinstalling,
  that would silently run the old compiled code; the build records each source's hash (MANIFEST), and when one no
  longer matches, every parser module is imported from its source instead, with a warning.
"""

import hashlib
import importlib.machinery
import importlib.util
import sys
import warnings
from collections.abc import Sequence
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

__all__ = ["MANIFEST", "mypyc_attr", "source_hashes", "use_sources_if_stale"]

if TYPE_CHECKING:
    from mypy_extensions import mypyc_attr
else:

    def mypyc_attr(*_args, **_kwargs):
        return lambda cls: cls


MANIFEST = "_native.sha256"
"""Written by setup.py beside the extensions: `module sha256` per compiled source."""


def source_hashes(directory: Path, names: Sequence[str]) -> dict[str, str]:
    """sha256 of `directory/<name>.py` for each module name."""
    return {name: hashlib.sha256((directory / f"{name}.py").read_bytes()).hexdigest() for name in names}


class _SourceFinder(MetaPathFinder):
    """Imports the package's modules from their .py files even where an extension module of the same name exists."""

    def __init__(self, package: str, directory: Path) -> None:
        self.prefix = package + "."
        self.directory = directory

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None) -> ModuleSpec | None:
        if not fullname.startswith(self.prefix) or "." in fullname[len(self.prefix):]:
            return None
        source = self.directory / (fullname[len(self.prefix):] + ".py")
        return importlib.util.spec_from_file_location(fullname, source) if source.is_file() else None


def use_sources_if_stale(package: str, directory: Path) -> None:
    """Call from the package's __init__: keeps the compiled modules only when they were built from the current sources."""
    compiled = {
        path.name.split(".", 1)[0]
        for suffix in importlib.machinery.EXTENSION_SUFFIXES
        for path in directory.glob(f"*{suffix}")
    }
    if not compiled:
        return  # pure Python (not built, or extensions of another platform)
    try:
        recorded = dict(line.split() for line in (directory / MANIFEST).read_text().splitlines() if line.strip())
        current = source_hashes(directory, sorted(recorded))
        changed = sorted(name for name in recorded if recorded[name] != current[name])
    except (OSError, ValueError):  # no record, or a source gone
        changed = [f"no valid {MANIFEST}"]
    if not changed:
        return
    warnings.warn(
        f"{package}: the compiled modules do not match their sources ({', '.join(changed)});"
        " running the sources instead. Rebuild with `pip install -e .` (or set LOGFERRY_PURE_PYTHON=1 and reinstall).",
        RuntimeWarning,
        stacklevel=3,
    )
    sys.meta_path.insert(0, _SourceFinder(package, directory))
