"""`consumer status` answers from the index when the brokers are down, and lists the group's members when they are up."""

from pathlib import Path

import orjson

from tests.consumer.helpers import make_events, produce, run_consumer, sqlite_config, start_consumer, wait_for


def _status(config: Path) -> dict:  # type: ignore[type-arg]
    result = run_consumer("status", "--config", str(config), "--json")
    assert result.returncode == 0, result.stderr
    value: dict = orjson.loads(result.stdout)  # type: ignore[type-arg]
    return value


def test_status_with_the_brokers_down_gives_the_index_s_figures(
    tmp_path: Path, kafka_bootstrap: str, kafka_topic: str, group_id: str
) -> None:
    db = tmp_path / "logs.db"
    produce(kafka_bootstrap, kafka_topic, make_events(30))
    config = sqlite_config(db, kafka_bootstrap, kafka_topic, group_id)
    assert run_consumer("run", "--config", str(config), "--once", "--idle-timeout", "1").returncode == 0
    down = sqlite_config(db, "127.0.0.1:1", kafka_topic, group_id)
    status = _status(down)
    assert status["kafka"]["available"] is False and status["kafka"]["error"]
    assert status["indexed_events"] == 30 and status["members"] is None and status["total_lag"] is None
    assert [(p["topic"], p["stored_offset"], p["lag"]) for p in status["partitions"]] == [(kafka_topic, 30, None)]
    text = run_consumer("status", "--config", str(down))
    assert text.returncode == 0 and "kafka: unavailable (" in text.stdout and "indexed_events 30" in text.stdout


def test_status_lists_the_group_s_members_and_their_partitions(
    tmp_path: Path, kafka_bootstrap: str, kafka_topic: str, group_id: str
) -> None:
    config = sqlite_config(tmp_path / "logs.db", kafka_bootstrap, kafka_topic, group_id)
    produce(kafka_bootstrap, kafka_topic, make_events(5))
    worker = start_consumer("run", "--config", str(config), log=tmp_path / "worker.log")
    try:
        # The worker creates the database first, then joins: until both happened status has nothing to show.
        wait_for(lambda: (tmp_path / "logs.db").exists() and bool((_status(config)["members"] or [{}])[0].get("partitions")),
                 90, "the worker's assignment")
        [member] = _status(config)["members"]
        assert member["partitions"] == [{"topic": kafka_topic, "partition": p} for p in range(3)]  # the test topic's three
        assert member["group_instance_id"].startswith("logferry-")
        text = run_consumer("status", "--config", str(config)).stdout
        assert "members 1" in text and f"{kafka_topic}[0], {kafka_topic}[1], {kafka_topic}[2]" in text
    finally:
        worker.terminate()
        worker.wait(60)
