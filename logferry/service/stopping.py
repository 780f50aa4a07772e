"""How a role's command learns that its Windows service was asked to stop.

In the foreground a command installs SIGTERM/SIGINT handlers; inside the service host it runs in a worker thread,
where Python allows no signal handlers, and the stop comes from the service control manager instead. The host
registers its stop event with `hosted(stop)`; a command calls `route_service_stop(request_stop)` before installing
its signal handlers, and installs them only when that returns False.
"""

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

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
