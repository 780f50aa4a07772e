"""Unit behaviour of the pieces: framing, identity, acknowledgement tracking, checkpoint store, resume decisions."""

import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from shipper.checkpoint.store import Checkpoint, CheckpointError, JsonFileStore
from shipper.delivery.acks import AckTracker, InFlight
from shipper.delivery.oversize import shrink_event
from shipper.discovery.scanner import glob_regex
from shipper.harvest.framing import Framer, resolve_encoding
from shipper.harvest.harvester import Harvester, Outcome
from shipper.identity import FileKey, fingerprint_of
from shipper.records import RawRecord
from shipper.resolve import decide_start
from tests.support.kafka import ROOT

KEY = FileKey("dev:1/ino:2", "ab")


class NoFailures:
    def failed(self, batch: Any, error: Any, message: Any) -> None:
        raise AssertionError("no failure expected")


def test_framing_emits_complete_lines_only_and_strips_cr_before_lf() -> None:
    records, consumed = Framer("utf-8", 1024).frame(b"one\r\ntwo\nthr", 100)
    assert records == [RawRecord(100, 105, b"one"), RawRecord(105, 109, b"two")]
    assert consumed == 9


def test_framing_cuts_and_flags_lines_over_the_limit() -> None:
    records, _ = Framer("utf-8", 4).frame(b"abcdefgh\nok\n", 0)
    assert records == [RawRecord(0, 9, b"abcd", True), RawRecord(9, 12, b"ok")]


def test_utf16_framing_only_splits_on_aligned_newlines() -> None:
    data = "a\u0a0ab\r\nc\u010a\n".encode("utf-16-le")
    records, consumed = Framer("utf-16-le", 1024).frame(data, 2)
    assert [data.decode("utf-16-le") for _, _, data, _ in records] == ["a\u0a0ab", "c\u010a"]
    assert consumed == len(data)
    assert records[1][0] == 2 + len("a\u0a0ab\r\n".encode("utf-16-le"))


def test_encoding_resolution_skips_the_bom() -> None:
    assert resolve_encoding("utf-16", b"\xfe\xffx") == ("utf-16-be", 2)
    assert resolve_encoding("utf-16", b"x\x00") == ("utf-16-le", 0)
    assert resolve_encoding("utf-8", b"\xef\xbb\xbfhello") == ("utf-8", 3)
    assert resolve_encoding("latin-1", b"\xef\xbb\xbf") == ("latin-1", 0)


def test_fingerprint_exists_once_the_first_line_is_complete_however_short() -> None:
    assert fingerprint_of(b"") is None
    assert fingerprint_of(b"partial") is None
    assert fingerprint_of(b"hi\n") is not None
    assert fingerprint_of(b"hi\nmore") == fingerprint_of(b"hi\nother")
    assert fingerprint_of(b"x" * 1024) == fingerprint_of(b"x" * 1024 + b"y\n")


def test_harvester_waits_for_a_partial_line_and_detects_replaced_content(tmp_path: Path) -> None:
    path = tmp_path / "f.log"
    path.write_bytes(b"first\nsec")
    harvester = Harvester.open(str(path), 4096)
    harvester.start(0, Framer("utf-8", 1024))
    records, outcome = harvester.read_turn(1 << 20)
    assert [data for _, _, data, _ in records] == [b"first"] and outcome is Outcome.EOF
    with open(path, "ab") as handle:
        handle.write(b"ond\n")
    records, outcome = harvester.read_turn(1 << 20)
    assert records == [RawRecord(6, 13, b"second")]
    path.write_bytes(b"OTHER CONTENT, LONGER THAN BEFORE\n")  # truncated and regrown past the position
    assert harvester.read_turn(1 << 20)[1] is Outcome.REPLACED
    harvester.close()


def test_harvester_skips_the_rest_of_a_long_line_and_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "f.log"
    path.write_bytes(b"a" * 50_000 + b"\nnext\n")
    harvester = Harvester.open(str(path), 4096)
    harvester.start(0, Framer("utf-8", 1000))
    records: list[RawRecord] = []
    for _ in range(50):
        got, outcome = harvester.read_turn(8192)
        records += got
        if outcome is Outcome.EOF:
            break
    # The cut beginning is emitted at once (its end may never come); the rest of the line is skipped.
    assert records == [RawRecord(0, 1000, b"a" * 1000, True), RawRecord(50_001, 50_006, b"next")]
    harvester.close()


def test_a_resume_inside_an_over_long_line_skips_its_rest(tmp_path: Path) -> None:
    path = tmp_path / "f.log"
    path.write_bytes(b"a" * 50_000 + b"\nnext\n")
    harvester = Harvester.open(str(path), 4096)
    harvester.start(1000, Framer("utf-8", 1000))  # a checkpoint just after the shipped cut beginning
    records: list[RawRecord] = []
    for _ in range(50):
        got, outcome = harvester.read_turn(8192)
        records += got
        if outcome is Outcome.EOF:
            break
    assert records == [RawRecord(50_001, 50_006, b"next")]
    harvester.close()


def test_ack_tracker_moves_only_over_a_fully_acknowledged_prefix() -> None:
    inflight = InFlight()
    tracker = AckTracker(0, "", inflight, NoFailures())
    first = tracker.open_batch(2, 20, 100, "m100")
    second = tracker.open_batch(1, 10, 150, "m150")
    second(None, None)
    assert tracker.offset == 0, "a later batch acknowledged first does not move the checkpoint"
    first(None, None)
    assert tracker.offset == 0
    first(None, None)
    assert (tracker.offset, tracker.marker) == (150, "m150")
    assert tracker.settled and inflight.records == 0 and inflight.bytes == 0
    tracker.open_batch(0, 0, 160, "m160")
    assert tracker.offset == 160, "a turn without events (blank lines held by nobody) still moves it"


def test_checkpoint_store_round_trips_and_rejects_other_versions(tmp_path: Path) -> None:
    store = JsonFileStore(tmp_path / "state" / "checkpoints.json")
    assert store.load() == {}
    checkpoint = Checkpoint(key=KEY, stream_identity=str(KEY), generation=2, offset=10, marker="m", path="/p", input_id="i")
    store.save([checkpoint])
    assert store.load() == {checkpoint.key: checkpoint}
    assert not (tmp_path / "state" / "checkpoints.json.tmp").exists()
    (tmp_path / "state" / "checkpoints.json").write_bytes(orjson.dumps({"version": 99, "checkpoints": []}))
    with pytest.raises(CheckpointError):
        store.load()


def test_resume_trusts_a_checkpoint_only_when_the_marker_matches() -> None:
    checkpoint = Checkpoint(key=KEY, stream_identity=str(KEY), generation=3, offset=100, marker="good", path="/p", input_id="i")
    assert decide_start(None, 10, lambda o: None).offset == 0
    assert decide_start(checkpoint, 200, lambda o: "good") .offset == 100
    assert decide_start(checkpoint, 50, lambda o: "good").generation == 4
    mismatch = decide_start(checkpoint, 200, lambda o: "bad")
    assert (mismatch.generation, mismatch.offset) == (4, 0)


def test_an_oversized_event_is_cut_and_flagged() -> None:
    event = {"event_id": "0" * 32, "body": "é" * 100_000, "attributes": {"log.record.original": "x" * 50_000}}
    small = orjson.loads(shrink_event(orjson.dumps(event), 10_000))
    assert len(orjson.dumps(small)) <= 10_000
    assert small["flags"] == ["truncated"] and small["event_id"] == "0" * 32


def test_exclude_globs_match_whole_segments() -> None:
    assert glob_regex("/var/log/**/*.gz").match("/var/log/a/b/c.gz")
    assert glob_regex("/var/log/**/*.gz").match("/var/log/c.gz")
    assert not glob_regex("/var/log/*.gz").match("/var/log/a/c.gz")


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ('[shipper]\nmax_open_filez = 3\n[[inputs]]\nid = "a"\npaths = ["/x"]\n', "shipper.max_open_filez"),
        ('[[inputs]]\nid = "a"\npaths = ["/x/**.log"]\n', "inputs[0].paths[0]"),
        ('[kafka]\nbootstrap_servers = "nohost"\n[[inputs]]\nid = "a"\npaths = ["/x"]\n', "kafka.bootstrap_servers"),
        ('[kafka.librdkafka]\n"no.such.property" = 1\n[[inputs]]\nid = "a"\npaths = ["/x"]\n', "kafka.librdkafka"),
        ('[kafka.librdkafka]\nacks = "0"\n[[inputs]]\nid = "a"\npaths = ["/x"]\n', "kafka.librdkafka.acks"),
        ('[kafka.librdkafka]\n"enable.idempotence" = false\n[[inputs]]\nid = "a"\npaths = ["/x"]\n',
         "kafka.librdkafka.enable.idempotence"),
        # allowed, but acks=1 with idempotence still on is refused by librdkafka, in check-config as in run
        ('[kafka]\nallow_duplicates = true\n[kafka.librdkafka]\nacks = "1"\n[[inputs]]\nid = "a"\npaths = ["/x"]\n',
         "kafka.librdkafka"),
        ('[shipper]\nstate_dir = "/proc/version/state"\n[[inputs]]\nid = "a"\npaths = ["/x"]\n', "shipper.state_dir"),
    ],
)
def test_bad_config_gives_one_line_and_exit_2(tmp_path: Path, toml: str, key: str) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(toml)
    for command in (["check-config"], ["run", "--once"]):
        result = subprocess.run(
            [sys.executable, "-m", "shipper", *command, "--config", str(config)], cwd=ROOT, capture_output=True, text=True,
            timeout=60,
        )
        assert result.returncode == 2
        assert result.stderr.count("\n") == 1 and key in result.stderr and "Traceback" not in result.stderr


def test_harvester_sees_a_rewrite_past_its_position_by_the_first_line(tmp_path: Path) -> None:
    path = tmp_path / "f.log"
    old = b"".join(b"old %03d " % i + b"x" * 90 + b"\n" for i in range(10))
    path.write_bytes(old)
    harvester = Harvester.open(str(path), 4096)
    harvester.start(0, Framer("utf-8", 1024), first_line=old[: old.index(b"\n") + 1])
    assert len(harvester.read_turn(1 << 20)[0]) == 10
    # The same length a line and the same 64 bytes before the position: only the first line differs.
    path.write_bytes(old.replace(b"old", b"new") + old[:99] + b"\n")
    assert harvester.read_turn(1 << 20)[1] is Outcome.REPLACED
    harvester.close()


def test_cr_only_framing_splits_on_cr_and_keeps_other_bytes() -> None:
    records, consumed = Framer("utf-8", 1024, b"\r").frame(b"one\rtwo\nstill two\rpart", 10)
    assert records == [RawRecord(10, 14, b"one"), RawRecord(14, 28, b"two\nstill two")]
    assert consumed == 18
