"""What the service machinery needs from a consumer worker's config (logferry.service.roles.CONSUMER.settings)."""

from logferry.service.roles import RoleSettings


def service_settings(config_path: str) -> RoleSettings:
    """The last batch's time and the local index's directory (when the sink has one) of the consumer config at
    `config_path`, validated as `run` validates it (ConfigError when invalid)."""
    from consumer.config import load_config

    config = load_config(config_path)
    config.kafka.client_config()  # secrets from the environment are part of a valid config, as for run
    local = config.sink.local_directory()
    return RoleSettings(
        shutdown_timeout=config.consumer.shutdown_timeout, private_dirs=(str(local),) if local is not None else ()
    )
