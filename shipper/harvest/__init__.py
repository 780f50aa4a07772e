"""Reading files: framing bytes into lines (framing.py) and one state machine per open file (harvester.py)."""

from pathlib import Path as _Path

# Compiled with mypyc at install (setup.py); the sources run instead when they changed since the build.
from shipper.parsers._mypyc import use_sources_if_stale as _use_sources_if_stale

_use_sources_if_stale(__name__, _Path(__file__).resolve().parent)
