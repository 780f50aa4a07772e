"""State files of older versions keep resuming: version-1 and version-2 files, as earlier code wrote them, are upgraded
on load (version 3 adds the codec each file is decoded with)."""

import codecs
import os
from hashlib import blake2b
from pathlib import Path

import orjson
import pytest

from schemas.ids import stream_id
from shipper.checkpoint.store import CheckpointError, JsonFileStore
from tests.shipper.support import assert_exactly_once, lines, make_config, run_once, shipped, topic_size, write_lines


def _version_1_document(path: Path) -> dict[str, object]:
    """The checkpoint file the version-1 code wrote for `path` read to its end (its literal shape)."""
    data = path.read_bytes()
    st = os.stat(path)
    key = f"dev:{st.st_dev}/ino:{st.st_ino}/fp:" + blake2b(data[: data.index(b"\n") + 1], digest_size=8).hexdigest()
    return {
        "version": 1,
        "checkpoints": [{
            "key": key, "stream_identity": key, "generation": 0, "offset": len(data),
            "marker": blake2b(data[-64:], digest_size=8).hexdigest(), "path": str(path), "input_id": "app",
            "size": len(data), "updated": 1767225600.0, "replaced": False,
        }],
    }


def test_a_version_1_state_file_resumes_without_resending(tmp_path: Path, kafka_bootstrap: str, kafka_topic: str) -> None:
    path = tmp_path / "app.log"
    shipped_before, after = lines("shipped by the old version", 300), lines("after the upgrade", 40)
    write_lines(path, shipped_before)
    state = tmp_path / "state"
    state.mkdir()
    document = _version_1_document(path)
    (state / "checkpoints.json").write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
    config = make_config(state, kafka_bootstrap, kafka_topic, [str(tmp_path / "*.log")])
    assert run_once(config) == 0
    assert topic_size(kafka_bootstrap, kafka_topic) == 0, "nothing the version-1 checkpoint covers is sent again"
    write_lines(path, after)
    assert run_once(config) == 0
    events = shipped(kafka_bootstrap, kafka_topic)
    assert_exactly_once(events, after)
    key = document["checkpoints"][0]["key"]  # type: ignore[index]
    assert {e["event_id"][:16] for e in events} == {stream_id("test-host", key, 0)[:16]}, "the same stream continues"
    rewritten = orjson.loads((state / "checkpoints.json").read_bytes())
    assert rewritten["version"] == 3
    [entry] = rewritten["checkpoints"]
    assert f"{entry['os_identity']}/fp:{entry['fingerprint']}" == key and "key" not in entry
    assert entry["offset"] == path.stat().st_size
    assert entry["encoding"] == "utf-8", "detected at resume (version 1 recorded none) and recorded from then on"


def _version_2_document(path: Path, offset: int) -> dict[str, object]:
    """The checkpoint file the version-2 code wrote for `path` acknowledged up to `offset` (its literal shape)."""
    data = path.read_bytes()
    st = os.stat(path)
    return {
        "version": 2,
        "checkpoints": [{
            "os_identity": f"dev:{st.st_dev}/ino:{st.st_ino}",
            "fingerprint": blake2b(data[: data.index(b"\n") + 1], digest_size=8).hexdigest(),
            "stream_identity": "a stream of version 2", "generation": 0, "offset": offset,
            "marker": blake2b(data[max(0, offset - 64) : offset], digest_size=8).hexdigest(), "path": str(path),
            "input_id": "app", "size": len(data), "updated": 1767225600.0, "replaced": False,
        }],
    }


def _utf16_lines(text: list[str]) -> bytes:
    return "".join(line + "\r\n" for line in text).encode("utf-16-le")


def test_a_version_2_state_file_resumes_a_utf16_file_in_auto(tmp_path: Path, kafka_bootstrap: str, kafka_topic: str) -> None:
    """Shipped by version 2 with `encoding = "utf-16"`; now the setting is gone (auto): detected, and recorded."""
    path = tmp_path / "app.log"
    shipped_before, after = lines("shipped by version 2", 100), lines("after the upgrade", 40)
    path.write_bytes(codecs.BOM_UTF16_LE + _utf16_lines(shipped_before))
    state = tmp_path / "state"
    state.mkdir()
    document = _version_2_document(path, path.stat().st_size)
    (state / "checkpoints.json").write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
    config = make_config(state, kafka_bootstrap, kafka_topic, [str(tmp_path / "*.log")], encoding="auto")
    assert run_once(config) == 0
    assert topic_size(kafka_bootstrap, kafka_topic) == 0, "nothing the version-2 checkpoint covers is sent again"
    with open(path, "ab") as handle:
        handle.write(_utf16_lines(after))
    assert run_once(config) == 0
    events = shipped(kafka_bootstrap, kafka_topic)
    assert_exactly_once(events, after)
    assert {e["event_id"][:16] for e in events} == {stream_id("test-host", "a stream of version 2", 0)[:16]}
    [entry] = orjson.loads((state / "checkpoints.json").read_bytes())["checkpoints"]
    assert (entry["encoding"], entry["offset"]) == ("utf-16-le", path.stat().st_size)


def test_a_version_2_checkpoint_inside_a_utf16_newline_keeps_reading_byte_wise(
    tmp_path: Path, kafka_bootstrap: str, kafka_topic: str
) -> None:
    """Version 2 read a BOM-less UTF-16 LE file as UTF-8 (its default): its checkpoint is just after a 0x0A byte,
    inside the UTF-16 newline. Auto keeps that reading for the rest of the file, so no line is skipped or split."""
    path = tmp_path / "app.log"
    before, after = lines("read byte-wise", 20), lines("after the upgrade", 20)
    path.write_bytes(_utf16_lines(before))
    offset = path.stat().st_size - 1  # after the last 0x0A, before the newline's high byte
    state = tmp_path / "state"
    state.mkdir()
    (state / "checkpoints.json").write_bytes(orjson.dumps(_version_2_document(path, offset)))
    with open(path, "ab") as handle:
        handle.write(_utf16_lines(after))
    assert run_once(make_config(state, kafka_bootstrap, kafka_topic, [str(tmp_path / "*.log")], encoding="auto")) == 0
    events = shipped(kafka_bootstrap, kafka_topic)
    expected = (b"\0" + _utf16_lines(after)).split(b"\n")[:-1]  # the byte-wise lines (CR stripped), as version 2 made them
    assert sorted(e["body"] for e in events) == sorted(line.removesuffix(b"\r").decode("utf-8") for line in expected)
    [entry] = orjson.loads((state / "checkpoints.json").read_bytes())["checkpoints"]
    assert (entry["encoding"], entry["offset"]) == ("utf-8", path.stat().st_size - 1)


def test_a_state_file_of_an_unknown_version_is_refused(tmp_path: Path) -> None:
    store = JsonFileStore(tmp_path / "checkpoints.json")
    for version in (0, 4, "1"):
        store.path.write_bytes(orjson.dumps({"version": version, "checkpoints": []}))
        with pytest.raises(CheckpointError):
            store.load()
    store.path.write_bytes(orjson.dumps({"version": 1, "checkpoints": [{"key": "no fingerprint here"}]}))
    with pytest.raises(CheckpointError, match="malformed"):
        store.load()
