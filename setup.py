"""Build hook: compiles the per-line parsing modules with mypyc into C extensions; everything else stays plain Python.

The parsers are interpreter-bound (dict building, slicing, int conversions), and compiled they parse a mixed file
about 1.4x as fast (bench/parse_throughput.py). The sources stay the reference: they run unchanged as plain Python
on Windows, with LOGFERRY_PURE_PYTHON=1, or when no C compiler / Python headers are at hand (the build then warns
and goes on without the extensions). Editable installs build the extensions next to the sources: after editing a
parser, reinstall (`pip install -e .`) or the old compiled module keeps being imported.
"""

import hashlib
import os
import sys
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
PARSERS = ROOT / "shipper" / "parsers"
# The modules on the per-line path. Not listed: the package __init__ and _mypyc (must run as plain Python, see
# its docstring), and the user-regex parser (its time goes to the regex engine, and it is still being worked on).
COMPILED = [
    f"shipper/parsers/{name}.py"
    for name in (
        "access", "apache_error", "auto", "base", "clock", "cri", "docker", "golog", "iis", "java", "jsonlines",
        "logfmt", "multiline", "pipeline", "plain", "python_logging", "registry", "stacktrace", "structured", "syslog",
    )
]
MANIFEST = "_native.sha256"  # read by shipper.parsers._mypyc.use_sources_if_stale (not imported here: no build-time imports)


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
        """Each compiled source's hash beside the extensions, so an edited source is noticed at import time."""
        directory = Path(self.get_ext_fullpath("shipper.parsers._native__mypyc")).parent
        lines = [f"{Path(path).stem} {hashlib.sha256((ROOT / path).read_bytes()).hexdigest()}\n" for path in COMPILED]
        directory.mkdir(parents=True, exist_ok=True)
        (directory / MANIFEST).write_text("".join(lines))

    def _remove_outputs(self) -> None:
        # a shim built before the shared library failed would import it and fail: none or all of them
        for extension in self.extensions:
            for directory in (Path(self.build_lib), ROOT):
                (directory / self.get_ext_filename(extension.name)).unlink(missing_ok=True)


def _remove_inplace_builds() -> None:
    """Extensions an earlier editable install built next to the sources: Python would import them before the .py."""
    for suffix in (*EXTENSION_SUFFIXES, ".so"):
        for path in PARSERS.glob(f"*{suffix}"):
            path.unlink()
    (PARSERS / MANIFEST).unlink(missing_ok=True)


def ext_modules() -> list[Extension]:
    reason = _pure()
    if reason is not None:
        print(f"logferry: parsers not compiled: {reason}", file=sys.stderr)
        _remove_inplace_builds()
        return []
    from mypyc.build import mypycify

    try:
        # one shared library inside the package, so an editable install's finder (which maps packages only) finds it
        return mypycify(COMPILED, group_name="shipper.parsers._native", opt_level="3")
    except (Exception, SystemExit) as error:  # mypyc exits on a type error or an import it cannot resolve
        print(f"logferry: parsers not compiled: mypyc failed ({error!r}); they run as plain Python", file=sys.stderr)
        return []


setup(ext_modules=ext_modules(), cmdclass={"build_ext": OptionalBuildExt})
