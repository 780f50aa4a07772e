"""`python -m tests.support.outbox_process STATE CONFIG`: the outbox delivery of STATE in a process of its own, with
the receivers of CONFIG (a TOML file with `[[receivers]]`), until SIGTERM; a test kills it with SIGKILL to crash it
between a receiver's acceptance and the outbox's record."""

import signal
import sys
import threading
from types import FrameType

from consumer.alerting.notify import NotifySettings, OutboxDelivery
from logferry.config import load, read_toml


def main() -> None:
    state, config = sys.argv[1], sys.argv[2]
    settings = load(NotifySettings, read_toml(config))
    stop = threading.Event()

    def on_term(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_term)
    delivery = OutboxDelivery(state, settings, poll=0.1)
    delivery.start()
    print("delivering", flush=True)
    stop.wait()
    delivery.stop(timeout=10)


if __name__ == "__main__":
    main()
