"""Issue 14, "The test suite flakes": a failed test left its consumer process running (parent 1, for 16 minutes), and
`make test` stopped at the first failure, so the Windows stage never ran.

- A test that starts a consumer worker and then fails (a real pytest run, in a subprocess, of a test using the consumer
  tests' own autouse finaliser) leaves no process behind.
- The project's Makefile, run by make with its tools replaced by recorders (the Linux stage's pytest fails), still
  runs the Windows stage, prints both results and fails at the end.
"""

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.consumer.helpers import ROOT

FAILING_TEST = '''
from pathlib import Path

from tests.consumer.conftest import no_consumer_outlives_its_test  # noqa: F401 - the consumer tests' finaliser
from tests.consumer.helpers import make_events, produce, sqlite_config, start_consumer, wait_for


def test_starts_a_worker_then_fails(tmp_path: Path) -> None:
    bootstrap, topic = {bootstrap!r}, {topic!r}
    produce(bootstrap, topic, make_events(3))
    config = sqlite_config(tmp_path / "logs.db", bootstrap, topic, "suite-" + topic)
    worker = start_consumer("run", "--config", str(config), log=tmp_path / "consumer.log")
    Path({pid_file!r}).write_text(str(worker.pid))
    wait_for(lambda: (tmp_path / "logs.db").exists(), 60, "the worker to open its index")
    assert worker.poll() is None
    raise AssertionError("this test fails on purpose, with its worker running")
'''


def alive(pid: int) -> bool:
    """Whether a process `pid` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.mark.kafka
def test_a_failing_test_leaves_no_consumer_process_behind(tmp_path: Path, kafka_bootstrap: str, kafka_topic: str) -> None:
    pid_file = tmp_path / "worker.pid"
    test_file = tmp_path / "test_fails_with_a_worker.py"
    test_file.write_text(FAILING_TEST.format(bootstrap=kafka_bootstrap, topic=kafka_topic, pid_file=str(pid_file)))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path), str(test_file)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT), "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap},
    )
    assert result.returncode == 1 and "1 failed" in result.stdout, result.stdout + result.stderr
    assert "this test fails on purpose" in result.stdout
    pid = int(pid_file.read_text())
    assert not alive(pid), f"the failed test's consumer worker (pid {pid}) is still running"


RECORDER = """#!/bin/sh
echo "$(basename "$0") $*" >> "{log}"
case "$*" in
  *"-m pytest"*) exit 1 ;;  # the Linux suite fails
esac
exit 0
"""


def test_make_test_runs_the_windows_stage_after_a_failed_linux_stage_and_fails_at_the_end(tmp_path: Path) -> None:
    make = shutil.which("make")
    assert make is not None, "make is missing (.ci/run installs it)"
    project = tmp_path / "project"
    (project / ".venv" / "bin").mkdir(parents=True)
    shutil.copy(ROOT / "Makefile", project / "Makefile")
    for name in ("pyproject.toml", "setup.py"):
        (project / name).write_text("")
    log = tmp_path / "ran.log"
    for tool in ("python", "ruff", "mypy"):
        path = project / ".venv" / "bin" / tool
        path.write_text(textwrap.dedent(RECORDER.format(log=log)))
        path.chmod(0o755)
    installed = project / ".venv" / ".installed"
    installed.touch()  # `install` is done: newer than pyproject.toml and setup.py
    os.utime(installed, (os.stat(project / "setup.py").st_mtime + 10,) * 2)
    env = {key: value for key, value in os.environ.items() if not key.startswith("MAKE")}
    result = subprocess.run([make, "--no-print-directory", "test"], cwd=project, capture_output=True, text=True,
                            timeout=120, env=env)
    ran = log.read_text().splitlines()
    assert any("-m pytest" in line for line in ran), ran
    assert any("run_windows_tests.py" in line for line in ran), f"the Windows stage did not run: {ran}"
    assert result.returncode != 0, "a failed Linux stage must fail make test"
    assert "test-linux: FAILED" in result.stdout and "test-windows: passed" in result.stdout, result.stdout
    assert result.stdout.rstrip().endswith("make test: FAILED")
