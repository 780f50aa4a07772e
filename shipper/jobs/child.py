"""The job's process tree behind one interface, whatever the platform (`start` picks the implementation):

- `child_posix`: the program leads a process group of its own; stops and kills go to the whole group; `wait4`
  gives its CPU time and peak memory; SIGINT/SIGTERM/SIGHUP received by `exec` are forwarded to the group.
- `child_windows`: the program runs in a Job Object (kill on close: `exec` killed means the tree is ended too);
  TerminateJobObject ends the tree; the job's accounting gives CPU time and peak memory; the child shares the
  console, so Ctrl+C and console close reach it directly and `exec` waits for it instead of ending.

Standard input is closed; environment and working directory are `exec`'s own, as the scheduler set them.
"""

import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO, Protocol


@dataclass(frozen=True, slots=True)
class ChildExit:
    """How the program ended, as the platform tells it."""

    exit_code: int
    """What `exec` exits with: the program's code; 128 + the signal on POSIX when a signal ended it."""
    signal: str | None = None
    ntstatus: str | None = None
    cpu_ms: float | None = None
    peak_memory_bytes: int | None = None


class CannotStart(Exception):
    """The program could not be started; `exit_code` is what a shell would exit with (127 not found, 126 not runnable)."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class Child(Protocol):
    """A started job: its pid, its output pipes, and its whole process tree to stop or kill."""

    pid: int
    stdout: IO[bytes]
    stderr: IO[bytes]

    def wait(self) -> ChildExit:
        """Block until the program itself ends (its descendants may live on: `kill_tree` ends them)."""
        ...

    def stop_tree(self) -> None:
        """Ask the whole tree to end (SIGTERM to the group; on Windows, as `kill_tree`)."""
        ...

    def kill_tree(self) -> None:
        """End the whole tree now."""
        ...

    def alive_in_tree(self) -> bool:
        """Whether any process of the tree is still running."""
        ...

    def forward_stop_requests(self, finished: threading.Event, after: Callable[[], None]) -> None:
        """Route the stop requests `exec` receives (signals, console events) to the tree until `finished` is set;
        after that, a stop request calls `after()` (it ends the shipping pass)."""
        ...


def start(argv: Sequence[str]) -> Child:
    """Start `argv` as the job; CannotStart when it cannot be."""
    if sys.platform == "win32":
        from shipper.jobs.child_windows import WindowsChild

        return WindowsChild.start(argv)
    from shipper.jobs.child_posix import PosixChild

    return PosixChild.start(argv)
