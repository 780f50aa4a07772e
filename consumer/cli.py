"""The consumer's command line: run, replay, search, status, deadletters, check-config, service (Windows).

Exit codes: 0 done; 1 the work could not be done (the message says why; nothing was lost); 2 bad config or
arguments (one line, no traceback).
"""

import argparse
import logging
import os
import sqlite3
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

from confluent_kafka import KafkaError, KafkaException

from consumer.alerting.cli import add_alert_commands, run_alert
from consumer.config import ConsumerConfig, load_config
from consumer.deadletters_cli import add_deadletter_commands
from logferry.cli import add_config_argument, add_version_argument, config_path
from logferry.errors import ConfigError, LogferryError
from logferry.logs import setup_logging

log = logging.getLogger("consumer")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="logferry-consumer",
        description="Index unified log events from Kafka exactly once, replay ranges, and search them.",
    )
    add_version_argument(parser)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="consume and index in the foreground")
    add_config_argument(run, "consumer")
    run.add_argument("--once", action="store_true",
                     help="index up to the end offsets at start, then stop once no message arrived for the idle timeout; "
                          "exit 1 if that cannot happen within --max-wait")
    run.add_argument("--idle-timeout", type=float, default=None, metavar="SECONDS",
                     help="with --once (an error without it): seconds without a new message, once caught up, before "
                          "stopping (default 10)")
    run.add_argument("--max-wait", type=float, default=None, metavar="SECONDS",
                     help="with --once: seconds without progress before giving up with exit 1 "
                          "(default: session_timeout_ms + the idle timeout + 30 s)")

    replay = commands.add_parser("replay", help="reset the group's offsets (kafka-consumer-groups --reset-offsets)")
    add_config_argument(replay, "consumer")
    target = replay.add_mutually_exclusive_group(required=True)
    target.add_argument("--to-earliest", action="store_true", help="to the start of each partition")
    target.add_argument("--to-datetime", metavar="ISO8601", help="to the first record at or after this time")
    target.add_argument("--by-duration", metavar="DURATION", help="to now minus DURATION (PT1H, 30m, 2d)")
    target.add_argument("--to-offset", type=int, metavar="N", help="to offset N")
    target.add_argument("--shift-by", type=int, metavar="N", help="by N from the current offset (negative: back)")
    replay.add_argument("--topic", help="only this topic")
    replay.add_argument("--partition", type=int, help="only this partition")
    replay.add_argument("--dry-run", action="store_true", help="show the new offsets, change nothing")
    replay.add_argument("--yes", action="store_true",
                        help="apply the plan without asking (without it, a terminal is asked and anything else is refused)")
    replay.add_argument("--force-after-expiry", action="store_true",
                        help="if members of crashed workers remain, wait for their sessions to expire "
                             "(up to session_timeout_ms + 30 s), then replay")

    search = commands.add_parser("search", help="full-text search with filters, newest first")
    add_config_argument(search, "consumer")
    search.add_argument("query", nargs="*",
                        help="words that must all appear, and field:value terms (level:error, service:billing, "
                             "host:web1, trace_id:HEX, order_id:42, msg:\"a b\"); none: any event")
    search.add_argument("--since", help="from this time (inclusive): ISO 8601 or a duration back from now (15m, 2h)")
    search.add_argument("--until", help="before this time (exclusive): ISO 8601 or a duration back from now")
    search.add_argument("--level", help="this level or more severe: trace, debug, info, warn, error, fatal, or 0-24")
    search.add_argument("--service", help="resource service.name equals this")
    search.add_argument("--host", help="resource host.name equals this")
    search.add_argument("--trace-id", metavar="HEX", help="trace_id equals this (32 hex digits)")
    search.add_argument("--attr", action="append", metavar="KEY=VALUE",
                        help="the attribute KEY equals VALUE, compared as text (repeatable; all must hold)")
    search.add_argument("--job", metavar="NAME",
                        help="runs of this `shipper exec` job (their end events); with --run, that run's events")
    search.add_argument("--run", metavar="ID", help="with --job: every event of this run (job.run.id)")
    search.add_argument("--limit", type=int, default=20, help="most events shown (default 20)")
    search.add_argument("--json", action="store_true", help="one event per line as JSON")

    search.add_argument("--follow", action="store_true",
                        help="after the newest matches, print new matching events as they are indexed (Ctrl-C stops)")
    search.add_argument("--histogram", action="store_true",
                        help="counts per interval over --since..--until (default: the last 24 h) as a text bar chart")
    search.add_argument("--interval", metavar="DURATION", help="with --histogram: the bar's interval (default: ~30 bars)")

    serve = commands.add_parser("serve", help="the web console: search, histogram, live tail, pipeline (read-only)")
    add_config_argument(serve, "consumer")
    serve.add_argument("--listen", default="127.0.0.1:8080", metavar="HOST:PORT",
                       help="address to serve on (default 127.0.0.1:8080); any non-loopback address needs "
                            "LOGFERRY_CONSOLE_TOKEN in the environment")

    status = commands.add_parser("status", help="per partition: stored and committed offsets, lag; totals")
    add_config_argument(status, "consumer")
    status.add_argument("--json", action="store_true", help="one JSON object")

    add_deadletter_commands(commands)
    add_alert_commands(commands)

    check = commands.add_parser("check-config", help="validate the config and exit 0, or print the problem and exit 2")
    add_config_argument(check, "consumer")
    check.add_argument("--connect", action="store_true",
                       help="also connect to Kafka and the sink and say what is there; exit 1 if either cannot be reached")

    from logferry.service.cli import add_service_arguments
    from logferry.service.roles import roles_of

    service = commands.add_parser("service", help="install and control Windows services: workers, the alert evaluator")
    add_service_arguments(service, roles_of("consumer"))
    return parser


def main(argv: list[str] | None = None) -> int:
    os.umask(0o077)  # the index holds the logs themselves: owner only
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "run" and not args.once and (args.idle_timeout is not None or args.max_wait is not None):
        print("usage error: --idle-timeout and --max-wait only apply with --once", file=sys.stderr)
        return 2
    if args.command == "service":
        from logferry.service.cli import run_service_command

        return run_service_command(args)
    if args.command == "alert":
        return run_alert(args)  # the evaluator's own config (consumer.alerting.config)
    try:
        config = load_config(config_path(args))
        # Resolves secrets from the environment: a missing one is a config error, for check-config as for run.
        config.kafka.client_config()
    except ConfigError as error:
        print(f"config error: {error}", file=sys.stderr)
        return 2
    setup_logging(config.consumer.log_level, config.consumer.log_format)
    # The HTTP client libraries log every request, and every failed one with a traceback; our own lines say what
    # failed and what happens next.
    for noisy in ("opensearch", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    try:
        return dispatch(args, config)
    except ConfigError as error:
        print(f"config error: {error}", file=sys.stderr)
        return 2
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (LogferryError, KafkaException, sqlite3.Error, OSError) as error:
        print(f"{args.command} failed: {error}", file=sys.stderr)
        return 1


def dispatch(args: argparse.Namespace, config: ConsumerConfig) -> int:
    if args.command == "check-config":
        print(f"config OK: topics {', '.join(config.kafka.topics)}, group {config.kafka.group_id!r}, sink {config.sink.type}")
        return check_connections(config) if args.connect else 0
    if args.command == "run":
        idle_timeout = 10.0 if args.idle_timeout is None else args.idle_timeout
        return run(config, once=args.once, idle_timeout=idle_timeout, max_wait=args.max_wait)
    if args.command == "search":
        from consumer.search import build_queries, run_search

        if args.follow or args.histogram or args.interval is not None:
            from consumer.search_live import run_live

            return run_live(config, args)
        return run_search(config, build_queries(args), args.json)
    if args.command == "serve":
        from consumer.console.serve import run_console

        return run_console(config, args.listen)
    if args.command == "status":
        from consumer.status import run_status

        return run_status(config, args.json)
    if args.command == "deadletters":
        from consumer.deadletters_cli import run_deadletters

        return run_deadletters(config, args)
    if args.command == "replay":
        from consumer.replay import Reset, run_replay

        if args.to_earliest:
            reset = Reset("earliest")
        elif args.to_datetime is not None:
            reset = Reset("datetime", args.to_datetime)
        elif args.by_duration is not None:
            reset = Reset("duration", args.by_duration)
        elif args.to_offset is not None:
            reset = Reset("offset", str(args.to_offset))
        else:
            reset = Reset("shift", str(args.shift_by))
        return run_replay(config, reset, args.topic, args.partition, args.dry_run,
                          force_after_expiry=args.force_after_expiry, yes=args.yes)
    raise ValueError(f"unknown command {args.command!r}")


def check_connections(config: ConsumerConfig) -> int:
    """check-config --connect: Kafka (brokers, topics) and the sink (reachable, what it holds)."""
    from consumer.sinks.registry import open_reader
    from logferry.connect_check import check_kafka

    report = check_kafka(config.kafka, list(config.kafka.topics), timeout=min(15.0, config.kafka.connect_timeout))
    try:
        reader = open_reader(config)
        try:
            indexed, dead = reader.totals()
        finally:
            reader.close()
        report.lines.append(f"sink: {config.sink.type} answers: {indexed} event(s), {dead} dead letter(s)")
    except FileNotFoundError as error:
        report.lines.append(f"sink: {error}; the first run creates it")
    except (LogferryError, sqlite3.Error, OSError) as error:
        report.fail(f"sink: {config.sink.type} cannot be read: {error}")
    print("\n".join(report.lines))
    return 0 if report.passed else 1


def run(config: ConsumerConfig, *, once: bool, idle_timeout: float, max_wait: float | None = None) -> int:
    from consumer.deadletter import DeadLetterPublisher
    from consumer.metrics import Metrics, serve
    from consumer.sinks.registry import open_sink
    from consumer.worker import Worker
    from logferry.progress import Progress

    if idle_timeout <= 0:
        raise ValueError("--idle-timeout must be greater than 0")
    if max_wait is not None and max_wait <= 0:
        raise ValueError("--max-wait must be greater than 0")
    from logferry.service.stopping import StopRequest

    stopping = StopRequest(log, _ignore_hangup)
    metrics = Metrics()
    server = None
    if config.consumer.metrics_address:
        server = serve(metrics, config.consumer.metrics_address, config.health, _prober(config))
    publisher = DeadLetterPublisher(config.kafka, config.consumer.deadletter_raw_bytes)
    sink = open_sink(config, publisher.publish)
    try:
        if once:  # a one-off run fails (exit 1) when Kafka does not answer; a running consumer retries for ever
            _expect_kafka(config, lambda: stopping.requested)
        sink.setup()
        publisher.ensure_topics()
        worker = Worker(config, sink, metrics, Progress(config.consumer.progress))
        stopping.attach(worker.stop)
        if stopping.requested:
            return 0
        return worker.run(once=once, idle_timeout=idle_timeout, max_wait=max_wait)
    finally:
        sink.close()
        publisher.close()
        if server is not None:
            server.stop()


def _ignore_hangup(signum: int, _frame: FrameType | None) -> None:
    # Reloading is not supported: the sink, the group membership and the metrics server are built once from the
    # config. A restart applies a changed config (the group rebalances; nothing is lost).
    log.warning(
        "SIGHUP received; the consumer does not reload its configuration and keeps running. Restart it to apply changes.",
        extra={"signal": "SIGHUP"},
    )


def _expect_kafka(config: ConsumerConfig, should_stop: Callable[[], bool]) -> None:
    """LogferryError unless a broker answers within kafka.connect_timeout (at once when Kafka refuses us)."""
    from confluent_kafka.admin import AdminClient

    from logferry.kafka import await_kafka, refusal

    errors: list[str] = []
    refused: list[str] = []

    def remember(error: KafkaError) -> None:
        errors.append(error.str())
        reason = refusal(error)
        if reason is not None:
            refused.append(reason)

    settings: dict[str, Any] = {**config.kafka.client_config(), "error_cb": remember}
    admin = AdminClient(settings)
    failure = await_kafka(
        config.kafka.bootstrap_servers, lambda seconds: admin.list_topics(timeout=seconds), config.kafka.connect_timeout,
        lambda: should_stop() or bool(refused), serve=lambda: admin.poll(0), detail=lambda: errors[-1] if errors else "",
    )
    if refused:
        raise LogferryError(refused[0])
    if failure is not None:
        raise LogferryError(failure)


def _prober(config: ConsumerConfig) -> Callable[[float], object]:
    """A metadata request on a client of its own (made at the first probe), for /health's outage probe."""
    from confluent_kafka.admin import AdminClient

    clients: list[AdminClient] = []

    def probe(timeout: float) -> object:
        if not clients:
            clients.append(AdminClient(config.kafka.client_config()))
        clients[0].poll(0)  # its log lines
        return clients[0].list_topics(timeout=timeout)

    return probe
