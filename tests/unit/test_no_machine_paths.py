"""No tracked file names an absolute path of the machine it was written or built on.

The rule, per line of every text file `git ls-files` lists (this file excepted: it spells the patterns out):
- home directories, always: `/root`, `/home/<name>`, `/Users/<name>`, `C:\\Users\\<name>` (any drive, `\\`, `\\\\` or
  `/`, any case, so Wine's `c:\\users\\<name>` too). A placeholder is fine when it does not start like a name:
  `/home/<user>`, `/home/$USER`, `C:\\Users\\%USERNAME%`, and so is `~/.cache/logferry`.
- temporary directories of a session: `/tmp/pytest-of-...`, `/tmp/tmpXXXXXXXX` (tempfile's names), macOS's
  `/var/folders/...`, and any `/tmp/<dir>` or `/var/tmp/<dir>` whose first component carries a random-looking part
  (four digits or more in a row, or eight hex digits or more mixing digits and letters: pids, uids, mkdtemp and uuid
  suffixes). Generic examples such as `/tmp/x.db` or `/tmp/*.log` are fine.
- the checkout's own location and its parent, and those of the main working tree when this is a `git worktree`
  (for example `<parent>/main` and `<parent>`), matched as whole path components; shared system directories (`/`, `/tmp`, `/home`,
  ...) are left to the rules above.
Documented default locations (`/var/lib/logferry`, `/etc/logferry`, `C:\\ProgramData\\logferry`) match none of these.
"""

import re
import shutil
import subprocess
from pathlib import Path, PurePath

import pytest

HERE = Path(__file__)
CHECKOUT = HERE.absolute().parents[2]

# A path component that is a real name, not a placeholder such as <user>, {user}, $USER or %USERNAME%.
NAME = r"[A-Za-z0-9_][\w.-]*"
# Not inside a longer path or word: `docs/home/x` is relative and `example.org/Users/x` is a URL.
START = r"(?:(?<=file://)|(?<![\w.~/\\-]))"
END = r"(?![\w.-])"

HOME_PATTERNS = [
    re.compile(START + r"/root" + END),
    re.compile(START + r"/home/" + NAME),
    re.compile(START + r"/Users/" + NAME),
    re.compile(r"(?<![\w])[A-Za-z]:(?:\\\\|\\|/)Users(?:\\\\|\\|/)" + NAME, re.IGNORECASE),
]
TEMP_PATTERNS = [
    re.compile(START + r"/tmp/pytest-of-"),
    re.compile(START + r"/tmp/tmp[a-z0-9_]{8}" + END),
    re.compile(START + r"(?:/private)?/var/folders/"),
]
TEMP_DIRECTORY = re.compile(START + r"(?:/private)?(?:/var)?/tmp/([^\s/\\\"'`)\]>]+)")
RANDOM_PART = re.compile(r"\d{4,}|(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}")

SHARED_DIRECTORIES = {"/", "/tmp", "/var", "/var/tmp", "/private", "/private/tmp", "/home", "/Users", "/usr", "/opt", "/srv"}


def git(*args: str) -> str:
    if shutil.which("git") is None:
        pytest.fail("git is not installed: this test lists the tracked files with `git ls-files` and needs a git checkout")
    result = subprocess.run(["git", "-C", str(CHECKOUT), *args], capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        pytest.fail(
            f"`git {' '.join(args)}` failed in {CHECKOUT}: this test needs a git checkout of the project "
            f"(CI runs it on a clean clone). git said: {result.stderr.strip()}"
        )
    return result.stdout


def checkout_locations() -> set[str]:
    """The checkout's location and its parent, those of the main working tree of a worktree, in every spelling."""
    toplevel = Path(git("rev-parse", "--show-toplevel").strip())
    if toplevel.resolve() != CHECKOUT.resolve():
        pytest.fail(f"{CHECKOUT} is not a git checkout of its own (git found the repository of {toplevel} around it)")
    tops = {CHECKOUT, CHECKOUT.resolve(), toplevel}
    common = Path(git("rev-parse", "--git-common-dir").strip())
    if not common.is_absolute():
        common = CHECKOUT / common
    if common.resolve().name == ".git":
        tops.add(common.resolve().parent)
    locations: set[str] = set()
    for top in tops:
        for directory in (top, top.parent):
            for spelling in (str(directory), PurePath(directory).as_posix()):
                if spelling.rstrip("/\\") and spelling not in SHARED_DIRECTORIES and directory != Path(directory.anchor):
                    locations.add(spelling)
    return locations


def machine_paths(line: str, checkout_patterns: list[re.Pattern[str]]) -> list[str]:
    """Each absolute path of a build machine the line names, with the rule it breaks (once, by its longest match)."""
    rules = [(p, "home directory") for p in HOME_PATTERNS] + [(p, "temporary directory of a session") for p in TEMP_PATTERNS]
    rules += [(p, "the checkout's location or its parent") for p in checkout_patterns]
    matches = [(m.start(), m.end(), rule) for pattern, rule in rules for m in pattern.finditer(line)]
    matches += [
        (m.start(), m.end(), "temporary directory of a session")
        for m in TEMP_DIRECTORY.finditer(line)
        if RANDOM_PART.search(m.group(1))
    ]
    kept = [
        (start, end, rule) for start, end, rule in matches
        if not any(s <= start and end <= e and (s, e) != (start, end) for s, e, _ in matches)
    ]
    return [f"{line[start:end]} ({rule})" for start, end, rule in sorted(set(kept))]


def compile_checkout_patterns(locations: set[str]) -> list[re.Pattern[str]]:
    return [re.compile(START + re.escape(location) + r"(?=[/\\]|" + END + ")") for location in sorted(locations)]


def test_the_rule_flags_machine_paths_and_spares_documented_ones() -> None:
    """The rule itself, on lines it must flag and lines it must leave alone (so the scan below cannot pass vacuously)."""
    checkout = compile_checkout_patterns({"/srv/ci/main", "/srv/ci"})  # a made-up checkout
    flagged = [
        "see /home/alice/notes.md",
        "file:///home/alice/notes.md",
        "HOME=/root",
        "cd /root && ls",
        "/Users/bob/Library/x",
        r"C:\Users\carol\AppData\Local\Temp\x",
        r"c:\\users\\dave\\src",
        "C:/Users/dev/src/app/main.go",
        "/tmp/pytest-of-root/pytest-3/test_x0",
        "/tmp/tmpab12_xyz/file",
        "/var/folders/zz/abc/T/x",
        "/tmp/bash_jobs.1000/42/stdout",
        "/tmp/session-9f3a0c7e1b/x",
        "measured, see /srv/ci/shared/reference/consumers.md",
        "/srv/ci/main/shipper/x.py",
    ]
    spared = [
        "state_dir = /var/lib/logferry",
        "/etc/logferry/shipper.toml",
        r"C:\ProgramData\logferry\shipper.toml",
        "~/.cache/logferry/wine",
        'file = "/tmp/x.db"',
        'paths = ["/tmp/*.log"]',
        "/home/<user>/logs and /home/$USER/logs",
        r"C:\Users\%USERNAME%\x",
        "https://example.org/Users/x and docs/home/x",
        "/srv/ci-other/x",
        "/var/log/app.log",
    ]
    assert [line for line in flagged if not machine_paths(line, checkout)] == []
    assert {line: machine_paths(line, checkout) for line in spared if machine_paths(line, checkout)} == {}


def test_no_tracked_file_names_a_machine_path() -> None:
    checkout_patterns = compile_checkout_patterns(checkout_locations())
    this_file = HERE.resolve().relative_to(CHECKOUT.resolve()).as_posix()
    findings: list[str] = []
    tracked = [name for name in git("ls-files", "-z").split("\0") if name]
    assert tracked, "git ls-files listed no file"
    for name in tracked:
        path = CHECKOUT / name
        if name == this_file or not path.is_file():
            continue
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            continue  # binary
        for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
            findings += [f"{name}:{number}: {found}" for found in machine_paths(line, checkout_patterns)]
    assert not findings, "tracked files name absolute paths of a build machine:\n" + "\n".join(findings)
