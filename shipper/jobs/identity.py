"""Who a run is: the job's name (part of file names and events, so validated) and the run's id.

The run id is made once, when the run starts, and written into every spool record of the run: a retried delivery
of a record carries the same id because it is read from the same bytes.
"""

import os
import re
import time
from dataclasses import dataclass
from hashlib import blake2b

_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")


class BadJobName(ValueError):
    """A job name that cannot be used (the message is one sentence)."""


@dataclass(frozen=True, slots=True)
class JobName:
    """A job's name: 1-64 letters, digits, `_`, `.` or `-` (it names lock and spool files)."""

    value: str

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.value) or self.value in (".", ".."):
            raise BadJobName(f"the job name {self.value!r} must be 1-64 letters, digits, '_', '.' or '-'")

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class RunId:
    """A run's id: 16 hex digits, unique per run (host id, job, start time in ns, pid, random bytes)."""

    value: str

    @classmethod
    def new(cls, host_id: str, job: JobName, started_ns: int | None = None) -> "RunId":
        started = time.time_ns() if started_ns is None else started_ns
        material = f"{host_id}\x1f{job}\x1f{started}\x1f{os.getpid()}\x1f".encode() + os.urandom(8)
        return cls(blake2b(material, digest_size=8).hexdigest())

    def __str__(self) -> str:
        return self.value
