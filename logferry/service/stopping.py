"""How a role's command learns that its Windows service was asked to stop.

In the foreground a command installs SIGTERM/SIGINT handlers; inside the service host it runs in a worker thread,
where Python allows no signal handlers, and the stop comes from the service control manager instead. The host
registers its stop event with `hosted(stop)`; a command calls `route_service_stop(request_stop)` before installing
its signal handlers, and installs them only when that returns False; `StopRequest` does both for a command.
"""

import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

_service_stops: list[threading.Event] = []
"""The stop event of the service this process hosts (at most one)."""


@contextmanager
def hosted(stop: threading.Event) -> Iterator[None]:
    """While inside, commands of this process take their stop requests from `stop`."""
    _service_stops.append(stop)
    try:
        yield
    finally:
        _service_stops.remove(stop)


def route_service_stop(request_stop: Callable[[], None]) -> bool:
    """In a service host: call `request_stop()` once the service is asked to stop (at once if it already was) and
    return True. Elsewhere: False, and the caller installs its signal handlers."""
    if not _service_stops:
        return False
    stop = _service_stops[-1]

    def wait_then_request() -> None:
        stop.wait()
        request_stop()

    threading.Thread(target=wait_then_request, name="service-stop", daemon=True).start()
    return True


class StopRequest:
    """A foreground command's stop: asked for by SIGTERM/SIGINT or, in a service host, by the stop control; logged
    once per request, remembered (`requested`) for the start-up steps before the worker exists, and passed on to
    the worker once it is attached. SIGHUP is handed to `on_hangup` (absent on Windows)."""

    def __init__(self, log: logging.Logger, on_hangup: Callable[[int, FrameType | None], None]) -> None:
        self.requested = False
        self._log = log
        self._stop_worker: Callable[[], None] | None = None
        # Before anything slow: a stop during start-up is a clean exit, not a kill.
        if not route_service_stop(lambda: self.request("service stop")):
            signal.signal(signal.SIGTERM, self._on_signal)
            signal.signal(signal.SIGINT, self._on_signal)
            hangup = getattr(signal, "SIGHUP", None)
            if hangup is not None:
                signal.signal(hangup, on_hangup)

    def attach(self, stop_worker: Callable[[], None]) -> None:
        """From now on a request also stops the worker (`worker.stop`)."""
        self._stop_worker = stop_worker

    def request(self, by: str) -> None:
        self._log.info("Stop requested; finishing the batch.", extra={"signal": by})
        self.requested = True
        if self._stop_worker is not None:
            self._stop_worker()

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self.request(signal.Signals(signum).name)
