"""A real Prometheus Alertmanager for a test (Debian's prometheus-alertmanager, which .ci/run installs where it
installs), started on a free loopback port with a config that notifies nobody and clustering off."""

import shutil
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import orjson

from tests.support.polling import poll_until
from tests.support.smtp import free_port

CONFIG = """route:
  receiver: nobody
  group_wait: 1s
receivers:
  - name: nobody
"""


def alertmanager_binary() -> str | None:
    return shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")


class Alertmanager:
    def __init__(self, binary: str, directory: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "alertmanager.yml").write_text(CONFIG)
        self._log = open(directory / "alertmanager.log", "wb")  # noqa: SIM115 - closed in stop()
        self._process = subprocess.Popen(
            [binary, f"--config.file={directory / 'alertmanager.yml'}", f"--storage.path={directory / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--cluster.listen-address="],
            stdout=self._log, stderr=subprocess.STDOUT,
        )
        self.log_path = directory / "alertmanager.log"

    def wait_ready(self, deadline: float = 60.0) -> None:
        def ready() -> int:
            if self._process.poll() is not None:
                raise AssertionError(f"alertmanager exited: {self.log_path.read_text()[-2000:]}")
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as answer:
                return int(answer.status)

        poll_until(ready, lambda status: status == 200, deadline=deadline, what="alertmanager to be ready",
                   transient=(OSError,))

    def alerts(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"{self.url}/api/v2/alerts", timeout=5) as answer:
            found = orjson.loads(answer.read())
        assert isinstance(found, list)
        return found

    def stop(self) -> None:
        self._process.terminate()
        try:
            self._process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=15)
        self._log.close()
