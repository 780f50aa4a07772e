"""Per-host isolation with Kafka's own authorisation (README.md, "Per-host isolation"): each host's shipper has its own
SCRAM user that may write only its own topics, and the consumer, subscribed by pattern, indexes an event only when its
host.id is the host of its topic.

A broker of this module's own runs with the StandardAuthorizer and allow.everyone.if.no.acl.found=false.
"""

import json
import os
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from consumer.sinks.sqlite_codec import all_stored_events
from schemas import new_event, serialize, stream_id
from tests.security.acl_kafka import AclBroker, acl_broker, add_user, create_topics, grant, host_acls, indexer_acls

ROOT = Path(__file__).resolve().parents[2]
BASE_NS = 1_767_225_600 * 1_000_000_000


@dataclass(frozen=True)
class Users:
    passwords: dict[str, str]


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AclBroker]:
    with acl_broker(tmp_path_factory.mktemp("acls")) as started:
        yield started


@pytest.fixture(scope="module")
def users(broker: AclBroker) -> Users:
    passwords = {name: f"{name}-{uuid.uuid4().hex[:12]}" for name in ("hosta", "hostb", "indexer")}
    for name, password in passwords.items():
        add_user(broker, name, password)
    return Users(passwords)


@pytest.fixture
def prefix(broker: AclBroker, users: Users) -> str:
    """A fresh topic prefix (this test's "logs."), its two host topics, and the ACLs of both hosts and the indexer."""
    prefix = f"logs{uuid.uuid4().hex[:6]}."
    create_topics(broker, [f"{prefix}hosta", f"{prefix}hostb"])
    for host in ("hosta", "hostb"):
        grant(broker, host_acls(host, prefix, host), host, users.passwords[host], f"{prefix}{host}")
    grant(broker, indexer_acls("indexer", prefix, f"{prefix}indexer"), "indexer", users.passwords["indexer"],
          f"{prefix}hosta")
    return prefix


def kafka_table(broker: AclBroker) -> str:
    return (f'bootstrap_servers = "{broker.bootstrap}"\nsecurity_protocol = "SASL_SSL"\n'
            f'sasl_mechanism = "SCRAM-SHA-512"\nssl_ca_location = "{broker.tls.ca}"\n')


def shipper_config(directory: Path, broker: AclBroker, host: str, topic: str, lines: int) -> Path:
    logs = directory / f"logs-{host}"
    logs.mkdir(parents=True)
    (logs / "app.log").write_text("".join(f"{host} line {i}\n" for i in range(lines)))
    config = directory / f"shipper-{host}-{topic}.toml"
    config.write_text(f"""[shipper]
state_dir = "{directory / f'state-{host}-{topic}'}"
host_id = "{host}"
log_format = "json"

[kafka]
topic = "{topic}"
{kafka_table(broker)}
[[inputs]]
id = "app"
paths = ["{logs}/*.log"]
format = "plain"
""")
    return config


def consumer_config(directory: Path, broker: AclBroker, prefix: str) -> Path:
    config = directory / "consumer.toml"
    pattern = "^" + prefix.replace(".", "\\.") + ".+"
    config.write_text(f"""[consumer]
log_format = "json"
progress = "off"
batch_max_wait = 0.2

[kafka]
topics = ['{pattern}']
host_topic_prefix = "{prefix}"
group_id = "{prefix}indexer"
session_timeout_ms = 6000
{kafka_table(broker)}
[sink]
type = "sqlite"
path = "{directory / 'index' / 'logs.db'}"
""")
    return config


def run(program: str, *args: str, user: str, password: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LOGFERRY_KAFKA_USERNAME": user, "LOGFERRY_KAFKA_PASSWORD": password, "PYTHONUNBUFFERED": "1"}
    return subprocess.run([sys.executable, "-m", program, *args], capture_output=True, text=True, cwd=ROOT, env=env,
                          timeout=timeout)


def ship(config: Path, host: str, users: Users) -> subprocess.CompletedProcess[str]:
    return run("shipper", "run", "--config", str(config), "--once", user=host, password=users.passwords[host])


def index(config: Path, users: Users) -> subprocess.CompletedProcess[str]:
    result = run("consumer", "run", "--config", str(config), "--once", "--idle-timeout", "5",
                 user="indexer", password=users.passwords["indexer"])
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def indexed(db: Path) -> list[tuple[str, str]]:
    """(host.id, body) of every indexed event."""
    with sqlite3.connect(db, timeout=30) as connection:
        events = [json.loads(raw) for _event_id, raw in all_stored_events(connection)]
    return sorted((e["resource"]["host.id"], e["body"]) for e in events)


def dead_letters(db: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(db, timeout=30) as connection:
        return [(str(t), str(e)) for t, e in connection.execute("SELECT topic, error FROM dead_letters")]


def test_each_host_ships_to_its_own_topic_and_the_consumer_indexes_every_host_by_pattern(
    tmp_path: Path, broker: AclBroker, users: Users, prefix: str
) -> None:
    for host, lines in (("hosta", 5), ("hostb", 3)):
        shipped = ship(shipper_config(tmp_path, broker, host, f"{prefix}{host}", lines), host, users)
        assert shipped.returncode == 0, shipped.stderr[-3000:]
    config = consumer_config(tmp_path, broker, prefix)
    index(config, users)
    expected = [("hosta", f"hosta line {i}") for i in range(5)] + [("hostb", f"hostb line {i}") for i in range(3)]
    assert indexed(tmp_path / "index" / "logs.db") == sorted(expected)
    assert dead_letters(tmp_path / "index" / "logs.db") == []

    status = run("consumer", "status", "--config", str(config), "--json", user="indexer",
                 password=users.passwords["indexer"])
    assert status.returncode == 0, status.stderr[-2000:]
    shown = json.loads(status.stdout)
    assert {p["topic"] for p in shown["partitions"]} == {f"{prefix}hosta", f"{prefix}hostb"}
    assert shown["total_lag"] == 0 and shown["indexed_events"] == 8


def test_a_host_cannot_produce_to_another_hosts_topic(
    tmp_path: Path, broker: AclBroker, users: Users, prefix: str
) -> None:
    # Host A's credentials, host B's topic (and a topic only host A's prefix would match if it were a bare prefix).
    for topic in (f"{prefix}hostb", f"{prefix}hostab"):
        result = ship(shipper_config(tmp_path / topic, broker, "hosta", topic, 3), "hosta", users)
        assert result.returncode == 1, result.stderr[-3000:]
        last = result.stderr.strip().splitlines()[-1]
        assert "Kafka refused the connection: not authorized to use the topic" in last, result.stderr[-3000:]
        assert "Traceback" not in result.stderr
    # Nothing reached host B's topic.
    reader = Consumer({**broker.client_config(broker.tls.username, broker.tls.password),
                       "group.id": f"check-{uuid.uuid4().hex[:6]}", "auto.offset.reset": "earliest"})
    try:
        ends = [reader.get_watermark_offsets(TopicPartition(f"{prefix}hostb", p), timeout=15)[1] for p in (0, 1)]
    finally:
        reader.close()
    assert ends == [0, 0]


def test_an_event_claiming_another_host_is_dead_lettered_not_indexed(
    tmp_path: Path, broker: AclBroker, users: Users, prefix: str
) -> None:
    stream_b = stream_id("hostb", "dev:1/ino:1")

    def event(host: str, stream: str, offset: int, body: str) -> dict[str, object]:
        return new_event(stream=stream, offset=offset, timestamp_ns=BASE_NS, observed_ns=BASE_NS, body=body,
                         resource={"service.name": "api", "host.name": host, "host.id": host}, input_id="app",
                         log_format="plain")

    genuine = event("hosta", stream_id("hosta", "dev:1/ino:1"), 0, "hosta says hello")
    # Host A is compromised: with its own (valid) credentials it writes, into its own topic, an event that claims to be
    # host B's next line, under the event id host B's shipper will give that line.
    forged = event("hostb", stream_b, 0, "hostb: user admin logged in")
    producer = Producer({**broker.client_config("hosta", users.passwords["hosta"]), "acks": "all"})
    for value in (genuine, forged):
        producer.produce(f"{prefix}hosta", key=str(value["event_id"])[:16].encode(), value=serialize(value))
    assert producer.flush(60) == 0
    real_b = event("hostb", stream_b, 0, "hostb line 0")
    producer = Producer({**broker.client_config("hostb", users.passwords["hostb"]), "acks": "all"})
    producer.produce(f"{prefix}hostb", key=stream_b.encode(), value=serialize(real_b))
    assert producer.flush(60) == 0

    config = consumer_config(tmp_path, broker, prefix)
    index(config, users)
    db = tmp_path / "index" / "logs.db"
    assert indexed(db) == [("hosta", "hosta says hello"), ("hostb", "hostb line 0")]
    ((topic, error),) = dead_letters(db)
    assert topic == f"{prefix}hosta"
    assert error == f"per-host isolation: the event's host.id 'hostb' is not 'hosta', the host of its topic {topic}"

    # The dead letter is in the dead-letter topic too (created by the consumer), with the reason in its headers; a
    # second run, whose pattern now also matches that topic, does not read it.
    reader = Consumer({**broker.client_config(broker.tls.username, broker.tls.password),
                       "group.id": f"check-{uuid.uuid4().hex[:6]}", "auto.offset.reset": "earliest"})
    reader.subscribe([f"{prefix}hosta.deadletter"])
    try:
        letters = []
        for _ in range(60):
            letters += [m for m in reader.consume(10, timeout=1.0) if m.error() is None]
            if letters:
                break
    finally:
        reader.close()
    assert [m.value() for m in letters] == [serialize(forged)]
    assert dict(letters[0].headers())["logferry.error"].decode() == error
    again = index(config, users)
    assert "A topic pattern matches this dead-letter topic; it is not read." in again.stderr
    assert indexed(db) == [("hosta", "hosta says hello"), ("hostb", "hostb line 0")]
    assert len(dead_letters(db)) == 1
