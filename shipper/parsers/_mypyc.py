"""What the optional mypyc build (setup.py) needs, when building and at run time. Never compiled: this module always
runs as plain Python.

- `mypyc_attr`: mypyc's class options without a run-time dependency on mypy (only the build and the tests install
  it). mypyc reads the decorator when compiling; at run time it changes nothing.
- `use_sources_if_stale`: an editable install builds the extensions next to the sources, and Python imports an
  extension before a .py of the same name. After a parser is edited (or a checkout changed it) without reinstalling,
  that would silently run the old compiled code; the build records each source's hash (MANIFEST), and when one no
  longer matches, every parser module is imported from its source instead, with a warning.
- `declared_modules`: which format modules the build compiles, read from the parsers' records (see
  shipper.parsers.declaration) in their sources. setup.py loads this file on its own (no package import: the
  build runs before the package's dependencies are installed), so it imports only the standard library.
"""

import ast
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

__all__ = ["MANIFEST", "declared_modules", "mypyc_attr", "source_hashes", "use_sources_if_stale"]

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


def declared_modules(directory: Path) -> dict[str, bool]:
    """Each module holding a record that `directory/registry.py` lists in FORMATS, and whether the build compiles it
    (the records' `compiled`, True unless a literal False), read with `ast`, never imported. ValueError naming what
    does not have the shape this reads: `FORMATS = (module.RECORD, ...)`, each module imported `from <package>
    import module`, each record `RECORD = Format(..., compiled=<True|False>)`."""
    modules: dict[str, str] = {}  # the registry's name for a module -> its file's stem
    entries: list[ast.expr] | None = None
    for node in ast.parse((directory / "registry.py").read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if (directory / f"{alias.name}.py").is_file():
                    modules[alias.asname or alias.name] = alias.name
        target, value = _assignment(node)
        if target == "FORMATS":
            if not isinstance(value, ast.Tuple):
                raise ValueError("registry.py: FORMATS is not a tuple literal")
            entries = value.elts
    if entries is None:
        raise ValueError("registry.py assigns no FORMATS")
    compiled: dict[str, bool] = {}
    for entry in entries:
        if not (isinstance(entry, ast.Attribute) and isinstance(entry.value, ast.Name) and entry.value.id in modules):
            raise ValueError(f"registry.py: FORMATS entry {ast.unparse(entry)!r} is not module.RECORD of an imported module")
        module = modules[entry.value.id]
        flag = _compiled_flag(directory / f"{module}.py", entry.attr)
        if compiled.setdefault(module, flag) != flag:
            raise ValueError(f"{module}.py: its records disagree on compiled (one module compiles whole or not at all)")
    return compiled


def _assignment(node: ast.stmt) -> tuple[str, ast.expr | None]:
    """(name, value) of `name = value` or `name: type = value`; ("", None) for any other statement."""
    if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
        return node.targets[0].id, node.value
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return node.target.id, node.value
    return "", None


def _compiled_flag(source: Path, record: str) -> bool:
    for node in ast.parse(source.read_text(encoding="utf-8")).body:
        target, value = _assignment(node)
        if target != record:
            continue
        if not isinstance(value, ast.Call):
            raise ValueError(f"{source.name}: {record} is not a Format(...) call")
        for keyword in value.keywords:
            if keyword.arg == "compiled":
                if not (isinstance(keyword.value, ast.Constant) and isinstance(keyword.value.value, bool)):
                    raise ValueError(f"{source.name}: {record}'s compiled is not a literal True or False")
                return keyword.value.value
        return True
    raise ValueError(f"{source.name} assigns no {record}")


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
