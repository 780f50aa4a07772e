"""The notifier's tables in the evaluator's state file: created idempotently inside the caller's transaction, all
prefixed `notify_`, versioned (a file of a newer version is refused); and the metrics of a Notifier and an
OutboxDelivery given one registry land in one place."""

import sqlite3
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from consumer.alerting.notify import Notifier, OutboxDelivery
from consumer.alerting.notify.schema import VERSION, NotifySchemaError
from tests.support.notify import T0, alert, due, observe, settings, state_db

HOOK = {"type": "webhook", "name": "ops", "url": "http://127.0.0.1:9/hook"}


def tables(db: sqlite3.Connection) -> set[str]:
    return {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_create_tables_is_idempotent_prefixed_and_rolled_back_with_its_transaction(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "s.db")
    db.execute("CREATE TABLE offsets (topic TEXT, partition INTEGER, next_offset INTEGER)")
    db.commit()
    db.execute("BEGIN")
    Notifier.create_tables(db)
    db.rollback()
    assert tables(db) == {"offsets"}, "the tables are made in the caller's transaction"
    with db:
        Notifier.create_tables(db)
    with db:
        Notifier.create_tables(db)
    made = tables(db) - {"offsets", "sqlite_sequence"}
    assert made and all(name.startswith("notify_") for name in made)
    assert db.execute("SELECT value FROM notify_meta WHERE key = 'schema_version'").fetchall() == [(str(VERSION),)]


def test_a_state_file_of_a_newer_version_is_refused(tmp_path: Path) -> None:
    db = state_db(tmp_path / "s.db")
    with db:
        db.execute("UPDATE notify_meta SET value = ? WHERE key = 'schema_version'", (str(VERSION + 1),))
    with pytest.raises(NotifySchemaError, match="newer than this program"):
        Notifier.create_tables(db)


def test_a_notifier_and_its_delivery_given_one_registry_count_in_one_place(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    config = settings([HOOK], [{"receiver": "ops", "group_wait": "0s"}])
    notifier = Notifier(config, registry)
    delivery = OutboxDelivery(tmp_path / "s.db", config, registry)
    assert notifier.metrics is delivery.metrics
    db = state_db(tmp_path / "s.db")
    observe(notifier, db, T0, alert("billing-errors"))
    assert due(notifier, db, T0) == 1
    text = generate_latest(registry).decode()
    assert text.count("# TYPE logferry_evaluator_outbox_notifications gauge") == 1
