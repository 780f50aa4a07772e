"""One stop event for the whole process, whoever asks for the stop.

SIGTERM/SIGINT (Linux), console control events (Windows) and the Windows service's stop and shutdown controls all
end in `StopController.request_stop()`. The shipper watches `stop_requested`; once its flush and checkpoint are
done it calls `mark_stopped()`, which releases anyone blocked in `wait_stopped()` (the Windows console handler must
block, or Windows kills the process as soon as the handler returns).
"""

import logging
import threading
from collections.abc import Callable

from shipper.platform import install_stop_handlers

log = logging.getLogger(__name__)


class StopController:
    """The stop request and the "stopped" acknowledgement, both thread-safe."""

    def __init__(self) -> None:
        self.stop_requested = threading.Event()
        self._stopped = threading.Event()

    def request_stop(self) -> None:
        """Ask the shipper to stop (idempotent; safe from signal handlers and foreign threads)."""
        if not self.stop_requested.is_set():
            log.info("Stop requested.")
        self.stop_requested.set()

    def mark_stopped(self) -> None:
        """The shipper has flushed and checkpointed; whoever waits for the stop may go on."""
        self._stopped.set()

    def wait_stopped(self, timeout: float) -> bool:
        """Block until `mark_stopped()` or `timeout` seconds; True when stopped."""
        return self._stopped.wait(timeout)

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    def install_os_handlers(self) -> None:
        """Route SIGTERM/SIGINT or the console control events to this controller (main thread only)."""
        install_stop_handlers(self.request_stop, self.wait_stopped)

    def run(self, body: Callable[[threading.Event], int]) -> int:
        """`body(stop_requested)`'s exit code; `mark_stopped()` is called however it ends."""
        try:
            return body(self.stop_requested)
        finally:
            self.mark_stopped()


def run_until_stopped(body: Callable[[threading.Event], int]) -> int:
    """Run `body(stop_event)` in the foreground with the OS stop handlers routed to `stop_event`.

    For `shipper run`: `run_until_stopped(lambda stop: run_shipper(config, stop, once))`.
    """
    controller = StopController()
    controller.install_os_handlers()
    return controller.run(body)
