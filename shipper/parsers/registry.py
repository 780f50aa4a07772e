"""The declared formats: a plain tuple of the records each parser module declares (`FORMAT`, see
shipper.parsers.declaration). Adding a format is a module with its record and one line here; the config's known
formats, auto's candidates and the build's compile list are derived from this tuple. Importing it registers
nothing anywhere else.

setup.py reads this tuple from the source (shipper.parsers._mypyc.declared_modules): keep its entries of the form
`module.RECORD` with the modules imported `from shipper.parsers import ...`.
"""

from shipper.parsers import (
    access,
    apache_error,
    cri,
    docker,
    golog,
    iis,
    java,
    jsonlines,
    logfmt,
    plain,
    python_logging,
    regex_user,
    syslog,
    text,
)
from shipper.parsers.base import Parser
from shipper.parsers.declaration import Format, format_names

FORMATS: tuple[Format, ...] = (
    jsonlines.FORMAT,
    logfmt.FORMAT,
    syslog.FORMAT,
    access.NGINX,
    access.APACHE,
    apache_error.FORMAT,
    iis.FORMAT,
    golog.FORMAT,
    python_logging.FORMAT,
    java.FORMAT,
    cri.FORMAT,
    docker.FORMAT,
    regex_user.FORMAT,
    text.FORMAT,
    plain.FORMAT,
)

NAMES: tuple[str, ...] = format_names(FORMATS)
"""The declared formats' config names, in the order above (the config adds "auto" before them)."""

PARSERS: dict[str, type[Parser]] = {declared.name: declared.parser for declared in FORMATS}


def parser_class(name: str) -> type[Parser]:
    """The parser class for format `name` (any of shipper.config.formats() except "auto"); KeyError if unknown."""
    return PARSERS[name]
