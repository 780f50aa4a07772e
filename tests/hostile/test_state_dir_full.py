"""Why 6: the state directory full. A checkpoint write that fails (here EFBIG from RLIMIT_FSIZE, as ENOSPC would)
is retried: the shipper keeps running and shipping, says so once, /health answers 503 naming it meanwhile, and the
checkpoint is written (and /health is 200 again) once space returns."""

import os
import resource
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import orjson

from tests.shipper.support import lines, shipped, topic_size, wait_until, write_lines
from tests.support.health import health, problems
from tests.support.kafka import ROOT
from tests.support.proxy import free_port

FILE_SIZE_LIMIT = 64  # bytes: the lock file (a pid) fits, no checkpoint file does


def _limit_file_size() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead of killing
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, resource.RLIM_INFINITY))


def _checkpoint_offset(state: Path) -> int:
    try:
        document = orjson.loads((state / "checkpoints.json").read_bytes())
    except (FileNotFoundError, orjson.JSONDecodeError):
        return -1
    return sum(c["offset"] for c in document["checkpoints"])


def test_a_full_state_directory_is_retried_until_space_returns(
    tmp_path: Path, kafka_bootstrap: str, kafka_topic: str
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    log_file = logs / "app.log"
    first, second = lines("before", 200), lines("while full", 200)
    write_lines(log_file, first)
    state = tmp_path / "state"
    config_file = tmp_path / "shipper.toml"
    port = free_port()
    config_file.write_text(
        f'[shipper]\nstate_dir = "{state}"\nhost_id = "test-host"\ncheckpoint_interval = 0.2\nrescan_interval = 0.2\n'
        f'log_format = "json"\nmetrics_address = "127.0.0.1:{port}"\n'
        f'[kafka]\nbootstrap_servers = "{kafka_bootstrap}"\ntopic = "{kafka_topic}"\nlinger_ms = 5\n'
        f'[[inputs]]\nid = "app"\npaths = ["{logs}/*.log"]\nformat = "plain"\n'
    )
    # stderr through a pipe: a file would be cut at the size limit too. preexec_fn only sets a limit and a
    # signal disposition (both async-signal-safe), so the threads of the test process cannot deadlock it.
    process = subprocess.Popen(
        [sys.executable, "-m", "shipper", "run", "--config", str(config_file)], cwd=ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=_limit_file_size,  # noqa: PLW1509
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    said: list[bytes] = []
    assert process.stderr is not None
    reader = threading.Thread(target=lambda: said.extend(process.stderr), daemon=True)  # type: ignore[arg-type]
    reader.start()

    def output() -> str:
        return b"".join(said).decode(errors="replace")

    try:
        wait_until(lambda: topic_size(kafka_bootstrap, kafka_topic) >= 200, 60, "the first lines")
        time.sleep(1.5)  # several checkpoint intervals, every write failing
        assert process.poll() is None, "the shipper died: " + output()[-2000:]
        write_lines(log_file, second)  # reading goes on while checkpoints cannot be written
        wait_until(lambda: topic_size(kafka_bootstrap, kafka_topic) >= 400, 60, "the lines written while full")
        assert process.poll() is None, "the shipper died: " + output()[-2000:]
        assert _checkpoint_offset(state) <= 0, "no checkpoint can have been written under the limit"
        wait_until(lambda: "checkpoints_failing" in problems(port), 30, "/health naming the failing checkpoints")
        assert health(port)[0] == 503
        resource.prlimit(process.pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        size = log_file.stat().st_size
        wait_until(lambda: _checkpoint_offset(state) == size, 60, "the checkpoint written once space returned")
        wait_until(lambda: health(port)[0] == 200, 30, "/health healthy again")
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    reader.join(10)
    text = output()
    assert process.returncode == 0, text[-2000:]
    assert "Traceback" not in text
    records = [orjson.loads(line) for line in text.splitlines() if line.startswith("{")]
    failed = [r for r in records if "checkpoints cannot be written" in r.get("msg", "")]
    assert len(failed) == 1, f"said {len(failed)} times, once expected"
    assert any("checkpoints are written again" in r.get("msg", "") for r in records)
    events = shipped(kafka_bootstrap, kafka_topic)
    assert sorted(e["body"] for e in events) == sorted(first + second)
