"""The format parsers by config name. A plain table: importing it registers nothing anywhere else."""

from shipper.parsers.access import AccessLogParser, ApacheAccessParser
from shipper.parsers.apache_error import ApacheErrorParser
from shipper.parsers.base import Parser
from shipper.parsers.cri import CriParser
from shipper.parsers.docker import DockerParser
from shipper.parsers.golog import GoLogParser
from shipper.parsers.iis import IisParser
from shipper.parsers.java import JavaParser
from shipper.parsers.jsonlines import JsonParser
from shipper.parsers.logfmt import LogfmtParser
from shipper.parsers.plain import PlainParser
from shipper.parsers.python_logging import PythonParser
from shipper.parsers.regex_user import RegexParser
from shipper.parsers.syslog import SyslogParser

PARSERS: dict[str, type[Parser]] = {
    "json": JsonParser,
    "logfmt": LogfmtParser,
    "syslog": SyslogParser,
    "nginx": AccessLogParser,
    "apache": ApacheAccessParser,
    "apache_error": ApacheErrorParser,
    "iis": IisParser,
    "golog": GoLogParser,
    "python": PythonParser,
    "java": JavaParser,
    "cri": CriParser,
    "docker": DockerParser,
    "regex": RegexParser,
    "plain": PlainParser,
}


def parser_class(name: str) -> type[Parser]:
    """The parser class for format `name` (any of shipper.config.FORMATS except "auto"); KeyError if unknown."""
    return PARSERS[name]
