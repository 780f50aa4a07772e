"""Run the shipper for the service: in a worker thread, so the service thread can report stop progress to the
service control manager while the producer flushes and the checkpoints are written."""

import logging
import threading
from collections.abc import Callable

from shipper.platform.stop import StopController
from shipper.service.spec import STOP_REPORT_INTERVAL_S

log = logging.getLogger("shipper.service")


def supervise(
    controller: StopController,
    body: Callable[[threading.Event], int],
    report_stop_progress: Callable[[], None],
    interval: float = STOP_REPORT_INTERVAL_S,
) -> int:
    """`body(controller.stop_requested)`'s exit code (1 when it raised). Once a stop is requested and until the body
    returns, `report_stop_progress()` is called every `interval` seconds. `controller` is marked stopped at the end."""
    outcome: list[int] = []

    def work() -> None:
        try:
            outcome.append(body(controller.stop_requested))
        except BaseException:
            log.exception("The shipper failed.")
            outcome.append(1)

    worker = threading.Thread(target=work, name="shipper", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(interval)
            if worker.is_alive() and controller.stop_requested.is_set():
                report_stop_progress()
    finally:
        controller.mark_stopped()
    code = outcome[0] if outcome else 1
    if not controller.stop_requested.is_set():
        log.error("The shipper ended without a stop request.", extra={"exit_code": code})
        return code or 1
    return code
