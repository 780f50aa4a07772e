"""Issue 14, "Noise": the demo's shipper logged text while its consumer logged JSON. The configs compose/demo.sh writes
are taken from the script itself and run against a real broker: off a terminal both programs write JSON lines of the
same shape; on a terminal (a real pseudo-terminal) both write human text."""

import os
import pty
import re
import select
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.support.kafka import ROOT, new_topic

pytestmark = pytest.mark.kafka

HEREDOC = re.compile(r'cat >"\$state/(?P<name>\w+)\.toml" <<TOML\n(?P<body>.*?)\nTOML\n', re.S)
SHAPE = {"ts", "level", "logger", "msg"}
"""The keys every JSON log line of either program starts with (logferry.logs)."""


def demo_configs(script: str, state: Path, bootstrap: str, topic: str) -> dict[str, Path]:
    """The TOML files `script` (compose/demo.sh's text) writes, with its variables filled in, on a topic and a group
    of this test's own."""
    found = {}
    for match in HEREDOC.finditer(script):
        body = (match.group("body").replace("$state", str(state)).replace("$bootstrap", bootstrap)
                .replace("$PWD", str(ROOT)).replace("logferry-demo-indexer", f"{topic}-indexer")
                .replace("logferry-demo", topic))
        path = state / f"{match.group('name')}.toml"
        path.write_text(body)
        found[match.group("name")] = path
    assert set(found) == {"shipper", "consumer"}, "compose/demo.sh writes a shipper.toml and a consumer.toml"
    return found


def demo_commands(configs: dict[str, Path]) -> list[list[str]]:
    """The two `run` commands of compose/demo.sh."""
    return [
        [sys.executable, "-m", "shipper", "run", "--config", str(configs["shipper"]), "--once"],
        [sys.executable, "-m", "consumer", "run", "--config", str(configs["consumer"]), "--once", "--idle-timeout", "3"],
    ]


def json_lines(stderr: str) -> list[dict[str, Any]]:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines, "the program logged nothing"
    records = []
    for line in lines:
        try:
            records.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            raise AssertionError(f"not a JSON log line: {line!r}") from None
    return records


def on_a_terminal(command: list[str], timeout: float = 120) -> tuple[int, str]:
    """Run `command` with its stdout and stderr on a new pseudo-terminal; its exit code and what it printed."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(command, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=follower, stderr=follower)
    os.close(follower)
    output = bytearray()
    try:
        while True:
            ready, _, _ = select.select([leader], [], [], timeout)
            if not ready:
                raise AssertionError(f"no output for {timeout} s from {command}")
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the terminal's other end is closed, the program ended
                break
            if not chunk:
                break
            output += chunk
        return process.wait(60), output.decode(errors="replace")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(leader)


def test_off_a_terminal_the_demo_s_shipper_and_consumer_log_json_lines_of_one_shape(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    topic = new_topic(kafka_bootstrap, prefix=f"demo-{uuid.uuid4().hex[:6]}")
    configs = demo_configs((ROOT / "compose" / "demo.sh").read_text(), tmp_path, kafka_bootstrap, topic)
    shapes = {}
    for command in demo_commands(configs):
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)
        assert result.returncode == 0, result.stderr
        records = json_lines(result.stderr)
        assert all(list(record)[:4] == ["ts", "level", "logger", "msg"] for record in records), records[0]
        shapes[command[2]] = {key: type(records[0][key]) for key in SHAPE}
    assert shapes["shipper"] == shapes["consumer"]


def test_on_a_terminal_both_log_human_text(tmp_path: Path, kafka_bootstrap: str) -> None:
    topic = new_topic(kafka_bootstrap, prefix=f"demo-{uuid.uuid4().hex[:6]}")
    configs = demo_configs((ROOT / "compose" / "demo.sh").read_text(), tmp_path, kafka_bootstrap, topic)
    for command in demo_commands(configs):
        code, printed = on_a_terminal(command)
        assert code == 0, printed
        lines = [line for line in re.sub(r"\x1b\[K|\r", "\n", printed).splitlines() if line.strip()]
        assert lines and not any(line.lstrip().startswith("{") for line in lines), lines[:3]
