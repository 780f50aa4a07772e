"""Progress of a long job (a consumer catching up, a shipper's backfill): how much is done, how much is left, the
rate and the time left, as a bar on a terminal or as log lines. `unit` names what is counted (events, bytes).

Log lines come at most once a minute and only while there is work: an idle worker (nothing done since the last
line, nothing left) is quiet. On a terminal the bar is redrawn in place; a log line printed meanwhile first clears
the bar's line (a filter on the root logger's handlers), so the two never share a line."""

import logging
import sys
import time

log = logging.getLogger(__name__)

BAR_INTERVAL = 0.5
LOG_INTERVAL = 60.0


class Progress:
    """Reports at most once per `interval` seconds; `mode` is bar, log or off (auto: bar on a terminal, else log)."""

    def __init__(self, mode: str, interval: float | None = None, unit: str = "events") -> None:
        if mode == "auto":
            mode = "bar" if sys.stderr.isatty() else "log"
        self.mode = mode
        self.unit = unit
        self.interval = interval if interval is not None else (BAR_INTERVAL if mode == "bar" else LOG_INTERVAL)
        self._last = 0.0
        self._last_done: int | None = None
        self._shown = False
        self._cleared = False  # the bar's line was cleared for a log line and not drawn since
        self._filter: _ClearBar | None = None
        if mode == "bar":
            self._filter = _ClearBar(self)
            for handler in logging.getLogger().handlers:
                handler.addFilter(self._filter)

    def due(self) -> bool:
        return self.mode != "off" and time.monotonic() - self._last >= self.interval

    def report(self, done: int, left: int) -> None:
        now = time.monotonic()
        elapsed = now - self._last if self._last else 0.0
        previous = self._last_done
        self._last, self._last_done = now, done
        rate = (done - previous) / elapsed if previous is not None and elapsed > 0 else None
        eta = left / rate if rate and left else None
        if self.mode == "bar":
            total = done + left
            width = 30
            filled = width if total == 0 else int(width * done / total)
            speed = f", {rate:,.0f}/s" if rate else ""
            remaining = f", {_duration(eta)} left" if eta is not None else ""
            sys.stderr.write(f"\r\x1b[K[{'#' * filled}{'.' * (width - filled)}] {done:,} {self.unit} done, {left:,} left"
                             f"{speed}{remaining}")
            sys.stderr.flush()
            self._shown, self._cleared = True, False
        elif self.mode == "log":
            if done == (previous or 0) and left == 0:
                return  # idle: nothing happened (since the last report, or at all), nothing to do
            extra: dict[str, object] = {f"{self.unit}_done": done, f"{self.unit}_left": left}
            if rate is not None:
                extra[f"{self.unit}_per_s"] = round(rate, 1)
            if eta is not None:
                extra["eta_s"] = round(eta)
            log.info("Progress.", extra=extra)

    def clear(self) -> None:
        """Clear the bar's line (a log line follows); the next report draws it again."""
        if self._shown and not self._cleared:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
            self._cleared = True

    def finish(self) -> None:
        if self._shown and not self._cleared:
            sys.stderr.write("\n")
            sys.stderr.flush()
        self._shown = False
        if self._filter is not None:
            for handler in logging.getLogger().handlers:
                handler.removeFilter(self._filter)
            self._filter = None


class _ClearBar(logging.Filter):
    def __init__(self, progress: Progress) -> None:
        super().__init__()
        self._progress = progress

    def filter(self, record: logging.LogRecord) -> bool:
        self._progress.clear()
        return True


def _duration(seconds: float) -> str:
    whole = int(seconds)
    if whole >= 3600:
        return f"{whole // 3600}h{whole % 3600 // 60:02d}m"
    if whole >= 60:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole}s"
