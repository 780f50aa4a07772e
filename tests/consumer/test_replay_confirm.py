"""A real replay shows its plan and applies it only with --yes (or a yes on a terminal); without, nothing moves."""

from pathlib import Path

from consumer.sinks.sqlite_reader import SqliteReader
from tests.consumer.helpers import make_events, produce, run_consumer, sqlite_config


def test_replay_without_yes_shows_the_plan_and_changes_nothing(
    tmp_path: Path, kafka_bootstrap: str, kafka_topic: str, group_id: str
) -> None:
    db = tmp_path / "logs.db"
    config = sqlite_config(db, kafka_bootstrap, kafka_topic, group_id)
    produce(kafka_bootstrap, kafka_topic, make_events(40))
    assert run_consumer("run", "--config", str(config), "--once", "--idle-timeout", "1").returncode == 0
    before = SqliteReader(str(db)).stored_offsets()

    asked = run_consumer("replay", "--config", str(config), "--to-earliest")  # stdin is no terminal here
    assert asked.returncode == 2
    assert "40 records will be read again" in asked.stdout
    assert asked.stderr.strip().splitlines()[-1] == (
        "replay not applied: add --yes to apply this plan (or --dry-run to only show it)")
    assert SqliteReader(str(db)).stored_offsets() == before

    applied = run_consumer("replay", "--config", str(config), "--to-earliest", "--yes")
    assert applied.returncode == 0, applied.stderr
    assert set(SqliteReader(str(db)).stored_offsets().values()) == {0}
