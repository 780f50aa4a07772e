"""`shipper exec` of Windows programs, run by the Windows CPython (under Wine in CI) against the real broker: cmd.exe's
exit code, and its output in the console code page (cmd /c: the OEM one on Windows, the ANSI one under Wine, which
has no console) or UTF-16 (cmd /u /c) read back right; a timeout ends the Job Object."""

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from tests.shipper.support import shipped

pytestmark = [pytest.mark.windows, pytest.mark.kafka]

ROOT = Path(__file__).resolve().parents[2]


def _config(tmp_path: Path, bootstrap: str, topic: str) -> Path:
    path = tmp_path / "shipper.toml"
    state, nothing = tmp_path / "state", tmp_path / "none" / "*.log"
    path.write_text(
        f"[shipper]\nstate_dir = '{state}'\nhost_id = 'wine-jobs'\nlog_format = 'json'\n"
        f"[kafka]\nbootstrap_servers = '{bootstrap}'\ntopic = '{topic}'\nlinger_ms = 5\n"
        f"[[inputs]]\nid = 'nothing'\npaths = ['{nothing}']\n",
        encoding="utf-8",
    )
    return path


def _exec(config: Path, job: str, *program: str) -> subprocess.CompletedProcess[bytes]:
    command = [sys.executable, "-m", "shipper", "exec", "--config", str(config), "--job", job, "--quiet", "--", *program]
    return subprocess.run(command, capture_output=True, timeout=300, cwd=ROOT, stdin=subprocess.DEVNULL)


def _spooled(tmp_path: Path) -> list[dict[str, object]]:
    return [orjson.loads(line) for path in sorted((tmp_path / "state" / "jobs").glob("*.jsonl"))
            for line in path.read_bytes().splitlines()]


@pytest.mark.parametrize("unicode_output", [False, True], ids=["oem-code-page", "utf-16"])
def test_cmd_exit_code_5_and_its_output_decoded(
    tmp_path: Path, kafka_bootstrap: str, kafka_topic: str, unicode_output: bool,
) -> None:
    config = _config(tmp_path, kafka_bootstrap, kafka_topic)
    switches = ["/u"] if unicode_output else []
    result = _exec(config, "wincmd", "cmd.exe", *switches, "/c", "echo café crème& echo zweite Zeile& exit /b 5")
    assert result.returncode == 5, result.stderr.decode(errors="replace")
    records = _spooled(tmp_path)
    output = [r for r in records if r["event.name"] == "job.output"]
    assert [r["message"] for r in output] == ["café crème", "zweite Zeile"]
    (end,) = [r for r in records if r["event.name"] == "job.end"]
    assert end["job.exit_code"] == 5 and end["job.outcome"] == "failed"
    events = shipped(kafka_bootstrap, kafka_topic)
    assert sorted(e["body"] for e in events if e["attributes"]["event.name"] == "job.output") == [
        "café crème", "zweite Zeile"]
    assert [e["attributes"]["job.exit_code"] for e in events if e["attributes"]["event.name"] == "job.end"] == [5]


def test_timeout_ends_the_job_object_tree(tmp_path: Path, kafka_bootstrap: str, kafka_topic: str) -> None:
    config = _config(tmp_path, kafka_bootstrap, kafka_topic)
    command = [sys.executable, "-m", "shipper", "exec", "--config", str(config), "--job", "hang", "--quiet",
               "--timeout", "3s", "--", sys.executable, "-c", "import time; print('hanging', flush=True); time.sleep(300)"]
    result = subprocess.run(command, capture_output=True, timeout=300, cwd=ROOT, stdin=subprocess.DEVNULL)
    records = _spooled(tmp_path)
    (end,) = [r for r in records if r["event.name"] == "job.end"]
    assert end["job.timed_out"] is True and end["job.outcome"] == "timed_out"
    assert result.returncode == end["job.exit_code"] == 1  # TerminateJobObject's exit code
    assert [r["message"] for r in records if r["event.name"] == "job.output"] == ["hanging"]
