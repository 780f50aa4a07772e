"""`shipper exec --config F --job NAME [--timeout 2h] [--warn-after 30m] [--service S] [--no-overlap] -- PROGRAM ARGS`.

Exit codes: the program's own (128 + the signal when a signal ended it on POSIX; the NTSTATUS on Windows); 75
when `--no-overlap` refused the run; 127/126 when the program cannot be started; 2 for a bad config or usage.
"""

import argparse
import sys

from logferry.cli import add_config_argument, config_path
from logferry.durations import parse_duration
from logferry.errors import ConfigError
from logferry.logs import setup_logging


def add_exec_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = "Run a scheduled job and record its run (start, every output line, end) through the spool."
    add_config_argument(parser, "shipper")
    parser.add_argument("--job", required=True, help="the job's name (1-64 letters, digits, '_', '.', '-')")
    parser.add_argument("--timeout", help="kill the job's whole process tree after this long (30s, 15m, 2h)")
    parser.add_argument("--warn-after", metavar="DURATION",
                        help="record a job.overrun event when the run is still going after this long (its usual time)")
    parser.add_argument("--service", default="", help="resource service.name of the run's events")
    parser.add_argument("--no-overlap", action="store_true",
                        help="refuse to start (exit 75, recorded) while another run of this job is running")
    parser.add_argument("--quiet", action="store_true", help="do not echo the job's output to our stdout/stderr")
    parser.add_argument("--no-ship", action="store_true",
                        help="leave the spool to a running shipper instead of shipping it before exiting")
    parser.add_argument("program", nargs=argparse.REMAINDER, help="-- PROGRAM ARGS...")


def run_exec_command(args: argparse.Namespace) -> int:
    from shipper.jobs.identity import BadJobName, JobName
    from shipper.jobs.run import ExecOptions, run_exec
    from shipper.preflight import validated_config

    program = list(args.program)
    if program[:1] == ["--"]:
        program = program[1:]
    if not program:
        print("usage error: exec needs the program to run after --", file=sys.stderr)
        return 2
    try:
        job = JobName(args.job)
        timeout = parse_duration(args.timeout) if args.timeout else None
        warn_after = parse_duration(args.warn_after) if args.warn_after else None
    except (BadJobName, ValueError) as error:
        print(f"usage error: {error}", file=sys.stderr)
        return 2
    for name, value in (("--timeout", timeout), ("--warn-after", warn_after)):
        if value is not None and value <= 0:
            print(f"usage error: {name} must be greater than 0", file=sys.stderr)
            return 2
    try:
        config = validated_config(config_path(args))
    except ConfigError as error:
        print(f"config error: {error}", file=sys.stderr)
        return 2
    levels = ("debug", "info", "warning", "error")
    level = max(config.shipper.log_level, "warning", key=levels.index)  # the job's output is what is read here
    setup_logging(level, config.shipper.log_format)
    options = ExecOptions(job=job, argv=program, timeout=timeout, warn_after=warn_after, service=args.service,
                          no_overlap=args.no_overlap, quiet=args.quiet, ship=not args.no_ship)
    try:
        return run_exec(config, options)
    except OSError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
