"""The Alertmanager receiver: a notification's alerts POSTed to Alertmanager's v2 API (`POST /api/v2/alerts`), each
with its labels (`alertname` = the rule), annotations (summary, the first matching lines, late), `startsAt`,
`endsAt` and a `generatorURL` to the console's search.

A firing alert's `endsAt` lies two of the route's repeat_interval ahead: the notifier posts it again before then
while it fires, so Alertmanager never resolves it on its own; a resolved alert's `endsAt` is when it resolved (event
time; now, if that lies ahead of this host's clock).
Alertmanager deduplicates alerts by their labels, so posting one twice is harmless.
"""

import re
import time
from typing import Any

from consumer.alerting.model import AlertState
from consumer.alerting.notify.receivers.alertmanager_settings import AlertmanagerSettings
from consumer.alerting.notify.receivers.base import Notification, NotifiedAlert, rfc3339
from consumer.alerting.notify.receivers.http import post_json
from consumer.alerting.notify.settings import ReceiverSettings

_NOT_A_NAME = re.compile(r"[^a-zA-Z0-9_]")


def open_receiver(settings: ReceiverSettings) -> "AlertmanagerReceiver":
    if not isinstance(settings, AlertmanagerSettings):
        raise TypeError(f"an alertmanager receiver needs AlertmanagerSettings, got {type(settings).__name__}")
    return AlertmanagerReceiver(settings)


def label_name(name: str) -> str:
    """`name` as a Prometheus label name (`attrs.exit_code` -> `attrs_exit_code`)."""
    cleaned = _NOT_A_NAME.sub("_", name)
    return cleaned if cleaned[:1].isalpha() or cleaned[:1] == "_" else f"_{cleaned}"


class AlertmanagerReceiver:
    def __init__(self, settings: AlertmanagerSettings) -> None:
        self.settings = settings

    def body(self, notification: Notification, now: float) -> list[dict[str, Any]]:
        keep_until = int((now + 2 * max(notification.repeat_interval, 60.0)) * 1e9)
        return [self._alert(alert, keep_until, int(now * 1e9)) for alert in notification.alerts]

    def send(self, notification: Notification) -> None:
        s = self.settings
        post_json(s.url.rstrip("/") + "/api/v2/alerts", self.body(notification, time.time()),
                  headers={"Idempotency-Key": notification.id}, timeout=s.timeout, ca_file=s.ca_file,
                  bearer_token_env=s.bearer_token_env)

    def close(self) -> None:
        return

    def _alert(self, alert: NotifiedAlert, keep_until: int, now: int) -> dict[str, Any]:
        labels = {label_name(k): v for k, v in alert.labels.items() if v}
        labels["alertname"] = alert.rule
        labels["severity"] = alert.severity.value
        annotations = {label_name(k): v for k, v in alert.annotations.items() if v}
        annotations["summary"] = alert.summary
        annotations["logferry_fingerprint"] = alert.fingerprint
        if alert.samples:
            annotations["first_lines"] = "\n".join(alert.samples)
        if alert.late:
            annotations["late"] = "true"
        # Resolved: at its event time, or now if a host's clock put that ahead (Alertmanager would wait for it).
        if alert.state is AlertState.RESOLVED:
            ends = now if alert.resolved_at is None else min(alert.resolved_at, now)
        else:
            ends = keep_until
        entry: dict[str, Any] = {
            "labels": labels,
            "annotations": annotations,
            "startsAt": rfc3339(alert.fired_at if alert.fired_at is not None else alert.started_at),
            "endsAt": rfc3339(ends),
        }
        url = alert.search_url(self.settings.console_url)
        if url:
            entry["generatorURL"] = url
        return entry
