"""logferry.exporter: one endpoint for both programs, a registry per process, a taken address named."""

import socket
import urllib.error
import urllib.request

import pytest

from logferry import __version__
from logferry.exporter import Exporter, ExporterError, registry


def test_metrics_health_and_nothing_else_are_served_in_the_format_asked_for() -> None:
    exporter = Exporter("127.0.0.1:0", registry("evaluator"), lambda: (503, b'{"status":"failing"}\n'))
    port = exporter._httpd.server_address[1]
    exporter.start()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            assert response.headers["Content-Type"].startswith("text/plain")
            assert b'logferry_build_info{program="evaluator",version="' in response.read()
        asking = urllib.request.Request(f"http://127.0.0.1:{port}/metrics",
                                        headers={"Accept": "application/openmetrics-text; version=1.0.0"})
        with urllib.request.urlopen(asking, timeout=5) as response:
            assert response.headers["Content-Type"].startswith("application/openmetrics-text")
            assert response.read().endswith(b"# EOF\n")
        with pytest.raises(urllib.error.HTTPError) as failing:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5)
        assert failing.value.code == 503 and failing.value.read() == b'{"status":"failing"}\n'
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/other", timeout=5)
        assert missing.value.code == 404
    finally:
        exporter.stop()


def test_registries_of_two_programs_in_one_process_are_apart() -> None:
    shipper, consumer = registry("shipper"), registry("consumer")
    assert shipper.get_sample_value("logferry_build_info", {"program": "shipper", "version": __version__}) == 1
    assert consumer.get_sample_value("logferry_build_info", {"program": "shipper", "version": __version__}) is None


def test_a_taken_address_is_named_in_one_line_and_an_unstarted_exporter_stops() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        with pytest.raises(ExporterError) as error:
            Exporter(address, registry("consumer"), lambda: (200, b""))
    assert str(error.value) == f"cannot serve metrics on {address}: address already in use"
    Exporter("127.0.0.1:0", registry("consumer"), lambda: (200, b"")).stop()  # returns: nothing was serving

