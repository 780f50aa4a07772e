"""Asking a program's /health endpoint, as a load balancer or systemd's watchdog script would."""

import time
import urllib.error
import urllib.request
from typing import Any

import orjson


def health(port: int, *, deadline: float = 30.0) -> tuple[int, dict[str, Any]]:
    """/health's status and JSON body on 127.0.0.1:`port`. Transient failures (nothing listening yet, a reset, a slow
    answer on a loaded machine) are retried until `deadline` seconds have passed; then the last one is raised."""
    give_up = time.monotonic() + deadline
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as response:
                return response.status, orjson.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, orjson.loads(error.read())
        except OSError:
            if time.monotonic() >= give_up:
                raise
        time.sleep(0.2)


def problems(port: int) -> list[str]:
    """The names of the problems /health reports (empty when healthy)."""
    return [p["problem"] for p in health(port)[1].get("problems", [])]
