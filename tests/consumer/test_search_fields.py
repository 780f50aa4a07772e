"""The whole search syntax end to end on SQLite and OpenSearch: field terms, --trace-id, --attr, the bare trace-id
word, quoted values, the line on stderr when nothing matched, and bad syntax as one line with exit 2."""

import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.consumer.helpers import make_events, produce, run_consumer, sqlite_config
from tests.support.engines import EngineNode
from tests.support.kafka import new_topic

pytestmark = pytest.mark.kafka

TRACE_A = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACE_B = "0af7651916cd43dd8448eb211c80319c"
TRACE_C = "5b8aa5a2d2c872e8321cf37308d69df2"


def _events() -> list[dict[str, Any]]:
    """20 api events: 0-4 in trace A, 5-9 in trace B; order_id = i (a number); status 500 on odd i, else 200; user
    bob on i < 10; flag true on 3; note "a b" on 7. Event 20 mentions trace C in its text, event 21 carries it."""
    events = make_events(22, service="api", host="web-1")
    for i, event in enumerate(events[:20]):
        event["attributes"].update({"order_id": i, "http.response.status_code": 500 if i % 2 else 200})
        if i < 10:
            event["attributes"]["user"] = "bob"
            event["trace_id"] = TRACE_A if i < 5 else TRACE_B
    events[3]["attributes"]["flag"] = True
    events[7]["attributes"]["note"] = "a b"
    events[20]["body"] = f"upstream call failed, trace {TRACE_C}"
    events[21]["trace_id"] = TRACE_C
    return events


@pytest.fixture(scope="module", params=["sqlite", "opensearch", "elasticsearch"])
def indexed(request: pytest.FixtureRequest, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The events above indexed once per sink; the tests only read."""
    topic = new_topic(kafka_bootstrap)
    group = f"fields-{uuid.uuid4().hex[:8]}"
    directory = tmp_path_factory.mktemp(request.param) / "index"
    directory.mkdir()
    if request.param == "sqlite":
        config = sqlite_config(directory / "logs.db", kafka_bootstrap, topic, group)
    else:
        node = EngineNode(request.param, request.getfixturevalue(f"{request.param}_url"))
        config = node.config(directory, kafka_bootstrap, topic, group=group, prefix=f"f{group}")
    produce(kafka_bootstrap, topic, _events())
    result = run_consumer("run", "--config", str(config), "--once", "--idle-timeout", "2")
    assert result.returncode == 0, result.stderr
    if request.param != "sqlite":
        node.request("POST", f"/f{group}-events-*/_refresh")
    return config


def found(config: Path, *args: str) -> list[int]:
    """Offsets (event numbers) of the matches, newest first."""
    result = run_consumer("search", "--config", str(config), "--json", "--limit", "100", *args)
    assert result.returncode == 0, result.stderr
    events = [orjson.loads(line) for line in result.stdout.splitlines()]
    return [e["attributes"]["log.file.record_offset"] // 100 for e in events]


def test_trace_id_as_term_option_and_bare_word(indexed: Path) -> None:
    assert found(indexed, f"trace_id:{TRACE_A}") == [4, 3, 2, 1, 0]
    assert found(indexed, "--trace-id", TRACE_B.upper()) == [9, 8, 7, 6, 5]
    assert found(indexed, TRACE_A) == [4, 3, 2, 1, 0]


def test_a_bare_trace_id_finds_the_text_and_the_field(indexed: Path) -> None:
    assert found(indexed, TRACE_C) == [21, 20]
    assert found(indexed, "upstream", TRACE_C) == [20]  # the other words still apply to both readings
    assert found(indexed, f'"{TRACE_C}"') == [20]  # quoted: text only


def test_attribute_equality_compares_as_text(indexed: Path) -> None:
    assert found(indexed, "order_id:3") == [3]
    assert found(indexed, "--attr", "order_id=3") == [3]
    assert found(indexed, "attributes.order_id:3") == [3]
    assert found(indexed, "http.response.status_code:500", "user:bob") == [9, 7, 5, 3, 1]
    assert found(indexed, "--attr", "http.response.status_code=500", "--attr", "user=bob", "trace_id:" + TRACE_A) == [3, 1]
    assert found(indexed, "flag:true") == [3]
    assert found(indexed, 'note:"a b"') == [7]
    assert found(indexed, "note:a") == []


def test_field_terms_combine_with_words_and_options(indexed: Path) -> None:
    # make_events cycles DEBUG, INFO, WARN, ERROR: event i is an error when i % 4 == 3.
    assert found(indexed, "level:error", "service:api", "host:web-1", "user:bob") == [7, 3]
    assert found(indexed, "msg:request", "order_id:12") == [12]
    assert found(indexed, "request", "12", "service:api") == [12]
    assert found(indexed, "service:billing") == []


def test_nothing_matched_is_a_line_on_stderr_and_exit_0(indexed: Path) -> None:
    for args in (["order_id:999"], ["--json", "no-such-word"]):
        result = run_consumer("search", "--config", str(indexed), *args)
        assert (result.returncode, result.stdout, result.stderr) == (0, "", "No events matched.\n")


@pytest.mark.parametrize(("args", "message"), [
    (['msg:"disk full'], "error: the quote opened at character 5 is not closed"),
    (["trace_id:nothex"], "error: the trace id 'nothex' is not 32 hexadecimal digits"),
    (["--attr", "order_id"], "error: --attr 'order_id' is not key=value"),
    (["service:api", "--service", "billing"],
     "error: service is given twice with different values ('billing' and 'api')"),
])
def test_bad_syntax_is_one_line_and_exit_2(indexed: Path, args: list[str], message: str) -> None:
    result = run_consumer("search", "--config", str(indexed), *args)
    assert (result.returncode, result.stdout, result.stderr.splitlines()) == (2, "", [message])


def test_status_shows_the_oldest_event_kept(indexed: Path) -> None:
    result = run_consumer("status", "--config", str(indexed), "--json")
    assert result.returncode == 0, result.stderr
    assert orjson.loads(result.stdout)["oldest_event"] == "2026-01-01T00:00:00.000000000Z"
    text = run_consumer("status", "--config", str(indexed))
    assert "oldest_event 2026-01-01T00:00:00.000000000Z" in text.stdout.splitlines()


def test_the_oldest_event_is_read_from_the_timestamp_index(tmp_path: Path) -> None:
    from consumer.sinks.sqlite_db import connect, create_schema
    from consumer.sinks.sqlite_reader import OLDEST_TIMESTAMP, SqliteReader

    path = tmp_path / "logs.db"
    connection = connect(str(path), create=True)
    create_schema(connection)
    plan = " ".join(str(row[-1]) for row in connection.execute("EXPLAIN QUERY PLAN " + OLDEST_TIMESTAMP))
    connection.close()
    assert "USING COVERING INDEX events_by_timestamp" in plan, plan
    reader = SqliteReader(str(path))
    try:
        assert reader.oldest_timestamp() is None
    finally:
        reader.close()
