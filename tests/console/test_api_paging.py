"""The result pages of /api/search (consumer.console.api.search) over a real SQLite index: newest first, every event
once across the pages, even when more events share one timestamp than a page holds; and the request parameters'
errors are sentences."""

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from consumer.console import api
from consumer.console.readers import ReaderPool
from tests.console.support import NS, Index, event, sqlite_index


@pytest.fixture
def index(tmp_path: Path) -> Iterator[Index]:
    made = sqlite_index(tmp_path)
    try:
        yield made
    finally:
        made.close()


def test_pages_cover_every_event_once_across_equal_timestamps(index: Index) -> None:
    now = time.time_ns()
    tie = now - 100 * NS
    index.write([event(i, at_ns=now - (50 - i) * NS) for i in range(50)]  # 50 newer, distinct stamps
                + [event(100 + i, at_ns=tie, body=f"tied {i}") for i in range(250)]  # 250 at one nanosecond
                + [event(400 + i, at_ns=tie - (i + 1) * NS) for i in range(30)])  # 30 older
    pool = ReaderPool(index.config, size=1)
    try:
        seen: list[str] = []
        before = ""
        pages = 0
        while True:
            answer = api.search({"since": "1h", "limit": "100", "before": before}, pool)
            seen.extend(str(e["event_id"]) for e in answer["events"])
            pages += 1
            if answer["next"] is None:
                break
            before = str(answer["next"])
        assert len(seen) == 330 and len(set(seen)) == 330
        assert pages == 4
        with pytest.raises(ValueError, match="limit"):
            api.search({"limit": "0"}, pool)
        with pytest.raises(ValueError, match="cursor"):
            api.search({"before": "yesterday"}, pool)
        with pytest.raises(ValueError, match="since must be before until"):
            api.facets({"since": "1m", "until": "2h"}, pool)
        with pytest.raises(ValueError, match="buckets"):
            api.histogram({"since": "24h", "interval": "1s"}, pool)
    finally:
        pool.close()
