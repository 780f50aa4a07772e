"""Files of every size and number ship: a 10-byte file, a 10 MiB line, 5,000 files in one glob, UTF-16."""

from pathlib import Path

import pytest

from tests.shipper.support import assert_exactly_once, lines, make_config, run_once, shipped, write_lines


def test_a_ten_byte_file_ships(tmp_path: Path, kafka_bootstrap: str, kafka_topic: str) -> None:
    (tmp_path / "tiny.log").write_bytes(b"123456789\n")
    config = make_config(tmp_path / "state", kafka_bootstrap, kafka_topic, [str(tmp_path / "*.log")])
    assert run_once(config) == 0
    [event] = shipped(kafka_bootstrap, kafka_topic)
    assert event["body"] == "123456789"


def test_a_ten_mib_line_is_truncated_and_flagged_and_the_rest_ships(
    tmp_path: Path, kafka_bootstrap: str, kafka_topic: str
) -> None:
    path = tmp_path / "big.log"
    before, after = lines("before", 100), lines("after", 100)
    write_lines(path, before)
    with open(path, "ab") as handle:
        handle.write(b"x" * (10 * 1024 * 1024) + b"\n")
    write_lines(path, after)
    config = make_config(tmp_path / "state", kafka_bootstrap, kafka_topic, [str(tmp_path / "*.log")])
    assert run_once(config) == 0
    events = shipped(kafka_bootstrap, kafka_topic)
    [big] = [e for e in events if e["body"].startswith("xxx")]
    assert "truncated" in big["flags"]
    assert 100_000 < len(big["body"]) <= 1_000_000, "cut to what the broker accepts"
    assert_exactly_once([e for e in events if e is not big], before + after)


@pytest.mark.slow
def test_five_thousand_files_in_one_glob_all_ship(tmp_path: Path, kafka_bootstrap: str, kafka_topic: str) -> None:
    logs = tmp_path / "logs"
    expected = []
    for i in range(5000):
        directory = logs / f"d{i % 50:02d}"
        directory.mkdir(parents=True, exist_ok=True)
        content = [f"file {i} line {j}" for j in range(2)]
        write_lines(directory / f"f{i:04d}.log", content)
        expected += content
    config = make_config(
        tmp_path / "state", kafka_bootstrap, kafka_topic, [str(logs / "**" / "*.log")], shipper={"max_open_files": 256}
    )
    assert run_once(config) == 0
    assert_exactly_once(shipped(kafka_bootstrap, kafka_topic), expected)
    # A second pass finds everything checkpointed.
    assert run_once(config) == 0
    assert len(shipped(kafka_bootstrap, kafka_topic)) == 10_000


@pytest.mark.parametrize(("codec", "bom"), [("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff")])
def test_utf16_files_ship_line_by_line(tmp_path: Path, kafka_bootstrap: str, kafka_topic: str, codec: str, bom: bytes) -> None:
    # U+0A0A and U+010A contain a 0x0A byte that must not split a line.
    text = ["first \u0a0a line", "second \u010a line", "third"]
    (tmp_path / "wide.log").write_bytes(bom + "\r\n".join(text).encode(codec) + "\r\n".encode(codec))
    config = make_config(tmp_path / "state", kafka_bootstrap, kafka_topic, [str(tmp_path / "*.log")], encoding="utf-16")
    assert run_once(config) == 0
    events = shipped(kafka_bootstrap, kafka_topic)
    assert_exactly_once(events, text)
    assert sorted(e["attributes"]["log.file.record_offset"] for e in events)[0] == 2, "offsets count the BOM"


def test_gzip_rotated_files_matching_the_glob_ship_decompressed(tmp_path: Path, kafka_bootstrap: str, kafka_topic: str) -> None:
    import gzip

    content = lines("compressed", 3000)
    with gzip.open(tmp_path / "app.log.1.gz", "wt", encoding="utf-8") as handle:
        handle.write("".join(line + "\n" for line in content))
    (tmp_path / "broken.log.gz").write_bytes(gzip.compress(b"never\ncomplete\n")[:-12])  # still being written
    config = make_config(tmp_path / "state", kafka_bootstrap, kafka_topic, [str(tmp_path / "*.gz")])
    assert run_once(config) == 0
    assert run_once(config) == 0
    assert_exactly_once(shipped(kafka_bootstrap, kafka_topic), content)


def test_files_older_than_ignore_older_are_skipped(tmp_path: Path, kafka_bootstrap: str, kafka_topic: str) -> None:
    import os
    import time

    write_lines(tmp_path / "old.log", ["from last year"])
    os.utime(tmp_path / "old.log", (time.time() - 86_400 * 365, time.time() - 86_400 * 365))
    write_lines(tmp_path / "new.log", ["from today"])
    config = make_config(
        tmp_path / "state", kafka_bootstrap, kafka_topic, [str(tmp_path / "*.log")], shipper={"ignore_older": 86_400.0}
    )
    assert run_once(config) == 0
    assert_exactly_once(shipped(kafka_bootstrap, kafka_topic), ["from today"])


@pytest.mark.slow
def test_busy_files_share_few_open_slots_without_loss(tmp_path: Path, kafka_bootstrap: str, kafka_topic: str) -> None:
    import threading
    import time

    from tests.shipper.support import RunningShipper, wait_for_count

    config = make_config(
        tmp_path / "state", kafka_bootstrap, kafka_topic, [str(tmp_path / "*.log")], shipper={"max_open_files": 2}
    )
    written: list[str] = []
    lock = threading.Lock()

    def writer(n: int) -> None:
        for batch in range(30):
            chunk = [f"file {n} batch {batch} line {i}" for i in range(50)]
            write_lines(tmp_path / f"busy-{n}.log", chunk)
            with lock:
                written.extend(chunk)
            time.sleep(0.1)

    with RunningShipper(config):
        threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wait_for_count(kafka_bootstrap, kafka_topic, len(written), timeout=60)
        time.sleep(0.5)
    assert_exactly_once(shipped(kafka_bootstrap, kafka_topic), written)


def test_a_topic_with_a_smaller_size_limit_gets_every_line_big_ones_cut(tmp_path: Path, kafka_bootstrap: str) -> None:
    import base64
    import os
    import uuid

    from confluent_kafka.admin import AdminClient, NewTopic

    topic = f"small-{uuid.uuid4().hex[:12]}"
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    admin.create_topics([NewTopic(topic, 1, 1, config={"max.message.bytes": "40000"})])[topic].result(30)
    small = lines("small", 3000)
    path = tmp_path / "app.log"
    write_lines(path, small[:1500])
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("big " + base64.b64encode(os.urandom(75_000)).decode() + "\n")  # incompressible
    write_lines(path, small[1500:])
    # The shipper believes the broker takes 200 kB: the broker's refusals must teach it otherwise.
    config = make_config(
        tmp_path / "state", kafka_bootstrap, topic, [str(path)], kafka={"max_message_bytes": 200_000}
    )
    assert run_once(config) == 0
    events = shipped(kafka_bootstrap, topic)
    bigs = [e for e in events if e["body"].startswith("big ")]
    assert bigs and all(e["flags"] == ["truncated"] for e in bigs)
    # Rebuilding the producer may send an event Kafka already had again, under the same event id (the
    # consumer keeps one); a line under two different ids would be a real duplicate.
    ids_by_body: dict[str, set[str]] = {}
    for event in events:
        ids_by_body.setdefault(event["body"], set()).add(event["event_id"])
    assert all(len(ids) == 1 for ids in ids_by_body.values())
    assert len({e["event_id"] for e in bigs}) == 1
    assert {body for body in ids_by_body if not body.startswith("big ")} == set(small)
    assert all("flags" not in e for e in events if e not in bigs), "small events are never cut"
