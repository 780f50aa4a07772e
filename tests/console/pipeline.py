"""A real pipeline for the console's browser tests: two shippers (hosts web-a and web-b, services checkout and
billing) following their own log directory, a consumer indexing into SQLite, the alert evaluator (`consumer alert
run`, its own group, one rule on `alert_word`) whose state file `serve` reads ([console] alerts_state), and `consumer
serve` on a free loopback port; `exec_job` runs `shipper exec` beside a shipper. Every process runs in a session of
its own and is stopped by `stop()` (the fixture's finaliser), killed if it does not stop in time."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.alerting.helpers import evaluator_config, state_path
from tests.consumer.helpers import sqlite_config
from tests.support.polling import poll_until

ROOT = Path(__file__).resolve().parents[2]
HOSTS = {"a": ("web-a", "checkout"), "b": ("web-b", "billing")}
ALERT_RULE = "console-alarm"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def line(message: str, *, level: str = "info", trace_id: str | None = None, **extra: Any) -> str:
    """One JSON log line stamped now."""
    record: dict[str, Any] = {"time": datetime.now(UTC).isoformat(), "level": level, "msg": message, **extra}
    if trace_id is not None:
        record["trace_id"] = trace_id
    return json.dumps(record)


@dataclass
class Pipeline:
    directory: Path
    bootstrap: str
    topic: str
    port: int = 0
    processes: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)
    alert_word: str = field(default_factory=lambda: f"alarm{uuid.uuid4().hex[:10]}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def _start(self, name: str, args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = open(self.directory / f"{name}.log", "ab")  # noqa: SIM115 - the process owns it
        process = subprocess.Popen([sys.executable, *args], cwd=ROOT, stdout=log, stderr=log, start_new_session=True,
                                   env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})})
        log.close()
        self.processes.append((name, process))
        return process

    def start(self) -> None:
        for key, (host, service) in HOSTS.items():
            (self.directory / f"logs-{key}").mkdir(parents=True, exist_ok=True)
            config = self.directory / f"shipper-{key}.toml"
            config.write_text(f"""
[shipper]
state_dir = "{self.directory / f"state-{key}"}"
host_id = "console-{key}"
host_name = "{host}"
rescan_interval = 0.3
checkpoint_interval = 0.3
log_format = "json"

[kafka]
bootstrap_servers = "{self.bootstrap}"
topic = "{self.topic}"
linger_ms = 5

[[inputs]]
id = "app"
paths = ["{self.directory / f"logs-{key}" / "*.log"}"]
format = "json"
service_name = "{service}"
""")
            self._start(f"shipper-{key}", ["-m", "shipper", "run", "--config", str(config)])
        db = self.directory / "index" / "logs.db"
        db.parent.mkdir(parents=True, exist_ok=True)
        consumer = sqlite_config(db, self.bootstrap, self.topic, f"console-{self.topic}",
                                 extra="batch_linger = 0.05")
        # the evaluator: every error line with the alert word, per service, fires at once (threshold 1)
        rules = (f'[[rules]]\nname = "{ALERT_RULE}"\ntype = "threshold"\nmatch = "level:error {self.alert_word}"\n'
                 'group_by = ["service"]\nwindow = "1m"\nthreshold = 1\nseverity = "critical"\n')
        evaluator = evaluator_config(self.directory, self.bootstrap, self.topic, f"alerts-{self.topic}", rules,
                                     lateness="60s")
        self.alerts_state = state_path(evaluator)
        with open(consumer, "a", encoding="utf-8") as handle:
            handle.write(f'\n[console]\nalerts_state = "{self.alerts_state}"\n')
        self.config = consumer
        self._start("consumer", ["-m", "consumer", "run", "--config", str(consumer)])
        self._start("evaluator", ["-m", "consumer", "alert", "run", "--config", str(evaluator)])
        self.port = free_port()
        self._start("serve", ["-m", "consumer", "serve", "--config", str(consumer), "--listen", f"127.0.0.1:{self.port}"])
        # the consumer creates the database at its start; serve answers once it can open it
        poll_until(lambda: self.api("/api/health"), lambda answer: bool(answer.get("ok")), deadline=90,
                   what="the console to answer", transient=(OSError,))

    def write(self, host: str, lines: list[str]) -> None:
        """Append `lines` to host `host`'s followed file."""
        with open(self.directory / f"logs-{host}" / "app.log", "a", encoding="utf-8") as handle:
            handle.write("".join(text + "\n" for text in lines))

    def exec_job(self, host: str, job: str, program: list[str], *, wait: bool = True) -> subprocess.Popen[bytes]:
        """`shipper exec --job JOB -- PROGRAM` with host `host`'s shipper config (its running shipper ships the
        spool); waited for unless `wait` is false (then stopped by `stop()` like every process here)."""
        process = self._start(f"exec-{job}", ["-m", "shipper", "exec", "--config", str(self.directory / f"shipper-{host}.toml"),
                                             "--job", job, "--", *program])
        if wait:
            process.wait(timeout=120)
        return process

    def api(self, path: str, **params: str) -> Any:
        url = f"{self.url.rstrip('/')}{path}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=30) as response:
            return json.loads(response.read())

    def searched(self, count: int, **params: str) -> list[dict[str, Any]]:
        """The events the API finds (last hour), once it finds `count` of them."""
        found: list[dict[str, Any]] = poll_until(
            lambda: self.api("/api/search", since="1h", **params)["events"], lambda events: len(events) >= count,
            deadline=90, what=f"{count} event(s) for {params}", transient=(OSError,), interval=0.1)
        return found

    def stop(self) -> None:
        for _name, process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for _name, process in self.processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def logs(self) -> str:
        return "\n".join(f"--- {name}\n{(self.directory / f'{name}.log').read_text(errors='replace')[-3000:]}"
                         for name, _p in self.processes)
