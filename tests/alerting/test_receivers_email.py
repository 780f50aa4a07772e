"""The email receiver against a real SMTP server (aiosmtpd on loopback): plain, STARTTLS with a login whose password
comes from an environment variable, implicit TLS; the mail's parts, escaping, search link and stable Message-ID;
refusals retried or given up as the SMTP code says; and a server down for a while loses nothing."""

import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from consumer.alerting.notify import Notifier, NotifyMetrics, OutboxDelivery
from consumer.alerting.notify.delivery import connect
from consumer.alerting.notify.receivers.email import message_id
from tests.support.notify import T0, alert, due, observe, outbox, settings, smtp_server, state_db
from tests.support.polling import poll_until
from tests.support.smtp import SmtpServer
from tests.support.tls import make_broker_tls

__all__ = ["smtp_server"]
# aiosmtpd counts only STARTTLS as TLS; the implicit-TLS server requires AUTH over TLS all the same.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

START = T0 - 3600  # notifications made "an hour ago" are due for the delivery at once


def mail_receiver(server: SmtpServer, **extra: object) -> dict[str, object]:
    return {"type": "email", "name": "ops-mail", "host": server.host, "port": server.port, "security": "none",
            "sender": "Logferry <alerts@example.test>", "to": ["ops@example.test", "oncall@example.test"],
            "console_url": "https://logs.example.test", "retry_initial": "100ms", "retry_max": "500ms", **extra}


def queue(tmp_path: Path, receiver: dict[str, object], *alerts_: object, metrics: NotifyMetrics | None = None) -> Path:
    """A state file whose outbox holds one notification of `alerts_` (one group) for `receiver`."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "state.db"
    config = settings([receiver], [{"receiver": str(receiver["name"]), "group_by": [], "group_wait": "0s"}])
    notifier, db = Notifier(config, metrics), state_db(path)
    observe(notifier, db, START, *alerts_)  # type: ignore[arg-type]
    assert due(notifier, db, START) == 1
    db.close()
    return path


def deliver(path: Path, receiver: dict[str, object], metrics: NotifyMetrics | None = None, *,
            later: float = 0.0) -> int:
    """One delivery round, as if `later` seconds from now (a retry's time has come)."""
    config = settings([receiver])
    return OutboxDelivery(path, config, metrics).deliver_once(connect(path), now=time.time() + later)


def body(mail: EmailMessage, kind: str) -> str:
    part = mail.get_body(preferencelist=(kind,))
    assert part is not None
    content = part.get_content()
    assert isinstance(content, str)
    return content


def test_a_notification_is_one_multipart_mail_with_the_first_lines_escaped_and_a_search_link(
        tmp_path: Path, smtp_server: SmtpServer) -> None:
    receiver = mail_receiver(smtp_server)
    hostile = "ERROR <script>alert(1)</script> & \x1b[31mred\r\nBcc: victim@example.test"
    path = queue(tmp_path, receiver, alert("billing-errors", samples=(hostile, "ERROR card declined")),
                 alert("billing-latency", late=True))
    assert deliver(path, receiver) == 1
    (mail,) = smtp_server.mails
    (row,) = outbox(state_db(path))
    assert row["status"] == "sent"
    assert mail["Message-ID"] == message_id(row["notification_id"], "alerts@example.test")
    assert mail["Message-ID"] == f"<{row['notification_id']}@example.test>"
    assert mail["Subject"].startswith("[logferry] [FIRING:2] billing-errors, billing-latency")
    assert mail["To"] == "ops@example.test, oncall@example.test"
    assert mail["Bcc"] is None, "an event line cannot add a header"
    assert mail.is_multipart() and mail.get_content_type() == "multipart/alternative"
    plain, rich = body(mail, "plain"), body(mail, "html")
    assert "ERROR card declined" in plain and "ERROR card declined" in rich
    assert "<script>" not in rich and "&lt;script&gt;alert(1)&lt;/script&gt; &amp;" in rich
    assert "\x1b" not in plain and "\x1b" not in rich
    assert "Late: evaluated from a backlog" in plain
    link = "https://logs.example.test/?q=service%3Abilling+level%3Aerror&amp;since=2030-01-15T08%3A00%3A00Z"
    assert f"Search: {link.replace('&amp;', '&')}" in plain
    assert f'<a href="{link}">' in rich, "the link's & is escaped in HTML"


def test_an_alert_that_fired_and_resolved_unseen_is_mailed_as_fired(tmp_path: Path, smtp_server: SmtpServer) -> None:
    from consumer.alerting.model import AlertState

    receiver = mail_receiver(smtp_server)
    path = queue(tmp_path, receiver, alert("job-failed"), alert("job-failed", AlertState.RESOLVED))
    assert deliver(path, receiver) == 1
    (mail,) = smtp_server.mails
    assert mail["Subject"].startswith("[logferry] [FIRED:1] job-failed")
    plain = body(mail, "plain")
    assert plain.startswith("1 fired and resolved.") and "Fired and resolved:" in plain


def test_the_mails_of_one_group_make_one_thread(tmp_path: Path, smtp_server: SmtpServer) -> None:
    from consumer.alerting.model import AlertState

    receiver = mail_receiver(smtp_server)
    config = settings([receiver], [{"receiver": "ops-mail", "group_by": ["service"], "group_wait": "0s",
                                    "group_interval": "1s"}])
    path = tmp_path / "state.db"
    notifier, db = Notifier(config), state_db(path)
    observe(notifier, db, START, alert("billing-errors"), alert("search-errors", group=(("service", "search"),)))
    assert due(notifier, db, START) == 2
    observe(notifier, db, START + 5, alert("billing-errors", AlertState.RESOLVED))
    assert due(notifier, db, START + 5) == 1
    assert OutboxDelivery(path, config).deliver_once(connect(path)) == 3
    billing, search, resolved = smtp_server.mails
    assert billing["References"] == resolved["References"] != search["References"]
    assert len({billing["Message-ID"], search["Message-ID"], resolved["Message-ID"]}) == 3


def test_without_a_console_the_mail_shows_the_search_command(tmp_path: Path, smtp_server: SmtpServer) -> None:
    receiver = mail_receiver(smtp_server, console_url="")
    path = queue(tmp_path, receiver, alert("billing-errors"))
    assert deliver(path, receiver) == 1
    assert "Search: consumer search 'service:billing level:error' --since 2030-01-15T08:00:00Z" in body(
        smtp_server.mails[0], "plain")


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[str, str, str]:
    """(certificate, key, CA) for 127.0.0.1."""
    tls = make_broker_tls(tmp_path / "tls", "unused", "unused")
    return str(tls.directory / "broker-cert.pem"), str(tls.directory / "broker-key.pem"), str(tls.ca)


@pytest.fixture
def password(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("LOGFERRY_TEST_SMTP_PASSWORD", "s3cret-from-env")
    yield "s3cret-from-env"


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_starttls_and_implicit_tls_with_a_login_from_the_environment(
        tmp_path: Path, certificate: tuple[str, str, str], password: str, security: str) -> None:
    server = SmtpServer(security=security, certificate=certificate[:2], login=("alerts", password))
    server.start()
    try:
        receiver = mail_receiver(server, security=security, ca_file=certificate[2], username="alerts",
                                 password_env="LOGFERRY_TEST_SMTP_PASSWORD")
        path = queue(tmp_path, receiver, alert("billing-errors"))
        assert deliver(path, receiver) == 1
        assert len(server.mails) == 1
        assert outbox(state_db(path))[0]["status"] == "sent"
    finally:
        server.stop()


def test_a_wrong_password_or_an_untrusted_certificate_is_retried_not_sent(
        tmp_path: Path, certificate: tuple[str, str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGFERRY_TEST_SMTP_PASSWORD", "wrong")
    server = SmtpServer(security="starttls", certificate=certificate[:2], login=("alerts", "right"))
    server.start()
    try:
        receiver = mail_receiver(server, security="starttls", ca_file=certificate[2], username="alerts",
                                 password_env="LOGFERRY_TEST_SMTP_PASSWORD")
        path = queue(tmp_path, receiver, alert("billing-errors"))
        assert deliver(path, receiver) == 0
        (row,) = outbox(state_db(path))
        assert (row["status"], row["attempts"]) == ("pending", 1)
        assert "refused the login of alerts" in row["last_error"]
        untrusted = receiver | {"ca_file": ""}  # the system's authorities do not know the test CA
        assert deliver(path, untrusted, later=5) == 0, "past retry_max: the row is due again"
        assert "certificate" in outbox(state_db(path))[0]["last_error"]
        assert server.mails == []
    finally:
        server.stop()


def test_an_smtp_4xx_is_retried_with_the_same_message_id_and_a_5xx_is_given_up(
        tmp_path: Path, smtp_server: SmtpServer) -> None:
    registry = CollectorRegistry()
    metrics = NotifyMetrics(registry)
    receiver = mail_receiver(smtp_server)
    path = queue(tmp_path, receiver, alert("billing-errors"))
    smtp_server.refuse_next("451 4.3.0 Try again later")
    assert deliver(path, receiver, metrics) == 0
    assert outbox(state_db(path))[0]["status"] == "pending"
    poll_until(lambda: deliver(path, receiver, metrics), lambda sent: sent == 1, deadline=10, what="the retry")
    assert len(smtp_server.mails) == 1

    path2 = queue(tmp_path / "second", receiver, alert("billing-latency"))
    smtp_server.refuse_next("550 5.7.1 Relaying denied")
    assert deliver(path2, receiver, metrics) == 0
    (row,) = outbox(state_db(path2))
    assert row["status"] == "given_up" and "550" in row["last_error"]
    text = generate_latest(registry).decode()
    assert 'logferry_evaluator_sent_notifications_total{receiver="ops-mail"} 1.0' in text
    assert 'logferry_evaluator_failed_notifications_total{receiver="ops-mail"} 2.0' in text
    assert 'logferry_evaluator_given_up_notifications_total{receiver="ops-mail"} 1.0' in text


def test_give_up_after_ends_the_retries_of_a_server_that_never_comes_back(tmp_path: Path) -> None:
    down = SmtpServer()  # never started: connections are refused
    receiver = mail_receiver(down, give_up_after="1s")
    path = queue(tmp_path, receiver, alert("billing-errors"))  # made an hour ago: past give_up_after already
    assert deliver(path, receiver) == 0
    (row,) = outbox(state_db(path))
    assert row["status"] == "given_up"
    assert "not accepted within give_up_after" in row["last_error"]


def test_the_smtp_server_down_for_a_while_loses_nothing(tmp_path: Path) -> None:
    server = SmtpServer()
    receiver = mail_receiver(server)
    path = tmp_path / "state.db"
    config = settings([receiver], [{"receiver": "ops-mail", "group_by": ["service"], "group_wait": "0s"}])
    notifier, db = Notifier(config), state_db(path)
    metrics = NotifyMetrics()
    delivery = OutboxDelivery(path, config, metrics)
    delivery.start()
    try:
        for service in ("billing", "search", "auth"):
            observe(notifier, db, time.time(), alert(f"{service}-errors", group=(("service", service),)))
            assert due(notifier, db, time.time()) == 1
            delivery.wake()
        poll_until(lambda: metrics.failed["ops-mail"], lambda failed: failed >= 6, deadline=30,
                   what="several failed tries while the server is down")
        assert metrics.outbox_depth == 3 and metrics.given_up["ops-mail"] == 0
        server.start()
        mails = poll_until(lambda: server.mails, lambda mails: len(mails) == 3, deadline=30,
                           what="the three mails once the server is back")
        assert len({m["Message-ID"] for m in mails}) == 3
        rows = poll_until(lambda: outbox(db), lambda rows: all(r["status"] == "sent" for r in rows), deadline=10,
                          what="every row recorded sent")
        assert sorted(f"<{r['notification_id']}@example.test>" for r in rows) == sorted(m["Message-ID"] for m in mails)
    finally:
        assert delivery.stop(timeout=30)
        server.stop()
