"""The format parsers by config name. A plain table: importing it registers nothing anywhere else."""

from shipper.parsers.access import AccessLogParser, ApacheAccessParser
from shipper.parsers.base import Parser
from shipper.parsers.golog import GoLogParser
from shipper.parsers.jsonlines import JsonParser
from shipper.parsers.logfmt import LogfmtParser
from shipper.parsers.plain import PlainParser
from shipper.parsers.syslog import SyslogParser

PARSERS: dict[str, type[Parser]] = {
    "json": JsonParser,
    "logfmt": LogfmtParser,
    "syslog": SyslogParser,
    "nginx": AccessLogParser,
    "apache": ApacheAccessParser,
    "golog": GoLogParser,
    "plain": PlainParser,
}


def parser_class(name: str) -> type[Parser]:
    """The parser class for format `name` (any of shipper.config.FORMATS except "auto"); KeyError if unknown."""
    return PARSERS[name]
