"""The console's API over each search engine (OpenSearch, Elasticsearch): `consumer serve` on an engine sink's
config answers the same search, facets, histogram and live tail as over SQLite."""

import json
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.console.pipeline import ROOT, free_port
from tests.console.support import NS, Index, engine_index, event, job_run_events, refresh
from tests.support.polling import poll_until


@pytest.fixture(params=[pytest.param("opensearch", marks=pytest.mark.opensearch),
                        pytest.param("elasticsearch", marks=pytest.mark.elasticsearch)])
def engine(request: pytest.FixtureRequest) -> tuple[str, str]:
    kind: str = request.param
    return kind, request.getfixturevalue(f"{kind}_url")


@pytest.fixture
def served(engine: tuple[str, str], tmp_path: Path) -> Iterator[tuple[str, Index]]:
    kind, url = engine
    index = engine_index(kind, url)
    now = time.time_ns()
    index.write([event(i, at_ns=now - (30 - i) * NS, service=("api" if i % 3 else "billing"), host=f"web-{i % 2}",
                       level=("ERROR", 17) if i % 5 == 0 else ("INFO", 9), body=f"engine line {i}") for i in range(30)])
    refresh(kind, url, index)
    config = tmp_path / "consumer.toml"
    prefix = index.config.sink.index_prefix  # type: ignore[attr-defined]
    config.write_text(f'[kafka]\ntopics = ["console-test"]\n\n[sink]\ntype = "{kind}"\nurl = "{url}"\n'
                      f'index_prefix = "{prefix}"\n')
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "consumer", "serve", "--config", str(config), "--listen",
                                f"127.0.0.1:{port}"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        poll_until(lambda: _json(f"{base}/api/health"), lambda answer: bool(answer["ok"]), deadline=60,
                   what="serve to answer", transient=(OSError,), interval=0.2)
        yield base, index
    finally:
        process.terminate()
        process.communicate(timeout=30)
        index.close()


def _json(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=30) as response:
        found: dict[str, object] = json.loads(response.read())
        return found


def test_search_facets_histogram_and_tail_over_an_engine(served: tuple[str, Index], engine: tuple[str, str]) -> None:
    base, index = served
    page = _json(f"{base}/api/search?since=1h&limit=7&q=engine")
    events = page["events"]
    assert isinstance(events, list) and [e["body"] for e in events] == [f"engine line {i}" for i in range(29, 22, -1)]
    older = _json(f"{base}/api/search?since=1h&limit=7&q=engine&before={page['next']}")
    assert [e["body"] for e in older["events"]] == [f"engine line {i}" for i in range(22, 15, -1)]  # type: ignore[union-attr]
    facets = _json(f"{base}/api/facets?since=1h")
    assert facets["total"] == 30
    assert {f["value"]: f["count"] for f in facets["service"]} == {"api": 20, "billing": 10}  # type: ignore[union-attr]
    assert {f["value"]: f["count"] for f in facets["level"]} == {"info": 24, "error": 6}  # type: ignore[union-attr]
    narrowed = _json(f"{base}/api/facets?since=1h&service=billing&level=error")
    assert narrowed["total"] == 2  # i = 0 and 15
    histogram = _json(f"{base}/api/histogram?since=1h&interval=1m")
    assert histogram["total"] == 30 and len(histogram["buckets"]) in (60, 61)  # type: ignore[arg-type]
    # the tail: a cursor at the end, then what is written after it
    with urllib.request.urlopen(f"{base}/api/tail?q=fresh", timeout=30) as stream:
        assert b"event: ready" in stream.read1(4096)
        index.write([event(500, at_ns=time.time_ns(), body="fresh engine line")])
        refresh(*engine, index)
        received = b""
        deadline = time.monotonic() + 30
        while b"fresh engine line" not in received and time.monotonic() < deadline:
            received += stream.read1(65536)
    assert b"event: events" in received and b"fresh engine line" in received


def test_the_jobs_view_over_an_engine(served: tuple[str, Index], engine: tuple[str, str]) -> None:
    base, index = served
    now = time.time_ns()
    runs = [job_run_events("report", host="web-0", at_ns=now - 300 * NS, exit_code=0),
            job_run_events("report", host="web-0", at_ns=now - 200 * NS, exit_code=4, first=10),
            job_run_events("sync", host="web-1", at_ns=now - 100 * NS, exit_code=None, first=20)]
    index.write([item for run in runs for item in run])
    refresh(*engine, index)
    answer = _json(f"{base}/api/jobs")
    jobs = {j["name"]: j["runs"] for j in answer["jobs"]}  # type: ignore[union-attr]
    assert [(r["state"], r["exit_code"], r["outcome"], r["host"]) for r in jobs["report"]] == [
        ("ended", 4, "failed", "web-0"), ("ended", 0, "succeeded", "web-0")]
    assert [(r["state"], r["exit_code"]) for r in jobs["sync"]] == [("running", None)]
    assert answer["complete"] is True
    # a run's search is the run's events, start to end
    newest = jobs["report"][0]
    found = _json(f"{base}/api/search?" + urllib.parse.urlencode({"q": newest["search"]}))
    assert sorted(e["body"] for e in found["events"]) == sorted(  # type: ignore[union-attr]
        ["Job report started.", "report output 0", "report output 1",
         "Job report failed with exit code 4 after 0.003 s."])
