"""Under systemd with Type=notify and WatchdogSec, both programs say READY once they work, WATCHDOG from their main
loop, and STOPPING when asked to stop: a real socket where systemd's would be, real processes, a real broker."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.kafka import ROOT

pytestmark = pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="systemd notifications are for Linux")


def _notifications(tmp_path: Path, command: list[str], config: Path) -> list[str]:
    path = tmp_path / "notify.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(path))
    listener.settimeout(1.0)
    env = {**os.environ, "NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "400000", "PYTHONUNBUFFERED": "1"}
    log = open(tmp_path / "process.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen([sys.executable, "-m", *command, "--config", str(config)], cwd=ROOT, env=env,
                               stdout=log, stderr=log)
    received: list[str] = []
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and received.count("WATCHDOG=1") < 3:
            try:
                received.append(listener.recv(4096).decode().split("\n")[0])
            except TimeoutError:
                assert process.poll() is None, (tmp_path / "process.log").read_text()
        process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "STOPPING=1" not in received:
            try:
                received.append(listener.recv(4096).decode().split("\n")[0])
            except TimeoutError:
                if process.poll() is not None:
                    break
        process.wait(60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        listener.close()
        log.close()
    return received


def test_the_shipper_notifies_ready_watchdog_and_stopping(tmp_path: Path, kafka_bootstrap: str, kafka_topic: str) -> None:
    (tmp_path / "logs").mkdir()
    config = tmp_path / "shipper.toml"
    config.write_text(f'[shipper]\nstate_dir = "{tmp_path / "state"}"\n[kafka]\nbootstrap_servers = "{kafka_bootstrap}"\n'
                      f'topic = "{kafka_topic}"\n[[inputs]]\nid = "a"\npaths = ["{tmp_path}/logs/*.log"]\n')
    received = _notifications(tmp_path, ["shipper", "run"], config)
    assert received[0] == "READY=1" and received.count("WATCHDOG=1") >= 3 and received[-1] == "STOPPING=1", received


def test_a_consumer_worker_notifies_ready_watchdog_and_stopping(tmp_path: Path, kafka_bootstrap: str, kafka_topic: str) -> None:
    config = tmp_path / "consumer.toml"
    config.write_text(f'[kafka]\nbootstrap_servers = "{kafka_bootstrap}"\ntopics = ["{kafka_topic}"]\n'
                      f'group_id = "notify-{kafka_topic}"\n[sink]\npath = "{tmp_path / "logs.db"}"\n')
    received = _notifications(tmp_path, ["consumer", "run"], config)
    assert received[0] == "READY=1" and received.count("WATCHDOG=1") >= 3 and "STOPPING=1" in received, received
