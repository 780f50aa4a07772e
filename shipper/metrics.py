"""Prometheus text metrics and a health check over HTTP, off unless `shipper.metrics_address` is set.

    GET /metrics   counters and gauges in the Prometheus text format
    GET /health    200 `{"status": "ok", ...}`, or 503 with the problems as JSON (see logferry.health): Kafka
                   unreachable or not acknowledging for health.delivery_stall, checkpoints not written, or the
                   main loop not turning for health.loop_stall

The server runs in a daemon thread and only reads the shipper's counters (plain ints, updated by the main loop).
While Kafka is thought unreachable and nothing waits for it, its probe thread asks for metadata every few seconds,
so that /health sees an idle shipper's outage end.
"""

import logging
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from logferry.health import Failure, HealthSettings, KafkaWatch, Problem, ReachabilityProbe, assess

log = logging.getLogger("shipper.metrics")


class KafkaLink(Protocol):
    """What /health needs of the producer (shipper.delivery.producer.Delivery)."""

    watch: KafkaWatch

    def probe(self, timeout: float) -> object: ...

    def resumed(self, lasted: float) -> None: ...


class Sample:
    """One metric: name, help, type, and (labels, value) pairs."""

    def __init__(self, name: str, help_text: str, kind: str, values: list[tuple[dict[str, str], float]]) -> None:
        self.name = name
        self.help_text = help_text
        self.kind = kind
        self.values = values


def render(samples: list[Sample]) -> str:
    out = []
    for sample in samples:
        out.append(f"# HELP {sample.name} {sample.help_text}")
        out.append(f"# TYPE {sample.name} {sample.kind}")
        for labels, value in sample.values:
            text = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
            out.append(f"{sample.name}{{{text}}} {value:g}" if text else f"{sample.name} {value:g}")
    return "\n".join(out) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class MetricsServer:
    """Serves `collect()` at /metrics and the shipper's health at /health.

    `checkpoint_failure()` is the runner's current checkpoint write failure (an object with `.since`, a
    time.monotonic() value, and `.error`), None while checkpoints are written.
    """

    def __init__(
        self, address: str, collect: Callable[[], list[Sample]], last_turn: Callable[[], float], *,
        settings: HealthSettings | None = None, kafka: KafkaLink | None = None,
        checkpoint_failure: Callable[[], Any] = lambda: None,
    ) -> None:
        host, _, port = address.rpartition(":")
        host = host.strip("[]")
        self.address = address
        health = settings or HealthSettings()
        self.probe = None if kafka is None else ReachabilityProbe(kafka.watch, kafka.probe, kafka.resumed)

        def answer() -> tuple[int, bytes]:
            now = time.monotonic()
            failures = []
            if kafka is not None:
                failures.append(kafka.watch.failure(now, health.delivery_stall))
            failing = checkpoint_failure()
            if failing is not None:
                # Immediately: a checkpoint that cannot be written is a fact, retried with backoff by the runner.
                failures.append(Failure(Problem.CHECKPOINTS_FAILING, float(failing.since), str(failing.error)))
            return assess(now, health, last_turn(), failures)

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/metrics":
                    body = render(collect()).encode()
                    self._reply(200, body, "text/plain; version=0.0.4; charset=utf-8")
                elif self.path == "/health":
                    code, body = answer()
                    self._reply(code, body, "application/json")
                else:
                    self._reply(404, b"not found\n", "text/plain")

            def _reply(self, code: int, body: bytes, kind: str) -> None:
                self.send_response(code)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return  # requests are not worth a log line each

        self.httpd = ThreadingHTTPServer((host, int(port)), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="metrics", daemon=True)

    def start(self) -> None:
        self.thread.start()
        if self.probe is not None:
            self.probe.start()
        log.info("Serving metrics and health.", extra={"address": self.address})

    def stop(self) -> None:
        if self.probe is not None:
            self.probe.stop()
        self.httpd.shutdown()
        self.httpd.server_close()
