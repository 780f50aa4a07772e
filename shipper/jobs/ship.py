"""The once-pass `exec` makes over the spools before it exits: the normal shipper (shipper.runner), following only
the spool input, until what the spools hold is acknowledged. When a shipper service holds the state directory,
the pass is left to it: it follows the same spools."""

import enum
import logging
import threading
from dataclasses import dataclass

from shipper.checkpoint.lock import StateLocked
from shipper.checkpoint.store import CheckpointError
from shipper.config import ShipperConfig
from shipper.errors import ShipperError
from shipper.jobs.spool import only_job_input

log = logging.getLogger("shipper.jobs.ship")


class Shipped(enum.Enum):
    DONE = "done"  # every spool was read and acknowledged
    LEFT_TO_SERVICE = "left_to_service"  # a running shipper holds the state directory and ships them
    FAILED = "failed"  # Kafka did not answer (or the state cannot be used): the spools wait for the next pass


@dataclass(frozen=True)
class ShipResult:
    outcome: Shipped
    error: str = ""


def ship_spools(config: ShipperConfig, stop: threading.Event) -> ShipResult:
    from shipper.runner import Shipper

    try:
        shipper = Shipper(only_job_input(config), stop, once=True)
    except StateLocked:
        return ShipResult(Shipped.LEFT_TO_SERVICE)
    except (CheckpointError, OSError) as error:
        return ShipResult(Shipped.FAILED, str(error))
    try:
        shipper.run()
    except ShipperError as error:
        return ShipResult(Shipped.FAILED, str(error))
    return ShipResult(Shipped.DONE)
