"""Progress of a long run: events done and events left (the lag), as a bar on a terminal or log lines."""

import logging
import sys
import time

log = logging.getLogger(__name__)


class Progress:
    """Reports at most once per `interval` seconds; `mode` is bar, log or off."""

    def __init__(self, mode: str, interval: float | None = None) -> None:
        if mode == "auto":
            mode = "bar" if sys.stderr.isatty() else "log"
        self.mode = mode
        self.interval = interval if interval is not None else (0.5 if mode == "bar" else 10.0)
        self._last = 0.0
        self._shown = False

    def due(self) -> bool:
        return self.mode != "off" and time.monotonic() - self._last >= self.interval

    def report(self, done: int, left: int) -> None:
        self._last = time.monotonic()
        if self.mode == "bar":
            total = done + left
            width = 30
            filled = width if total == 0 else int(width * done / total)
            sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done:,} events done, {left:,} left ")
            sys.stderr.flush()
            self._shown = True
        elif self.mode == "log":
            log.info("Progress.", extra={"events_done": done, "events_left": left})

    def finish(self) -> None:
        if self._shown:
            sys.stderr.write("\n")
            sys.stderr.flush()
