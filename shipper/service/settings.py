"""What the service machinery needs from the shipper's config (logferry.service.roles.SHIPPER.settings)."""

from logferry.service.roles import RoleSettings


def service_settings(config_path: str) -> RoleSettings:
    """The flush time and the state directory of the shipper config at `config_path` (ConfigError when invalid)."""
    from shipper.preflight import validated_config

    config = validated_config(config_path)
    return RoleSettings(shutdown_timeout=config.shipper.shutdown_timeout, private_dirs=(config.shipper.state_dir,))
