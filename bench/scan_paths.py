"""Scan time of the Scanner over a tree of many files: the scandir walk against glob.iglob (the scanner before #11).

Builds (once, under --dir, kept for the next run) a tree of --files regular files, 100 per directory, in
directories three levels deep, plus a few non-matching names and two directory symlink loops beside the tree that only
the walk can pass (the glob baseline runs on a pattern that does not reach them). Then times full scans, best and median of
--repeat, wall and CPU, with a warm page cache. Prints figures only; asserts nothing.

    .venv/bin/python bench/scan_paths.py [--files 100000] [--repeat 5] [--dir .cache/scan-tree]
"""

import argparse
import glob
import os
import re
import stat
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from shipper.config import InputSettings, parse_config
from shipper.discovery.scanner import Scanner

PER_DIRECTORY = 100


def build(root: Path, files: int) -> None:
    marker = root / f".built-{files}"
    if marker.exists():
        return
    directories = -(-files // PER_DIRECTORY)
    made = 0
    for d in range(directories):
        directory = root / "tree" / f"a{d // 100:03d}" / f"b{d // 10 % 10}" / f"c{d % 10}"
        directory.mkdir(parents=True, exist_ok=True)
        for f in range(min(PER_DIRECTORY, files - made)):
            (directory / f"app-{f:03d}.log").touch()
            made += 1
        (directory / "notes.txt").touch()
    loops = root / "loops"
    loops.mkdir(exist_ok=True)
    for name in ("a", "b"):
        if not (loops / name).is_symlink():
            os.symlink(".", loops / name)
    marker.touch()


def settings(pattern: str) -> InputSettings:
    return parse_config({
        "shipper": {"state_dir": "state"}, "kafka": {"bootstrap_servers": "127.0.0.1:9092"},
        "inputs": [{"id": "bench", "paths": [pattern]}],
    }).inputs[0]


@dataclass(frozen=True)
class OldFound:
    path: str
    input: InputSettings
    stat: os.stat_result


def glob_scan(item: InputSettings) -> int:
    """The scanner before #11, line for line: glob.iglob, excludes, a stat of every path, a frozen dataclass."""
    found: dict[str, OldFound] = {}
    excludes: list[re.Pattern[str]] = []
    for pattern in item.paths:
        for path in glob.iglob(pattern, recursive=True):
            if path in found:
                continue
            normal = path.replace("\\", "/") if os.sep == "\\" else path
            if any(rx.match(normal) or rx.match(os.path.basename(normal)) for rx in excludes):
                continue
            try:
                st = os.stat(path)
            except OSError:
                continue
            if not stat.S_ISREG(st.st_mode):
                continue
            found[path] = OldFound(path, item, st)
    return len(found)


def timed(scan: Callable[[], int], repeat: int) -> tuple[int, list[float], list[float]]:
    walls, cpus = [], []
    count = 0
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        count = scan()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return count, walls, cpus


def report(name: str, count: int, walls: list[float], cpus: list[float]) -> None:
    print(
        f"{name:<34} {count:>8} files   wall best {min(walls):6.3f} s  median {statistics.median(walls):6.3f} s"
        f"   CPU median {statistics.median(cpus):6.3f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--dir", default=".cache/scan-tree")
    args = parser.parse_args()
    root = Path(args.dir).resolve()
    started = time.perf_counter()
    build(root, args.files)
    print(f"tree of {args.files} files under {root} ready in {time.perf_counter() - started:.1f} s")
    tree = root / "tree"
    loop_free = str(tree / "**" / "*.log")  # the loops are beside the tree, where only `everything` reaches
    everything = str(root / "**" / "*.log")
    report("glob-based Scanner (before)", *timed(lambda: glob_scan(settings(loop_free)), args.repeat))
    report("Scanner, loop-free pattern", *timed(lambda: len(Scanner([settings(loop_free)]).scan()), args.repeat))
    report("Scanner, **/*.log with two loops", *timed(lambda: len(Scanner([settings(everything)]).scan()), args.repeat))


if __name__ == "__main__":
    main()
