"""The command line around a real run: status, checkpoints show/reset (replay), metrics and health."""

import os
import socket
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import orjson

from shipper.runner import run_shipper
from tests.shipper.support import lines, make_config, run_once, shipped, topic_size, wait_for_count, write_lines
from tests.support.kafka import ROOT
from tests.support.metrics import scrape, value


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "shipper", *args], cwd=ROOT, capture_output=True, text=True, timeout=60)


def _config_file(tmp_path: Path, bootstrap: str, topic: str) -> Path:
    path = tmp_path / "shipper.toml"
    path.write_text(
        f'[shipper]\nstate_dir = "{tmp_path / "state"}"\nhost_id = "test-host"\n'
        f'[kafka]\nbootstrap_servers = "{bootstrap}"\ntopic = "{topic}"\n'
        f'[[inputs]]\nid = "app"\npaths = ["{tmp_path}/logs/*.log"]\nformat = "plain"\n'
    )
    return path


def test_status_shows_bytes_behind_and_reset_replays_with_the_same_event_ids(
    tmp_path: Path, kafka_bootstrap: str, kafka_topic: str
) -> None:
    (tmp_path / "logs").mkdir()
    log = tmp_path / "logs" / "app.log"
    write_lines(log, lines("x", 100))
    config_file = _config_file(tmp_path, kafka_bootstrap, kafka_topic)
    assert _cli("run", "--once", "--config", str(config_file)).returncode == 0
    write_lines(log, lines("y", 10))
    result = _cli("status", "--config", str(config_file), "--json")
    assert result.returncode == 0, result.stderr
    [row, shipper] = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert row["path"] == str(log) and row["behind"] == log.stat().st_size - row["offset"] > 0
    assert row["input_id"] == "app" and row["last_read"] > 0
    assert shipper["shipper"]["running"] is False and shipper["shipper"]["pid"] is None

    replay_from = len(lines("x", 50)[0]) + 1  # mid-line offsets snap to the next line start
    result = _cli("checkpoints", "reset", "--config", str(config_file), "--offset", str(replay_from - 3))
    assert result.returncode == 0, result.stderr
    shown = orjson.loads(_cli("checkpoints", "show", "--config", str(config_file), "--json").stdout)
    assert shown["offset"] == replay_from
    assert _cli("run", "--once", "--config", str(config_file)).returncode == 0
    events = shipped(kafka_bootstrap, kafka_topic)
    assert len(events) == 100 + 99 + 10
    assert len({e["event_id"] for e in events}) == 110, "replayed lines keep their event ids"


def test_reset_needs_a_target_and_refuses_while_a_shipper_runs(tmp_path: Path, kafka_bootstrap: str, kafka_topic: str) -> None:
    (tmp_path / "logs").mkdir()
    config_file = _config_file(tmp_path, kafka_bootstrap, kafka_topic)
    result = _cli("checkpoints", "reset", "--config", str(config_file))
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    stop = threading.Event()
    config = make_config(tmp_path / "state", kafka_bootstrap, kafka_topic, [str(tmp_path / "logs" / "*.log")])
    thread = threading.Thread(target=run_shipper, args=(config, stop))
    thread.start()
    try:
        wait_for_count(kafka_bootstrap, kafka_topic, 0)
        result = _cli("checkpoints", "reset", "--config", str(config_file), "--to-start")
        assert result.returncode == 1 and "another shipper is running" in result.stderr
        status = _cli("status", "--config", str(config_file), "--json")
        assert orjson.loads(status.stdout.splitlines()[-1])["shipper"] == {
            "running": True, "pid": os.getpid(), "state_dir": str(tmp_path / "state")}
        assert f"shipper: running, pid {os.getpid()}" in _cli("status", "--config", str(config_file)).stdout
    finally:
        stop.set()
        thread.join(30)


def test_show_and_reset_match_current_and_recorded_paths_and_say_when_nothing_matched(
    tmp_path: Path, kafka_bootstrap: str, kafka_topic: str
) -> None:
    (tmp_path / "logs").mkdir()
    log = tmp_path / "logs" / "rot.log"
    write_lines(log, lines("a", 20))
    config_file = _config_file(tmp_path, kafka_bootstrap, kafka_topic)
    assert _cli("run", "--once", "--config", str(config_file)).returncode == 0
    log.rename(tmp_path / "logs" / "rot.log.1")  # rotated: no longer matched by *.log, its checkpoint stays
    write_lines(log, lines("b", 5))
    (tmp_path / "logs" / "other.log").write_text("")
    config_file.write_text(config_file.read_text().replace('/logs/*.log"]', '/logs/rot.log*"]'))
    assert _cli("run", "--once", "--config", str(config_file)).returncode == 0

    listing = _cli("checkpoints", "show", "--config", str(config_file), "--json").stdout
    shown = [orjson.loads(line) for line in listing.splitlines()]
    assert sorted(str(s["current_path"]) for s in shown) == [str(log), str(log) + ".1"]
    rotated = _cli("checkpoints", "show", "--config", str(config_file), "--path", "rot.log.1")
    assert rotated.returncode == 0 and rotated.stdout.startswith(str(log) + ".1  ") and len(rotated.stdout.splitlines()) == 1
    deep = _cli("checkpoints", "show", "--config", str(config_file), "--path", f"{tmp_path}/**/rot.log.1")
    assert deep.stdout == rotated.stdout
    reset = _cli("checkpoints", "reset", "--config", str(config_file), "--path", "rot.log.1", "--to-start")
    assert reset.returncode == 0 and reset.stdout.splitlines() == [f"{log}.1: checkpoint set to 0", "1 checkpoint(s) reset"]

    for action in (["show"], ["reset", "--to-start"]):
        result = _cli("checkpoints", *action, "--config", str(config_file), "--path", "app")
        assert result.returncode == 1 and result.stderr.strip() == "No " + (
            "checkpoint" if action == ["show"] else "file") + " matches --path 'app'."


def test_metrics_and_health_are_served_on_localhost(tmp_path: Path, kafka_bootstrap: str, kafka_topic: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    write_lines(tmp_path / "app.log", lines("m", 30))
    config = make_config(
        tmp_path / "state", kafka_bootstrap, kafka_topic, [str(tmp_path / "*.log")],
        shipper={"metrics_address": f"127.0.0.1:{port}"},
    )
    stop = threading.Event()
    thread = threading.Thread(target=run_shipper, args=(config, stop))
    thread.start()
    try:
        wait_for_count(kafka_bootstrap, kafka_topic, 30)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as response:
            assert response.status == 200
        families = scrape(f"127.0.0.1:{port}")
        assert value(families, "logferry_shipper_read_lines_total") == 30
        assert value(families, "logferry_shipper_events_total", format="plain") == 30
        assert value(families, "logferry_shipper_open_files") == 1
    finally:
        stop.set()
        thread.join(30)
    assert run_once(config) == 0
    assert topic_size(kafka_bootstrap, kafka_topic) == 30


def test_a_backfill_reports_its_progress_in_bytes_and_ends_at_the_files_size(
    tmp_path: Path, kafka_bootstrap: str, kafka_topic: str
) -> None:
    (tmp_path / "logs").mkdir()
    log = tmp_path / "logs" / "app.log"
    write_lines(log, lines("p", 2000))
    config_file = _config_file(tmp_path, kafka_bootstrap, kafka_topic)
    config_file.write_text(config_file.read_text().replace("[shipper]\n", '[shipper]\nprogress = "log"\nlog_format = "json"\n'))
    result = _cli("run", "--once", "--config", str(config_file))
    assert result.returncode == 0, result.stderr
    reports = [orjson.loads(line) for line in result.stderr.splitlines() if '"msg":"Progress."' in line]
    assert reports, result.stderr
    assert (reports[-1]["bytes_done"], reports[-1]["bytes_left"]) == (log.stat().st_size, 0)
