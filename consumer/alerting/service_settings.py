"""What the service machinery needs from the evaluator's config (logferry.service.roles.ALERT.settings)."""

import os

from logferry.service.roles import RoleSettings


def service_settings(config_path: str) -> RoleSettings:
    """The last batch's time and the state database's directory of the evaluator config at `config_path`, validated
    as `alert run` validates it (ConfigError when invalid)."""
    from consumer.alerting.config import load_evaluator_config

    config = load_evaluator_config(config_path)
    config.file.kafka.client_config()  # secrets from the environment are part of a valid config, as for run
    state_dir = os.path.dirname(os.path.abspath(config.alert.state_path))
    return RoleSettings(shutdown_timeout=config.file.consumer.shutdown_timeout, private_dirs=(state_dir,))
