"""The consumer's Prometheus metrics, /metrics and /health (off unless `consumer.metrics_address` is set).

Counters are plain integers updated by the worker's thread; the HTTP thread only reads them. /health answers
503 with the problems as JSON (logferry.health) when Kafka has been unreachable or batch writes have failed for
health.delivery_stall, or the worker's loop has not turned for health.loop_stall; else 200 `{"status": "ok"}`.
"""

import logging
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from logferry.health import HealthSettings, KafkaWatch, Problem, ReachabilityProbe, assess, lasting

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
        self.retried_items = 0
        self.lag: dict[tuple[str, int], int] = {}
        self.serving = False  # whether an endpoint shows these (then the worker keeps `lag` fresh)
        self.kafka = KafkaWatch()  # fed by the worker: records and assignments arrive, or the brokers are down
        self.last_turn = time.monotonic()  # set by the worker's loop each turn
        self.failing_since: float | None = None
        self._flush_failures = 0
        self._buckets = [0] * len(LATENCY_BUCKETS)
        self._latency_sum = 0.0
        self._latency_count = 0

    @property
    def flush_failures(self) -> int:
        """Failed batch writes; the first of a run of failures also marks since when writes fail (for /health)."""
        return self._flush_failures

    @flush_failures.setter
    def flush_failures(self, value: int) -> None:
        if value > self._flush_failures and self.failing_since is None:
            self.failing_since = time.monotonic()
        self._flush_failures = value

    def observe_batch(self, seconds: float) -> None:
        """A batch was written: writes no longer fail."""
        self.failing_since = None
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


def health(metrics: Metrics, settings: HealthSettings, now: float) -> tuple[int, bytes]:
    """The /health status code and JSON body."""
    failures = [
        metrics.kafka.failure(now, settings.delivery_stall),
        lasting(Problem.WRITES_FAILING, metrics.failing_since, "", now, settings.delivery_stall),
    ]
    return assess(now, settings, metrics.last_turn, failures)


class Served(ThreadingHTTPServer):
    """The metrics server and the probe that sees an idle consumer's Kafka outage end; shutdown() stops both."""

    probe: ReachabilityProbe | None = None

    def shutdown(self) -> None:
        if self.probe is not None:
            self.probe.stop()
        super().shutdown()


def serve(
    metrics: Metrics, address: str, settings: HealthSettings | None = None,
    probe: Callable[[float], object] | None = None,
) -> ThreadingHTTPServer:
    """Serve `metrics` on http://address/metrics and /health from a daemon thread; returns the server (shutdown() to
    stop). `probe(timeout)` is a metadata request, asked while Kafka is thought unreachable and nothing arrives."""
    host, _, port = address.rpartition(":")
    bounds = settings or HealthSettings()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/metrics":
                code, body, kind = 200, metrics.render().encode(), "text/plain; version=0.0.4"
            elif self.path == "/health":
                code, body = health(metrics, bounds, time.monotonic())
                kind = "application/json"
            else:
                self.send_error(404)
                return
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return None

    server = Served((host.strip("[]"), int(port)), Handler)
    metrics.serving = True
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    if probe is not None:
        server.probe = ReachabilityProbe(metrics.kafka, probe, resumed)
        server.probe.start()
    log.info("Serving metrics.", extra={"address": address})
    return server


def resumed(lasted: float) -> None:
    """Kafka answers again after an outage (logged by the worker, or by the probe when the consumer is idle)."""
    log.info("Kafka answers again; consumption resumed.", extra={"outage_s": round(lasted, 3)})
