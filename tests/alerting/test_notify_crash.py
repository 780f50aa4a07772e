"""A crash between a receiver's acceptance and the outbox's record repeats that one notification once, with the same
Message-ID, and loses none: the delivery runs in a process of its own, which the SMTP server kills with SIGKILL
while it holds a mail it has accepted but not yet answered (the sender cannot have recorded it)."""

import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from email.message import EmailMessage
from pathlib import Path

from consumer.alerting.notify import Notifier
from tests.support.notify import T0, alert, due, observe, outbox, settings, state_db
from tests.support.polling import poll_until
from tests.support.smtp import SmtpServer

ROOT = Path(__file__).resolve().parents[2]
GROUPS = 8
KILLS = 4


class Deliverer:
    """The delivery process, started again whenever it died."""

    def __init__(self, state: Path, config: Path, log: Path) -> None:
        self.state, self.config, self.log = state, config, log
        self.process: subprocess.Popen[bytes] | None = None
        self.lock = threading.Lock()
        self.starts = 0

    def ensure_running(self) -> None:
        with self.lock:
            if self.process is not None and self.process.poll() is None:
                return
            if self.process is not None:
                self.process.wait()
            with open(self.log, "ab") as log:
                self.process = subprocess.Popen(
                    [sys.executable, "-m", "tests.support.outbox_process", str(self.state), str(self.config)],
                    cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
            self.starts += 1

    def kill(self) -> None:
        with self.lock:
            if self.process is not None and self.process.poll() is None:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def stop(self) -> None:
        with self.lock:
            if self.process is not None and self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()


def test_sigkill_between_send_and_record_repeats_once_with_the_same_message_id(tmp_path: Path) -> None:
    server = SmtpServer()
    receiver = {"type": "email", "name": "ops-mail", "host": server.host, "port": server.port, "security": "none",
                "sender": "alerts@example.test", "to": ["ops@example.test"], "retry_initial": "100ms",
                "retry_max": "500ms"}
    config = tmp_path / "notify.toml"
    config.write_text(
        "[[receivers]]\n"
        f'type = "email"\nname = "ops-mail"\nhost = "{server.host}"\nport = {server.port}\nsecurity = "none"\n'
        'sender = "alerts@example.test"\nto = ["ops@example.test"]\nretry_initial = "100ms"\nretry_max = "500ms"\n'
    )
    state = tmp_path / "state.db"
    notifier = Notifier(settings([receiver], [{"receiver": "ops-mail", "group_by": ["service"], "group_wait": "0s"}]))
    db = state_db(state)
    for n in range(GROUPS):
        observe(notifier, db, T0 - 60, alert(f"errors-{n}", group=(("service", f"s{n}"),)))
    assert due(notifier, db, T0 - 60) == GROUPS

    deliverer = Deliverer(state, config, tmp_path / "delivery.log")
    killed: list[str] = []

    def crash_before_answering(mail: EmailMessage) -> None:
        identity = str(mail["Message-ID"])
        if len(killed) < KILLS and identity not in killed:
            killed.append(identity)
            deliverer.kill()  # the mail is accepted here; the sender never hears so and records nothing

    server.on_mail(crash_before_answering)
    server.start()
    try:
        def delivered() -> list[str]:
            deliverer.ensure_running()
            return [r["status"] for r in outbox(db)]

        poll_until(delivered, lambda statuses: statuses == ["sent"] * GROUPS, deadline=120, interval=0.2,
                   what="every notification recorded sent across the kills")
    finally:
        deliverer.stop()
        server.stop()
        db.close()

    assert len(killed) == KILLS
    assert deliverer.starts == KILLS + 1
    received = Counter(str(mail["Message-ID"]) for mail in server.mails)
    expected = {f"<{row['notification_id']}@example.test>" for row in outbox(state_db(state))}
    assert set(received) == expected, "every notification delivered, none made up"
    assert {identity: received[identity] for identity in killed} == dict.fromkeys(killed, 2), \
        "each notification the kill interrupted came twice, with the same Message-ID"
    assert sum(received.values()) == GROUPS + KILLS, "no other repeats"
