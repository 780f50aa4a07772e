"""`[[receivers]] type = "alertmanager"`: alerts posted to a Prometheus Alertmanager's v2 API."""

from dataclasses import dataclass
from typing import Literal

from consumer.alerting.notify.receivers.http_settings import HttpPostSettings
from consumer.alerting.notify.settings import ReceiverSettings
from logferry.config import REQUIRED, setting


@dataclass(frozen=True, kw_only=True)
class AlertmanagerSettings(ReceiverSettings, HttpPostSettings):
    """An Alertmanager that takes over grouping and notifying (routes here should use short intervals)."""

    type: Literal["alertmanager"] = setting("alertmanager", "Receiver type: email, webhook or alertmanager.")
    url: str = setting(REQUIRED, "The Alertmanager's base URL (http://alertmanager:9093); alerts go to /api/v2/alerts.")

    def check(self, where: str) -> None:
        super().check(where)
        self.check_http(where)
