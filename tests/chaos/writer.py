"""A log writer for the fault-injection harness: appends sequence-numbered lines and rotates its file.

Run as a process: `python -m tests.chaos.writer SPEC_JSON`. Every line carries the token
`chaos-w<writer>-<sequence>` so the harness can check, line by line, that each one reached the index once.
When it is done it writes its `done_path` holding the number of lines written and of rotations.

Rotation modes:
- rename: the file is renamed to `<name>.<n>` (still matched by the input's glob) and a new file is created;
- copytruncate: the file is copied to `<name>.<n>` and truncated in place, as logrotate's copytruncate does;
- delete: the file is deleted and created again, once the shipper reports it fully acknowledged. A file deleted
  before anyone read it is gone for every shipper; the harness checks that no acknowledged line is lost and that
  the re-created path is read from its start.
"""

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

FORMATS = ("json", "logfmt", "python", "syslog", "plain")


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


def render(spec: WriterSpec, sequence: int, now: float) -> str:
    token = f"chaos-w{spec.writer}-{sequence:08d}"
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1e6):06d}Z"
    if spec.format == "json":
        return json.dumps({"time": stamp, "level": "info", "msg": f"{token} payment accepted", "seq": sequence})
    if spec.format == "logfmt":
        return f'time={stamp} level=warn msg="{token} disk almost full" seq={sequence}'
    if spec.format == "python":
        local = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now))
        return f"{local},{int(now % 1 * 1000):03d} ERROR chaos.writer: {token} request failed"
    if spec.format == "syslog":
        return f"<134>{time.strftime('%b %e %H:%M:%S', time.localtime(now))} host1 app[42]: {token} user login"
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


def rotate(spec: WriterSpec, path: Path, handle: "object", number: int) -> "object":
    handle.close()  # type: ignore[attr-defined]
    rotated = path.with_name(f"{path.name}.{number}")
    if spec.rotation == "rename":
        os.rename(path, rotated)
    elif spec.rotation == "copytruncate":
        shutil.copyfile(path, rotated)
        with open(path, "r+b") as truncating:
            truncating.truncate(0)
    elif spec.rotation == "delete":
        while not fully_shipped(spec, path):
            time.sleep(0.5)
        os.remove(path)
    return open_log(spec, path, fresh=spec.rotation != "copytruncate")


def open_log(spec: WriterSpec, path: Path, fresh: bool) -> "object":
    handle = open(path, "ab")  # noqa: SIM115 - rotated by hand
    if spec.encoding == "utf-16-le" and handle.tell() == 0:
        handle.write(b"\xff\xfe")
    return handle


def encode(spec: WriterSpec, line: str) -> bytes:
    if spec.encoding == "utf-16-le":
        return (line + "\r\n").encode("utf-16-le")
    return (line + "\n").encode()


def main(spec: WriterSpec) -> None:
    path = Path(spec.path)
    handle = open_log(spec, path, fresh=True)
    interval = 1.0 / spec.rate if spec.rate > 0 else 0.0
    rotations = 0
    started = time.monotonic()
    for sequence in range(spec.lines):
        handle.write(encode(spec, render(spec, sequence, time.time())))  # type: ignore[attr-defined]
        handle.flush()  # type: ignore[attr-defined]
        if spec.rotate_every and sequence and sequence % spec.rotate_every == 0:
            rotations += 1
            handle = rotate(spec, path, handle, rotations)
        delay = started + (sequence + 1) * interval - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    handle.close()  # type: ignore[attr-defined]
    Path(spec.done_path).write_text(f"{spec.lines} {rotations}\n")


if __name__ == "__main__":
    main(WriterSpec(**json.loads(sys.argv[1])))
