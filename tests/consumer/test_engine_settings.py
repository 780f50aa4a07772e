"""The search engines' `[sink]` keys: one dataclass per engine over a shared base, checked before anything runs."""

from pathlib import Path

import pytest

from consumer.config import load_config
from consumer.sinks.elasticsearch_settings import ElasticsearchSettings
from consumer.sinks.opensearch_settings import OpenSearchSettings
from tests.consumer.helpers import run_consumer

KAFKA = '[kafka]\nbootstrap_servers = "127.0.0.1:9"\ntopics = ["logs"]\ngroup_id = "g"\n'


@pytest.mark.parametrize(("kind", "settings", "user_env"), [
    ("opensearch", OpenSearchSettings, "LOGFERRY_OPENSEARCH_USERNAME"),
    ("elasticsearch", ElasticsearchSettings, "LOGFERRY_ELASTICSEARCH_USERNAME"),
])
def test_each_engine_has_its_settings_type_with_the_shared_keys_and_durations(
    tmp_path: Path, kind: str, settings: type, user_env: str
) -> None:
    (tmp_path / "c.toml").write_text(
        f'{KAFKA}[sink]\ntype = "{kind}"\nurl = "http://es:9200"\nretention = "14d"\ndeadletter_retention = "30d"\n'
        'retention_interval = "5m"\n'
    )
    config = load_config(tmp_path / "c.toml")
    assert type(config.sink) is settings
    sink = config.sink
    assert isinstance(sink, settings)
    assert (sink.retention, sink.deadletter_retention, sink.retention_interval) == (14 * 86_400, 30 * 86_400, 300)
    assert sink.username_env == user_env  # type: ignore[attr-defined]


@pytest.mark.parametrize(("sink", "line"), [
    ('type = "elasticsearch"\nretention = "2h"',
     'config error: sink.retention: must be 0 (keep all) or at least one day ("1d")'),
    ('type = "opensearch"\ndeadletter_retention = -1', "config error: sink.deadletter_retention: must be 0 (keep all) or more"),
    ('type = "elasticsearch"\nurl = "es:9200"', "config error: sink.url: 'es:9200' is not an http:// or https:// URL"),
    ('type = "elasticsearch"\npath = "x.db"', "config error: sink.path: unknown key"),
])
def test_a_bad_engine_key_is_one_line_naming_it_and_exit_2(tmp_path: Path, sink: str, line: str) -> None:
    (tmp_path / "c.toml").write_text(f"{KAFKA}[sink]\n{sink}\n")
    result = run_consumer("status", "--config", str(tmp_path / "c.toml"))
    assert result.returncode == 2
    assert result.stderr.strip() == line
