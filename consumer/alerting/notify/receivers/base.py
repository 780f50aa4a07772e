"""The one interface of a receiver, and what it is given: a `Notification` (one group's alerts at one moment, as
the outbox stores it).

A receiver's `send` either returns (the receiver accepted the notification) or raises `DeliveryError`, whose
`retriable` says whether trying again later may succeed (a server down, a 429 or 5xx, an SMTP 4xx) or not (a 4xx
refusal, an SMTP 5xx); the outbox retries the former until the receiver's give_up_after and gives the latter up at
once. Both are counted; nothing is dropped without a record.
"""

import datetime
import shlex
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from consumer.alerting.model import Alert, AlertState, Severity, split_search
from logferry.errors import LogferryError

PAYLOAD_VERSION = "1"
MAX_SAMPLES = 5  # event lines kept per alert
MAX_SAMPLE = 1000  # characters kept of one event line (the search shows it whole)


class DeliveryError(LogferryError):
    """A receiver did not accept a notification; `retriable` says whether to try again."""

    def __init__(self, message: str, *, retriable: bool) -> None:
        super().__init__(message)
        self.retriable = retriable


class ReceiverUnavailable(DeliveryError):
    """The receiver could not be reached or asked to come back later (connection refused, timeout, 429, 5xx)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retriable=True)


class ReceiverRefused(DeliveryError):
    """The receiver refused the notification for good (a 4xx, an SMTP 5xx): sending it again would not help."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retriable=False)


@dataclass(frozen=True)
class NotifiedAlert:
    """One alert as a notification shows it; times are event times in nanoseconds since the epoch."""

    fingerprint: str
    rule: str
    group: str  # the rule's group, `service=billing`
    state: AlertState  # FIRING or RESOLVED
    severity: Severity
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    summary: str
    started_at: int
    fired_at: int | None
    resolved_at: int | None
    count: int
    late: bool
    samples: tuple[str, ...]
    search: str

    @classmethod
    def of(cls, alert: Alert) -> "NotifiedAlert":
        """What a notification shows of `alert`: at most MAX_SAMPLES event lines of at most MAX_SAMPLE characters."""
        return cls(
            fingerprint=alert.key.fingerprint, rule=alert.key.rule, group=alert.key.group_text, state=alert.state,
            severity=alert.severity, labels=dict(alert.labels), annotations=dict(alert.annotations),
            summary=alert.summary, started_at=alert.started_at, fired_at=alert.fired_at,
            resolved_at=alert.resolved_at, count=alert.count, late=alert.late,
            samples=tuple(line[:MAX_SAMPLE] for line in alert.samples[:MAX_SAMPLES]),
            search=alert.search,
        )

    def search_url(self, console_url: str) -> str:
        """The console's search of this alert's matching events (`<console_url>/?q=...&since=...&until=...`, the
        console's own parameters), or "" without a console."""
        if not console_url or not self.search:
            return ""
        query, since, until = split_search(self.search)
        params = {key: value for key, value in (("q", query), ("since", since), ("until", until)) if value}
        return console_url.rstrip("/") + "/?" + urllib.parse.urlencode(params)

    def search_command(self) -> str:
        """The `consumer search` command line that shows this alert's matching events."""
        query, since, until = split_search(self.search)
        parts = ["consumer search"]
        if query:
            parts.append(shlex.quote(query))
        if since:
            parts.append(f"--since {shlex.quote(since)}")
        if until:
            parts.append(f"--until {shlex.quote(until)}")
        return " ".join(parts)

    def as_json(self, console_url: str) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "rule": self.rule,
            "group": self.group,
            "state": self.state.value,
            "severity": self.severity.value,
            "labels": dict(self.labels),
            "annotations": dict(self.annotations),
            "summary": self.summary,
            "started_at": rfc3339(self.started_at),
            "fired_at": rfc3339(self.fired_at),
            "resolved_at": rfc3339(self.resolved_at),
            "count": self.count,
            "late": self.late,
            "samples": list(self.samples),
            "search": self.search,
            "search_url": self.search_url(console_url),
        }


@dataclass(frozen=True)
class Notification:
    """One notification of one group: its stable `id` (Message-ID / Idempotency-Key), the receiver it goes to, the
    group's labels, its sequence number in the group, and the alerts it shows (firing first)."""

    id: str
    receiver: str
    route: int
    group: tuple[tuple[str, str], ...]
    sequence: int
    created_at: float  # wall time the notifier made it
    repeat_interval: float  # the route's, so a receiver that must keep an alert alive knows when it comes again
    alerts: tuple[NotifiedAlert, ...]
    truncated: int = 0  # alerts of the group left out to keep the notification bounded
    new: frozenset[str] = frozenset()  # fingerprints of the alerts this notification is the first to tell of

    @property
    def status(self) -> str:
        """`firing` when any alert fires, else `resolved`."""
        return "firing" if any(a.state is AlertState.FIRING for a in self.alerts) else "resolved"

    @property
    def group_text(self) -> str:
        return ",".join(f"{name}={value}" for name, value in self.group)

    def firing(self) -> list[NotifiedAlert]:
        return [a for a in self.alerts if a.state is AlertState.FIRING]

    def resolved(self) -> list[NotifiedAlert]:
        """Alerts resolved since a notification told they fire."""
        return [a for a in self.alerts if a.state is AlertState.RESOLVED and a.fingerprint not in self.new]

    def fired_and_resolved(self) -> list[NotifiedAlert]:
        """Alerts that fired and resolved before any notification told of them (a `match` rule's, a backlog's)."""
        return [a for a in self.alerts if a.state is AlertState.RESOLVED and a.fingerprint in self.new]

    def payload(self, console_url: str) -> dict[str, Any]:
        """The documented, versioned JSON payload (README: "Webhook payload")."""
        return {
            "version": PAYLOAD_VERSION,
            "id": self.id,
            "receiver": self.receiver,
            "status": self.status,
            "sequence": self.sequence,
            "created_at": rfc3339(int(self.created_at * 1e9)),
            "group": {"labels": dict(self.group), "key": self.group_text},
            "alerts": [a.as_json(console_url) | {"new": a.fingerprint in self.new} for a in self.alerts],
            "truncated_alerts": self.truncated,
        }

    def stored(self) -> dict[str, Any]:
        """What the outbox keeps, enough to rebuild this notification exactly (`from_stored`)."""
        return {
            "id": self.id, "receiver": self.receiver, "route": self.route, "group": [list(p) for p in self.group],
            "sequence": self.sequence, "created_at": self.created_at, "repeat_interval": self.repeat_interval,
            "truncated": self.truncated, "alerts": [stored_alert(a) for a in self.alerts], "new": sorted(self.new),
        }

    @classmethod
    def from_stored(cls, data: Mapping[str, Any]) -> "Notification":
        return cls(
            id=str(data["id"]), receiver=str(data["receiver"]), route=int(data["route"]),
            group=tuple((str(n), str(v)) for n, v in data["group"]), sequence=int(data["sequence"]),
            created_at=float(data["created_at"]), repeat_interval=float(data["repeat_interval"]),
            truncated=int(data["truncated"]), alerts=tuple(alert_from_stored(a) for a in data["alerts"]),
            new=frozenset(str(f) for f in data.get("new", ())),
        )


class Receiver(Protocol):
    """Sends notifications to one destination."""

    def send(self, notification: Notification) -> None:
        """Deliver `notification`, or raise DeliveryError (retriable or not)."""

    def close(self) -> None:
        """Release connections; the receiver is not used again."""


def rfc3339(nanoseconds: int | None) -> str | None:
    if nanoseconds is None:
        return None
    seconds, rest = divmod(int(nanoseconds), 1_000_000_000)
    moment = datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{rest // 1_000_000:03d}Z"


def stored_alert(alert: NotifiedAlert) -> dict[str, Any]:
    return {
        "fingerprint": alert.fingerprint, "rule": alert.rule, "group": alert.group, "state": alert.state.value,
        "severity": alert.severity.value, "labels": dict(alert.labels), "annotations": dict(alert.annotations),
        "summary": alert.summary, "started_at": alert.started_at, "fired_at": alert.fired_at,
        "resolved_at": alert.resolved_at, "count": alert.count, "late": alert.late, "samples": list(alert.samples),
        "search": alert.search,
    }


def alert_from_stored(data: Mapping[str, Any]) -> NotifiedAlert:
    return NotifiedAlert(
        fingerprint=str(data["fingerprint"]), rule=str(data["rule"]), group=str(data["group"]),
        state=AlertState(data["state"]), severity=Severity(data["severity"]),
        labels={str(k): str(v) for k, v in data["labels"].items()},
        annotations={str(k): str(v) for k, v in data["annotations"].items()}, summary=str(data["summary"]),
        started_at=int(data["started_at"]), fired_at=_optional_int(data["fired_at"]),
        resolved_at=_optional_int(data["resolved_at"]), count=int(data["count"]), late=bool(data["late"]),
        samples=tuple(str(s) for s in data["samples"]), search=str(data["search"]),
    )


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)
