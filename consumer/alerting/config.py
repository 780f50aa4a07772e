"""The alert evaluator's configuration, declared once: the consumer's own sections plus `[alert]` and the rules.

    [consumer]    batching, logs, metrics endpoint (the consumer's settings)
    [kafka]       the topics and the evaluator's own consumer group (default `logferry-alerts`)
    [health]      when /health answers 503
    [alert]       the state database, rules_dir, lateness, the indexer's config for `alert test`
    [[rules]]     the rules (consumer.alerting.rules); more in *.toml files under `[alert] rules_dir`
    [[receivers]], [[routes]], [[inhibit]]   where notifications go (consumer.alerting.notify.settings)

`load_evaluator_config(path)` validates the whole file (and the rules_dir files) before anything starts; a problem
is one ConfigError naming the key (`rules[2].window`, `rules.d/jobs.toml: rules[0].schedule`).
"""

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from consumer.alerting.rules import RuleSettings
from consumer.alerting.seam import NotifyConfig, load_notify
from consumer.config import ConsumerConfig, ConsumerKafka, ConsumerSettings
from consumer.sinks.settings import SinkSettings
from consumer.sinks.sqlite_settings import SqliteSettings
from logferry.config import Seconds, load, read_toml, setting
from logferry.errors import ConfigError
from logferry.health import HealthSettings

NOTIFY_KEYS = ("receivers", "routes", "inhibit")
INDEXER_GROUP = "logferry-indexer"  # the indexer's default group (consumer.config): never the evaluator's
_FOR = re.compile(r"\bfor_\b")


@dataclass(frozen=True, kw_only=True)
class AlertSection:
    """Where the evaluator keeps its state and how it reads time."""

    state_path: str = setting("/var/lib/logferry/alerts.db", "The state database (windows, alerts, outbox, silences, "
                                                              "offsets); created readable by its owner only.")
    rules_dir: str = setting("", "A directory whose *.toml files hold more [[rules]] (read in name order); empty: none.")
    allowed_lateness: Seconds = setting(Seconds(60.0), "How late (behind wall time) an event may arrive and still be "
                                                       "on time; older windows are marked late, and absence rules look "
                                                       "this far behind now.")
    evaluation_interval: Seconds = setting(Seconds(1.0), "Seconds between evaluations by wall time (absence, "
                                                         "resolutions, the notifier's timers) while events flow.")
    resolved_retention: Seconds = setting(Seconds(7 * 86_400.0), "How long resolved alerts stay in the state database "
                                                                 "(their identity: a replay within it sends nothing).")
    index_config: str = setting("", "The indexer's consumer config: `alert test` reads events from its [sink]; empty: "
                                    "this file's [sink].")
    group_id: str = setting("", "The evaluator's consumer group; empty: [kafka] group_id (default logferry-alerts). "
                                "Set it when this file is also the indexer's config, whose group [kafka] group_id names.")

    def check(self, where: str) -> None:
        if not self.state_path.strip():
            raise ConfigError(f"{where}.state_path", "must name a database file")
        if self.group_id and not self.group_id.strip():
            raise ConfigError(f"{where}.group_id", "must not be blank")
        for name in ("allowed_lateness",):
            if getattr(self, name) < 0:
                raise ConfigError(f"{where}.{name}", "must be 0 or a positive duration")
        for name in ("evaluation_interval", "resolved_retention"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{where}.{name}", "must be a positive duration")


@dataclass(frozen=True, kw_only=True)
class EvaluatorKafka(ConsumerKafka):
    """The topics and the evaluator's consumer group (not the indexer's: each reads every event)."""

    group_id: str = setting("logferry-alerts", "Consumer group id of the evaluator; not the indexer's group.")


@dataclass(frozen=True, kw_only=True)
class EvaluatorFile:
    """The evaluator's config file as declared (the notification keys are read by consumer.alerting.notify)."""

    consumer: ConsumerSettings = setting(None, "Process-wide settings.", factory=ConsumerSettings)
    kafka: EvaluatorKafka = setting(None, "Kafka source and the evaluator's consumer group.", factory=EvaluatorKafka)
    health: HealthSettings = setting(None, "When /health answers 503.", factory=HealthSettings)
    sink: SinkSettings = setting(None, "The indexer's index, read by `alert test` (the evaluator writes none).",
                                 factory=SqliteSettings)
    alert: AlertSection = setting(None, "The evaluator's state and clock.", factory=AlertSection)
    rules: list[RuleSettings] = setting([], "The alert rules; `type` chooses each rule's kind and keys.")
    receivers: list[Any] = setting([], "Where notifications go (consumer.alerting.notify.settings).")
    routes: list[Any] = setting([], "Which receiver an alert goes to, first match wins (consumer.alerting.notify).")
    inhibit: list[Any] = setting([], "Alerts that mute others (consumer.alerting.notify).")


@dataclass(frozen=True)
class EvaluatorConfig:
    """The validated evaluator config: the file's sections, every rule (the file's then rules_dir's) and the
    notification settings."""

    file: EvaluatorFile
    rules: tuple[RuleSettings, ...]
    notify: NotifyConfig
    path: str

    @property
    def alert(self) -> AlertSection:
        return self.file.alert

    @property
    def group_id(self) -> str:
        return self.file.alert.group_id or self.file.kafka.group_id

    def consumer_view(self) -> ConsumerConfig:
        """The config the consumer's worker machinery (membership, replay, catch-up) reads: the evaluator's group, and
        the state database as an SQLite `[sink]`, whose `offsets` table has the sink's layout."""
        return ConsumerConfig(consumer=self.file.consumer, kafka=replace(self.file.kafka, group_id=self.group_id),
                              sink=SqliteSettings(path=self.file.alert.state_path), health=self.file.health)

    def index_view(self) -> ConsumerConfig:
        """This file read as the indexer's config (its [sink]), for `alert test` without an index_config."""
        return ConsumerConfig(consumer=self.file.consumer, kafka=self.file.kafka, sink=self.file.sink,
                              health=self.file.health)

    def rule(self, name: str) -> RuleSettings:
        for rule in self.rules:
            if rule.name == name:
                return rule
        raise ValueError(f"no rule is named {name!r} (rules: {', '.join(r.name for r in self.rules) or 'none'})")


def _renamed(table: Any) -> Any:
    """A rule table with TOML's `for` as the field `for_` (a Python keyword cannot name a field)."""
    if isinstance(table, dict) and "for" in table:
        if "for_" in table:
            return table
        return {("for_" if key == "for" else key): value for key, value in table.items()}
    return table


def _load_rules(tables: Any, prefix: str) -> list[RuleSettings]:
    """The rules of a `rules` array; errors name the key, after `prefix` (a rules file's name)."""
    if not isinstance(tables, list):
        raise ConfigError(prefix + "rules", "expected a list of tables ([[rules]])")
    try:
        return load(_Rules, {"rules": [_renamed(t) for t in tables]}).rules
    except ConfigError as error:
        raise ConfigError(prefix + _FOR.sub("for", error.key), _FOR.sub("for", error.problem)) from None


@dataclass(frozen=True, kw_only=True)
class _Rules:
    rules: list[RuleSettings] = setting([], "The alert rules.")


def parse_evaluator_config(table: dict[str, Any], path: str = "", base: Path | None = None) -> EvaluatorConfig:
    """The validated config of an already parsed TOML table (`base`: the directory a relative rules_dir is in)."""
    rules_tables = table.get("rules", [])
    stripped = {key: value for key, value in table.items() if key != "rules"}
    file = load(EvaluatorFile, stripped)
    rules = _load_rules(rules_tables, "")
    if file.alert.rules_dir:
        directory = Path(file.alert.rules_dir)
        if not directory.is_absolute() and base is not None:
            directory = base / directory
        if not directory.is_dir():
            raise ConfigError("alert.rules_dir", f"{file.alert.rules_dir} is not a directory")
        for extra in sorted(directory.glob("*.toml")):
            found = read_toml(extra)
            unknown = [key for key in found if key != "rules"]
            if unknown:
                raise ConfigError(f"{extra.name}: {unknown[0]}", "unknown key (a rules file holds only [[rules]])")
            rules.extend(_load_rules(found.get("rules", []), f"{extra.name}: "))
    if not file.alert.group_id and file.kafka.group_id == INDEXER_GROUP:
        raise ConfigError("alert.group_id", f"is required: [kafka] group_id is {INDEXER_GROUP!r}, the indexer's group, "
                                            "which the evaluator must not join")
    seen: set[str] = set()
    for i, rule in enumerate(rules):
        if rule.name in seen:
            raise ConfigError(f"rules[{i}].name", f"another rule is already named {rule.name!r}")
        seen.add(rule.name)
    notify = load_notify({key: table[key] for key in NOTIFY_KEYS if key in table}, [r.name for r in rules])
    return EvaluatorConfig(replace(file, rules=list(rules)), tuple(rules), notify, path)


def load_evaluator_config(path: str | Path) -> EvaluatorConfig:
    """The validated evaluator config in the TOML file at `path`."""
    return parse_evaluator_config(read_toml(path), str(path), Path(path).resolve().parent)
