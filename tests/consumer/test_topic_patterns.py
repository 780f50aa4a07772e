"""Config of per-host isolation: topic patterns, which topics are indexed, a topic's host; bad values are one line."""

from pathlib import Path

import pytest

from consumer.config import ConsumerKafka, parse_config
from tests.consumer.helpers import run_consumer


def isolation(**kafka: object) -> ConsumerKafka:
    return parse_config({"kafka": {"topics": ["^logs\\..+"], "host_topic_prefix": "logs.", **kafka}}).kafka


def test_a_pattern_indexes_every_host_topic_but_never_a_dead_letter_topic() -> None:
    kafka = isolation()
    assert kafka.literal_topics() == []
    for topic, indexed in (("logs.hosta", True), ("logs.hosta.audit", True), ("logs.hosta.deadletter", False),
                           ("logs", False), ("other.hosta", False)):
        assert kafka.indexes(topic) is indexed, topic
    listed = parse_config({"kafka": {"topics": ["logs.x.deadletter", "^logs\\."]}}).kafka
    assert listed.indexes("logs.x.deadletter")  # listed by name: the operator asked for it


def test_the_host_of_a_topic_is_the_part_after_the_prefix_up_to_the_next_dot() -> None:
    kafka = isolation()
    assert [kafka.topic_host(t) for t in ("logs.hosta", "logs.hosta.audit", "logs.", "other.hosta")] == [
        "hosta", "hosta", None, None]


@pytest.mark.parametrize(
    ("toml", "line"),
    [
        ("[kafka]\ntopics = ['^logs\\.(']", "config error: kafka.topics[0]: '^logs\\\\.(' is not a valid regular expression: "
                                             "missing ), unterminated subpattern at position 7"),
        ('[kafka]\nhost_topic_prefix = "logs/"', "config error: kafka.host_topic_prefix: 'logs/' is not the start of a "
                                                  "valid topic name"),
    ],
)
def test_bad_isolation_settings_give_one_line_and_exit_2(tmp_path: Path, toml: str, line: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(toml)
    result = run_consumer("check-config", "--config", str(path))
    assert (result.returncode, result.stderr.strip()) == (2, line)


def test_check_config_accepts_the_documented_isolation_config(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[kafka]\ntopics = ['^logs\\..+']\nhost_topic_prefix = \"logs.\"\ngroup_id = \"logferry-indexer\"\n")
    result = run_consumer("check-config", "--config", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "config OK: topics ^logs\\..+, group 'logferry-indexer', sink sqlite"
