"""The shipper's own errors."""

from logferry.errors import LogferryError


class ShipperError(LogferryError):
    """The shipper cannot go on; the message says why in one sentence."""


class UsageError(LogferryError):
    """The command line asks for something impossible; the message says what."""
