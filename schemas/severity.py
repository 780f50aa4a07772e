"""The one severity mapping table: level words and numeric levels to OTel severity numbers (0-24).

OTel ranges: TRACE 1-4, DEBUG 5-8, INFO 9-12, WARN 13-16, ERROR 17-20, FATAL 21-24; 0 means unknown.
Sources disagree on a few levels (Python CRITICAL, Windows Critical, zap Panic). The choices are written
down here once and documented in schemas/README.md; every parser uses these functions.
"""

TRACE, DEBUG, INFO, NOTICE, WARN, ERROR, CRITICAL, ALERT, FATAL = 1, 5, 9, 10, 13, 17, 18, 19, 21

# Upper-case words. Lookup is exact first (the common case: the word is already upper case), then upper-cased.
LEVEL_WORDS: dict[str, int] = {
    "TRACE": TRACE, "FINEST": TRACE, "FINER": 2, "TRC": TRACE,
    "DEBUG": DEBUG, "FINE": DEBUG, "VERBOSE": DEBUG, "DBG": DEBUG, "D": DEBUG,
    "INFO": INFO, "INFORMATION": INFO, "INFORMATIONAL": INFO, "CONFIG": INFO, "INF": INFO, "I": INFO,
    "NOTICE": NOTICE,
    "WARN": WARN, "WARNING": WARN, "WRN": WARN, "W": WARN,
    "ERROR": ERROR, "ERR": ERROR, "SEVERE": ERROR, "E": ERROR,
    "CRIT": CRITICAL, "CRITICAL": CRITICAL,
    "ALERT": ALERT,
    "EMERG": FATAL, "EMERGENCY": FATAL, "FATAL": FATAL, "PANIC": FATAL, "DPANIC": FATAL, "FTL": FATAL, "F": FATAL,
}

# RFC 5424 severity 0-7.
SYSLOG_LEVELS: tuple[int, ...] = (FATAL, ALERT, CRITICAL, ERROR, WARN, NOTICE, INFO, DEBUG)
SYSLOG_WORDS: tuple[str, ...] = ("EMERG", "ALERT", "CRIT", "ERR", "WARNING", "NOTICE", "INFO", "DEBUG")

# Python logging numeric levels. logging.CRITICAL == logging.FATAL == 50, so 50 maps to FATAL.
PYTHON_LEVELS: dict[int, int] = {5: TRACE, 10: DEBUG, 20: INFO, 30: WARN, 40: ERROR, 50: FATAL}

# Windows event log levels: 0 LogAlways, 1 Critical, 2 Error, 3 Warning, 4 Information, 5 Verbose.
WINDOWS_LEVELS: dict[int, int] = {0: INFO, 1: CRITICAL, 2: ERROR, 3: WARN, 4: INFO, 5: DEBUG}


def severity_from_text(text: str | None) -> int:
    """The severity number for a level word as written ("warn", "ERROR", "Information"); 0 if unknown."""
    if not text:
        return 0
    number = LEVEL_WORDS.get(text)
    if number is None:
        number = LEVEL_WORDS.get(text.strip().upper(), 0)
    return number


def severity_from_syslog(severity: int) -> int:
    """The severity number for a syslog severity 0 (emergency) to 7 (debug); 0 if out of range."""
    return SYSLOG_LEVELS[severity] if 0 <= severity <= 7 else 0


def severity_from_python(level: int) -> int:
    """The severity number for a Python logging level; levels between the named ones round down."""
    if level in PYTHON_LEVELS:
        return PYTHON_LEVELS[level]
    best = 0
    for threshold, number in PYTHON_LEVELS.items():
        if level >= threshold:
            best = number
    return best


def severity_from_windows(level: int) -> int:
    """The severity number for a Windows event level 0-5; 0 if unknown."""
    return WINDOWS_LEVELS.get(level, 0)
