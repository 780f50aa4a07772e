"""Config checks: the documented minimal configs load; a bad one gives one line naming the key and exit 2."""

from pathlib import Path

import pytest

from consumer.config import load_config
from tests.consumer.helpers import ROOT, run_consumer

MINIMAL = """
[kafka]
bootstrap_servers = "127.0.0.1:9092"
topics = ["logs"]
group_id = "indexer"
[sink]
type = "sqlite"
path = "/var/lib/logferry/logs.db"
"""


def test_the_minimal_sqlite_config_loads(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text(MINIMAL)
    config = load_config(tmp_path / "c.toml")
    assert (config.kafka.topics, config.kafka.group_id, config.sink.type) == (["logs"], "indexer", "sqlite")
    assert config.kafka.deadletter_topic("logs") == "logs.deadletter"


def test_the_compose_opensearch_config_loads() -> None:
    config = load_config(ROOT / "compose" / "docker" / "consumer.toml")
    assert (config.sink.type, config.sink.url) == ("opensearch", "http://opensearch:9200")


def test_durations_are_numbers_in_their_unit_or_strings_with_units(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text(
        '[consumer]\nbatch_max_wait = "250ms"\nretry_max = "1m30s"\nshutdown_timeout = 12\n'
        '[kafka]\nsession_timeout_ms = "10s"\nmax_poll_interval_ms = 60000\n'
        '[sink]\ntype = "opensearch"\nrequest_timeout = "2m"\n'
    )
    config = load_config(tmp_path / "c.toml")
    assert (config.consumer.batch_max_wait, config.consumer.retry_max, config.consumer.shutdown_timeout) == (0.25, 90.0, 12.0)
    assert (config.kafka.session_timeout_ms, config.kafka.max_poll_interval_ms) == (10_000, 60_000)
    assert type(config.sink).__name__ == "OpenSearchSettings" and config.sink.request_timeout == 120.0


def test_a_missing_sink_section_is_the_sqlite_default() -> None:
    from consumer.config import parse_config

    assert type(parse_config({}).sink).__name__ == "SqliteSettings"


@pytest.mark.parametrize(
    ("toml", "line"),
    [
        ('[sink]\ntype = "elastic"', "config error: sink.type: unknown sink 'elastic'; known: elasticsearch, opensearch, sqlite"),
        ("[kafka]\ntopics = []", "config error: kafka.topics: must list at least one topic"),
        ('[kafka]\ntopics = ["bad topic"]', "config error: kafka.topics[0]: 'bad topic' is not a valid Kafka topic name"),
        ('[kafka]\nbootstrap_servers = "localhost"',
         "config error: kafka.bootstrap_servers: 'localhost' is not a host:port address with a port from 1 to 65535"),
        ('[kafka]\ngroup_idd = "x"', "config error: kafka.group_idd: unknown key (did you mean group_id?)"),
        ("[consumer]\nbatch_max_events = 0", "config error: consumer.batch_max_events: must be at least 1"),
        ('[consumer]\nbatch_max_events = "many"', "config error: consumer.batch_max_events: expected an integer, got a string"),
        ('[sink]\ntype = "opensearch"\nurl = "opensearch:9200"',
         "config error: sink.url: 'opensearch:9200' is not an http:// or https:// URL"),
        ('[consumer]\nmetrics_address = "9100"',
         "config error: consumer.metrics_address: '9100' is not a host:port address with a port from 1 to 65535"),
        ('[sink]\ntype = "sqlite"\nurl = "http://x:9200"', "config error: sink.url: unknown key"),
        ('[sink]\ntype = "opensearch"\npath = "x.db"', "config error: sink.path: unknown key"),
        ('[consumer]\nbatch_max_wait = "soon"',
         'config error: consumer.batch_max_wait: \'soon\' is not a duration such as "500ms", "30s", "5m", "1h30m", "14d" or '
         '"PT1H30M"'),
        ("[consumer]\nbatch_max_wait = true",
         'config error: consumer.batch_max_wait: expected a duration (a number of seconds or a string such as "30s"), got a '
         "boolean"),
        ("[kafka\n", None),
    ],
)
def test_bad_config_gives_one_line_and_exit_2(tmp_path: Path, toml: str, line: str | None) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(toml)
    for command in ("check-config", "run"):
        result = run_consumer(command, "--config", str(path))
        assert result.returncode == 2
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("config error: ")
        assert "Traceback" not in result.stderr
        if line is not None:
            assert lines[0] == line


def test_missing_config_file_gives_one_line_and_exit_2(tmp_path: Path) -> None:
    result = run_consumer("run", "--config", str(tmp_path / "nope.toml"))
    expected = f"config error: the config file {tmp_path / 'nope.toml'} does not exist"
    assert (result.returncode, result.stderr.strip()) == (2, expected)


def test_check_config_accepts_a_good_file(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text(MINIMAL)
    result = run_consumer("check-config", "--config", str(tmp_path / "c.toml"))
    assert result.returncode == 0
    assert result.stdout.strip() == "config OK: topics logs, group 'indexer', sink sqlite"
