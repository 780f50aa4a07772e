"""Level detection in a text line: the first tokens after its timestamp, before the message.

A level is a level word in any case (`ERROR`, `error`, `Warning`), bare or in `[]` `()` `<>` or before a colon, as the
first token after the timestamp; further on (after a thread in brackets, a pid, a `-` or `|` separator) only upper-case
or decorated words count, so a message's own words ("retry error count") are not taken for its level. A single letter
V D I W E F counts where the line has the logcat shape: the first token after the timestamp (and its numeric pid/tid
tokens) followed by a tag. Numbers are schemas.severity's; the few words it has not (PostgreSQL's LOG, MySQL's Note,
Serilog's VRB, DEBUG1-5) are mapped here. Linear: at most LEVEL_TOKENS tokens within LEVEL_SPAN characters are read.
"""

from typing import Final

from schemas.severity import DEBUG, INFO, NOTICE, WARN, severity_from_text

LEVEL_TOKENS: Final = 5
LEVEL_SPAN: Final = 64
_BRACKETS: Final[dict[str, str]] = {"[": "]", "(": ")", "<": ">"}
_WORD_LIST: Final = (
    "TRACE", "DEBUG", "INFO", "NOTICE", "WARN", "WARNING", "ERROR", "ERR", "SEVERE", "CRITICAL", "CRIT", "FATAL",
    "ALERT", "EMERG", "EMERGENCY", "PANIC", "VERBOSE", "INFORMATION", "INF", "WRN", "DBG", "TRC", "FTL", "FINE",
    "FINER", "FINEST", "CONFIG", "DPANIC",
)
WORDS: Final[dict[str, int]] = {word: severity_from_text(word) for word in _WORD_LIST}
WORDS.update({
    "LOG": INFO, "NOTE": NOTICE, "VRB": DEBUG, "DEBUG1": DEBUG, "DEBUG2": DEBUG, "DEBUG3": DEBUG, "DEBUG4": DEBUG,
    "DEBUG5": DEBUG, "SYSTEM": INFO,
})
DECORATED_ONLY: Final = frozenset(("LOG", "NOTE", "SYSTEM"))
"""words that are levels only in brackets or before a colon (PostgreSQL's `LOG:`, MySQL's `[Note]`, `[System]`)"""
LETTERS: Final[dict[str, int]] = {"V": DEBUG, "D": DEBUG, "I": INFO, "W": WARN, "E": severity_from_text("E"),
                                  "F": severity_from_text("F")}
REDIS_SYMBOLS: Final[dict[str, int]] = {".": DEBUG, "-": DEBUG, "*": NOTICE, "#": WARN}
"""Redis's `pid:role dd Mon yyyy hh:mm:ss.mmm * message`: . debug, - verbose, * notice, # warning"""


def _skip(text: str, index: int, limit: int) -> int:
    """Past separators between tokens: spaces, tabs, `|`, `,`, a closing bracket, a lone `-` `:` or `---`."""
    length = len(text)
    while index < limit:
        code = ord(text[index])  # (compared as numbers: compiled, a str comparison is a generic call)
        if code in (32, 9, 124, 44, 93) or (code in (45, 58) and (index + 1 == length or text[index + 1] in (" ", "-"))):
            index += 1
        else:
            break
    return index


def _token_end(text: str, index: int, length: int) -> int:
    """The end of a bare token: the next space, tab or `|`, at most 32 characters on."""
    limit = min(length, index + 32)
    end = text.find(" ", index, limit)
    if end == -1:
        end = limit
    tab = text.find("\t", index, end)
    if tab != -1:
        end = tab
    bar = text.find("|", index, end)
    return end if bar == -1 else bar


def find_level(text: str, start: int) -> tuple[str, int, int]:
    """(level as written, severity number, where the message starts) for the text after a timestamp ending at `start`;
    ("", 0, message start) when no level is found."""
    length = len(text)
    limit = min(length, start + LEVEL_SPAN)
    index = _skip(text, start, limit)
    body = index
    numeric_only = True
    for position in range(LEVEL_TOKENS):
        if index >= limit:
            break
        opener = text[index]
        bracketed = False
        end = -1
        if opener in {"[", "(", "<", "{"}:
            close = "]" if opener == "[" else ")" if opener == "(" else ">" if opener == "<" else "}"
            end = text.find(close, index + 1, min(length, index + LEVEL_SPAN))
            if end != -1:
                core_start, core_end = index + 1, end
                while core_end > core_start and text[core_end - 1] == " ":
                    core_end -= 1  # Elasticsearch pads: `[INFO ]`
                end += 1
                bracketed = True
        if end == -1:
            end = _token_end(text, index, length)
            core_start, core_end = index, end
            while core_end > core_start and text[core_end - 1] in {":", ","}:
                core_end -= 1
            paren = text.find(")", core_start, core_end)
            if paren != -1:
                core_start = paren + 1  # ESXi vmkernel: `cpu1:2097301)WARNING:`
            slash = text.find("/", core_start, core_end)
            if slash != -1:
                core_end = slash  # Celery: `INFO/MainProcess]`
        width = core_end - core_start
        core = text[core_start:core_end]
        lead = ord(core[0]) | 32 if width else 0  # level words start with a letter (lower-cased by | 32)
        if 0 < width <= 11 and 97 <= lead <= 122:
            decorated = bracketed or core_end < end
            number = WORDS.get(core, 0)
            upper = core
            if not number and not core.isupper():
                upper = core.upper()
                number = WORDS.get(upper, 0)
                if number and not (decorated or numeric_only or position == 0):
                    number = 0  # a lower-case word further on is the message's
            if number and upper in DECORATED_ONLY and not decorated:
                number = 0
            if number:
                return core, number, _skip(text, end, length)
            if width == 1 and not decorated and numeric_only:
                letter = LETTERS.get(core, 0)
                if letter and _tag_follows(text, end):
                    return core, letter, _skip(text, end, length)
        numeric = _numeric(core)
        if not (numeric or _skippable(text, index, end, bracketed)):
            break
        if not numeric:
            numeric_only = False
        index = _skip(text, end, limit)
    return "", 0, body


def _numeric(core: str) -> bool:
    """A pid, a thread id, a hex thread id (`0x2b10`)."""
    if core.isdigit():
        return True
    if core[:2] != "0x" or len(core) <= 2:
        return False
    return all(48 <= ord(char) <= 57 or 97 <= (ord(char) | 32) <= 102 for char in core[2:])


def _skippable(text: str, start: int, end: int, bracketed: bool) -> bool:
    """Whether a token that is not a number may stand between the timestamp and the level: a bracketed thread or
    context, `#1234`, a token before `|` (Squid's `kid1|`), a label before a colon (BIND's `general:`, Go's
    `worker.go:42:`), a padded column."""
    if bracketed or text[end:end + 1] == "|" or text[end - 1:end] == ":":
        return True
    if text[end:end + 2] == "  ":
        return True  # a padded column (SQL Server's `Logon       Error: ...`, `spid62      ...`)
    first = text[start:start + 1]
    return first == "#" and text[start + 1:end].rstrip("]:,").isdigit()


def _tag_follows(text: str, end: int) -> bool:
    """After a level letter: a logcat tag (`Tag:`, `Tag  :`) or an upper-case component (MongoDB `NETWORK`), not an
    English word ("I think")."""
    index = end
    while text[index:index + 1] == " ":
        index += 1
    if index == end or index >= len(text):
        return False
    char = text[index]
    if not ("a" <= char <= "z"):
        return True
    stop = text.find(" ", index, index + 64)
    word = text[index:stop] if stop != -1 else text[index:index + 64]
    if ":" in word:
        return True
    after = stop
    while after != -1 and text[after:after + 1] == " ":
        after += 1
    return after != -1 and text[after:after + 1] == ":"


def prefix_level(text: str, end: int) -> tuple[str, int]:
    """A level word before the timestamp (Erlang's `=INFO REPORT====`, `[ERROR] 2026-...`): upper case, three letters
    or more, stripped of `=[]()<>:,`; ("", 0) when none."""
    index = 0
    while index < end:
        stop = text.find(" ", index, end)
        if stop == -1:
            stop = end
        core = text[index:stop].strip("=[]()<>:,")
        if len(core) >= 3 and core.isupper():
            number = WORDS.get(core, 0)
            if number:
                return core, number
        index = stop + 1
    return "", 0


def redis_role(text: str, start: int) -> bool:
    """Whether the text before a timestamp at `start` is Redis's `pid:role ` (role X C S M)."""
    colon = text.find(":", 0, start)
    return (colon > 0 and text[:colon].isdigit() and text[colon + 1:colon + 2] in ("X", "C", "S", "M")
            and text[colon + 2:start].strip() == "")
