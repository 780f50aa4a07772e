"""Prometheus text metrics and a health check over HTTP, off unless `shipper.metrics_address` is set.

    GET /metrics   counters and gauges in the Prometheus text format
    GET /health    200 while the main loop turns, 503 when it has not turned for HEALTH_STALL seconds

The server runs in a daemon thread and only reads the shipper's counters (plain ints, updated by the main loop).
"""

import logging
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

log = logging.getLogger("shipper.metrics")

HEALTH_STALL = 30.0


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
    """Serves `collect()` at /metrics and `last_turn()` freshness at /health."""

    def __init__(self, address: str, collect: Callable[[], list[Sample]], last_turn: Callable[[], float]) -> None:
        host, _, port = address.rpartition(":")
        host = host.strip("[]")
        self.address = address

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/metrics":
                    body = render(collect()).encode()
                    self._reply(200, body, "text/plain; version=0.0.4; charset=utf-8")
                elif self.path == "/health":
                    stalled = time.monotonic() - last_turn() > HEALTH_STALL
                    self._reply(503 if stalled else 200, b"stalled\n" if stalled else b"ok\n", "text/plain")
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
        log.info("Serving metrics and health.", extra={"address": self.address})

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
