"""`consumer serve` as a process: loopback by default, a non-loopback address refused without a token (one line,
exit 2) and gated by it with one, the security headers, a read-only API, the Host check, and a stop request
honoured with a live tail open."""

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.console.pipeline import ROOT, free_port
from tests.console.support import NS, Index, event, sqlite_index
from tests.support.polling import poll_until

TOKEN = "a-console-token-of-some-length"


@pytest.fixture
def index(tmp_path: Path) -> Iterator[Index]:
    made = sqlite_index(tmp_path)
    now = time.time_ns()
    made.write([event(i, at_ns=now - (10 - i) * NS, body=f"served line {i}") for i in range(10)])
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def config(index: Index, tmp_path: Path) -> Path:
    path = tmp_path / "consumer.toml"
    path.write_text(f'[kafka]\ntopics = ["console-test"]\n\n[sink]\ntype = "sqlite"\npath = "{tmp_path / "logs.db"}"\n')
    return path


@pytest.fixture
def serve() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=30)


def _start(started: list[subprocess.Popen[bytes]], config: Path, listen: str, token: str | None) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "LOGFERRY_CONSOLE_TOKEN"}
    if token is not None:
        env["LOGFERRY_CONSOLE_TOKEN"] = token
    process = subprocess.Popen([sys.executable, "-m", "consumer", "serve", "--config", str(config), "--listen", listen],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    started.append(process)
    return process


def _get(url: str, headers: dict[str, str] | None = None, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def _wait(url: str, headers: dict[str, str] | None = None) -> None:
    poll_until(lambda: _get(url, headers)[0], lambda status: status == 200, deadline=60, what=f"{url} to answer",
               transient=(OSError,), interval=0.2)


def test_a_non_loopback_listen_without_a_token_refuses_to_start(config: Path, serve: list[subprocess.Popen[bytes]]) -> None:
    port = free_port()
    process = _start(serve, config, f"0.0.0.0:{port}", None)
    _out, err = process.communicate(timeout=60)
    assert process.returncode == 2
    lines = err.decode().strip().splitlines()
    assert len(lines) == 1 and "LOGFERRY_CONSOLE_TOKEN" in lines[0] and "loopback" in lines[0], lines
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2)


def test_a_short_token_is_refused_too(config: Path, serve: list[subprocess.Popen[bytes]]) -> None:
    process = _start(serve, config, f"0.0.0.0:{free_port()}", "short")
    _out, err = process.communicate(timeout=60)
    assert process.returncode == 2 and "LOGFERRY_CONSOLE_TOKEN" in err.decode() and "Traceback" not in err.decode()


def test_with_a_token_every_request_must_carry_it(config: Path, serve: list[subprocess.Popen[bytes]]) -> None:
    port = free_port()
    process = _start(serve, config, f"0.0.0.0:{port}", TOKEN)
    base = f"http://127.0.0.1:{port}"
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    _wait(f"{base}/api/health", bearer)
    assert _get(f"{base}/api/search")[0] == 401
    assert _get(f"{base}/", {"Authorization": "Bearer wrong-token-wrong-token"})[0] == 401
    status, _headers, body = _get(f"{base}/api/search?since=1h", bearer)
    assert status == 200 and b"served line 9" in body
    # the page's way in: /?token= once sets an HttpOnly, SameSite=Strict cookie, and the cookie alone then works
    opener = urllib.request.build_opener(urllib.request.HTTPRedirectHandler())
    request = urllib.request.Request(f"{base}/?token={TOKEN}")

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect())
    with pytest.raises(urllib.error.HTTPError) as answer:
        opener.open(request, timeout=10)
    assert answer.value.code == 303
    cookie = answer.value.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert _get(f"{base}/api/facets", {"Cookie": cookie.split(";")[0]})[0] == 200
    # an alert notification's link with the token added keeps its search across the redirect
    linked = urllib.request.Request(f"{base}/?q=level%3Aerror+disk&token={TOKEN}&since=2026-01-01T00%3A00%3A00Z")
    with pytest.raises(urllib.error.HTTPError) as answer:
        opener.open(linked, timeout=10)
    assert answer.value.code == 303
    assert answer.value.headers["location"] == "/?q=level%3Aerror+disk&since=2026-01-01T00%3A00%3A00Z"
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=30)
    assert process.returncode == 0


def test_loopback_serving_headers_read_only_api_and_host_check(config: Path, serve: list[subprocess.Popen[bytes]]) -> None:
    port = free_port()
    process = _start(serve, config, f"127.0.0.1:{port}", None)
    base = f"http://127.0.0.1:{port}"
    _wait(f"{base}/api/health")
    status, headers, body = _get(f"{base}/")
    assert status == 200 and b'<script src="/static/console.js"' in body and b"<script>" not in body
    policy = headers["content-security-policy"]
    assert "script-src 'self'" in policy and "default-src 'none'" in policy and "unsafe" not in policy
    assert headers["x-content-type-options"] == "nosniff"
    for path in ("/static/console.js", "/static/console.css", "/api/facets"):
        assert _get(f"{base}{path}")[0] == 200, path
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        assert _get(f"{base}/api/search", method=method)[0] == 405, method
    assert _get(f"{base}/api/search", {"Host": "attacker.example"})[0] == 421  # DNS rebinding
    status, _headers, body = _get(f"{base}/api/search?q=level:nonsense")
    assert status == 400 and b"nonsense" in body
    # a live tail open: SIGTERM still stops the server (within its graceful shutdown)
    tail = urllib.request.urlopen(f"{base}/api/tail?q=served", timeout=10)
    assert b"event: ready" in tail.read1(4096)
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=30)
    tail.close()
    assert process.returncode == 0


@pytest.mark.parametrize("listen", ["8080", "127.0.0.1:", "127.0.0.1:99999", "[::1]:port"])
def test_a_bad_listen_address_is_one_line_and_exit_2(config: Path, serve: list[subprocess.Popen[bytes]],
                                                    listen: str) -> None:
    process = _start(serve, config, listen, None)
    _out, err = process.communicate(timeout=60)
    assert process.returncode == 2
    lines = err.decode().strip().splitlines()
    assert len(lines) == 1 and "--listen" in lines[0] and "Traceback" not in err.decode(), lines
