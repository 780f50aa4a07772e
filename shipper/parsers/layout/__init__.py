"""The generic text layout learner's pieces: the date-time scanner (scan), level detection (levels) and a stream's
learned layouts (learned). shipper.parsers.text puts them together as the `text` format.

Compiled in the parsers' mypyc group (setup.py), whose build record covers them: they run from their sources exactly
when the parsers do (LOGFERRY_PURE_PYTHON=1, or any of the group's sources edited since the build). Compiled parsers
take their native classes (Layout, Stamp) and must never meet plain-Python twins."""

import os as _os
import sys as _sys
from pathlib import Path as _Path

from shipper.parsers._mypyc import _SourceFinder

_parsers_from_sources = any(
    isinstance(finder, _SourceFinder) and finder.prefix == "shipper.parsers." for finder in _sys.meta_path
)
if _parsers_from_sources or _os.environ.get("LOGFERRY_PURE_PYTHON", "") not in ("", "0"):
    _sys.meta_path.insert(0, _SourceFinder(__name__, _Path(__file__).resolve().parent))
