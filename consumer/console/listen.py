"""Where the console listens and who may use it: loopback by default; any other address only with a token.

The token comes from LOGFERRY_CONSOLE_TOKEN (never from the config file or the command line, which other users of
the host can read in `ps`)."""

import ipaddress
from dataclasses import dataclass

TOKEN_ENV = "LOGFERRY_CONSOLE_TOKEN"
DEFAULT_LISTEN = "127.0.0.1:8080"
MIN_TOKEN_CHARS = 16


@dataclass(frozen=True)
class ListenAddress:
    """A parsed `--listen host:port`."""

    host: str
    port: int

    @property
    def loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False  # a host name other than localhost may resolve anywhere

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"


def parse_listen(text: str) -> ListenAddress:
    """`host:port` or `[v6]:port`; ValueError with a sentence otherwise."""
    host, colon, port = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--listen {text!r} is not a host:port address with a port from 1 to 65535")
    return ListenAddress(host, int(port))


@dataclass(frozen=True)
class Access:
    """Who may use the console: with `token`, every request must carry it; `loopback` also checks the Host header
    (a page of another site that resolves its name to 127.0.0.1 cannot read the API)."""

    token: str | None
    loopback: bool


def access_for(address: ListenAddress, token: str | None) -> Access:
    """The access policy, or ValueError naming LOGFERRY_CONSOLE_TOKEN when a non-loopback address has no token."""
    token = token or None
    if token is not None and len(token) < MIN_TOKEN_CHARS:
        raise ValueError(f"{TOKEN_ENV} must be at least {MIN_TOKEN_CHARS} characters")
    if not address.loopback and token is None:
        raise ValueError(f"--listen {address.host}:{address.port} is not a loopback address: set {TOKEN_ENV} to serve "
                         "on it, or listen on 127.0.0.1")
    return Access(token, address.loopback)
