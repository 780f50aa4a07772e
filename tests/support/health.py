"""Asking a program's /health endpoint, as a load balancer or systemd's watchdog script would."""

import urllib.error
import urllib.request
from typing import Any

import orjson


def health(port: int) -> tuple[int, dict[str, Any]]:
    """/health's status and JSON body on 127.0.0.1:`port`; (0, {}) while nothing answers there yet."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as response:
            return response.status, orjson.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, orjson.loads(error.read())
    except OSError:
        return 0, {}


def problems(port: int) -> list[str]:
    """The names of the problems /health reports (empty when healthy or not answering)."""
    return [p["problem"] for p in health(port)[1].get("problems", [])]
