"""A log writer for the fault-injection harness: appends sequence-numbered lines and rotates its file.

Run as a process: `python -m tests.chaos.writer SPEC_JSON`. Every line carries the token
`chaos-w<writer>-<sequence> <phrase>` so the harness can check, line by line, that each one reached the index once.
When it is done it writes its `done_path` holding the number of lines written, of rotations, and of waits for
"fully shipped" that expired.

Rotation modes:
- rename: the file is renamed to `<name>.<n>` (still matched by the input's glob) and a new file is created;
- copytruncate: the file is copied to `<name>.<n>` and truncated in place, as logrotate's copytruncate does;
- delete: the file is deleted and created again, once the shipper reports it fully acknowledged. A file deleted
  before anyone read it is gone for every shipper; the harness checks that no acknowledged line is lost and that
  the re-created path is read from its start;
- truncate-regrow: once the shipper reports the file fully acknowledged, the writer reopens it with O_TRUNC and
  at once writes more fixed-length lines than the file held before (in one write, so the file is past its old size
  before the shipper can see it short), then goes on appending; each generation is longer than the last;
- none: the file only grows.

With `files` > 1 the writer spreads its lines over that many files (`<stem>-<k>.log`), opening a file, appending one
line and closing it, as many small services do. It sweeps them in order, one line to each file in a burst, the sweeps
spread over the run so that the last one comes at its end: after a burst every file has new data at once, far
more files than `max_open_files` slots (slot pressure), and a line stranded by the last sweep is not rescued by a
later one or by a restart.

Formats beyond the ordinary ones (`FORMATS`):
- nginx-xff: nginx combined lines with an X-Forwarded-For field; every `adversarial_every`-th one is
  `"a::1,a::1,...(40 times),!"`, which makes a backtracking address-list pattern run for hours;
- logfmt-huge: logfmt lines; every `adversarial_every`-th one is `huge_line_bytes` of `a=1 b=2 ... x x x`, which a
  bare-key check that rescans the line per key makes quadratic;
- fixed: plain lines of one fixed length whose last 64 bytes are all alike (what truncate-regrow writes);
- with newline "\\r" the lines end in CR alone (old Mac, some devices).
The token always stands near the start of a line, so it survives truncation of an oversized line.
"""

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

FORMATS = ("json", "logfmt", "python", "syslog", "plain")
PHRASES = {
    "json": "payment accepted",
    "logfmt": "disk almost full",
    "python": "request failed",
    "syslog": "user login",
    "plain": "plain line",
    "nginx-xff": "hostile line",
    "logfmt-huge": "hostile line",
    "fixed": "fixed line",
}
SHIPPED_WAIT_SECONDS = 120.0  # how long a delete or truncate waits for "fully shipped" before going ahead anyway


@dataclass(frozen=True)
class WriterSpec:
    writer: int
    path: str
    format: str
    encoding: str
    rotation: str
    lines: int
    rate: float
    rotate_every: int
    shipper_config: str
    python: str
    done_path: str
    newline: str = "\n"
    files: int = 1
    adversarial_every: int = 0
    huge_line_bytes: int = 320_000


def render(spec: WriterSpec, sequence: int, now: float) -> str:
    token = f"chaos-w{spec.writer}-{sequence:08d}"
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1e6):06d}Z"
    adversarial = spec.adversarial_every > 0 and sequence % spec.adversarial_every == spec.adversarial_every - 1
    if spec.format == "json":
        return json.dumps({"time": stamp, "level": "info", "msg": f"{token} payment accepted", "seq": sequence})
    if spec.format == "logfmt":
        return f'time={stamp} level=warn msg="{token} disk almost full" seq={sequence}'
    if spec.format == "python":
        local = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now))
        return f"{local},{int(now % 1 * 1000):03d} ERROR chaos.writer: {token} request failed"
    if spec.format == "syslog":
        return f"<134>{time.strftime('%b %e %H:%M:%S', time.localtime(now))} host1 app[42]: {token} user login"
    if spec.format == "nginx-xff":
        clock = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now))
        forwarded = ",".join(["a::1"] * 40) + ",!" if adversarial else "203.0.113.7, 10.0.0.2"
        return (
            f'10.0.0.1 - - [{clock}] "GET /items/{sequence} HTTP/1.1" 200 512 "{token} hostile line" '
            f'"Mozilla/5.0" "{forwarded}"'
        )
    if spec.format == "logfmt-huge":
        head = f'a=1 b=2 msg="{token} hostile line"'
        if adversarial:
            return head + " x" * max(0, (spec.huge_line_bytes - len(head)) // 2)
        return f"{head} seq={sequence} level=info"
    if spec.format == "fixed":
        return f"{token} fixed line " + "." * 100  # the last 64 bytes of every line are the same
    return f"{token} plain line with some padding to look like a log"


def fully_shipped(spec: WriterSpec, path: Path) -> bool:
    """Whether `shipper status` says every byte of `path` was acknowledged."""
    try:
        result = subprocess.run(
            [spec.python, "-m", "shipper", "status", "--config", spec.shipper_config, "--json"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except subprocess.TimeoutExpired:
        return False
    size = path.stat().st_size
    for line in result.stdout.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("path") == str(path) and entry.get("offset") == size and entry.get("behind") == 0:
            return True
    return False


class Writer:
    """One writer's state: its open file, rotation count and whether the shipper was found stalled."""

    def __init__(self, spec: WriterSpec) -> None:
        self.spec = spec
        self.path = Path(spec.path)
        self.rotations = 0
        self.expired_waits = 0
        self.generation_lines = 0  # lines in the file since it was last truncated (truncate-regrow)
        self.handle: BinaryIO | None = None

    def encode(self, line: str) -> bytes:
        if self.spec.encoding == "utf-16-le":
            return (line + "\r\n").encode("utf-16-le")
        return (line + self.spec.newline).encode()

    def open_log(self) -> BinaryIO:
        handle = open(self.path, "ab")  # noqa: SIM115 - rotated by hand
        if self.spec.encoding == "utf-16-le" and handle.tell() == 0:
            handle.write(b"\xff\xfe")
        return handle

    def wait_shipped(self) -> None:
        """Until the shipper has acknowledged the whole file; bounded, so a stalled shipper cannot hang the writer
        (then the harness sees the lines lost, and the summary says how many waits expired). After one expiry the
        shipper is known to be stuck and later rotations do not wait again."""
        if self.expired_waits:
            return
        deadline = time.monotonic() + SHIPPED_WAIT_SECONDS
        while not fully_shipped(self.spec, self.path):
            if time.monotonic() > deadline:
                self.expired_waits += 1
                return
            time.sleep(0.5)

    def write(self, sequence: int, now: float) -> int:
        """Write line `sequence` (or, after a truncate-regrow, a burst of lines from it); how many were written."""
        spec = self.spec
        if spec.files > 1:
            name = self.path.with_name(f"{self.path.stem}-{sequence % spec.files}{self.path.suffix}")
            with open(name, "ab") as scattered:
                scattered.write(self.encode(render(spec, sequence, now)))
            return 1
        if self.handle is None:
            self.handle = self.open_log()
        self.handle.write(self.encode(render(spec, sequence, now)))
        self.handle.flush()
        self.generation_lines += 1
        return 1

    def regrow(self, sequence: int, remaining: int, now: float) -> int:
        """Truncate the file and write, at once, one line more than it held; how many lines that was."""
        self.wait_shipped()
        assert self.handle is not None
        self.handle.close()
        burst = min(remaining, self.generation_lines + 1)
        data = b"".join(self.encode(render(self.spec, sequence + n, now)) for n in range(burst))
        descriptor = os.open(self.path, os.O_WRONLY | os.O_TRUNC)
        try:
            os.write(descriptor, data)
        finally:
            os.close(descriptor)
        self.handle = self.open_log()
        self.generation_lines = burst
        self.rotations += 1
        return burst

    def rotate(self) -> None:
        spec = self.spec
        assert self.handle is not None
        self.handle.close()
        self.rotations += 1
        rotated = self.path.with_name(f"{self.path.name}.{self.rotations}")
        if spec.rotation == "rename":
            os.rename(self.path, rotated)
        elif spec.rotation == "copytruncate":
            shutil.copyfile(self.path, rotated)
            with open(self.path, "r+b") as truncating:
                truncating.truncate(0)
        elif spec.rotation == "delete":
            self.wait_shipped()
            os.remove(self.path)
        self.handle = self.open_log()

    def due(self, sequence: int) -> bool:
        """Whether the file rotates (or regrows) before line `sequence`."""
        spec = self.spec
        if spec.files > 1 or spec.rotation == "none" or not spec.rotate_every or sequence == 0:
            return False
        if spec.rotation == "truncate-regrow":
            # each generation at least rotate_every lines and longer than the one before (the burst sees to that)
            return self.generation_lines >= spec.rotate_every + self.rotations * spec.rotate_every // 2
        return (sequence - 1) % spec.rotate_every == 0 and sequence > 1

    def run(self) -> None:
        spec = self.spec
        interval = 1.0 / spec.rate if spec.rate > 0 else 0.0
        started = time.monotonic()
        sequence = 0
        while sequence < spec.lines:
            if self.due(sequence) and spec.rotation == "truncate-regrow":
                sequence += self.regrow(sequence, spec.lines - sequence, time.time())
            else:
                if self.due(sequence):
                    self.rotate()
                sequence += self.write(sequence, time.time())
            if spec.files > 1:
                if sequence % spec.files and sequence < spec.lines:
                    continue  # within a sweep: no pause
                # sweep k of n starts at k / (n - 1) of the run's length: the last one at its very end, after the
                # harness's last fault (a shipper restart would re-read the lines the last sweep strands)
                sweeps = -(-spec.lines // spec.files)
                share = (sequence // spec.files) / max(1, sweeps - 1)
                delay = started + spec.lines * interval * share - time.monotonic()
            else:
                delay = started + sequence * interval - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        if self.handle is not None:
            self.handle.close()
        Path(spec.done_path).write_text(f"{spec.lines} {self.rotations} {self.expired_waits}\n")


def main(spec: WriterSpec) -> None:
    Writer(spec).run()


if __name__ == "__main__":
    main(WriterSpec(**json.loads(sys.argv[1])))
