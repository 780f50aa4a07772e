"""systemd's service notifications (sd_notify): READY=1 once the service works, WATCHDOG=1 from its main loop.

Without $NOTIFY_SOCKET (not run by systemd with Type=notify, or on Windows) every call does nothing. With
$WATCHDOG_USEC set (the unit's WatchdogSec), `alive()` sends WATCHDOG=1 at most every half of it, so a main loop
that stops turning gets the service restarted by systemd.
"""

import logging
import os
import socket
import time

log = logging.getLogger(__name__)


class Notifier:
    """Sends notifications to systemd when it asked for them; safe to call from one thread."""

    def __init__(self, environ: dict[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        self._address: str | bytes | None = None
        if address.startswith("@"):
            self._address = b"\0" + address[1:].encode()  # the abstract namespace
        elif address.startswith("/"):
            self._address = address
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        watched = usec.isdigit() and int(usec) > 0 and (not pid or pid == str(os.getpid()))
        self.watchdog_interval = int(usec) / 2_000_000 if watched else None
        self._next_watchdog = 0.0
        self._socket: socket.socket | None = None

    @property
    def enabled(self) -> bool:
        return self._address is not None

    def ready(self, status: str = "") -> None:
        self._send("READY=1" + (f"\nSTATUS={status}" if status else ""))

    def stopping(self) -> None:
        self._send("STOPPING=1")

    def alive(self) -> None:
        """From the main loop, every turn: sends WATCHDOG=1 when due."""
        if self.watchdog_interval is None:
            return
        now = time.monotonic()
        if now >= self._next_watchdog:
            self._next_watchdog = now + self.watchdog_interval
            self._send("WATCHDOG=1")

    def _send(self, message: str) -> None:
        if self._address is None or not hasattr(socket, "AF_UNIX"):
            return
        try:
            if self._socket is None:
                self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)  # type: ignore[attr-defined,unused-ignore]
            self._socket.sendto(message.encode(), self._address)
        except OSError as error:
            log.warning("A notification to systemd failed.", extra={"notification": message.split("\n", maxsplit=1)[0],
                                                                    "error": str(error)})

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
