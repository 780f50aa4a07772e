"""The one HTTP endpoint of both programs: Prometheus metrics at /metrics and the health verdict at /health.

    GET /metrics   the process's registry (prometheus_client), in the text format a scraper asks for
    GET /health    200 `{"status": "ok", ...}` or 503 with the problems as JSON (logferry.health)

Each process builds its own registry (`registry(program)`): the program's metrics, the process collector
(`process_cpu_seconds_total`, `process_resident_memory_bytes`, ...), the platform's `python_info` and
`logferry_build_info{program, version}`. Nothing is registered in prometheus_client's global registry, so two
programs (or two tests) in one interpreter never see each other's metrics.

The programs count in plain integers on their main thread; their collectors read those integers when a scrape
comes, so the hot loops never take a lock for a metric.

`Exporter(address, registry, health)` binds at once, so that a taken address fails before anything starts, with
one line naming it (`ExporterError`); `start()` serves from a daemon thread, `stop()` ends it.
"""

import errno
import logging
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CollectorRegistry, Info, PlatformCollector, ProcessCollector, disable_created_metrics
from prometheus_client.exposition import choose_encoder

from logferry import __version__
from logferry.errors import LogferryError
from logferry.health import ReachabilityProbe

log = logging.getLogger("logferry.exporter")

# A `_created` sample beside every counter and histogram doubles the series for a timestamp nobody graphs.
disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped in prometheus_client


class ExporterError(LogferryError):
    """The metrics endpoint cannot be served; the message names the address."""


def registry(program: str) -> CollectorRegistry:
    """A registry of its own for `program` ("shipper", "consumer"): process, platform and build metrics."""
    own = CollectorRegistry(auto_describe=True)
    ProcessCollector(registry=own)
    PlatformCollector(registry=own)
    Info("logferry_build", "The running logferry program and its version.", registry=own).info(
        {"program": program, "version": __version__}
    )
    return own


def split_address(address: str) -> tuple[str, int]:
    """`host:port` (or `[v6]:port`) as (host, port); the config has already checked its shape."""
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


class Exporter:
    """Serves `metrics` at /metrics and `health()` (status code, JSON body) at /health on `address`.

    `probe`, if given, runs while the exporter serves: it asks Kafka for metadata while Kafka is thought unreachable
    and nothing else would notice it come back (logferry.health.ReachabilityProbe).
    """

    def __init__(
        self, address: str, metrics: CollectorRegistry, health: Callable[[], tuple[int, bytes]],
        probe: ReachabilityProbe | None = None,
    ) -> None:
        self.address = address
        self.probe = probe

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/metrics":
                    encode, kind = choose_encoder(self.headers.get("Accept", ""))
                    self._reply(200, encode(metrics), kind)
                elif self.path == "/health":
                    code, body = health()
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
                return  # a scrape every few seconds is not worth a log line each

        host, port = split_address(address)
        server = _Server6 if ":" in host else ThreadingHTTPServer
        try:
            self._httpd = server((host, port), Handler)
        except OSError as error:
            raise ExporterError(f"cannot serve metrics on {address}: {_reason(error)}") from None
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="metrics", daemon=True)

    def start(self) -> None:
        self._thread.start()
        if self.probe is not None:
            self.probe.start()
        log.info("Serving metrics and health.", extra={"address": self.address})

    def stop(self) -> None:
        if self.probe is not None:
            self.probe.stop()
        if self._thread.is_alive():
            self._httpd.shutdown()
        self._httpd.server_close()


class _Server6(ThreadingHTTPServer):
    address_family = socket.AF_INET6  # "[::1]:9100"


def _reason(error: OSError) -> str:
    if error.errno == errno.EADDRINUSE:
        return "address already in use"
    text = error.strerror or str(error)
    return text[:1].lower() + text[1:]
