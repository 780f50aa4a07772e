"""Run a command (the test suite) with the real services it needs started once, for every pytest worker.

    python -m tests.support.session_services -- python -m pytest -n 2 ...

pytest-xdist runs the suite in several worker processes, each with its own session fixtures: left alone, each would
find no broker and start one, and the first to finish would stop a node the others still use. So the services are
started here, before any worker, with the same rules the fixtures follow (tests/support/kafka.py, node_script.py: a
service named by KAFKA_BOOTSTRAP_SERVERS, OPENSEARCH_URL or ELASTICSEARCH_URL is used as it is, one already
running is reused and left running), their addresses are handed to the command in those variables, and what was
started here is stopped when the command ends, whatever happens (a signal included).
"""

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack
from types import FrameType

from tests.support.elasticsearch import elasticsearch_node
from tests.support.kafka import kafka_broker
from tests.support.opensearch import opensearch_node

SERVICES: dict[str, Callable[[], AbstractContextManager[str]]] = {
    "KAFKA_BOOTSTRAP_SERVERS": kafka_broker,
    "OPENSEARCH_URL": opensearch_node,
    "ELASTICSEARCH_URL": elasticsearch_node,
}


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds the ExitStack below, which stops the services


def main(argv: list[str]) -> int:
    command = argv[1:] if argv[:1] == ["--"] else argv
    if not command:
        print("usage: python -m tests.support.session_services -- COMMAND [ARGS...]", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    with ExitStack() as stack:
        # Started side by side: each takes tens of seconds, mostly the JVM's start.
        managers = {name: factory() for name, factory in SERVICES.items()}
        with ThreadPoolExecutor(len(managers)) as pool:
            futures = {name: pool.submit(manager.__enter__) for name, manager in managers.items()}
            addresses: dict[str, str] = {}
            failure: BaseException | None = None
            for name, future in futures.items():
                try:
                    addresses[name] = future.result()
                    stack.push(managers[name].__exit__)
                except BaseException as error:  # the ones that did start are still stopped by the stack
                    failure = failure or error
        if failure is not None:
            print(f"session services: {failure}", file=sys.stderr)
            return 1
        for name, address in addresses.items():
            print(f"session services: {name}={address}", file=sys.stderr)
        return subprocess.call(command, env={**os.environ, **addresses})


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
