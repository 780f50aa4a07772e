"""Encodings through the real broker: a Windows UTF-16 file in auto with no `encoding` set, a restart mid-file,
the codec kept with the checkpoint, and an explicit encoding winning."""

import codecs
import io
import time
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import orjson

from shipper import admin
from shipper.config import ShipperConfig, parse_config
from tests.shipper.support import FAST, RunningShipper, assert_exactly_once, lines, run_once, shipped, wait_for_count

WINDOWS = ["2026-12-01 12:00:14 [ERROR] payment failed", "Größe 12 € ✓", "ਊ U+0A0A holds a 0x0A byte in UTF-16"]


def config_of(state: Path, bootstrap: str, topic: str, inputs: list[dict[str, Any]]) -> ShipperConfig:
    """A config whose inputs say only what is given: no `encoding` unless one is."""
    return parse_config({
        "shipper": {"state_dir": str(state), "host_id": "test-host", **FAST},
        "kafka": {"bootstrap_servers": bootstrap, "topic": topic, "linger_ms": 5},
        "inputs": [{"format": "plain", **item} for item in inputs],
    })


def powershell_5(text: list[str]) -> bytes:
    """What `Out-File` / `>` of Windows PowerShell 5 writes: UTF-16 LE with a BOM, CRLF line ends."""
    return codecs.BOM_UTF16_LE + "".join(line + "\r\n" for line in text).encode("utf-16-le")


def recorded(state: Path) -> dict[str, str]:
    document = orjson.loads((state / "checkpoints.json").read_bytes())
    assert document["version"] == 3
    return {Path(entry["path"]).name: entry["encoding"] for entry in document["checkpoints"]}


def test_a_powershell_5_file_ships_clean_lines_with_no_encoding_set(
    tmp_path: Path, kafka_bootstrap: str, kafka_topic: str
) -> None:
    text = [*WINDOWS, *lines("service", 200)]
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "service.log").write_bytes(powershell_5(text))
    paths = [str(tmp_path / "logs" / "*.log")]
    config = config_of(tmp_path / "state", kafka_bootstrap, kafka_topic, [{"id": "app", "paths": paths}])
    assert config.inputs[0].encoding == "auto"
    assert run_once(config) == 0
    events = shipped(kafka_bootstrap, kafka_topic)
    assert_exactly_once(events, text)
    assert all(e.get("flags", []) == [] and "\0" not in e["body"] and "\ufeff" not in e["body"] for e in events)
    first = min(events, key=lambda e: e["attributes"]["log.file.record_offset"])
    assert (first["body"], first["attributes"]["log.file.record_offset"]) == (WINDOWS[0], 2), "the BOM is no line's"
    assert recorded(tmp_path / "state") == {"service.log": "utf-16-le"}
    out = io.StringIO()
    with redirect_stdout(out):
        assert admin.status(config, as_json=True) == 0
    [row, _] = [orjson.loads(line) for line in out.getvalue().splitlines()]
    assert (row["encoding"], row["behind"]) == ("utf-16-le", 0)


def test_a_restart_mid_file_keeps_decoding_as_utf16(tmp_path: Path, kafka_bootstrap: str, kafka_topic: str) -> None:
    """A BOM-less UTF-16 LE file (as .NET's UnicodeEncoding(false, false) writes it), shipped in two runs."""
    before, after = [*WINDOWS, *lines("before the restart", 150)], [*lines("after the restart", 150), *WINDOWS]
    log = tmp_path / "logs" / "service.log"
    log.parent.mkdir()
    log.write_bytes("".join(line + "\r\n" for line in before).encode("utf-16-le"))
    config = config_of(tmp_path / "state", kafka_bootstrap, kafka_topic, [{"id": "app", "paths": [str(log)]}])
    assert run_once(config) == 0
    assert recorded(tmp_path / "state") == {"service.log": "utf-16-le"}
    with open(log, "ab") as handle:
        handle.write("".join(line + "\r\n" for line in after).encode("utf-16-le"))
    assert run_once(config) == 0
    events = shipped(kafka_bootstrap, kafka_topic)
    assert_exactly_once(events, before + after)
    assert {e["event_id"][:16] for e in events} == {events[0]["event_id"][:16]}, "one stream across the restart"
    assert all(e.get("flags", []) == [] for e in events)


def test_the_codec_kept_with_the_checkpoint_decides_at_resume(tmp_path: Path, kafka_bootstrap: str, kafka_topic: str) -> None:
    """A file read as latin-1 keeps being decoded as latin-1 once the setting is gone: a restart decodes the same way,
    without detecting again (detection would say UTF-8 and flag every é)."""
    log = tmp_path / "logs" / "legacy.log"
    log.parent.mkdir()
    log.write_bytes("café 1\n".encode("latin-1"))
    state = tmp_path / "state"
    explicit = config_of(state, kafka_bootstrap, kafka_topic, [{"id": "app", "paths": [str(log)], "encoding": "latin-1"}])
    assert run_once(explicit) == 0
    assert recorded(state) == {"legacy.log": "latin-1"}
    with open(log, "ab") as handle:
        handle.write("café 2\n".encode("latin-1"))
    assert run_once(config_of(state, kafka_bootstrap, kafka_topic, [{"id": "app", "paths": [str(log)]}])) == 0
    events = shipped(kafka_bootstrap, kafka_topic)
    assert_exactly_once(events, ["café 1", "café 2"])
    assert all(e.get("flags", []) == [] for e in events)


def test_an_explicit_encoding_wins_over_detection(tmp_path: Path, kafka_bootstrap: str, kafka_topic: str) -> None:
    for name in ("auto", "explicit"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "app.log").write_bytes("café déjà vu\n".encode("cp1252"))
    (tmp_path / "explicit" / "wide.log").write_bytes(powershell_5(WINDOWS))
    config = config_of(tmp_path / "state", kafka_bootstrap, kafka_topic, [
        {"id": "auto", "paths": [str(tmp_path / "auto" / "*.log")]},
        {"id": "explicit", "paths": [str(tmp_path / "explicit" / "*.log")], "encoding": "cp1252"},
    ])
    assert run_once(config) == 0
    events = shipped(kafka_bootstrap, kafka_topic)
    by_input: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        by_input.setdefault(event["input_id"], []).append(event)
    [detected] = by_input["auto"]
    assert (detected["body"], detected.get("flags")) == ("caf\ufffd d\ufffdj\ufffd vu", ["encoding_replaced"])
    explicit = {e["attributes"]["log.file.name"]: e for e in by_input["explicit"] if e["body"] == "café déjà vu"}
    assert set(explicit) == {"app.log"}
    wide = [e for e in by_input["explicit"] if e["attributes"]["log.file.name"] == "wide.log"]
    assert wide and not {e["body"] for e in wide} & set(WINDOWS), "cp1252 was asked for: the UTF-16 bytes stay bytes"
    assert any("\0" in e["body"] for e in wide)
    kept = orjson.loads((tmp_path / "state" / "checkpoints.json").read_bytes())["checkpoints"]
    assert sorted(entry["encoding"] for entry in kept) == ["cp1252", "cp1252", "utf-8"]


def test_status_and_reset_use_the_detected_codec(tmp_path: Path, kafka_bootstrap: str, kafka_topic: str) -> None:
    log = tmp_path / "logs" / "service.log"
    log.parent.mkdir()
    log.write_bytes(powershell_5(WINDOWS) + "a line still being written".encode("utf-16-le"))
    (tmp_path / "logs" / "tiny.log").write_bytes(b"\n")
    state = tmp_path / "state"
    config = config_of(state, kafka_bootstrap, kafka_topic, [{"id": "app", "paths": [str(tmp_path / "logs" / "*.log")]}])
    out = io.StringIO()
    with redirect_stdout(out):
        assert admin.reset_checkpoints(config, str(log), to_start=False, to_end=True, offset=None) == 0
        assert admin.status(config, as_json=False) == 0
    assert recorded(state) == {"service.log": "utf-16-le"}
    [entry] = orjson.loads((state / "checkpoints.json").read_bytes())["checkpoints"]
    assert entry["offset"] == len(powershell_5(WINDOWS)), "the end of the last complete UTF-16 line"
    rows = {Path(line.split()[0]).name: line.split() for line in out.getvalue().splitlines() if str(tmp_path) in line}
    assert rows["service.log"][2] == "utf-16-le"
    assert rows["tiny.log"][2] == "-", "one byte is too few to tell"


def test_a_file_seen_with_one_byte_is_decided_once_it_grew(tmp_path: Path, kafka_bootstrap: str, kafka_topic: str) -> None:
    """A BOM-less UTF-16 LE writer caught after the first byte of its file, an empty first line's 0x0A: a complete line
    for UTF-8, half a code unit for UTF-16. One byte decides nothing; the file waits until it grew."""
    log = tmp_path / "logs" / "service.log"
    log.parent.mkdir()
    text = ["", *WINDOWS, *lines("grown", 20)]
    data = ("\n" + "".join(line + "\r\n" for line in text[1:])).encode("utf-16-le")
    log.write_bytes(data[:1])
    config = config_of(tmp_path / "state", kafka_bootstrap, kafka_topic, [{"id": "app", "paths": [str(log)]}])
    with RunningShipper(config):
        time.sleep(1.5)  # several rescans and identification attempts on the 1-byte file (not a bound on anything)
        with open(log, "ab") as handle:
            handle.write(data[1:])
        wait_for_count(kafka_bootstrap, kafka_topic, len(text))
    events = shipped(kafka_bootstrap, kafka_topic)
    assert_exactly_once(events, text)
    assert recorded(tmp_path / "state") == {"service.log": "utf-16-le"}
