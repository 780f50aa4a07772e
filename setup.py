"""Build hook: compiles the per-line modules with mypyc into C extensions; everything else stays plain Python.

The parsers are interpreter-bound (dict building, slicing, int conversions), and compiled they parse a mixed file
about 1.4x as fast (bench/parse_throughput.py); the produce loop, delivery reports and line framing, compiled, cut a
shipped line's instructions by ~6% (bench/ship_throughput.py). The sources stay the reference: they run unchanged as
plain Python on Windows, with LOGFERRY_PURE_PYTHON=1, or when no C compiler / Python headers are at hand (the build
then warns and goes on without the extensions). Editable installs build the extensions next to the sources: after
editing a compiled module, reinstall (`pip install -e .`) or its sources run instead, with a warning.
"""

import hashlib
import importlib.util
import os
import sys
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path
from types import ModuleType

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent


def _build_support() -> ModuleType:
    """shipper/parsers/_mypyc.py loaded on its own: standard library only, so no package import at build time."""
    spec = importlib.util.spec_from_file_location("_logferry_build_support", ROOT / "shipper" / "parsers" / "_mypyc.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_SUPPORT = _build_support()
# The parsers' own modules on the per-line path. The format modules join them as their records declare (`compiled`
# in shipper/parsers/declaration.py, read from the sources by _mypyc.declared_modules): the user-regex parser says
# no (its time goes to the regex engine). Never compiled: the packages' __init__, _mypyc (must run as plain Python,
# see its docstring) and declaration (read when the registry is imported, never per line).
PARSER_SUPPORT = (
    "auto", "base", "bounded", "clock", "encoder", "multiline", "numbers", "pipeline", "registry", "stacktrace", "structured",
    # the text layout learner's scanner, levels and learned layouts: in the parsers' group, so that they are compiled,
    # stale or plain Python together with the parsers that take their native classes
    "layout/learned", "layout/levels", "layout/scan",
)
_DECLARED_COMPILED = [name for name, compiled in _SUPPORT.declared_modules(ROOT / "shipper" / "parsers").items() if compiled]
# The modules on the per-line path, by mypyc group: one shared library per package, inside the package, so an
# editable install's finder (which maps packages only) finds it, and a stale build is noticed per package (each
# package's __init__ calls shipper.parsers._mypyc.use_sources_if_stale).
GROUPS = {
    "shipper/parsers": tuple(sorted({*PARSER_SUPPORT, *_DECLARED_COMPILED})),
    # produce loop and delivery reports: a sixth of a shipped line's CPU was their interpreted per-message code
    "shipper/delivery": ("acks", "producer"),
    # the split of a read chunk into line records
    "shipper/harvest": ("framing",),
    # the alert evaluator's per-event dispatch and per-hit counting
    "consumer/alerting": ("fastpath",),
}
MANIFEST = _SUPPORT.MANIFEST  # read by shipper.parsers._mypyc.use_sources_if_stale


def _pure() -> str | None:
    """Why the build stays pure Python, or None to compile."""
    if os.environ.get("LOGFERRY_PURE_PYTHON", "") not in ("", "0"):
        return "LOGFERRY_PURE_PYTHON is set"
    if sys.platform == "win32":
        return "Windows runs the parsers as plain Python"
    if sys.implementation.name != "cpython":
        return f"mypyc needs CPython, not {sys.implementation.name}"
    return None


class OptionalBuildExt(build_ext):
    """A failed C build (no compiler, no Python headers) leaves the plain-Python modules in charge, with a warning."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as error:  # distutils raises several unrelated types (CompileError, PlatformError, ...)
            self._remove_outputs()
            self.warn(f"logferry: compiling the parsers failed ({error}); they run as plain Python")
            return
        if self.extensions:
            self._record_sources()

    def _record_sources(self) -> None:
        """Each compiled source's hash beside its package's extensions, so an edited source is noticed at import time."""
        for package, names in GROUPS.items():
            directory = Path(self.get_ext_fullpath(f"{package.replace('/', '.')}._native__mypyc")).parent
            lines = [f"{name} {hashlib.sha256((ROOT / package / f'{name}.py').read_bytes()).hexdigest()}\n" for name in names]
            directory.mkdir(parents=True, exist_ok=True)
            (directory / MANIFEST).write_text("".join(lines))

    def _remove_outputs(self) -> None:
        # a shim built before the shared library failed would import it and fail: none or all of them
        for extension in self.extensions:
            for directory in (Path(self.build_lib), ROOT):
                (directory / self.get_ext_filename(extension.name)).unlink(missing_ok=True)


def _remove_inplace_builds() -> None:
    """Extensions an earlier editable install built next to the sources: Python would import them before the .py."""
    for package in GROUPS:
        directory = ROOT / package
        for suffix in (*EXTENSION_SUFFIXES, ".so"):
            for path in directory.rglob(f"*{suffix}"):  # (rglob: shipper/parsers/layout's modules are in the group)
                path.unlink()
        (directory / MANIFEST).unlink(missing_ok=True)


def _group_name(package: str) -> str:
    return f"{package.replace('/', '.')}._native"


def ext_modules() -> list[Extension]:
    reason = _pure()
    if reason is not None:
        print(f"logferry: parsers not compiled: {reason}", file=sys.stderr)
        _remove_inplace_builds()
        return []
    from mypyc.build import mypycify

    try:
        groups = [([f"{package}/{name}.py" for name in names], _group_name(package)) for package, names in GROUPS.items()]
        return mypycify([path for paths, _ in groups for path in paths], separate=groups, opt_level="3")
    except (Exception, SystemExit) as error:  # mypyc exits on a type error or an import it cannot resolve
        print(f"logferry: parsers not compiled: mypyc failed ({error!r}); they run as plain Python", file=sys.stderr)
        return []


if __name__ == "__main__":  # how pip's build backend and `python setup.py` run it; tests read GROUPS without building
    setup(ext_modules=ext_modules(), cmdclass={"build_ext": OptionalBuildExt})
