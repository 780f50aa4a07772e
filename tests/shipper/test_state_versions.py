"""State files of older versions keep resuming: a version-1 file, as main's code wrote it, is upgraded on load."""

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
    assert rewritten["version"] == 2
    [entry] = rewritten["checkpoints"]
    assert f"{entry['os_identity']}/fp:{entry['fingerprint']}" == key and "key" not in entry
    assert entry["offset"] == path.stat().st_size


def test_a_state_file_of_an_unknown_version_is_refused(tmp_path: Path) -> None:
    store = JsonFileStore(tmp_path / "checkpoints.json")
    for version in (0, 3, "1"):
        store.path.write_bytes(orjson.dumps({"version": version, "checkpoints": []}))
        with pytest.raises(CheckpointError):
            store.load()
    store.path.write_bytes(orjson.dumps({"version": 1, "checkpoints": [{"key": "no fingerprint here"}]}))
    with pytest.raises(CheckpointError, match="malformed"):
        store.load()
