"""The shipper on Windows (or under Wine) ships to the real Kafka broker: UTF-16 with CRLF, delete and recreate,
rotation by rename while the Windows shipper process tails the file, and a clean stop that persists checkpoints."""

import subprocess
import sys
import time
from pathlib import Path

import pytest

from shipper.runner import checkpoint_path
from tests.shipper.support import (
    RunningShipper,
    assert_exactly_once,
    lines,
    make_config,
    run_once,
    shipped,
    topic_size,
    wait_for_count,
    wait_until,
)

pytestmark = [pytest.mark.windows, pytest.mark.kafka]

ROOT = Path(__file__).resolve().parents[2]


def write_utf16(path: Path, text_lines: list[str], *, bom: bool) -> None:
    """What Windows tools (PowerShell 5's Out-File, many services) write: UTF-16 LE, BOM first, CRLF endings."""
    data = "".join(line + "\r\n" for line in text_lines).encode("utf-16-le")
    with open(path, "ab") as handle:
        handle.write((b"\xff\xfe" if bom else b"") + data)


def test_utf16_le_with_bom_and_crlf_ships_correctly(tmp_path: Path, kafka_bootstrap: str, kafka_topic: str) -> None:
    log = tmp_path / "service.log"
    written = ["plain ascii", "café crème, naïve", "日本語のログ", "emoji 🚀 outside the BMP", "tab\tinside", ""]
    write_utf16(log, written, bom=True)
    config = make_config(tmp_path / "state", kafka_bootstrap, kafka_topic, [str(log)], encoding="utf-16")
    assert run_once(config) == 0
    events = shipped(kafka_bootstrap, kafka_topic)
    assert_exactly_once(events, written)
    by_offset = sorted(events, key=lambda e: e["attributes"]["log.file.record_offset"])
    expected_offset = 2  # after the BOM
    for event, line in zip(by_offset, written, strict=True):
        assert event["body"] == line  # no '\r', no BOM, no mojibake
        assert event["attributes"]["log.file.record_offset"] == expected_offset
        expected_offset += len((line + "\r\n").encode("utf-16-le"))


def test_writer_deletes_and_recreates_and_the_new_file_ships(tmp_path: Path, kafka_bootstrap: str, kafka_topic: str) -> None:
    log = tmp_path / "app.log"
    first, second = lines("first", 30), lines("second", 30)
    with open(log, "w", encoding="utf-8", newline="") as handle:
        handle.write("".join(line + "\r\n" for line in first))
    config = make_config(tmp_path / "state", kafka_bootstrap, kafka_topic, [str(tmp_path / "*.log")])
    with RunningShipper(config) as shipper:
        wait_for_count(kafka_bootstrap, kafka_topic, len(first))
        log.unlink()  # succeeds although the shipper holds the file
        with open(log, "w", encoding="utf-8", newline="") as handle:  # and the writer can create it again
            handle.write("".join(line + "\r\n" for line in second))
        wait_for_count(kafka_bootstrap, kafka_topic, len(first) + len(second))
        assert shipper.stop() == 0
    assert_exactly_once(shipped(kafka_bootstrap, kafka_topic), first + second)


def test_stop_event_flushes_and_persists_checkpoints(tmp_path: Path, kafka_bootstrap: str, kafka_topic: str) -> None:
    log = tmp_path / "app.log"
    before, during, after = lines("before", 200), lines("during", 2000), lines("after", 50)
    write_utf16(log, before, bom=True)
    config = make_config(tmp_path / "state", kafka_bootstrap, kafka_topic, [str(log)], encoding="utf-16")
    shipper = RunningShipper(config).__enter__()
    wait_for_count(kafka_bootstrap, kafka_topic, len(before))
    write_utf16(log, during, bom=False)
    time.sleep(0.3)  # some of these are read and in flight when the stop comes
    assert shipper.stop() == 0
    assert checkpoint_path(config).is_file()
    stopped_with = topic_size(kafka_bootstrap, kafka_topic)
    write_utf16(log, after, bom=False)
    assert run_once(config) == 0  # resumes at the checkpoint: nothing twice, nothing lost
    events = shipped(kafka_bootstrap, kafka_topic)
    assert_exactly_once(events, before + during + after)
    assert stopped_with >= len(before)


def shipper_config_file(tmp_path: Path, bootstrap: str, topic: str, pattern: Path) -> Path:
    config = tmp_path / "shipper.toml"
    config.write_text(
        "[shipper]\n"
        f"state_dir = '{tmp_path / 'state'}'\n"
        "host_id = 'wine-smoke'\nrescan_interval = 0.2\ncheckpoint_interval = 0.2\nrotate_wait = 1.0\n"
        "log_format = 'json'\n"
        "[kafka]\n"
        f"bootstrap_servers = '{bootstrap}'\ntopic = '{topic}'\nlinger_ms = 5\n"
        "[[inputs]]\n"
        f"id = 'iis'\npaths = ['{pattern}']\nformat = 'plain'\nencoding = 'utf-16'\n",
        encoding="utf-8",
    )
    return config


def test_smoke_windows_shipper_process_tails_a_utf16_file_rotated_by_rename(
    tmp_path: Path, kafka_bootstrap: str, kafka_topic: str
) -> None:
    log = tmp_path / "app.log"
    config = shipper_config_file(tmp_path, kafka_bootstrap, kafka_topic, tmp_path / "app.log*")
    command = [sys.executable, "-m", "shipper", "run", "--config", str(config)]
    first, late, second, third = lines("first", 100), lines("late", 5), lines("second", 100), lines("third", 20)
    write_utf16(log, first, bom=True)
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for_count(kafka_bootstrap, kafka_topic, len(first), timeout=90)
        log.rename(tmp_path / "app.log.1")  # the writer rotates while the shipper holds the file
        write_utf16(tmp_path / "app.log.1", late, bom=False)  # lines the writer wrote before it reopened
        write_utf16(log, second, bom=True)
        wait_until(
            lambda: topic_size(kafka_bootstrap, kafka_topic) >= len(first) + len(late) + len(second), 90, "rotated lines"
        )
    finally:
        # Wine cannot deliver console control events, so this process is killed: at-least-once, by design.
        process.kill()
        output = process.communicate(timeout=30)[0].decode("utf-8", "replace")
    assert "Traceback" not in output, output
    write_utf16(log, third, bom=False)
    once = subprocess.run([*command, "--once"], cwd=ROOT, capture_output=True, timeout=180)
    assert once.returncode == 0, once.stderr.decode("utf-8", "replace")
    events = shipped(kafka_bootstrap, kafka_topic)
    by_body = {e["body"] for e in events}
    assert by_body == set(first + late + second + third)
    assert all("\r" not in e["body"] for e in events)
    # A kill may resend in-flight lines, but with the same event ids: the consumer keeps one of each.
    assert len({e["event_id"] for e in events}) == len(first + late + second + third)
