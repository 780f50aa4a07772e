"""What every command checks before it starts, and all that `check-config` checks: one function, so check-config
never says OK to a config that `run` then refuses."""

import os
from pathlib import Path

from logferry.errors import ConfigError
from shipper.config import ShipperConfig, load_config


def validated_config(path: str) -> ShipperConfig:
    """The config at `path`, validated as `run` needs it; ConfigError naming the key otherwise."""
    config = load_config(path)
    config.kafka.client_config()  # secrets from the environment are part of a valid config
    from shipper.delivery.producer import check_librdkafka

    check_librdkafka(config.kafka)
    check_state_dir(config.shipper.state_dir, "shipper.state_dir")
    return config


def check_state_dir(directory: str, key: str) -> None:
    """ConfigError unless `directory` is a writable directory or can be created (nothing is created here)."""
    target = Path(directory)
    probe = target
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise ConfigError(key, f"{directory!r} cannot be used: {str(probe)!r} is not a directory")
    if not os.access(probe, os.W_OK | os.X_OK):
        what = "is not writable" if probe == target else f"cannot be created: {str(probe)!r} is not writable"
        raise ConfigError(key, f"{directory!r} {what} by this user")
