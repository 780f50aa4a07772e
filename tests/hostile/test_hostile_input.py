"""Hostile input: each gets a clear error or a flagged event, never a crash or a silent drop, and the rest ships.

Every test puts good lines next to the hostile thing and checks that all good lines arrived exactly once.
"""

import gzip
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import shipper.harvest.harvester as harvester_module
from shipper.runner import run_shipper
from tests.shipper.support import assert_exactly_once, lines, make_config, shipped, wait_for_count, write_lines

ROOT = Path(__file__).resolve().parents[2]


def ship(tmp_path: Path, bootstrap: str, topic: str, pattern: str = "*.log", **options: Any) -> list[dict[str, Any]]:
    config = make_config(tmp_path / "state", bootstrap, topic, [str(tmp_path / "logs" / pattern)], **options)
    assert run_shipper(config, threading.Event(), once=True) == 0
    return shipped(bootstrap, topic)


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    directory = tmp_path / "logs"
    directory.mkdir()
    return directory


def good_file(logs: Path, name: str = "good.log", count: int = 50) -> list[str]:
    good = lines(name, count)
    write_lines(logs / name, good)
    return good


def events_of(events: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [e for e in events if e["attributes"]["log.file.name"] == name]


def test_invalid_utf8_is_replaced_and_flagged(tmp_path: Path, logs: Path, kafka_bootstrap: str, kafka_topic: str) -> None:
    good = good_file(logs)
    (logs / "bad.log").write_bytes(b"before\nbroken \xff\xfe\xc3( bytes\nafter\n")
    events = ship(tmp_path, kafka_bootstrap, kafka_topic)
    assert_exactly_once(events_of(events, "good.log"), good)
    bad = events_of(events, "bad.log")
    assert [e["body"] for e in bad] == ["before", "broken \ufffd\ufffd\ufffd( bytes", "after"]
    assert "encoding_replaced" in bad[1]["flags"]
    assert "flags" not in bad[0] or "encoding_replaced" not in bad[0]["flags"]


def test_lone_surrogate_in_utf16_is_replaced_and_flagged(
    tmp_path: Path, logs: Path, kafka_bootstrap: str, kafka_topic: str
) -> None:
    lone = "x".encode("utf-16-le") + b"\x00\xd8" + "y".encode("utf-16-le")  # U+D800 with no low surrogate
    data = b"\xff\xfe" + "first\r\n".encode("utf-16-le") + lone + "\r\n".encode("utf-16-le") + "last\r\n".encode("utf-16-le")
    (logs / "wide.log").write_bytes(data)
    events = ship(tmp_path, kafka_bootstrap, kafka_topic, encoding="utf-16")
    bodies = [e["body"] for e in events]
    assert bodies[0] == "first" and bodies[2] == "last"
    assert bodies[1].startswith("x") and bodies[1].endswith("y") and "\ufffd" in bodies[1]
    assert "encoding_replaced" in events[1]["flags"]


def test_nul_bytes_ship(tmp_path: Path, logs: Path, kafka_bootstrap: str, kafka_topic: str) -> None:
    good = good_file(logs)
    (logs / "nul.log").write_bytes(b"a\x00b\n\x00\x00\x00\nend\n")
    events = ship(tmp_path, kafka_bootstrap, kafka_topic)
    assert_exactly_once(events_of(events, "good.log"), good)
    assert [e["body"] for e in events_of(events, "nul.log")] == ["a\x00b", "\x00\x00\x00", "end"]


@pytest.mark.slow
def test_100_mib_line_without_newline_is_truncated_and_flagged(
    tmp_path: Path, logs: Path, kafka_bootstrap: str, kafka_topic: str
) -> None:
    good = good_file(logs)
    with open(logs / "huge.log", "wb") as handle:
        handle.write(b"small first line\n")
        chunk = b"z" * (1 << 20)
        for _ in range(100):
            handle.write(chunk)
    events = ship(tmp_path, kafka_bootstrap, kafka_topic)
    assert_exactly_once(events_of(events, "good.log"), good)
    huge = events_of(events, "huge.log")
    assert huge[0]["body"] == "small first line"
    assert len(huge) == 2, "the unterminated 100 MiB line must still ship, truncated"
    assert "truncated" in huge[1]["flags"]
    assert 0 < len(huge[1]["body"]) <= 1_048_576


def test_binary_file_matched_by_glob_ships_flagged_and_does_not_stop_others(
    tmp_path: Path, logs: Path, kafka_bootstrap: str, kafka_topic: str
) -> None:
    good = good_file(logs)
    payload = bytes(range(256)) * 64 + b"\n" + os.urandom(20000) + b"\n"
    (logs / "image.log").write_bytes(payload)
    (logs / "archive.log").write_bytes(gzip.compress(b"not a log\n" * 100) + b"\n")
    events = ship(tmp_path, kafka_bootstrap, kafka_topic)
    assert_exactly_once(events_of(events, "good.log"), good)
    binary = events_of(events, "image.log") + events_of(events, "archive.log")
    assert binary, "the binary files produced no event"
    assert any("encoding_replaced" in e.get("flags", []) for e in binary)


def test_file_that_disappears_between_discovery_and_open(
    tmp_path: Path, logs: Path, kafka_bootstrap: str, kafka_topic: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = good_file(logs)
    write_lines(logs / "vanishing.log", ["gone before it was opened"])
    real_open = harvester_module.platform.open_for_reading

    def open_after_delete(path: str) -> Any:
        if path.endswith("vanishing.log"):
            os.remove(path)
        return real_open(path)

    monkeypatch.setattr(harvester_module.platform, "open_for_reading", open_after_delete)
    events = ship(tmp_path, kafka_bootstrap, kafka_topic)
    assert_exactly_once(events, good)


def test_directory_where_a_file_was_expected_is_skipped(
    tmp_path: Path, logs: Path, kafka_bootstrap: str, kafka_topic: str
) -> None:
    good = good_file(logs)
    (logs / "dir.log").mkdir()
    write_lines(logs / "dir.log" / "inner.txt", ["not matched"])
    events = ship(tmp_path, kafka_bootstrap, kafka_topic)
    assert_exactly_once(events, good)


def test_symlink_loops_do_not_hang_or_stop_shipping(tmp_path: Path, logs: Path, kafka_bootstrap: str, kafka_topic: str) -> None:
    good = good_file(logs)
    (logs / "sub").mkdir()
    sub_good = lines("sub", 5)
    write_lines(logs / "sub" / "inner.log", sub_good)
    os.symlink(logs, logs / "sub" / "loop")  # a directory loop under **
    os.symlink(logs / "b.log", logs / "a.log")  # a file-link loop
    os.symlink(logs / "a.log", logs / "b.log")
    events = ship(tmp_path, kafka_bootstrap, kafka_topic, pattern="**/*.log")
    assert_exactly_once(events, good + sub_good)


def test_json_nested_10000_deep_is_kept_with_a_parse_error(
    tmp_path: Path, logs: Path, kafka_bootstrap: str, kafka_topic: str
) -> None:
    deep = "[" * 10_000 + "]" * 10_000
    nested = '{"a":' * 10_000 + "1" + "}" * 10_000
    (logs / "deep.log").write_text(f'{{"msg": "fine"}}\n{deep}\n{nested}\n{{"msg": "also fine"}}\n')
    events = ship(tmp_path, kafka_bootstrap, kafka_topic, fmt="json")
    assert [e["body"] for e in events][0::3] == ["fine", "also fine"]
    for event, raw in zip(events[1:3], (deep, nested), strict=True):
        assert event["parse_error"] is True and event["parse_error_reason"]
        assert event["body"] == raw or event["attributes"].get("log.record.original") == raw


def test_syslog_with_5000_structured_data_elements_ships(
    tmp_path: Path, logs: Path, kafka_bootstrap: str, kafka_topic: str
) -> None:
    elements = "".join(f'[sd{i}@32473 k="v{i}" q="a\\"b\\]c"]' for i in range(5000))
    line = f"<165>1 2024-05-01T02:00:01.123456Z host app 42 ID47 {elements} the message"
    (logs / "sd.log").write_text("<34>1 2024-05-01T02:00:00Z host app - - - first\n" + line + "\n")
    events = ship(tmp_path, kafka_bootstrap, kafka_topic, fmt="syslog")
    assert len(events) == 2
    big = events[1]
    assert big["parse_error"] or big["body"] == "the message"
    assert big["timestamp"] == "2024-05-01T02:00:01.123456000Z" or big["parse_error"]


def test_unreadable_file_is_logged_retried_and_shipped_once_readable(
    tmp_path: Path, logs: Path, kafka_bootstrap: str, kafka_topic: str
) -> None:
    good = good_file(logs)
    secret = lines("locked", 7)
    write_lines(logs / "locked.log", secret)
    os.chmod(logs / "locked.log", 0)
    config = tmp_path / "shipper.toml"
    config.write_text(json_to_toml(tmp_path, kafka_bootstrap, kafka_topic))
    # We run as root here: drop the capabilities that let root read any file, as an unprivileged service has none.
    process = subprocess.Popen(
        [
            "setpriv",
            "--bounding-set=-dac_override,-dac_read_search",
            sys.executable,
            "-m",
            "shipper",
            "run",
            "--config",
            str(config),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_count(kafka_bootstrap, kafka_topic, len(good), timeout=60)
        time.sleep(1.0)
        os.chmod(logs / "locked.log", 0o644)
        wait_for_count(kafka_bootstrap, kafka_topic, len(good) + len(secret), timeout=60)
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, output.decode(errors="replace")[-2000:]
    records = [json.loads(line) for line in output.decode().splitlines() if line.startswith("{")]
    assert any("locked.log" in json.dumps(r) and r["level"] in ("warning", "error") for r in records), output[-2000:]
    assert "Traceback" not in output.decode(errors="replace")
    assert_exactly_once(shipped(kafka_bootstrap, kafka_topic), good + secret)


def json_to_toml(tmp_path: Path, bootstrap: str, topic: str) -> str:
    return f"""
[shipper]
state_dir = "{tmp_path / "state"}"
host_id = "test-host"
rescan_interval = 0.3
checkpoint_interval = 0.3
log_format = "json"

[kafka]
bootstrap_servers = "{bootstrap}"
topic = "{topic}"

[[inputs]]
id = "app"
paths = ["{tmp_path / "logs" / "*.log"}"]
format = "plain"
"""
