"""`logferry-consumer alert ...`: the evaluator role and its tools.

    alert run [--once]            evaluate the rules over the topics (its own consumer group), record, notify
    alert list [--json]           pending and firing alerts, and those resolved in the last day
    alert test --rule R --since   evaluate one rule over the indexed events and print what would have fired
    alert check-config            validate the config (rules, receivers, routes); exit 0 or one line and exit 2
    alert replay ...              reset the evaluator group's offsets, as `consumer replay` does the indexer's
    alert silence / silences / unsilence ID

Exit codes as for every command: 0 done; 1 the work could not be done; 2 bad config or arguments (one line).
"""

import argparse
import logging
import sqlite3
import sys
import time
from types import FrameType
from typing import Any

import orjson
from confluent_kafka import KafkaException

from consumer.alerting.config import EvaluatorConfig, load_evaluator_config
from logferry.cli import add_config_argument, config_path
from logferry.errors import ConfigError, LogferryError
from logferry.logs import setup_logging

log = logging.getLogger("consumer.alerting")


def add_alert_commands(commands: Any) -> None:
    """The `alert` command group under the consumer's commands."""
    alert = commands.add_parser("alert", help="the alert evaluator: rules over the event stream, notifications")
    sub = alert.add_subparsers(dest="alert_command", required=True, metavar="ALERT_COMMAND")
    run = sub.add_parser("run", help="evaluate the rules in the foreground (its own consumer group)")
    add_config_argument(run, "alerts")
    run.add_argument("--once", action="store_true", help="evaluate up to the end offsets at start, then stop")
    run.add_argument("--idle-timeout", type=float, default=10.0, metavar="SECONDS",
                     help="with --once: seconds without a new message, once caught up, before stopping")
    listing = sub.add_parser("list", help="pending and firing alerts, and those resolved in the last day")
    add_config_argument(listing, "alerts")
    listing.add_argument("--json", action="store_true", help="one alert per line as JSON")
    listing.add_argument("--since", default="1d", help="resolved alerts of this long back (default 1d)")
    test = sub.add_parser("test", help="evaluate one rule over the indexed events and print what would have fired")
    add_config_argument(test, "alerts")
    test.add_argument("--rule", required=True, help="the rule's name")
    test.add_argument("--since", default="24h", help="from this time: ISO 8601 or a duration back (default 24h)")
    test.add_argument("--index-config", help="the indexer's config (default: [alert] index_config, else this file's "
                                             "[sink])")
    test.add_argument("--limit", type=int, default=200_000, help="most events read from the index (default 200000)")
    test.add_argument("--json", action="store_true", help="one alert per line as JSON")
    check = sub.add_parser("check-config", help="validate the config and exit 0, or print the problem and exit 2")
    add_config_argument(check, "alerts")
    replay = sub.add_parser("replay", help="reset the evaluator group's offsets (alerts already recorded are kept)")
    add_config_argument(replay, "alerts")
    target = replay.add_mutually_exclusive_group(required=True)
    target.add_argument("--to-earliest", action="store_true", help="to the start of each partition")
    target.add_argument("--to-datetime", metavar="ISO8601", help="to the first record at or after this time")
    target.add_argument("--by-duration", metavar="DURATION", help="to now minus DURATION (PT1H, 30m, 2d)")
    replay.add_argument("--dry-run", action="store_true", help="show the new offsets, change nothing")
    replay.add_argument("--yes", action="store_true", help="apply the plan without asking")
    silence = sub.add_parser("silence", help="mute a rule's notifications (optionally of matching labels) for a while")
    add_config_argument(silence, "alerts")
    silence.add_argument("--rule", required=True, help="the rule's name (or * for every rule)")
    silence.add_argument("--match", action="append", default=[], metavar="KEY=VALUE",
                         help="only alerts with this label value (repeatable; all must hold)")
    silence.add_argument("--for", dest="duration", required=True, metavar="DURATION", help="how long (2h, 30m)")
    silence.add_argument("--comment", default="", help="why")
    silences = sub.add_parser("silences", help="the silences in force")
    add_config_argument(silences, "alerts")
    silences.add_argument("--json", action="store_true", help="one silence per line as JSON")
    unsilence = sub.add_parser("unsilence", help="end a silence")
    add_config_argument(unsilence, "alerts")
    unsilence.add_argument("id", help="the silence's id (from `alert silences`)")


def run_alert(args: argparse.Namespace) -> int:
    """Run an `alert` command; its exit code."""
    try:
        config = load_evaluator_config(config_path(args))
        config.file.kafka.client_config()
    except ConfigError as error:
        print(f"config error: {error}", file=sys.stderr)
        return 2
    setup_logging(config.file.consumer.log_level, config.file.consumer.log_format)
    command = args.alert_command
    try:
        if command == "check-config":
            print(f"config OK: {len(config.rules)} rule(s), topics {', '.join(config.file.kafka.topics)}, group "
                  f"{config.group_id!r}, state {config.alert.state_path}")
            return 0
        if command == "run":
            return run_evaluator(config, once=args.once, idle_timeout=args.idle_timeout)
        if command == "list":
            from consumer.alerting.listing import run_list

            return run_list(config, args.since, args.json)
        if command == "test":
            from consumer.alerting.tester import run_test

            return run_test(config, args.rule, since=args.since, index_config=args.index_config, limit=args.limit,
                            as_json=args.json)
        if command == "replay":
            from consumer.replay import Reset, run_replay

            if args.to_earliest:
                reset = Reset("earliest")
            elif args.to_datetime is not None:
                reset = Reset("datetime", args.to_datetime)
            else:
                reset = Reset("duration", args.by_duration)
            return run_replay(config.consumer_view(), reset, None, None, args.dry_run, yes=args.yes)
        return run_silences(config, command, args)
    except ConfigError as error:
        print(f"config error: {error}", file=sys.stderr)
        return 2
    except (ValueError, LookupError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (LogferryError, KafkaException, sqlite3.Error, OSError) as error:
        print(f"alert {command} failed: {error}", file=sys.stderr)
        return 1


def run_silences(config: EvaluatorConfig, command: str, args: argparse.Namespace) -> int:
    from consumer.alerting.seam import silences
    from consumer.alerting.store import open_state
    from logferry.durations import parse_duration

    module = silences()
    connection = open_state(config.alert.state_path)
    try:
        now = time.time()
        if command == "silence":
            if args.rule != "*":
                config.rule(args.rule)
            matchers = []
            for text in args.match:
                key, equals, value = text.partition("=")
                if not equals or not key:
                    raise ValueError(f"--match {text!r} is not key=value")
                matchers.append((key, value))
            until = now + parse_duration(args.duration)
            connection.execute("BEGIN IMMEDIATE")
            ident = module.add(connection, args.rule, matchers, until, args.comment)
            connection.execute("COMMIT")
            print(ident)
            return 0
        if command == "silences":
            for found in module.list_active(connection, now):
                print(orjson.dumps(found, default=_plain).decode() if args.json else str(found))
            return 0
        connection.execute("BEGIN IMMEDIATE")
        removed = module.remove(connection, args.id)
        connection.execute("COMMIT")
        if removed is False:
            print(f"no silence {args.id} is in force", file=sys.stderr)
            return 1
        return 0
    finally:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        connection.close()


def _plain(value: Any) -> Any:
    if hasattr(value, "__dict__"):
        return vars(value)
    return str(value)


def run_evaluator(config: EvaluatorConfig, *, once: bool, idle_timeout: float) -> int:
    """The evaluator role: a worker of its own group whose sink is the evaluator, the notifier inside its
    transactions, the outbox's delivery beside it (woken after each commit that queued notifications)."""
    from consumer.alerting.evaluator import EvaluatorSink
    from consumer.alerting.metrics import register
    from consumer.alerting.seam import WakingNotifier, open_notifier, start_delivery
    from consumer.alerting.worker import EvaluatorWorker
    from consumer.cli import _prober
    from consumer.heap import settle
    from consumer.metrics import Metrics, serve
    from logferry.progress import Progress
    from logferry.service.stopping import StopRequest

    if idle_timeout <= 0:
        raise ValueError("--idle-timeout must be greater than 0")
    stopping = StopRequest(log, _ignore_hangup)
    view = config.consumer_view()
    metrics = Metrics("evaluator")  # one registry, logferry_evaluator_*: the worker's, the rules' and the notifier's
    notifier = WakingNotifier(open_notifier(config.notify, metrics))
    sink = EvaluatorSink(config, notifier)
    register(metrics, sink.stats)
    server = None
    if config.file.consumer.metrics_address:
        # /health as the indexer's: Kafka unreachable (or writes failing) beyond health.delivery_stall answers 503; the
        # indexer's probe (a metadata request) sees an outage end while no record arrives, as an idle evaluator's is.
        server = serve(metrics, config.file.consumer.metrics_address, config.file.health, _prober(view))
    delivery = None
    try:
        sink.setup()
        delivery = start_delivery(config.alert.state_path, config.notify, metrics)
        notifier.delivery = delivery
        worker = EvaluatorWorker(view, sink, metrics, Progress(config.file.consumer.progress),
                                 tick=config.alert.evaluation_interval, after_commit=notifier.committed)
        stopping.attach(worker.stop)
        if stopping.requested:
            return 0
        log.info("The alert evaluator starts.", extra={"rules": len(config.rules), "state_path": config.alert.state_path})
        settle()
        return worker.run(once=once, idle_timeout=idle_timeout)
    finally:
        if delivery is not None:
            delivery.stop()
        sink.close()
        if server is not None:
            server.stop()


def _ignore_hangup(signum: int, _frame: FrameType | None) -> None:
    # The rules, the receivers and the metrics server are built once from the config; a restart applies a changed
    # config (the state file keeps the windows, alerts and outbox; nothing is lost or sent twice).
    log.warning(
        "SIGHUP received; the evaluator does not reload its configuration and keeps running. Restart it to apply "
        "changes.", extra={"signal": "SIGHUP"},
    )
