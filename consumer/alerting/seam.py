"""The one place the evaluator meets the notifier (consumer.alerting.notify): its settings, its tables, its calls.

The evaluator hands each alert change to `Notifier.observe` inside the transaction that records it with the
partitions' offsets, calls `Notifier.due` on its wall-clock turns, and runs `OutboxDelivery` beside the worker.
While the notify package is not installed, the evaluator records alerts and notifies nobody (`NullNotifier`), and
the notification keys get the minimal check below (every route names a declared receiver), so that a config is
never silently half read.
"""

import importlib
import logging
import sqlite3
from collections.abc import Sequence
from types import ModuleType
from typing import Any, Protocol

from consumer.alerting.model import Alert
from logferry.errors import ConfigError

log = logging.getLogger(__name__)

NotifyConfig = Any  # consumer.alerting.notify.settings.NotifySettings, or the raw tables without the package


def _module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name is not None and name.startswith(error.name):
            return None
        raise


def notify_package() -> ModuleType | None:
    """consumer.alerting.notify when it is installed, else None."""
    return _module("consumer.alerting.notify")


def load_notify(table: dict[str, Any], rule_names: Sequence[str]) -> NotifyConfig:
    """The validated `receivers`, `routes` and `inhibit` of the config; ConfigError naming the key."""
    settings_module = _module("consumer.alerting.notify.settings")
    if settings_module is None:
        return _minimal_check(table)
    from logferry.config import load

    settings = load(settings_module.NotifySettings, table)
    settings_module.check_notify(settings.receivers, settings.routes, settings.inhibit, list(rule_names))
    return settings


def _minimal_check(table: dict[str, Any]) -> dict[str, Any]:
    names: set[str] = set()
    for key in ("receivers", "routes", "inhibit"):
        if not isinstance(table.get(key, []), list):
            raise ConfigError(key, f"expected a list of tables ([[{key}]])")
    for i, receiver in enumerate(table.get("receivers", [])):
        if not isinstance(receiver, dict) or not isinstance(receiver.get("name"), str):
            raise ConfigError(f"receivers[{i}].name", "is required but missing")
        names.add(receiver["name"])
    for i, route in enumerate(table.get("routes", [])):
        name = route.get("receiver") if isinstance(route, dict) else None
        if name not in names:
            raise ConfigError(f"routes[{i}].receiver", f"unknown receiver {name!r}; known: {', '.join(sorted(names))}")
    return table


class NullNotifier:
    """Stands for the notifier while the notify package is not installed: alerts are recorded, nobody is told."""

    def observe(self, db: sqlite3.Connection, changes: Sequence[Alert], now: float) -> None:
        return None

    def due(self, db: sqlite3.Connection, now: float) -> None:
        return None


def create_tables(db: sqlite3.Connection) -> None:
    """The notifier's tables (outbox, silences, groups), inside the evaluator's schema transaction."""
    package = notify_package()
    if package is not None:
        package.Notifier.create_tables(db)


def open_notifier(settings: NotifyConfig, metrics: Any = None) -> Any:
    """The notifier the evaluator calls inside its transactions; it counts in `metrics`' registry (give it the metrics
    object `start_delivery` gets, so that both count in the one registry the endpoint serves)."""
    package = notify_package()
    if package is None:
        log.warning("The notify package is not installed: alerts are recorded but no notification is sent.")
        return NullNotifier()
    return package.Notifier(settings, metrics)


class Delivery(Protocol):
    """The outbox's delivery as the evaluator drives it."""

    def wake(self) -> None:
        """Look at the outbox now: a commit wrote rows to it."""

    def stop(self) -> None:
        """End the delivery after the send in progress."""


class _NoDelivery:
    def wake(self) -> None:
        return None

    def stop(self) -> None:
        return None


class _Started:
    def __init__(self, delivery: Any) -> None:
        self._delivery = delivery

    def wake(self) -> None:
        self._delivery.wake()

    def stop(self) -> None:
        self._delivery.stop()


def start_delivery(state_path: str, settings: NotifyConfig, metrics: Any) -> Delivery:
    """Start the outbox's delivery thread; returns what wakes it (after a commit that wrote outbox rows) and stops
    it."""
    package = notify_package()
    if package is None:
        return _NoDelivery()
    delivery = package.OutboxDelivery(state_path, settings, metrics)
    delivery.start()
    return _Started(delivery)


class WakingNotifier:
    """The notifier, remembering whether its calls wrote outbox rows, so that `delivery` is woken once their
    transaction is committed (`committed()`) instead of finding them at its next look (up to half a second later).

    `observe` and `due` run on the evaluator's writer thread inside its transaction; `committed` on the same thread
    after the transaction ended. A rolled-back transaction only costs the delivery one look at an unchanged outbox."""

    def __init__(self, notifier: Any, delivery: Delivery | None = None) -> None:
        self._notifier = notifier
        self.delivery: Delivery = delivery or _NoDelivery()  # set once the delivery is started
        self._wrote = False

    def observe(self, db: sqlite3.Connection, changes: Sequence[Alert], now: float) -> None:
        self._notifier.observe(db, changes, now)

    def due(self, db: sqlite3.Connection, now: float) -> int:
        written = self._notifier.due(db, now)
        if written:
            self._wrote = True
        return int(written or 0)

    def committed(self) -> None:
        """The evaluator's transaction ended: wake the delivery if it wrote outbox rows."""
        if self._wrote:
            self._wrote = False
            self.delivery.wake()


def silences() -> ModuleType:
    """consumer.alerting.notify.silences; LookupError (a sentence) without the notify package."""
    module = _module("consumer.alerting.notify.silences")
    if module is None:
        raise LookupError("silences need the notify package (consumer.alerting.notify), which is not installed")
    return module


__all__ = ["Delivery", "NullNotifier", "WakingNotifier", "create_tables", "load_notify", "open_notifier", "silences",
           "start_delivery"]
