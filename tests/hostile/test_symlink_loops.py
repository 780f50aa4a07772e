"""Two directory symlink loops under a `**` glob (`sub/a -> .`, `sub/b -> .`): glob.iglob named 2^40 paths for
them, so the shipper never shipped a line and ignored SIGTERM, also with `--once` (issue #11, Why 2).

The shipper runs as `python -m shipper run` against the real broker; every process is killed in a finaliser
whatever happens, and each wait has a deadline, so the old code fails these tests instead of hanging them.
"""

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.shipper.support import assert_exactly_once, lines, shipped, wait_for_count, write_lines

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def looped_tree(tmp_path: Path) -> tuple[Path, list[str]]:
    """logs/top.log and logs/sub/inner.log, with sub/a and sub/b both linking back to sub."""
    logs = tmp_path / "logs"
    (logs / "sub").mkdir(parents=True)
    top, inner = lines("top", 200), lines("inner", 50)
    write_lines(logs / "top.log", top)
    write_lines(logs / "sub" / "inner.log", inner)
    os.symlink(".", logs / "sub" / "a")
    os.symlink(".", logs / "sub" / "b")
    return logs, top + inner


def config_file(tmp_path: Path, logs: Path, bootstrap: str, topic: str) -> Path:
    path = tmp_path / "shipper.toml"
    path.write_text(
        f'[shipper]\nstate_dir = "{tmp_path / "state"}"\nhost_id = "test-host"\nrescan_interval = 0.5\n'
        f'shutdown_timeout = 20.0\nlog_format = "json"\n'
        f'[kafka]\nbootstrap_servers = "{bootstrap}"\ntopic = "{topic}"\nlinger_ms = 5\n'
        f'[[inputs]]\nid = "app"\npaths = ["{logs}/**/*.log"]\nformat = "plain"\n'
    )
    return path


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    """The shipper processes a test starts; any still running at the end is killed."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=30)


def start(processes: list[subprocess.Popen[bytes]], config: Path, *extra: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "shipper", "run", "--config", str(config), *extra], cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    processes.append(process)
    return process


def test_run_once_ships_the_real_files_under_two_loops_and_exits(
    tmp_path: Path, looped_tree: tuple[Path, list[str]], kafka_bootstrap: str, kafka_topic: str,
    processes: list[subprocess.Popen[bytes]],
) -> None:
    logs, expected = looped_tree
    process = start(processes, config_file(tmp_path, logs, kafka_bootstrap, kafka_topic), "--once")
    try:
        _, stderr = process.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        pytest.fail("run --once did not finish within 90 s under two symlink loops")
    assert process.returncode == 0, stderr.decode()[-2000:]
    assert_exactly_once(shipped(kafka_bootstrap, kafka_topic), expected)


def test_run_ships_under_two_loops_and_honours_sigterm_promptly(
    tmp_path: Path, looped_tree: tuple[Path, list[str]], kafka_bootstrap: str, kafka_topic: str,
    processes: list[subprocess.Popen[bytes]],
) -> None:
    logs, expected = looped_tree
    process = start(processes, config_file(tmp_path, logs, kafka_bootstrap, kafka_topic))
    wait_for_count(kafka_bootstrap, kafka_topic, len(expected), timeout=60)
    # A few rescans (every 0.5 s) walk the loops again while it runs; a line appended meanwhile ships too.
    write_lines(logs / "sub" / "inner.log", ["appended while running"])
    wait_for_count(kafka_bootstrap, kafka_topic, len(expected) + 1, timeout=60)
    process.send_signal(signal.SIGTERM)
    try:
        _, stderr = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail("SIGTERM was not honoured within 30 s")
    assert process.returncode == 0, stderr.decode()[-2000:]
    assert_exactly_once(shipped(kafka_bootstrap, kafka_topic), [*expected, "appended while running"])
