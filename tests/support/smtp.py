"""A real SMTP server for a test (aiosmtpd), on loopback: plain, STARTTLS or implicit TLS, optionally requiring a
login; it keeps every mail it accepts, can be stopped and started again on the same port (a mail server down for a
while), can answer a scripted refusal, and can run a hook when a mail arrives, before it answers."""

import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class _Handler:
    mails: list[EmailMessage] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)  # answers given, in order, instead of accepting
    on_mail: Callable[[EmailMessage], None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            if self.refusals:
                return self.refusals.pop(0)
        mail = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(mail, EmailMessage)
        with self.lock:
            self.mails.append(mail)
        if self.on_mail is not None:
            self.on_mail(mail)
        return "250 Message accepted for delivery"


class SmtpServer:
    """`security` is "none", "starttls" or "tls"; with `login` the server requires that user and password."""

    def __init__(self, *, security: str = "none", certificate: tuple[str, str] | None = None,
                 login: tuple[str, str] | None = None) -> None:
        self.security = security
        self.port = free_port()
        self.host = "127.0.0.1"
        self._handler = _Handler()
        self._login = login
        self._context: ssl.SSLContext | None = None
        if certificate is not None:
            self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self._context.load_cert_chain(*certificate)
        self._controller: Controller | None = None

    @property
    def mails(self) -> list[EmailMessage]:
        with self._handler.lock:
            return list(self._handler.mails)

    def refuse_next(self, *answers: str) -> None:
        """The next mails get these answers ("451 4.3.0 try later", "550 5.7.1 no") instead of being accepted."""
        with self._handler.lock:
            self._handler.refusals.extend(answers)

    def on_mail(self, hook: Callable[[EmailMessage], None] | None) -> None:
        self._handler.on_mail = hook

    def start(self) -> None:
        kwargs: dict[str, Any] = {}
        if self._login is not None:
            # aiosmtpd counts only STARTTLS as TLS for AUTH; an implicit-TLS session is encrypted from the start.
            kwargs.update(authenticator=self._authenticate, auth_require_tls=self.security == "starttls",
                          auth_required=True)
        if self.security == "starttls":
            kwargs.update(tls_context=self._context, require_starttls=True)
        controller = Controller(self._handler, hostname=self.host, port=self.port,
                                ssl_context=self._context if self.security == "tls" else None,
                                server_hostname="127.0.0.1", **kwargs)
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        ok = (isinstance(auth_data, LoginPassword) and self._login is not None
              and auth_data.login.decode() == self._login[0] and auth_data.password.decode() == self._login[1])
        return AuthResult(success=ok, handled=False)
