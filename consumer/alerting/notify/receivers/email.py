"""The email receiver: one multipart (plain text + HTML) mail per notification through an SMTP server (smtplib), over
STARTTLS or implicit TLS, logged in with the password from the environment variable the config names.

The mail's `Message-ID` is derived from the notification's id, so a notification sent twice (a crash between the
server's acceptance and the outbox's record) carries the same Message-ID both times and mail clients show it once.
"""

import hashlib
import os
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

from consumer.alerting.notify.receivers import text
from consumer.alerting.notify.receivers.base import Notification, ReceiverRefused, ReceiverUnavailable
from consumer.alerting.notify.receivers.email_settings import EmailSettings
from consumer.alerting.notify.settings import ReceiverSettings


def open_receiver(settings: ReceiverSettings) -> "EmailReceiver":
    if not isinstance(settings, EmailSettings):
        raise TypeError(f"an email receiver needs EmailSettings, got {type(settings).__name__}")
    return EmailReceiver(settings)


def message_id(notification_id: str, sender: str) -> str:
    """The stable Message-ID of a notification: `<id@domain of the sender>`."""
    return f"<{notification_id}@{_domain(sender)}>"


def thread_id(notification: Notification, sender: str) -> str:
    """What every mail of one group refers to (`References`), so mail clients show a group's mails as one thread."""
    text = "\x1f".join([notification.receiver, str(notification.route), notification.group_text])
    return f"<group-{hashlib.sha256(text.encode('utf-8')).hexdigest()[:24]}@{_domain(sender)}>"


def _domain(sender: str) -> str:
    return parseaddr(sender)[1].rpartition("@")[2] or "logferry.invalid"


class EmailReceiver:
    """Sends each notification as one mail, a new SMTP session each time (notifications are rare; a session kept
    open would time out between them)."""

    def __init__(self, settings: EmailSettings) -> None:
        self.settings = settings

    def compose(self, notification: Notification) -> EmailMessage:
        s = self.settings
        mail = EmailMessage()
        mail["Subject"] = text.subject(notification, s.subject_prefix)
        mail["From"] = s.sender
        mail["To"] = ", ".join(s.to)
        mail["Date"] = formatdate(usegmt=True)
        mail["Message-ID"] = message_id(notification.id, s.sender)
        mail["References"] = thread_id(notification, s.sender)
        mail["X-Logferry-Notification"] = notification.id
        mail["Auto-Submitted"] = "auto-generated"
        mail.set_content(text.plain(notification, s.console_url))
        mail.add_alternative(text.rich(notification, s.console_url), subtype="html")
        return mail

    def send(self, notification: Notification) -> None:
        mail = self.compose(notification)
        s = self.settings
        try:
            with self._connect() as smtp:
                if s.username:
                    smtp.login(s.username, self._password())
                smtp.send_message(mail, from_addr=parseaddr(s.sender)[1], to_addrs=[parseaddr(a)[1] for a in s.to])
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            message = f"the SMTP server {s.host} refused every recipient: {_codes(error.recipients)}"
            raise (ReceiverUnavailable(message) if any(c < 500 for c in codes) else ReceiverRefused(message)) from None
        except smtplib.SMTPAuthenticationError as error:
            # A wrong password is fixed by the operator: the notification waits for it until give_up_after.
            raise ReceiverUnavailable(f"the SMTP server {s.host} refused the login of {s.username}: {_reply(error)}") from None
        except smtplib.SMTPNotSupportedError as error:
            raise ReceiverRefused(f"the SMTP server {s.host} does not support what the config asks: {error}") from None
        except smtplib.SMTPResponseException as error:
            message = f"the SMTP server {s.host} answered {_reply(error)}"
            raise (ReceiverRefused(message) if error.smtp_code >= 500 else ReceiverUnavailable(message)) from None
        except ssl.SSLCertVerificationError as error:
            message = f"the certificate of the SMTP server {s.host} is not trusted: {error.verify_message}"
            raise ReceiverUnavailable(message) from None
        except (smtplib.SMTPException, OSError) as error:
            raise ReceiverUnavailable(f"cannot send mail through {s.host}:{s.effective_port}: {error}") from None

    def close(self) -> None:
        return

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        port = s.effective_port
        if s.security == "tls":
            return smtplib.SMTP_SSL(s.host, port, timeout=s.timeout, context=self._tls())
        smtp = smtplib.SMTP(s.host, port, timeout=s.timeout)
        try:
            if s.security == "starttls":
                smtp.starttls(context=self._tls())
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.settings.ca_file or None)

    def _password(self) -> str:
        name = self.settings.password_env
        value = os.environ.get(name)
        if value is None:
            raise ReceiverUnavailable(f"the environment variable {name} holding the SMTP password is not set")
        return value


def _reply(error: smtplib.SMTPResponseException) -> str:
    detail = error.smtp_error.decode("utf-8", "replace") if isinstance(error.smtp_error, bytes) else str(error.smtp_error)
    return f"{error.smtp_code} {detail}"


def _codes(recipients: dict[str, tuple[int, bytes]]) -> str:
    return "; ".join(f"{address}: {code}" for address, (code, _) in sorted(recipients.items()))
