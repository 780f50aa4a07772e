"""`deadletters list|show|redrive` on SQLite against the real broker: records refused (too large, not JSON, not UTF-8,
a terminal escape) are listed and shown safely; after the limit is raised, a redrive publishes the big event again to
its source topic, the consumer indexes it, and it stays indexed exactly once when redriven a second time."""

import os
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import orjson
import pytest

from schemas import serialize
from tests.consumer.helpers import ROOT, consumer_command, indexed_ids, make_events, produce, run_consumer, sqlite_config
from tests.support.kafka import read_topic

pytestmark = pytest.mark.kafka

LIMIT = 2_000  # max_record_bytes while the big event is refused


def cli(*args: str, answer: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(consumer_command(*args), input=answer, capture_output=True, text=True, timeout=120, cwd=ROOT,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"})


def listed(config: Path, *args: str) -> list[dict[str, Any]]:
    result = cli("deadletters", "list", "--config", str(config), "--json", *args)
    assert result.returncode == 0, result.stderr
    return [orjson.loads(line) for line in result.stdout.splitlines()]


def at(letter: dict[str, Any]) -> str:
    return f"{letter['topic']}:{letter['partition']}:{letter['offset']}"


def index_once(config: Path) -> None:
    result = run_consumer("run", "--config", str(config), "--once", "--idle-timeout", "2")
    assert result.returncode == 0, result.stderr


def test_list_show_and_redrive_after_a_fix(kafka_bootstrap: str, kafka_topic: str, db_path: Path, group_id: str) -> None:
    db_path.parent.mkdir(parents=True)
    strict = sqlite_config(db_path, kafka_bootstrap, kafka_topic, group_id,
                           extra=f"max_record_bytes = {LIMIT}\ndeadletter_raw_bytes = 3000")
    events = make_events(5)
    big, huge = make_events(2, start=5, body="x" * 2_500), make_events(1, start=7, body="y" * 4_000)
    big[1]["body"] = "z" * 2_400
    escape = b'{"note": "\x1b[2J\xe2\x80\xae gone"}'
    produce(kafka_bootstrap, kafka_topic, events + big + huge,
            raw=[(b"k-json", b"{not json"), (b"k-bin", b"\xff\xfe\x00\x01binary"), (b"k-esc", escape)])
    index_once(strict)
    assert len(indexed_ids(db_path)) == 5

    letters = listed(strict)
    assert len(letters) == 6
    assert [letter["received_at"] for letter in letters] == sorted((x["received_at"] for x in letters), reverse=True)
    by_key = {letter["key"]: letter for letter in letters if letter["key"] and letter["key"].startswith("k-")}
    assert set(by_key) == {"k-json", "k-bin", "k-esc"}
    assert "not valid JSON" in by_key["k-json"]["error"]
    too_large = sorted((x for x in letters if "max_record_bytes" in x["error"]), key=lambda x: x["size"])
    assert [(x["size"] > LIMIT, x["kept_bytes"] == x["size"]) for x in too_large] == [(True, True)] * 2 + [(True, False)]
    assert listed(strict, "--limit", "2") == letters[:2]
    other = cli("deadletters", "list", "--config", str(strict), "--topic", "no-such-topic")
    assert (other.returncode, other.stdout, other.stderr) == (0, "", "No dead letters.\n")
    table = cli("deadletters", "list", "--config", str(strict))
    assert table.returncode == 0 and table.stdout.splitlines()[0].split() == ["received", "position", "size", "redriven",
                                                                              "error"]
    assert len(table.stdout.splitlines()) == 7

    # show: text escaped, other bytes as hex, --raw exact
    shown = cli("deadletters", "show", "--config", str(strict), at(by_key["k-esc"]))
    assert shown.returncode == 0, shown.stderr
    assert "\x1b" not in shown.stdout and "\u202e" not in shown.stdout
    assert '{"note": "\\x1b[2J\\u202e gone"}' in shown.stdout.splitlines()
    binary = cli("deadletters", "show", "--config", str(strict), at(by_key["k-bin"]))
    assert "raw (not UTF-8, hex):" in binary.stdout
    assert "00000000  ff fe 00 01 62 69 6e 61 72 79" in binary.stdout
    raw = subprocess.run(consumer_command("deadletters", "show", "--config", str(strict), at(by_key["k-esc"]), "--raw"),
                         capture_output=True, timeout=120, cwd=ROOT)
    assert (raw.returncode, raw.stdout) == (0, escape)
    as_json = orjson.loads(cli("deadletters", "show", "--config", str(strict), at(too_large[0]), "--json").stdout)
    assert as_json["size"] == too_large[0]["size"] and as_json["raw_base64"]
    missing = cli("deadletters", "show", "--config", str(strict), f"{kafka_topic}:0:999999")
    assert (missing.returncode, missing.stderr) == (1, f"There is no dead letter at {kafka_topic}:0:999999.\n")
    bad = cli("deadletters", "show", "--config", str(strict), "nonsense")
    assert bad.returncode == 2 and bad.stderr.startswith("error: 'nonsense' is not a dead letter position")

    # The fix: a higher limit. Dry run and a declined confirmation publish nothing.
    fixed = db_path.parent / "fixed.toml"
    fixed.write_text(strict.read_text().replace(f"max_record_bytes = {LIMIT}\n", ""))
    assert fixed.read_text() != strict.read_text()
    big_positions = [at(x) for x in too_large[:2]]
    dry = cli("deadletters", "redrive", "--config", str(fixed), *big_positions, "--dry-run")
    assert dry.returncode == 0 and dry.stderr.endswith("Dry run: nothing was published.\n")
    assert len(dry.stdout.splitlines()) == 2
    declined = cli("deadletters", "redrive", "--config", str(fixed), *big_positions, answer="n\n")
    assert declined.returncode == 1 and declined.stderr.endswith("Nothing was published.\n")
    cut = cli("deadletters", "redrive", "--config", str(fixed), at(too_large[2]), "--yes")
    assert cut.returncode == 1 and "only 3000 of its" in cut.stderr
    index_once(fixed)
    assert len(indexed_ids(db_path)) == 5

    # Redrive (confirmed on stdin), index: both big events arrive, on the partition of their key, once.
    done = cli("deadletters", "redrive", "--config", str(fixed), *big_positions, answer="y\n")
    assert done.returncode == 0, done.stderr
    assert done.stderr.endswith("Published 2 of 2 dead letter(s) again.\n")
    index_once(fixed)
    ids = indexed_ids(db_path)
    assert sorted(ids) == sorted(e["event_id"] for e in events + big)
    redriven = {at(x): x for x in listed(fixed)}
    assert all(redriven[p]["redriven_at"] for p in big_positions)
    assert sum(1 for x in redriven.values() if x["redriven_at"]) == 2
    copies = [m for m in read_topic(kafka_bootstrap, kafka_topic, 12)
              if dict(m.headers() or []).get("logferry.redriven.from")]  # type: ignore[attr-defined]
    assert sorted(m.value() for m in copies) == sorted(serialize(e) for e in big)  # type: ignore[attr-defined]
    for message in copies:
        source = dict(message.headers())["logferry.redriven.from"].decode()  # type: ignore[attr-defined]
        assert source.split(":")[1] == str(message.partition())  # type: ignore[attr-defined]

    # A second redrive of the same letters is harmless: the event ids are already indexed.
    again = cli("deadletters", "redrive", "--config", str(fixed), *big_positions, "--yes")
    assert again.returncode == 0, again.stderr
    index_once(fixed)
    assert sorted(indexed_ids(db_path)) == sorted(ids)
    with sqlite3.connect(db_path) as connection:
        (dead,) = connection.execute("SELECT count(*) FROM dead_letters").fetchone()
    assert dead == 6  # the redriven copies were indexed (or skipped as duplicates), none refused

    # --all leaves out what was redriven already, and the letters that cannot be redriven say why.
    rest = cli("deadletters", "redrive", "--config", str(fixed), "--all", "--dry-run")
    assert rest.returncode == 1  # the cut one cannot be redriven
    assert sorted(line.split()[2] for line in rest.stdout.splitlines()) == sorted(
        at(by_key[k]) for k in ("k-json", "k-bin", "k-esc"))
    assert f"Not redriving {at(too_large[2])}" in rest.stderr
    everything = cli("deadletters", "redrive", "--config", str(fixed), "--all", "--again", "--dry-run")
    assert len(everything.stdout.splitlines()) == 5


def test_redrive_needs_a_selection(sqlite_consumer_config: Path, kafka_bootstrap: str, kafka_topic: str) -> None:
    produce(kafka_bootstrap, kafka_topic, make_events(1))
    index_once(sqlite_consumer_config)
    result = cli("deadletters", "redrive", "--config", str(sqlite_consumer_config))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: name the dead letters to redrive: TOPIC:PARTITION:OFFSET positions, --topic T or --all"]
    empty = cli("deadletters", "list", "--config", str(sqlite_consumer_config))
    assert (empty.returncode, empty.stdout, empty.stderr) == (0, "", "No dead letters.\n")


def test_positions_and_safe_printing() -> None:
    from consumer.deadletters_cli import hex_dump, parse_position, safe_text

    assert parse_position("logs.app-1:2:345") == ("logs.app-1", 2, 345)
    for bad in ("logs:2", "logs:x:1", ":1:2", "logs:1:-2"):
        with pytest.raises(ValueError, match="is not a dead letter position"):
            parse_position(bad)
    assert safe_text("ok é\t\x1b[31m\u202e\x85\U000e0001") == "ok é\\t\\x1b[31m\\u202e\\x85\\U000e0001"
    assert hex_dump(b"0123456789abcdef\x00") == [
        "00000000  30 31 32 33 34 35 36 37 38 39 61 62 63 64 65 66  |0123456789abcdef|",
        "00000010  00                                               |.|",
    ]
