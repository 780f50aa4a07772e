"""The notifier's config: `[[receivers]]` (where notifications go), `[[routes]]` (which alerts go where, grouped how
and how often), `[[inhibit]]` (which alerts mute which). The evaluator's config declares them as top-level lists;
`check_notify` checks what refers across them.

A receiver's `type` chooses its settings dataclass (consumer.alerting.notify.receivers.registry), each declared in its
own module (`email_settings`, `webhook_settings`, `alertmanager_settings`; the two that POST share `http_settings`),
like the sinks' `[sink]` variants.
"""

import builtins
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

from consumer.alerting.model import Alert, Severity
from logferry.config import REQUIRED, Seconds, Tagged, setting
from logferry.errors import ConfigError

SEVERITIES = tuple(s.value for s in Severity)


class ReceiverSettings(Tagged):
    """Where notifications go; `type` names the receiver kind. Every kind has the keys of `DeliverySettings`."""

    default_tag: ClassVar[str] = "email"
    noun: ClassVar[str] = "receiver type"
    type: str
    name: str
    give_up_after: Seconds
    retry_initial: Seconds
    retry_max: Seconds
    rate_limit: int
    rate_period: Seconds
    console_url: str

    @classmethod
    def variants(cls) -> Mapping[str, builtins.type]:
        from consumer.alerting.notify.receivers.registry import RECEIVERS

        return {name: kind.settings for name, kind in RECEIVERS.items()}

    def check(self, where: str) -> None:
        """Rules across this receiver's keys; raise ConfigError naming the key."""
        check_delivery(self, where)


@dataclass(frozen=True, kw_only=True)
class DeliverySettings:
    """The keys every receiver kind has: its name, how its outbox rows are retried, its rate limit."""

    name: str = setting(REQUIRED, "The receiver's name, which routes refer to; unique.")
    give_up_after: Seconds = setting(
        Seconds(86_400.0),
        "How long a notification is retried (with exponential backoff) before it is marked given up and counted; "
        "e.g. \"1d\".",
    )
    retry_initial: Seconds = setting(Seconds(1.0), "The first retry's delay; each next one doubles, up to retry_max.")
    retry_max: Seconds = setting(Seconds(300.0), "The longest delay between two tries of one notification.")
    rate_limit: int = setting(
        0,
        "At most this many notifications per rate_period to this receiver (a token bucket, kept in the state file); "
        "more are delayed and merged into the group's next notification, never dropped. 0: no limit.",
    )
    rate_period: Seconds = setting(Seconds(3600.0), "The period of rate_limit; e.g. \"1h\".")
    console_url: str = setting(
        "",
        "The logferry console's base URL (https://logs.example.com); notifications link to its search of the "
        "matching events. Empty: they show the `consumer search` command instead.",
    )


def check_delivery(receiver: ReceiverSettings, where: str) -> None:
    if not receiver.name.strip():
        raise ConfigError(f"{where}.name", "must name the receiver")
    if receiver.give_up_after <= 0:
        raise ConfigError(f"{where}.give_up_after", "must be a positive duration")
    if receiver.retry_initial <= 0:
        raise ConfigError(f"{where}.retry_initial", "must be a positive duration")
    if receiver.retry_max < receiver.retry_initial:
        raise ConfigError(f"{where}.retry_max", "must be at least retry_initial")
    if receiver.rate_limit < 0:
        raise ConfigError(f"{where}.rate_limit", "must be 0 (no limit) or a positive count")
    if receiver.rate_period <= 0:
        raise ConfigError(f"{where}.rate_period", "must be a positive duration")
    if receiver.console_url and not receiver.console_url.startswith(("http://", "https://")):
        raise ConfigError(f"{where}.console_url", "must be an http:// or https:// URL")


@dataclass(frozen=True, kw_only=True)
class RouteSettings:
    """One route: the alerts it matches (all of its conditions), the receiver they go to, how they are grouped and
    how often a group is notified. Routes are tried in order; the first that matches wins."""

    receiver: str = setting(REQUIRED, "The receiver's name.")
    severities: list[str] = setting([], "Match alerts of these severities (info, warning, critical); empty: any.")
    labels: dict[str, str] = setting({}, "Match alerts whose labels have these values (rule, service, ...); empty: any.")
    group_by: list[str] = setting(
        ["rule"],
        "Labels whose values make a group: the alerts of one group go out in one notification. [] puts all the "
        "route's alerts in one group; [\"...\"] makes every alert its own group.",
    )
    group_wait: Seconds = setting(Seconds(30.0), "How long a new group waits for more alerts before its first notification.")
    group_interval: Seconds = setting(
        Seconds(300.0), "How long after a group's notification a change in it (new, resolved alerts) is sent."
    )
    repeat_interval: Seconds = setting(
        Seconds(14_400.0), "How long after a group's notification it is sent again while its alerts still fire."
    )
    send_resolved: bool = setting(True, "Whether resolved alerts are notified.")

    def check(self, where: str) -> None:
        if not self.receiver.strip():
            raise ConfigError(f"{where}.receiver", "must name a receiver")
        for i, severity in enumerate(self.severities):
            if severity not in SEVERITIES:
                raise ConfigError(f"{where}.severities[{i}]", f"must be one of {', '.join(SEVERITIES)}, got {severity!r}")
        for i, name in enumerate(self.group_by):
            if not name.strip():
                raise ConfigError(f"{where}.group_by[{i}]", "must name a label")
        if self.group_wait < 0:
            raise ConfigError(f"{where}.group_wait", "must be 0 or a positive duration")
        if self.group_interval <= 0:
            raise ConfigError(f"{where}.group_interval", "must be a positive duration")
        if self.repeat_interval < self.group_interval:
            raise ConfigError(f"{where}.repeat_interval", "must be at least group_interval")

    def matches(self, alert: Alert) -> bool:
        if self.severities and alert.severity.value not in self.severities:
            return False
        return all(alert.labels.get(name) == value for name, value in self.labels.items())

    def group_labels(self, alert: Alert) -> tuple[tuple[str, str], ...]:
        """The (label, value) pairs that make this alert's group on this route."""
        if self.group_by == ["..."]:
            return (*sorted(alert.labels.items()), ("fingerprint", alert.key.fingerprint))
        return tuple((name, alert.labels.get(name, "")) for name in self.group_by)


@dataclass(frozen=True, kw_only=True)
class InhibitSettings:
    """An inhibition: while an alert of a `source` severity fires, alerts of a `target` severity whose `equal`
    labels have the same values are not notified (recorded as suppressed)."""

    source: str = setting("critical", "The muting alerts' severity.")
    target: str = setting("warning", "The muted alerts' severity.")
    equal: list[str] = setting(["rule"], "Labels that must have the same values in both alerts (a group: rule, service).")

    def check(self, where: str) -> None:
        for key in ("source", "target"):
            if getattr(self, key) not in SEVERITIES:
                raise ConfigError(f"{where}.{key}", f"must be one of {', '.join(SEVERITIES)}, got {getattr(self, key)!r}")
        if self.source == self.target:
            raise ConfigError(f"{where}.target", "must differ from source (an alert would mute itself)")

    def mutes(self, source: Alert, target: Alert) -> bool:
        return (
            source.severity.value == self.source
            and target.severity.value == self.target
            and all(source.labels.get(name) == target.labels.get(name) for name in self.equal)
        )


@dataclass(frozen=True, kw_only=True)
class NotifySettings:
    """Everything the notifier needs (the evaluator config's top-level `receivers`, `routes` and `inhibit`): receivers
    by name, routes in order (the first that matches wins; end with a default one), inhibitions."""

    receivers: list[ReceiverSettings] = setting([], "Where notifications go; `type` chooses each receiver's kind and keys.")
    routes: list[RouteSettings] = setting(
        [], "Which receiver an alert goes to, tried in order (first match wins); the last without conditions is the default."
    )
    inhibit: list[InhibitSettings] = setting([], "Alerts that mute others while they fire (critical mutes warning).")

    def receiver(self, name: str) -> ReceiverSettings:
        for receiver in self.receivers:
            if receiver.name == name:
                return receiver
        raise KeyError(name)

    def route_for(self, alert: Alert) -> int | None:
        """The index of the first route that matches `alert`, None when none does (and there is no catch-all)."""
        for index, route in enumerate(self.routes):
            if route.matches(alert):
                return index
        return None


def check_notify(receivers: Sequence[ReceiverSettings], routes: Sequence[RouteSettings],
                 inhibit: Sequence[InhibitSettings], rule_names: Sequence[str]) -> None:
    """What refers across the lists: receiver names unique, every route's receiver declared, a default route (one
    that matches everything) when there are rules to route, label matches on `rule` naming a known rule."""
    del inhibit  # each inhibition is checked on its own; nothing of it refers elsewhere
    names: set[str] = set()
    for i, receiver in enumerate(receivers):
        if receiver.name in names:
            raise ConfigError(f"receivers[{i}].name", f"duplicate receiver name {receiver.name!r}")
        names.add(receiver.name)
    for i, route in enumerate(routes):
        if route.receiver not in names:
            known = ", ".join(sorted(names)) or "none declared"
            raise ConfigError(f"routes[{i}].receiver", f"unknown receiver {route.receiver!r}; known: {known}")
        rule = route.labels.get("rule")
        if rule is not None and rule_names and rule not in rule_names:
            raise ConfigError(f"routes[{i}].labels.rule", f"unknown rule {rule!r}")
    if rule_names and receivers and not any(not r.severities and not r.labels for r in routes):
        raise ConfigError("routes", "needs a default route (one without severities or labels) so every alert is routed")
