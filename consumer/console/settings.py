"""The console's own settings, the consumer config's `[console]` table (read by `consumer serve` only).

    [console]
    alerts_state = "/var/lib/logferry/alerts.db"   # the evaluator's [alert] state_path; empty: no Alerts panel
    resolved_within = "1d"                          # resolved alerts shown this far back
"""

from dataclasses import dataclass

from logferry.config import Seconds, setting
from logferry.errors import ConfigError


@dataclass(frozen=True, kw_only=True)
class ConsoleSettings:
    """What the console shows beside the index."""

    alerts_state: str = setting("", "The alert evaluator's state file (its [alert] state_path), read-only, for the "
                                    "Alerts panel; the console must run as its owner. Empty: no Alerts panel.")
    resolved_within: Seconds = setting(Seconds(86_400.0), "How far back (wall time) resolved alerts are shown.")

    def check(self, where: str) -> None:
        if self.alerts_state and not self.alerts_state.strip():
            raise ConfigError(f"{where}.alerts_state", "must name the evaluator's state file, or be empty for none")
        if self.resolved_within <= 0:
            raise ConfigError(f"{where}.resolved_within", "must be a positive duration")
