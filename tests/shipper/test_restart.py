"""Restarts: acknowledged lines are not sent again, a partial line ships once, SIGTERM persists checkpoints."""

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import orjson

from shipper.checkpoint.store import FORMAT_VERSION
from tests.shipper.support import (
    assert_exactly_once,
    lines,
    make_config,
    run_once,
    shipped,
    topic_size,
    wait_for_count,
    write_lines,
)
from tests.support.kafka import ROOT


def test_restart_resumes_without_resending_acknowledged_lines(tmp_path: Path, kafka_bootstrap: str, kafka_topic: str) -> None:
    path = tmp_path / "app.log"
    config = make_config(tmp_path / "state", kafka_bootstrap, kafka_topic, [str(tmp_path / "*.log")])
    first, second = lines("first", 1000), lines("second", 100)
    write_lines(path, first)
    assert run_once(config) == 0
    assert topic_size(kafka_bootstrap, kafka_topic) == 1000
    write_lines(path, second)
    assert run_once(config) == 0
    assert run_once(config) == 0
    assert_exactly_once(shipped(kafka_bootstrap, kafka_topic), first + second)


def test_partial_line_across_restart_is_shipped_once(tmp_path: Path, kafka_bootstrap: str, kafka_topic: str) -> None:
    path = tmp_path / "app.log"
    config = make_config(tmp_path / "state", kafka_bootstrap, kafka_topic, [str(tmp_path / "*.log")])
    path.write_bytes(b"complete line\r\nhalf of a li")
    assert run_once(config) == 0
    assert topic_size(kafka_bootstrap, kafka_topic) == 1
    with open(path, "ab") as handle:
        handle.write(b"ne\nnext\n")
    assert run_once(config) == 0
    events = shipped(kafka_bootstrap, kafka_topic)
    assert_exactly_once(events, ["complete line", "half of a line", "next"])
    offsets = sorted(e["attributes"]["log.file.record_offset"] for e in events)
    assert offsets == [0, 15, 30]


def test_shutdown_by_sigterm_persists_checkpoints(tmp_path: Path, kafka_bootstrap: str, kafka_topic: str) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    sent = lines("before sigterm", 2000)
    write_lines(logs / "app.log", sent)
    state = tmp_path / "state"
    config_file = tmp_path / "shipper.toml"
    config_file.write_text(
        f'[shipper]\nstate_dir = "{state}"\nhost_id = "test-host"\ncheckpoint_interval = 60.0\n'
        f'[kafka]\nbootstrap_servers = "{kafka_bootstrap}"\ntopic = "{kafka_topic}"\n'
        f'[[inputs]]\nid = "app"\npaths = ["{logs}/*.log"]\nformat = "plain"\n'
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "shipper", "run", "--config", str(config_file)], cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        wait_for_count(kafka_bootstrap, kafka_topic, 2000)
        assert not (state / "checkpoints.json").exists(), "the interval is long: only the shutdown writes checkpoints"
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, stderr.decode()[-2000:]
    document = orjson.loads((state / "checkpoints.json").read_bytes())
    assert document["version"] == FORMAT_VERSION
    [checkpoint] = document["checkpoints"]
    assert checkpoint["offset"] == os.path.getsize(logs / "app.log")
    # A second run sends nothing again.
    config = make_config(state, kafka_bootstrap, kafka_topic, [str(logs / "*.log")])
    assert run_once(config) == 0
    time.sleep(0.2)
    assert_exactly_once(shipped(kafka_bootstrap, kafka_topic), sent)


def test_a_multiline_event_held_at_shutdown_ships_once_after_restart(
    tmp_path: Path, kafka_bootstrap: str, kafka_topic: str
) -> None:
    from shipper.config import parse_config
    from tests.shipper.support import FAST, RunningShipper

    path = tmp_path / "app.log"
    config = parse_config({
        "shipper": {"state_dir": str(tmp_path / "state"), "host_id": "test-host", **FAST},
        "kafka": {"bootstrap_servers": kafka_bootstrap, "topic": kafka_topic, "linger_ms": 5},
        "inputs": [{
            "id": "app", "paths": [str(path)], "format": "plain",
            "multiline": {"mode": "start", "pattern": r"^\d{4}-", "flush_timeout": 600.0},
        }],
    })
    path.write_text("2024-01-01 first\n  continued\n2024-01-02 second\n  also continued\n")
    with RunningShipper(config):
        wait_for_count(kafka_bootstrap, kafka_topic, 1)  # the second event is held: another line may continue it
        time.sleep(0.5)
    checkpoint = orjson.loads((tmp_path / "state" / "checkpoints.json").read_bytes())["checkpoints"][0]
    assert checkpoint["offset"] == len("2024-01-01 first\n  continued\n"), "never past the held record"
    assert run_once(config) == 0
    events = shipped(kafka_bootstrap, kafka_topic)
    assert sorted(e["body"] for e in events) == ["2024-01-01 first\n  continued", "2024-01-02 second\n  also continued"]


def test_checkpoints_of_files_long_gone_are_forgotten_and_present_ones_kept(
    tmp_path: Path, kafka_bootstrap: str, kafka_topic: str
) -> None:
    from shipper.checkpoint.store import JsonFileStore

    write_lines(tmp_path / "kept.log", ["kept"])
    write_lines(tmp_path / "gone.log", ["gone"])
    config = make_config(
        tmp_path / "state", kafka_bootstrap, kafka_topic, [str(tmp_path / "*.log")], shipper={"checkpoint_retention": 60.0}
    )
    assert run_once(config) == 0
    store = JsonFileStore(tmp_path / "state" / "checkpoints.json")
    aged = {key: replace(entry, updated=entry.updated - 3600) for key, entry in store.load().items()}
    store.save(aged.values())
    (tmp_path / "gone.log").unlink()
    assert run_once(config) == 0
    assert [entry.path for entry in store.load().values()] == [str(tmp_path / "kept.log")]
    assert topic_size(kafka_bootstrap, kafka_topic) == 2, "the kept file was not shipped again"
