"""Waiting for a condition on a real service: ask again and again until it holds or a deadline passes, taking the
service's transient failures (a node busy or restarting, a database locked by a writer) as "not yet"."""

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class StillWaiting(AssertionError):
    """The deadline passed before the condition held; says what was awaited and what was last seen."""


def poll_until(probe: Callable[[], T], done: Callable[[T], bool], *, deadline: float, what: str,
               transient: tuple[type[BaseException], ...] = (), interval: float = 0.5) -> T:
    """The first value of `probe()` for which `done` holds, asked every `interval` s for at most `deadline` s.
    Exceptions of the `transient` types count as a value not seen yet; any other one is raised at once."""
    give_up = time.monotonic() + deadline
    last: str = "nothing yet"
    while True:
        try:
            value = probe()
        except transient as error:
            last = f"{type(error).__name__}: {error}"
        else:
            if done(value):
                return value
            last = repr(value)
        if time.monotonic() >= give_up:
            raise StillWaiting(f"timed out after {deadline:.0f} s waiting for {what}; last seen: {last}")
        time.sleep(interval)
