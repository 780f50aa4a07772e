"""`deadletters list|show|redrive`: the records the index refused, read from the sink's own store of them.

- `list`: newest first; position (topic:partition:offset), received time, size, whether it was redriven, the error.
- `show TOPIC:PARTITION:OFFSET`: one letter. Raw bytes that are UTF-8 are printed as text with every unprintable
  character escaped (`\\x1b`, `\\u202e`: a record cannot drive the terminal); other bytes as a hex dump. `--raw`
  writes the stored bytes to stdout unchanged.
- `redrive`: publishes the selected letters' bytes again to their source topic (consumer/deadletter_redrive.py),
  after a fix (a raised limit, a parser fixed upstream), and records `redriven_at`. The index keeps each event once
  however often it is redriven: the event_id skips the second copy. Letters whose bytes were cut
  (`deadletter_raw_bytes`) or that had no value are not redriven, with the reason; letters already redriven are
  left out of `--topic`/`--all` unless `--again`. Asks before publishing unless `--yes`; `--dry-run` publishes nothing.

Exit codes as everywhere: 0 done; 1 not done (no such letter, declined, a letter not redriven); 2 bad arguments.
"""

import argparse
import sys
from typing import Any, TextIO

import orjson

from consumer.config import ConsumerConfig
from consumer.sinks.base import DeadLetterRecord, IndexReader
from consumer.sinks.registry import open_reader
from logferry.cli import add_config_argument

DEFAULT_LIST = 20
REDRIVE_LIMIT = 10_000  # letters one `redrive --topic/--all` reads (newest first)
ERROR_WIDTH = 100  # characters of the error in `list`
HEX_ROW = 16


def add_deadletter_commands(commands: Any) -> None:
    """The `deadletters` command and its three subcommands, on the CLI's subparsers."""
    dead = commands.add_parser("deadletters", help="list, show and redrive the records the index refused")
    actions = dead.add_subparsers(dest="action", required=True, metavar="ACTION")

    listing = actions.add_parser("list", help="dead letters, newest first")
    add_config_argument(listing, "consumer")
    listing.add_argument("--topic", help="only dead letters of this source topic")
    listing.add_argument("--limit", type=int, default=DEFAULT_LIST, help=f"most shown (default {DEFAULT_LIST})")
    listing.add_argument("--json", action="store_true", help="one JSON object per line (without the raw bytes)")

    show = actions.add_parser("show", help="one dead letter with its raw bytes")
    add_config_argument(show, "consumer")
    show.add_argument("position", metavar="TOPIC:PARTITION:OFFSET", help="where the record was in its source topic")
    output = show.add_mutually_exclusive_group()
    output.add_argument("--raw", action="store_true", help="write the stored bytes to stdout as they are")
    output.add_argument("--json", action="store_true", help="one JSON object (raw bytes as raw_base64)")

    redrive = actions.add_parser("redrive", help="publish dead letters again to their source topic after a fix")
    add_config_argument(redrive, "consumer")
    redrive.add_argument("positions", nargs="*", metavar="TOPIC:PARTITION:OFFSET", help="these dead letters")
    redrive.add_argument("--topic", help="every dead letter of this source topic not redriven yet")
    redrive.add_argument("--all", action="store_true", help="every dead letter not redriven yet")
    redrive.add_argument("--again", action="store_true", help="with --topic/--all: also those redriven before")
    redrive.add_argument("--limit", type=int, default=REDRIVE_LIMIT,
                         help=f"with --topic/--all: the newest N dead letters at most (default {REDRIVE_LIMIT})")
    redrive.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    redrive.add_argument("--dry-run", action="store_true", help="show what would be redriven, publish nothing")


def parse_position(text: str) -> tuple[str, int, int]:
    """`topic:partition:offset` (topic names have no colon); ValueError with a sentence otherwise."""
    topic, _, rest = text.rpartition(":")
    topic, _, partition = topic.rpartition(":")
    if not topic or not partition.isdigit() or not rest.isdigit():
        raise ValueError(f"{text!r} is not a dead letter position such as logs:0:1234 (topic:partition:offset)")
    return topic, int(partition), int(rest)


def position(letter: DeadLetterRecord) -> str:
    return f"{letter.topic}:{letter.partition}:{letter.offset}"


def safe_text(text: str) -> str:
    """`text` with every unprintable character (controls, bidi overrides, odd separators) escaped."""
    return "".join(c if c.isprintable() else _escape(c) for c in text)


def _escape(char: str) -> str:
    code = ord(char)
    if char in "\n\r\t":
        return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}[char]
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def hex_dump(raw: bytes) -> list[str]:
    """`raw` as hexdump -C rows: offset, 16 bytes in hex, the printable ASCII of them."""
    rows = []
    for start in range(0, len(raw), HEX_ROW):
        chunk = raw[start:start + HEX_ROW]
        ascii_text = "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in chunk)
        rows.append(f"{start:08x}  {chunk.hex(' '):<{HEX_ROW * 3 - 1}}  |{ascii_text}|")
    return rows


def printable_bytes(raw: bytes | None) -> str:
    """A key or short value for one line: escaped text if UTF-8, else hex."""
    if raw is None:
        return "(none)"
    try:
        return safe_text(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return "hex " + raw.hex()


def is_cut(letter: DeadLetterRecord) -> bool:
    return len(letter.raw) < letter.size


def summary(letter: DeadLetterRecord) -> dict[str, Any]:
    """A letter as JSON, without its bytes."""
    return {
        "topic": letter.topic, "partition": letter.partition, "offset": letter.offset, "error": letter.error,
        "size": letter.size, "kept_bytes": len(letter.raw), "key": printable_bytes(letter.key) if letter.key else None,
        "received_at": letter.received_at, "redriven_at": letter.redriven_at,
    }


def print_list(letters: list[DeadLetterRecord], as_json: bool, out: TextIO, err: TextIO) -> None:
    if as_json:
        for letter in letters:
            out.write(orjson.dumps(summary(letter)).decode() + "\n")
    else:
        if letters:
            out.write(f"{'received':<24} {'position':<40} {'size':>9} {'redriven':<24} error\n")
        for letter in letters:
            error = safe_text(letter.error)
            if len(error) > ERROR_WIDTH:
                error = error[:ERROR_WIDTH - 3] + "..."
            out.write(f"{letter.received_at:<24} {safe_text(position(letter)):<40} {letter.size:>9} "
                      f"{letter.redriven_at or '-':<24} {error}\n")
    if not letters:
        err.write("No dead letters.\n")


def print_letter(letter: DeadLetterRecord, out: TextIO) -> None:
    out.write(f"dead letter {safe_text(position(letter))}\n")
    out.write(f"error: {safe_text(letter.error)}\n")
    out.write(f"received: {letter.received_at}\n")
    out.write(f"redriven: {letter.redriven_at or 'never'}\n")
    kept = "all kept" if not is_cut(letter) else f"{len(letter.raw)} kept, the rest cut by deadletter_raw_bytes"
    out.write(f"size: {letter.size} bytes ({kept})\n")
    out.write(f"key: {printable_bytes(letter.key)}\n")
    try:
        text = letter.raw.decode("utf-8")
    except UnicodeDecodeError:
        out.write("raw (not UTF-8, hex):\n")
        for row in hex_dump(letter.raw):
            out.write(row + "\n")
        return
    out.write("raw (UTF-8 text, unprintable characters escaped):\n")
    out.write(safe_text(text) + "\n")


def run_deadletters(config: ConsumerConfig, args: argparse.Namespace, out: TextIO = sys.stdout,
                    err: TextIO = sys.stderr, answers: TextIO = sys.stdin) -> int:
    if getattr(args, "limit", 1) < 1:
        raise ValueError("--limit must be at least 1")
    reader = open_reader(config)
    try:
        if args.action == "list":
            print_list(reader.dead_letters(args.limit, args.topic), args.json, out, err)
            return 0
        if args.action == "show":
            return _show(reader, args, out, err)
        return _redrive(config, reader, args, out=out, err=err, answers=answers)
    finally:
        reader.close()


def _show(reader: IndexReader, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    letter = reader.dead_letter(*parse_position(args.position))
    if letter is None:
        err.write(f"There is no dead letter at {safe_text(args.position)}.\n")
        return 1
    if args.raw:
        out.flush()
        out.buffer.write(letter.raw)
        out.buffer.flush()
    elif args.json:
        import base64

        document = {**summary(letter), "raw_base64": base64.b64encode(letter.raw).decode()}
        out.write(orjson.dumps(document).decode() + "\n")
    else:
        print_letter(letter, out)
    return 0


def _select(reader: IndexReader, args: argparse.Namespace, err: TextIO) -> tuple[list[DeadLetterRecord], bool]:
    """The letters `args` name, in source order, and whether one named by position was missing."""
    if not args.positions and not args.topic and not args.all:
        raise ValueError("name the dead letters to redrive: TOPIC:PARTITION:OFFSET positions, --topic T or --all")
    if args.all and args.topic:
        raise ValueError("--all and --topic exclude each other")
    chosen: dict[tuple[str, int, int], DeadLetterRecord] = {}
    missing = False
    for text in args.positions:
        where = parse_position(text)
        letter = reader.dead_letter(*where)
        if letter is None:
            err.write(f"There is no dead letter at {safe_text(text)}.\n")
            missing = True
        else:
            chosen[where] = letter
    if args.all or args.topic:
        for letter in reader.dead_letters(args.limit, args.topic):
            if letter.redriven_at is None or args.again:
                chosen.setdefault((letter.topic, letter.partition, letter.offset), letter)
    return [chosen[k] for k in sorted(chosen)], missing


def _refusal(letter: DeadLetterRecord) -> str | None:
    """Why `letter` cannot be redriven, or None."""
    if letter.size == 0 and not letter.raw:
        return "the record had no value (a tombstone): there is nothing to publish"
    if is_cut(letter):
        return (f"only {len(letter.raw)} of its {letter.size} bytes were kept (deadletter_raw_bytes); the whole record "
                "is still at its source position until the topic's retention deletes it")
    return None


def _redrive(config: ConsumerConfig, reader: IndexReader, args: argparse.Namespace, *, out: TextIO, err: TextIO,
             answers: TextIO) -> int:
    letters, missing = _select(reader, args, err)
    ready: list[DeadLetterRecord] = []
    refused = 0
    for letter in letters:
        reason = _refusal(letter)
        if reason is None:
            ready.append(letter)
        else:
            refused += 1
            err.write(f"Not redriving {safe_text(position(letter))}: {reason}.\n")
    if not ready:
        err.write("No dead letters to redrive.\n")
        return 1 if missing or refused else 0
    topics = sorted({letter.topic for letter in ready})
    if args.dry_run:
        for letter in ready:
            again = f", redriven before at {letter.redriven_at}" if letter.redriven_at else ""
            out.write(f"would redrive {safe_text(position(letter))} ({letter.size} bytes{again}) to {letter.topic}\n")
        err.write("Dry run: nothing was published.\n")
        return 1 if missing or refused else 0
    if not args.yes:
        err.write(f"Publish {len(ready)} dead letter(s) again to {', '.join(topics)}? [y/N] ")
        err.flush()
        if answers.readline().strip().lower() not in ("y", "yes"):
            err.write("Nothing was published.\n")
            return 1
    from consumer.deadletter_redrive import redrive

    result = redrive(config.kafka, ready)
    if result.published:
        reader.mark_redriven(result.published)
    for letter in result.published:
        out.write(f"redriven {safe_text(position(letter))} ({letter.size} bytes) to {letter.topic}\n")
    for letter, reason in result.failed:
        err.write(f"Could not redrive {safe_text(position(letter))}: {reason}.\n")
    err.write(f"Published {len(result.published)} of {len(ready)} dead letter(s) again.\n")
    return 1 if missing or refused or result.failed else 0
