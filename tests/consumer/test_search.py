"""Search over either sink through the CLI: text, level, service, host and time range pick the right events."""

import uuid
from pathlib import Path

import orjson
import pytest

from tests.consumer.helpers import make_events, opensearch_config, produce, run_consumer, sqlite_config
from tests.support.kafka import new_topic

pytestmark = pytest.mark.kafka


@pytest.fixture(scope="module", params=["sqlite", "opensearch"])
def indexed(request: pytest.FixtureRequest, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """120 events in either sink: api/web-1 (0-39 cycling levels), billing/web-2 ERROR (a disk message), worker/web-1 INFO.
    Indexed once per sink; the tests only read."""
    kafka_topic = new_topic(kafka_bootstrap)
    group_id = f"search-{uuid.uuid4().hex[:8]}"
    tmp_path = tmp_path_factory.mktemp(request.param)
    if request.param == "sqlite":
        (tmp_path / "index").mkdir()
        config = sqlite_config(tmp_path / "index" / "logs.db", kafka_bootstrap, kafka_topic, group_id)
    else:
        url = request.getfixturevalue("opensearch_url")
        config = opensearch_config(tmp_path, url, kafka_bootstrap, kafka_topic, group=group_id, prefix=f"s{group_id}")
    events = make_events(40, file="dev:1/ino:1", service="api", host="web-1")
    events += make_events(40, file="dev:1/ino:2", service="billing", host="web-2", level=("ERROR", 17),
                          body="disk-full while writing invoice", start=40)
    events += make_events(40, file="dev:1/ino:3", service="worker", host="web-1", level=("INFO", 9), start=80)
    produce(kafka_bootstrap, kafka_topic, events)
    result = run_consumer("run", "--config", str(config), "--once", "--idle-timeout", "2")
    assert result.returncode == 0, result.stderr
    if request.param == "opensearch":
        from opensearchpy import OpenSearch

        client = OpenSearch(hosts=[url])
        client.indices.refresh(index=f"s{group_id}-events-*")
        client.close()
    return config


def search(config: Path, *args: str) -> list[dict[str, object]]:
    result = run_consumer("search", "--config", str(config), "--json", *args)
    assert result.returncode == 0, result.stderr
    return [orjson.loads(line) for line in result.stdout.splitlines()]


def offsets(events: list[dict[str, object]]) -> list[int]:
    return [e["attributes"]["log.file.record_offset"] // 100 for e in events]  # type: ignore[index]


def test_search_by_text_finds_the_words_anywhere_in_the_body_newest_first(indexed: Path) -> None:
    found = search(indexed, "disk-full", "invoice", "--limit", "100")
    assert offsets(found) == list(range(79, 39, -1))
    assert search(indexed, "no-such-word") == []


def test_search_by_level_returns_that_level_and_worse(indexed: Path) -> None:
    errors = search(indexed, "--level", "error", "--limit", "200")
    api_errors = [i for i in range(40) if i % 4 == 3]
    assert sorted(offsets(errors)) == sorted(api_errors + list(range(40, 80)))
    warnings = search(indexed, "--level", "warn", "--service", "api", "--limit", "200")
    assert sorted(offsets(warnings)) == sorted(i for i in range(40) if i % 4 >= 2)


def test_search_by_service_and_host(indexed: Path) -> None:
    assert sorted(offsets(search(indexed, "--service", "worker", "--limit", "200"))) == list(range(80, 120))
    assert sorted(offsets(search(indexed, "--host", "web-1", "--limit", "200"))) == list(range(40)) + list(range(80, 120))


def test_search_by_time_range_is_since_inclusive_until_exclusive(indexed: Path) -> None:
    found = search(indexed, "--since", "2026-01-01T00:00:00.010Z", "--until", "2026-01-01T00:00:00.020Z", "--limit", "200")
    assert offsets(found) == list(range(19, 9, -1))


def test_search_limit_and_plain_output(indexed: Path) -> None:
    assert len(search(indexed, "--limit", "5")) == 5
    result = run_consumer("search", "--config", str(indexed), "invoice", "--limit", "2")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines == [
        "2026-01-01T00:00:00.079000000Z ERROR billing web-2: disk-full while writing invoice",
        "2026-01-01T00:00:00.078000000Z ERROR billing web-2: disk-full while writing invoice",
    ]


def test_search_with_a_bad_time_says_so_in_one_line(indexed: Path) -> None:
    result = run_consumer("search", "--config", str(indexed), "--since", "yesterday-ish")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: 'yesterday-ish' is neither a time such as 2026-05-01T12:00:00Z nor a duration such as 15m"
    ]
