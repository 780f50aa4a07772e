"""Helpers of the console's tests: an index filled through a sink's own write path (no broker), and the events."""

import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from consumer.config import ConsumerConfig, parse_config
from consumer.records import Batch
from consumer.sinks.base import IndexReader
from consumer.sinks.registry import open_reader, open_sink
from schemas import new_event, serialize, stream_id

NS = 1_000_000_000
TOPIC = "console-test"


def event(i: int, *, at_ns: int, service: str = "api", host: str = "web-1", level: tuple[str, int] = ("INFO", 9),
          body: str = "request handled", trace: str | None = None, attributes: dict[str, Any] | None = None,
          ) -> dict[str, Any]:
    found = new_event(
        stream=stream_id(host, f"/var/log/{service}.log"), offset=i * 100, timestamp_ns=at_ns, observed_ns=at_ns + 5,
        body=body, resource={"service.name": service, "host.name": host, "host.id": host}, input_id="app",
        log_format="plain", severity_text=level[0], severity_number=level[1],
        attributes={"log.file.path": f"/var/log/{service}.log", "log.file.record_offset": i * 100, **(attributes or {})},
    )
    if trace is not None:
        found["trace_id"] = trace
    return found


class Index:
    """A sink of `config` to write events with, and its reader."""

    def __init__(self, config: ConsumerConfig) -> None:
        self.config = config
        self.sink = open_sink(config, lambda letters: None)
        self.sink.setup()
        self.sink.stored_offsets([(TOPIC, 0)])
        self.offset = 0
        self.reader: IndexReader = open_reader(config)

    def write(self, events: Sequence[dict[str, Any]]) -> None:
        batch = Batch()
        for item in events:
            batch.items.append(self.sink.prepare(item, serialize(item)))
            batch.sources.append((TOPIC, 0, self.offset))
            self.offset += 1
        batch.next_offsets[(TOPIC, 0)] = self.offset
        batch.consumed = len(events)
        self.sink.add(batch)
        self.sink.flush()

    def close(self) -> None:
        self.reader.close()
        self.sink.close()


def sqlite_index(directory: Path) -> Index:
    return Index(parse_config({"kafka": {"topics": [TOPIC]}, "sink": {"type": "sqlite", "path": str(directory / "logs.db")}}))


def engine_index(kind: str, url: str) -> Index:
    prefix = f"console-{uuid.uuid4().hex[:10]}"
    return Index(parse_config({"kafka": {"topics": [TOPIC]},
                               "sink": {"type": kind, "url": url, "index_prefix": prefix, "retry_attempts": 2}}))


def refresh(kind: str, url: str, index: Index) -> None:
    """Make what the engine sink wrote searchable now (instead of within refresh_interval)."""
    from tests.support.engine_http import request

    prefix = index.config.sink.index_prefix  # type: ignore[attr-defined]
    request(url, "POST", f"/{prefix}-events-*/_refresh")
    time.sleep(0.1)


class Evaluation:
    """The alert evaluator's own sink (consumer.alerting.evaluator.EvaluatorSink, with the real notifier) fed batches
    without a broker: a state file written by a real evaluation."""

    def __init__(self, directory: Path, rules: str, topic: str = TOPIC) -> None:
        from consumer.alerting.config import parse_evaluator_config
        from consumer.alerting.evaluator import EvaluatorSink
        from consumer.alerting.seam import open_notifier
        from logferry.config import read_toml

        self.path = directory / "alerts.db"
        source = directory / "alerts.toml"
        source.write_text(f'[kafka]\ntopics = ["{topic}"]\n\n[alert]\nstate_path = "{self.path}"\n'
                          f'evaluation_interval = "0.1s"\n{rules}\n')
        self.config = parse_evaluator_config(read_toml(source), str(source), directory)
        self.sink = EvaluatorSink(self.config, open_notifier(self.config.notify))
        self.sink.setup()
        self.sink.stored_offsets([(topic, 0)])
        self.topic = topic
        self.offset = 0

    def write(self, events: Sequence[dict[str, Any]]) -> None:
        batch = Batch()
        for item in events:
            batch.items.append(self.sink.prepare(item, serialize(item)))
            batch.sources.append((self.topic, 0, self.offset))
            self.offset += 1
        batch.next_offsets[(self.topic, 0)] = self.offset
        batch.consumed = len(events)
        self.sink.add(batch)
        self.sink.flush()

    def close(self) -> None:
        self.sink.close()


def job_run_events(job: str, *, host: str, at_ns: int, exit_code: int | None, lines: int = 2,
                   first: int = 0) -> list[dict[str, Any]]:
    """A `shipper exec` run's events: the records shipper.jobs.records writes (start, output lines, an end with
    `exit_code` unless it is None: a run still going), mapped as the spool input's json format maps them (message as
    body, level, service; the rest as attributes)."""
    from shipper.jobs.identity import JobName, RunId
    from shipper.jobs.records import Ending, EventName, Outcome, RunContext, end_record, start_record

    name = JobName(job)
    run = RunContext(name, RunId.new(host, name, at_ns), "")
    records = [start_record(run, at_ns, "/opt/jobs/run", 4242, no_overlap=False)]
    records += [{**run.base(EventName.OUTPUT, at_ns + (i + 1) * 1000, None, f"{job} output {i}"), "log.iostream": "stdout"}
                for i in range(lines)]
    if exit_code is not None:
        outcome = Outcome.SUCCEEDED if exit_code == 0 else Outcome.FAILED
        records.append(end_record(run, at_ns + (lines + 1) * 1000, Ending(
            outcome, exit_code=exit_code, wall_ms=float(lines + 1), lines={"stdout": lines, "stderr": 0})))
    levels = {"INFO": 9, "WARN": 13, "ERROR": 17}
    found = []
    for i, record in enumerate(records, start=first):
        level = record.get("level")
        stamp = at_ns + (i - first) * 1000
        found.append(new_event(
            stream=stream_id(host, f"/state/jobs/{job}.{run.run_id}.jsonl"), offset=i * 100, timestamp_ns=stamp,
            observed_ns=stamp, body=record["message"], resource={"host.name": host, "host.id": host},
            input_id="_jobs", log_format="json", severity_text=level, severity_number=levels.get(level or "", 0),
            attributes={k: v for k, v in record.items() if k not in ("timestamp", "level", "message", "service")},
        ))
    return found
