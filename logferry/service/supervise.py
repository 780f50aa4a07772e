"""Run a role's command for the service: in a worker thread, so the service thread can report stop progress to the
service control manager while the command finishes (the shipper's flush, the consumer's last batch)."""

import logging
import threading
from collections.abc import Callable

from logferry.service.spec import STOP_REPORT_INTERVAL_S

log = logging.getLogger("logferry.service")


def supervise(
    stop_requested: threading.Event,
    body: Callable[[threading.Event], int],
    report_stop_progress: Callable[[], None],
    interval: float = STOP_REPORT_INTERVAL_S,
) -> int:
    """`body(stop_requested)`'s exit code (1 when it raised). Once a stop is requested and until the body returns,
    `report_stop_progress()` is called every `interval` seconds. An end without a stop request is a failure (at
    least exit code 1): the service control manager's recovery actions then restart the service."""
    outcome: list[int] = []

    def work() -> None:
        try:
            outcome.append(body(stop_requested))
        except BaseException:
            log.exception("The service's command failed.")
            outcome.append(1)

    worker = threading.Thread(target=work, name="service-body", daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(interval)
        if worker.is_alive() and stop_requested.is_set():
            report_stop_progress()
    code = outcome[0] if outcome else 1
    if not stop_requested.is_set():
        log.error("The service's command ended without a stop request.", extra={"exit_code": code})
        return code or 1
    return code
