"""Durations in both configs: numbers in the key's unit, or strings with units, checked before anything runs."""

import pytest

from logferry.errors import ConfigError
from shipper.config import parse_config

INPUT = {"id": "a", "paths": ["/var/log/*.log"]}


def test_shipper_durations_take_units() -> None:
    config = parse_config({
        "shipper": {"rescan_interval": "2s", "close_inactive": "5m", "checkpoint_retention": "14d", "rotate_wait": 7},
        "kafka": {"linger_ms": "50ms", "connect_timeout": "1m"},
        "health": {"loop_stall": "45s"},
        "inputs": [INPUT],
    })
    shipper = config.shipper
    assert (shipper.rescan_interval, shipper.close_inactive, shipper.checkpoint_retention, shipper.rotate_wait) == (
        2.0, 300.0, 14 * 86_400.0, 7.0)
    assert (config.kafka.linger_ms, config.kafka.connect_timeout, config.health.loop_stall) == (50, 60.0, 45.0)


@pytest.mark.parametrize(("section", "key", "value"), [
    ("shipper", "rescan_interval", "fast"), ("shipper", "rescan_interval", "2"), ("kafka", "linger_ms", "0.5ms"),
    ("kafka", "linger_ms", 2.5), ("health", "loop_stall", [1]),
])
def test_a_bad_duration_names_its_key(section: str, key: str, value: object) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config({section: {key: value}, "inputs": [INPUT]})
    assert raised.value.key == f"{section}.{key}"
