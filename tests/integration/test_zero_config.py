"""The cases of issue #12's "Why", end to end: a file shipped by an input that names only its paths (format auto,
no encoding, zone or multiline setting) through the real Kafka broker into the SQLite index.

Zone-less timestamps are read in the input's default zone, the host's: the expectations are computed in it."""

import codecs
from pathlib import Path
from typing import Any

from tests.support.zero_config import Indexed, local_wall_ns, ship_and_index, timestamp_ns

ERROR = 17
INFO = 9


def only_event(indexed: Indexed) -> dict[str, Any]:
    assert len(indexed.events) == 1, indexed.events
    return indexed.events[0]


def test_bracketed_level_after_a_dated_line(tmp_path: Path, kafka_bootstrap: str) -> None:
    indexed = ship_and_index(tmp_path, kafka_bootstrap, b"2026-12-01 12:00:14 [ERROR] payment failed\n")
    event = only_event(indexed)
    assert timestamp_ns(event) == local_wall_ns("2026-12-01T12:00:14"), event
    assert event["severity_number"] == ERROR, event
    assert str(event["severity_text"]).upper() == "ERROR", event
    assert "payment failed" in str(event["body"]), event
    assert not event["parse_error"], event


def test_utf16_le_with_bom_and_crlf_reads_clean(tmp_path: Path, kafka_bootstrap: str) -> None:
    """What PowerShell 5's Out-File writes: UTF-16 LE, a BOM, CRLF; no `encoding` set."""
    lines = [
        "2026-03-14 10:00:00 INFO Sicherung gestartet: Größe 12 MB, Ziel \\\\nas\\backup",
        "2026-03-14 10:00:05 WARN Datei übersprungen: D:\\Daten\\Präsentation.pptx (in use)",
        "2026-03-14 10:00:09 INFO Sicherung beendet",
    ]
    data = codecs.BOM_UTF16_LE + "".join(f"{line}\r\n" for line in lines).encode("utf-16-le")
    indexed = ship_and_index(tmp_path, kafka_bootstrap, data, name="backup.log")
    assert indexed.raw_texts() == lines, indexed.events
    for event in indexed.events:
        assert "encoding_replaced" not in event.get("flags", []), event
        assert "\x00" not in str(event["body"]) and "\ufffd" not in str(event["body"]), event


def test_logfmt_with_a_bare_key(tmp_path: Path, kafka_bootstrap: str) -> None:
    line = b'time="2026-03-14T11:00:00Z" level=info msg="Stopping" component=fetcher cachehit\n'
    event = only_event(ship_and_index(tmp_path, kafka_bootstrap, line))
    assert event["format"] == "logfmt", event
    assert event["timestamp"] == "2026-03-14T11:00:00.000000000Z", event
    assert event["severity_number"] == INFO, event
    assert event["body"] == "Stopping", event
    assert event["attributes"]["component"] == "fetcher", event
    assert event["attributes"]["cachehit"] is True, event


def test_golog_line_with_a_level_word(tmp_path: Path, kafka_bootstrap: str) -> None:
    event = only_event(ship_and_index(tmp_path, kafka_bootstrap, b"2026/03/14 10:00:02 worker.go:42: ERROR db timeout\n"))
    assert timestamp_ns(event) == local_wall_ns("2026-03-14T10:00:02"), event
    assert event["severity_number"] == ERROR, event
    assert not event["parse_error"], event


PANIC = """\
2026/03/14 10:00:01 main.go:20: INFO starting worker
panic: runtime error: invalid memory address or nil pointer dereference
[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x47b5c3]

goroutine 1 [running]:
main.(*worker).run(0x0)
	/src/worker/worker.go:42 +0x23
main.main()
	/src/worker/main.go:25 +0x45
exit status 2
"""


def test_go_panic_is_one_event_with_its_trace(tmp_path: Path, kafka_bootstrap: str) -> None:
    indexed = ship_and_index(tmp_path, kafka_bootstrap, PANIC.encode())
    assert not [event for event in indexed.events if event["parse_error"]], indexed.events
    # Nothing lost: every line is in some event's raw text, in order.
    assert "\n".join(indexed.raw_texts()) == PANIC.rstrip("\n"), indexed.events
    panics = [event for event in indexed.events if "panic: runtime error" in str(event["attributes"].get(
        "log.record.original", event["body"]))]
    assert len(panics) == 1, indexed.events
    stacktrace = str(panics[0]["attributes"].get("exception.stacktrace", ""))
    assert "goroutine 1 [running]:" in stacktrace, panics[0]
    assert "/src/worker/main.go:25" in stacktrace, panics[0]
    assert len(indexed.events) <= 2, indexed.events  # the log line before it, and the panic


def test_metrics_line_gets_its_time_and_numbers(tmp_path: Path, kafka_bootstrap: str) -> None:
    event = only_event(ship_and_index(tmp_path, kafka_bootstrap, b"2026-03-14 10:00:00,CPU: 12.5%, MEM: 40.10%\n"))
    assert timestamp_ns(event) == local_wall_ns("2026-03-14T10:00:00"), event
    # The naming rule (cpu_pct or the like) is the "numbers" work's to decide: only ask for a numeric attribute whose
    # name mentions cpu / mem and holds the value.
    numbers = {key.lower(): value for key, value in event["attributes"].items()
               if isinstance(value, int | float) and not isinstance(value, bool) and key != "log.file.record_offset"}
    assert [value for key, value in numbers.items() if "cpu" in key] == [12.5], event
    assert [value for key, value in numbers.items() if "mem" in key] == [40.1], event
