"""The alert evaluator: rules over the event stream (consumer.alerting.rules, .evaluator), and the notifications
they cause (consumer.alerting.notify). `model` is the contract between the two halves."""

from pathlib import Path as _Path

# fastpath is compiled with mypyc at install (setup.py); the sources run instead when they changed since the build.
from shipper.parsers._mypyc import use_sources_if_stale as _use_sources_if_stale

_use_sources_if_stale(__name__, _Path(__file__).resolve().parent)
