"""`alert list`: pending and firing alerts, and those resolved since --since (default a day), newest first (read
through consumer.alerting.reader, read-only)."""

import sys
from typing import TextIO

from consumer.alerting.config import EvaluatorConfig
from consumer.alerting.reader import read_state
from consumer.alerting.store import alert_json
from logferry.durations import parse_duration
from schemas.timefmt import format_ns


def run_list(config: EvaluatorConfig, since: str, as_json: bool, out: TextIO = sys.stdout) -> int:
    found = read_state(config.alert.state_path, parse_duration(since)).alerts
    for alert in found:
        if as_json:
            out.write(alert_json(alert).decode() + "\n")
            continue
        when = format_ns(alert.fired_at if alert.fired_at is not None else alert.started_at)
        late = " late" if alert.late else ""
        out.write(f"{alert.state.value:<8} {alert.severity.value:<8} {alert.key.rule} "
                  f"{alert.key.group_text or '-'} {when} count={alert.count}{late}: {alert.summary}\n")
    if not found:
        sys.stderr.write("No alerts.\n")
    return 0
