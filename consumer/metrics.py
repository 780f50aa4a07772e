"""The consumer's Prometheus metrics and the /metrics endpoint (off unless `consumer.metrics_address` is set).

Counters are plain integers updated by the worker's thread; the HTTP thread only reads them.
"""

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

log = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """What the worker counts."""

    def __init__(self) -> None:
        self.consumed = 0
        self.indexed = 0
        self.duplicates = 0
        self.dead_letters = 0
        self.conflicts = 0
        self.flush_failures = 0
        self.retried_items = 0
        self.lag: dict[tuple[str, int], int] = {}
        self.serving = False  # whether an endpoint shows these (then the worker keeps `lag` fresh)
        self._buckets = [0] * len(LATENCY_BUCKETS)
        self._latency_sum = 0.0
        self._latency_count = 0

    def observe_batch(self, seconds: float) -> None:
        for i, bound in enumerate(LATENCY_BUCKETS):
            if seconds <= bound:
                self._buckets[i] += 1
        self._latency_sum += seconds
        self._latency_count += 1

    def render(self) -> str:
        lines = []
        for name, value, help_text in (
            ("consumed", self.consumed, "Records consumed from Kafka."),
            ("indexed", self.indexed, "Events newly written to the index."),
            ("duplicates_skipped", self.duplicates, "Re-delivered events the index already held."),
            ("dead_letters", self.dead_letters, "Records sent to the dead letters."),
            ("conflicts", self.conflicts, "Events whose event_id the index held with different content (recorded)."),
            ("flush_failures", self.flush_failures, "Failed batch writes (retried)."),
            ("retried_items", self.retried_items, "Items the sink sent again after a transient refusal (429, 5xx)."),
        ):
            lines += [f"# HELP logferry_consumer_{name}_total {help_text}", f"# TYPE logferry_consumer_{name}_total counter",
                      f"logferry_consumer_{name}_total {value}"]
        lines += ["# HELP logferry_consumer_lag Records behind the end of each assigned partition.",
                  "# TYPE logferry_consumer_lag gauge"]
        for (topic, partition), value in sorted(self.lag.items()):
            lines.append(f'logferry_consumer_lag{{topic="{topic}",partition="{partition}"}} {value}')
        lines += ["# HELP logferry_consumer_batch_seconds Time to write one batch to the sink.",
                  "# TYPE logferry_consumer_batch_seconds histogram"]
        for bound, count in zip(LATENCY_BUCKETS, self._buckets, strict=True):
            lines.append(f'logferry_consumer_batch_seconds_bucket{{le="{bound}"}} {count}')
        lines.append(f'logferry_consumer_batch_seconds_bucket{{le="+Inf"}} {self._latency_count}')
        lines.append(f"logferry_consumer_batch_seconds_sum {self._latency_sum:.6f}")
        lines.append(f"logferry_consumer_batch_seconds_count {self._latency_count}")
        return "\n".join(lines) + "\n"


def serve(metrics: Metrics, address: str) -> ThreadingHTTPServer:
    """Serve `metrics` on http://address/metrics from a daemon thread; returns the server (shutdown() to stop)."""
    host, _, port = address.rpartition(":")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path not in ("/metrics", "/health"):
                self.send_error(404)
                return
            body = (metrics.render() if self.path == "/metrics" else "ok\n").encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return None

    server = ThreadingHTTPServer((host.strip("[]"), int(port)), Handler)
    metrics.serving = True
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    log.info("Serving metrics.", extra={"address": address})
    return server
