"""The notification settings as a config file declares them: a full example loads with its defaults and durations,
every key is described, and each broken notify config of the corpus (tests/hostile/configs/alert/notify_*.toml)
gives one ConfigError naming the key, the text its `# expect:` line says. (The evaluator's `alert check-config`
reads the same tables through consumer.alerting.notify.settings, so the corpus test of the `alert` program covers
them end to end.)"""

from pathlib import Path
from typing import Any

import pytest

from consumer.alerting.notify.receivers.email_settings import EmailSettings
from consumer.alerting.notify.receivers.registry import RECEIVERS
from consumer.alerting.notify.receivers.webhook_settings import WebhookSettings
from consumer.alerting.notify.settings import NotifySettings, check_notify
from logferry.config import describe, load, read_toml
from logferry.errors import ConfigError

CORPUS = Path(__file__).resolve().parents[1] / "hostile" / "configs" / "alert"
NOTIFY_KEYS = ("receivers", "routes", "inhibit")

EXAMPLE = """
[[rules]]
name = "billing-errors"
type = "threshold"

[[receivers]]
name = "ops-mail"
type = "email"
host = "smtp.example.com"
username = "alerts"
password_env = "LOGFERRY_SMTP_PASSWORD"
sender = "Logferry <alerts@example.com>"
to = ["ops@example.com"]
console_url = "https://logs.example.com"
rate_limit = 20
rate_period = "1h"

[[receivers]]
name = "chat"
type = "webhook"
url = "https://hooks.example.com/logferry"
give_up_after = "6h"

[[routes]]
receiver = "chat"
severities = ["critical"]
labels = { team = "payments" }
group_by = ["rule", "service"]
group_wait = "10s"
group_interval = "2m"
repeat_interval = "1h"

[[routes]]
receiver = "ops-mail"

[[inhibit]]
equal = ["service"]
"""


def load_notify(table: dict[str, Any]) -> NotifySettings:
    """What the evaluator does with its config's notification tables."""
    settings = load(NotifySettings, {key: table[key] for key in NOTIFY_KEYS if key in table})
    rule_names = [rule["name"] for rule in table.get("rules", []) if isinstance(rule, dict) and "name" in rule]
    check_notify(settings.receivers, settings.routes, settings.inhibit, rule_names)
    return settings


def test_a_full_example_loads_with_its_defaults(tmp_path: Path) -> None:
    path = tmp_path / "alert.toml"
    path.write_text(EXAMPLE)
    settings = load_notify(read_toml(path))
    mail, hook = settings.receivers
    assert isinstance(mail, EmailSettings) and isinstance(hook, WebhookSettings)
    assert (mail.security, mail.effective_port, mail.rate_period, mail.give_up_after) == ("starttls", 587, 3600.0, 86400.0)
    assert hook.give_up_after == 6 * 3600.0
    first, default = settings.routes
    assert (first.group_wait, first.group_interval, first.repeat_interval) == (10.0, 120.0, 3600.0)
    assert (default.group_by, default.group_wait, default.repeat_interval) == (["rule"], 30.0, 4 * 3600.0)
    (inhibit,) = settings.inhibit
    assert (inhibit.source, inhibit.target, inhibit.equal) == ("critical", "warning", ["service"])


def test_every_key_is_described() -> None:
    rows = describe(NotifySettings)
    for kind in RECEIVERS.values():
        rows += describe(kind.settings, "receivers")
    keys = {key for key, _, _ in rows}
    assert {"receivers.name", "receivers.type", "receivers.host", "receivers.url", "receivers.password_env",
            "receivers.give_up_after", "routes.group_wait", "routes.repeat_interval", "inhibit.equal"} <= keys
    assert all(description for _, _, description in rows)


def cases() -> list[Path]:
    return sorted(CORPUS.glob("notify_*.toml"))


@pytest.mark.parametrize("config", cases(), ids=lambda path: path.stem)
def test_a_broken_notify_config_names_the_key(config: Path) -> None:
    expected = config.read_text().splitlines()[0].removeprefix("# expect: ")
    with pytest.raises(ConfigError) as raised:
        load_notify(read_toml(config))
    assert expected in str(raised.value)
    assert "\n" not in str(raised.value)


def test_the_corpus_has_the_notify_cases() -> None:
    assert len(cases()) >= 15
