"""The glob walk (shipper/discovery/walk.py) and the Scanner on real directory trees: same paths as glob for
normal trees, loop-proof, bounded in depth, stoppable between directories."""

import glob
import os
import tempfile
from pathlib import Path

import pytest

from logferry.errors import ConfigError
from shipper.config import InputSettings, parse_config
from shipper.discovery.scanner import Scanner
from shipper.discovery.walk import Stopped, Walk, split_pattern


def make_input(paths: list[str], exclude: list[str] | None = None, max_depth: int = 16) -> InputSettings:
    config = parse_config({
        "shipper": {"state_dir": "state", "host_id": "test-host"},
        "kafka": {"bootstrap_servers": "127.0.0.1:9092"},
        "inputs": [{"id": "app", "paths": paths, "exclude": exclude or [], "max_depth": max_depth}],
    })
    return config.inputs[0]


def scan(paths: list[str], **options: object) -> set[str]:
    return set(Scanner([make_input(paths, **options)]).scan())  # type: ignore[arg-type]


def old_scan(pattern: str) -> set[str]:
    """What the glob-based scanner named: regular files among glob.iglob's paths."""
    return {p for p in glob.iglob(pattern, recursive=True) if os.path.isfile(p)}


def touch(path: Path, text: str = "x\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A normal tree: nested directories, hidden files and directories, non-matching names, a directory named *.log."""
    root = tmp_path / "logs"
    for name in (
        "a.log", "b.txt", ".hidden.log", "x/c.log", "x/y/d.log", "x/y/z/e.log", "x/.h/f.log", ".hd/g.log",
        "app/one.log", "app/sub/app/two.log", "q1.log", "q22.log", "x/y/z/w/v/u/deep.log",
    ):
        touch(root / name)
    (root / "dir.log").mkdir()
    touch(root / "dir.log" / "inner.txt")
    return root


PATTERNS = [
    "**/*.log", "*.log", "*/*.log", "**", "x/**", "x/**/*.log", "**/app/*.log", ".*.log", "**/.*.log", "q?.log",
    "q[0-9]*.log", "[!a]*.log", "x/*/*.log", "a.log", "missing/*.log", "**/**/*.log", "x/y/", "*/", "**/z/**",
]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_the_walk_names_what_glob_named_in_a_normal_tree(tree: Path, pattern: str) -> None:
    absolute = str(tree / pattern) if not pattern.endswith("/") else str(tree / pattern[:-1]) + "/"
    assert scan([absolute]) == old_scan(absolute)


@pytest.mark.parametrize("pattern", ["**/*.log", "*.log", "x/**", "logs/**/*.log"])
def test_relative_patterns_name_what_glob_named(tree: Path, pattern: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tree if not pattern.startswith("logs/") else tree.parent)
    found = scan([pattern])
    assert found == old_scan(pattern)
    assert found, "the pattern matched something"


def test_the_literal_prefix_is_spelt_as_in_the_pattern(tree: Path) -> None:
    messy = str(tree) + "//x/**/*.log"
    assert scan([messy]) == old_scan(messy)
    assert split_pattern(str(tree) + "/x/**/*.log")[0] == str(tree / "x")


def test_two_directory_loops_under_double_star_end_and_name_each_file_once(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    touch(root / "top.log")
    touch(root / "sub" / "inner.log")
    os.symlink(".", root / "sub" / "a")  # sub/a -> sub
    os.symlink(".", root / "sub" / "b")
    os.symlink("..", root / "sub" / "up")  # back to logs
    walk = Walk(str(root / "**" / "*.log"))
    found = [path for path, _ in walk.paths()]
    assert sorted(found) == [str(root / "sub" / "inner.log"), str(root / "top.log")]
    assert walk.loops >= 3
    assert walk.listed <= 10


def test_a_directory_reached_by_a_link_and_by_its_own_name_is_named_by_its_own_name(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    touch(root / "2024" / "app.log")
    # Both link names sort before and after the real one, so listing order cannot decide.
    os.symlink("2024", root / "0current")
    os.symlink("2024", root / "zcurrent")
    assert scan([str(root / "**" / "*.log")]) == {str(root / "2024" / "app.log")}


def test_a_linked_directory_outside_the_tree_is_followed(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    touch(outside / "deep" / "there.log")
    root = tmp_path / "logs"
    touch(root / "here.log")
    os.symlink(outside, root / "linked")
    assert scan([str(root / "**" / "*.log")]) == {
        str(root / "here.log"), str(root / "linked" / "deep" / "there.log"),
    }


def test_double_star_spans_at_most_max_depth_directories(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    level = root
    for depth in range(20):
        touch(level / f"at{depth}.log")
        level = level / f"d{depth}"
    found = scan([str(root / "**" / "*.log")], max_depth=5)
    assert {Path(p).name for p in found} == {f"at{d}.log" for d in range(6)}
    assert len(scan([str(root / "**" / "*.log")])) == 17  # the default 16
    walk = Walk(str(root / "**" / "*.log"), max_depth=5)
    list(walk.paths())
    assert walk.too_deep == 1


def test_max_depth_out_of_range_is_a_config_error_naming_the_key() -> None:
    for bad in (0, 257, -1):
        with pytest.raises(ConfigError, match=r"inputs\[0\]\.max_depth"):
            make_input(["/var/log/*.log"], max_depth=bad)


def test_a_healthy_rescan_interval_of_zero_is_a_config_error_naming_the_key() -> None:
    with pytest.raises(ConfigError, match=r"shipper\.healthy_rescan_interval"):
        parse_config({
            "shipper": {"state_dir": "state", "healthy_rescan_interval": 0},
            "kafka": {"bootstrap_servers": "127.0.0.1:9092"},
            "inputs": [{"id": "app", "paths": ["/var/log/*.log"]}],
        })


def test_linked_files_are_followed_and_dangling_or_looping_links_skipped(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    target = touch(tmp_path / "real" / "target.txt")
    touch(root / "plain.log")
    os.symlink(target, root / "linked.log")
    os.symlink(tmp_path / "nothing-here", root / "dangling.log")
    os.symlink(root / "loop-b.log", root / "loop-a.log")
    os.symlink(root / "loop-a.log", root / "loop-b.log")
    os.mkfifo(root / "fifo.log")
    found = Scanner([make_input([str(root / "*.log")])]).scan()
    assert set(found) == {str(root / "plain.log"), str(root / "linked.log")}
    assert (found[str(root / "linked.log")].stat.st_ino) == target.stat().st_ino


def test_excludes_leave_files_out_by_path_or_name(tree: Path) -> None:
    found = scan([str(tree / "**" / "*.log")], exclude=["q*.log", str(tree / "x" / "**")])
    assert found == {str(tree / name) for name in ("a.log", "app/one.log", "app/sub/app/two.log")}


def walk_as_nobody(pattern: str) -> list[str]:
    """The walk's paths, sorted, from a forked child with the uid of nobody when we are root (root reads all)."""
    if os.geteuid() != 0:
        return sorted(p for p, _ in Walk(pattern).paths())
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child
        code = 1
        try:
            os.close(read_end)
            os.setgid(65534)
            os.setuid(65534)
            os.write(write_end, "\n".join(sorted(p for p, _ in Walk(pattern).paths())).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        output = pipe.read().decode()
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the walk failed in the child"
    return output.split()


def test_an_unreadable_directory_is_passed_over_and_the_rest_found() -> None:
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary) / "logs"
        touch(root / "open" / "a.log")
        touch(root / "closed" / "b.log")
        touch(root / "closed-too" / "d.log")
        touch(root / "c.log")
        for path in (Path(temporary), root, root / "open", root / "open" / "a.log", root / "c.log"):
            path.chmod(0o755 if path.is_dir() else 0o644)
        (root / "closed").chmod(0o000)
        (root / "closed-too").chmod(0o311)  # enterable but not listable
        try:
            found = walk_as_nobody(str(root / "**" / "*.log"))
        finally:
            (root / "closed").chmod(0o755)
            (root / "closed-too").chmod(0o755)
    assert found == [str(root / "c.log"), str(root / "open" / "a.log")]


class StopAfter:
    """A stop check that answers True from its `after`-th question on, counting the questions."""

    def __init__(self, after: int) -> None:
        self.after = after
        self.calls = 0

    def __call__(self) -> bool:
        self.calls += 1
        return self.calls >= self.after


def test_the_walk_asks_to_stop_before_each_directory_and_stops_at_once(tree: Path) -> None:
    should_stop = StopAfter(3)
    walk = Walk(str(tree / "**" / "*.log"), should_stop=should_stop)
    with pytest.raises(Stopped):
        list(walk.paths())
    assert should_stop.calls == 3
    assert walk.listed == 2


def test_a_stopped_scan_returns_the_previous_result_not_an_empty_one(tree: Path) -> None:
    stop = [False]
    scanner = Scanner([make_input([str(tree / "**" / "*.log")])], should_stop=lambda: stop[0])
    first = scanner.scan()
    assert first and not scanner.stopped
    touch(tree / "new.log")
    stop[0] = True
    assert scanner.scan() is first
    assert scanner.stopped
    stop[0] = False
    assert str(tree / "new.log") in scanner.scan()


def test_a_scan_that_stops_before_its_first_result_finds_nothing(tree: Path) -> None:
    scanner = Scanner([make_input([str(tree / "**" / "*.log")])], should_stop=lambda: True)
    assert scanner.scan() == {}
    assert scanner.stopped

