"""Each role that runs as a service, as one data record: adding a role is adding one entry to ROLES.

A role's command must take `--config FILE`, log to stderr, and install its stop handlers through
`logferry.service.stopping.route_service_stop` (so the service's stop control reaches it as SIGTERM would).
"""

import enum
from dataclasses import dataclass


class RoleKey(enum.Enum):
    SHIPPER = "shipper"
    CONSUMER = "consumer"
    ALERT = "alert"


@dataclass(frozen=True)
class RoleSettings:
    """What the service machinery needs from a role's config: how long a stop may take, which directories hold
    private state (they get the protected ACL at install)."""

    shutdown_timeout: float
    private_dirs: tuple[str, ...] = ()


@dataclass(frozen=True)
class ServiceRole:
    key: RoleKey
    program: str
    """The CLI program ("shipper", "consumer"): `python -m <program>`."""
    service_name: str
    """The default service name; `--name` installs more instances (several consumer workers)."""
    display_name: str
    description: str
    main: str
    """"module:function", the program's `main(argv) -> int`, imported only when the service runs."""
    command: tuple[str, ...]
    """The arguments before `--config FILE`: the foreground command the service runs."""
    log_name: str
    """The default instance logs to %ProgramData%\\logferry\\logs\\<log_name>.log; others to <service name>.log."""
    systemd_unit: str
    """Its systemd unit under compose/systemd/, named where a Linux user asks for the Windows commands."""
    settings: str | None = None
    """"module:function", `(config_path) -> RoleSettings`, raising ConfigError for a bad config (checked at install);
    None: the config is checked when the service starts, and a stop may take DEFAULT_SHUTDOWN_TIMEOUT."""
    config_name: str = ""
    """Its default config file is %ProgramData%\\logferry\\<config_name>.toml, /etc/logferry/<config_name>.toml on Linux
    (logferry.cli.default_config_path), as its command's own --config default; empty: the program's name."""

    @property
    def config_program(self) -> str:
        """The name logferry.cli.default_config_path takes for this role's default config."""
        return self.config_name or self.program

    def display_name_for(self, name: str) -> str:
        return self.display_name if name == self.service_name else f"{self.display_name} ({name})"

    def log_file_for(self, name: str) -> str:
        return f"{self.log_name if name == self.service_name else name}.log"

    def command_line(self, config_path: str) -> str:
        return " ".join(["python -m", self.program, *self.command, "--config", config_path])


DEFAULT_SHUTDOWN_TIMEOUT = 30.0

SHIPPER = ServiceRole(
    key=RoleKey.SHIPPER,
    program="shipper",
    service_name="logferry",
    display_name="logferry shipper",
    description="Follows log files and ships every line to Kafka (logferry).",
    main="shipper.cli:main",
    command=("run",),
    log_name="shipper",
    systemd_unit="logferry-shipper.service",
    settings="shipper.service.settings:service_settings",
)
CONSUMER = ServiceRole(
    key=RoleKey.CONSUMER,
    program="consumer",
    service_name="logferry-consumer",
    display_name="logferry consumer",
    description="Indexes log events from Kafka exactly once (logferry consumer worker).",
    main="consumer.cli:main",
    command=("run",),
    log_name="consumer",
    systemd_unit="logferry-consumer@.service",
    settings="consumer.service_settings:service_settings",
)
ALERT = ServiceRole(
    key=RoleKey.ALERT,
    program="consumer",
    service_name="logferry-alert",
    display_name="logferry alert evaluator",
    description="Evaluates the alert rules on the indexed events and sends notifications (logferry).",
    main="consumer.cli:main",
    command=("alert", "run"),
    log_name="alert",
    systemd_unit="logferry-alert.service",
    settings="consumer.alerting.service_settings:service_settings",
    config_name="alerts",  # `alert run`'s own default (consumer.alerting.cli), not the indexer's consumer.toml
)

ROLES: dict[RoleKey, ServiceRole] = {role.key: role for role in (SHIPPER, CONSUMER, ALERT)}


def roles_of(program: str) -> tuple[ServiceRole, ...]:
    """The roles `python -m <program> service` installs, its main role first."""
    return tuple(role for role in ROLES.values() if role.program == program)
