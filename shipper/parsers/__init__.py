"""Parsers: raw records in, unified events out. Pure code, no I/O.

`pipeline.StreamParser` is what the harvester uses: one per file stream, it decodes, groups multiline
records, parses and serialises. The per-format parsers sit one per module behind `base.Parser` and are
listed in `registry`; `auto` probes them by the shape of a line.

Choices where the brief was silent (the golden files in tests/golden/ show each one):
- auto: a line no format claims is `plain` (not an error); a line starting with `{` that is not JSON is a
  json parse error. `plain` never becomes the settled format, so one odd line does not unsettle a file.
  nginx and Apache access lines are reported as `nginx` (one format, two names).
- json/logfmt: the first well-known key of a role wins (`@timestamp` before `timestamp`, `time`, `ts`);
  a record without a string message keeps its other keys as an object body; numeric levels (pino, bunyan)
  keep their text with severity_number 0, since their scale is not Python's.
- access logs and IIS: the body is the line itself (so no log.record.original); severity from the status
  (5xx ERROR, 4xx WARN, else INFO) with severity_text null.
- syslog: severity_text is the RFC 5424 keyword of the PRI (ERR, WARNING, ...); a year-less date more than
  one month ahead of the observed time is last year's, January seen in December next year's.
- java/python: continuation lines join the event before (up to multiline.max_lines / max_bytes); a stack
  trace goes to exception.stacktrace/type/message with the first line's message as body; other
  continuation lines are appended to the body. Lines after a cut are an event of their own, flagged.
- IIS: until a `#Fields:` directive is seen (reading resumed mid-file) the IIS default column list applies;
  directive lines are events of their own with `iis.directive`.
- parse errors keep the raw text both as body and as log.record.original.
- LOGFERRY_PURE_PYTHON=1 in the environment runs these modules from their sources even when compiled.
"""

import os as _os
import sys as _sys
from pathlib import Path as _Path

from shipper.parsers._mypyc import _SourceFinder
from shipper.parsers._mypyc import use_sources_if_stale as _use_sources_if_stale

if _os.environ.get("LOGFERRY_PURE_PYTHON", "") not in ("", "0"):
    # plain Python even where the compiled modules are built (tests run both ways with one install)
    _sys.meta_path.insert(0, _SourceFinder(__name__, _Path(__file__).resolve().parent))
else:
    _use_sources_if_stale(__name__, _Path(__file__).resolve().parent)
