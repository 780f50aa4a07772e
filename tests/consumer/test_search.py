"""Search over the SQLite index through the CLI: text, level, service, host and time range pick the right events."""

from pathlib import Path

import orjson
import pytest

from tests.consumer.helpers import make_events, produce, run_consumer

pytestmark = pytest.mark.kafka


@pytest.fixture
def indexed(kafka_bootstrap: str, kafka_topic: str, sqlite_consumer_config: Path) -> Path:
    """120 events: api/web-1 (0-39 cycling levels), billing/web-2 ERROR (a disk message), worker/web-1 INFO."""
    events = make_events(40, file="dev:1/ino:1", service="api", host="web-1")
    events += make_events(40, file="dev:1/ino:2", service="billing", host="web-2", level=("ERROR", 17),
                          body="disk-full while writing invoice", start=40)
    events += make_events(40, file="dev:1/ino:3", service="worker", host="web-1", level=("INFO", 9), start=80)
    produce(kafka_bootstrap, kafka_topic, events)
    result = run_consumer("run", "--config", str(sqlite_consumer_config), "--once", "--idle-timeout", "2")
    assert result.returncode == 0, result.stderr
    return sqlite_consumer_config


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
