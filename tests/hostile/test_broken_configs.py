"""A corpus of broken configs: each gets one clear line naming the key and the problem, exit code 2, no traceback.

Every file under configs/<program>/ starts with `# expect: TEXT`; the error line must contain TEXT.
"""

import subprocess
import sys
from pathlib import Path

import pytest

CORPUS = Path(__file__).parent / "configs"
ROOT = Path(__file__).resolve().parents[2]
# The command under test per corpus directory: the alert evaluator is `python -m consumer alert`.
COMMANDS = {"shipper": ["shipper"], "consumer": ["consumer"], "alert": ["consumer", "alert"]}


def cases(program: str) -> list[Path]:
    return sorted((CORPUS / program).glob("*.toml"))


def expected(path: Path) -> str:
    first = path.read_text().splitlines()[0]
    assert first.startswith("# expect: "), f"{path.name} must start with '# expect: '"
    return first.removeprefix("# expect: ")


def check_config(program: str, config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *COMMANDS[program], "check-config", "--config", str(config)],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)


@pytest.mark.parametrize(
    ("program", "config"),
    [(program, config) for program in ("shipper", "consumer", "alert") for config in cases(program)],
    ids=lambda value: value.stem if isinstance(value, Path) else value,
)
def test_broken_config_gives_one_clear_line_and_exit_2(program: str, config: Path) -> None:
    result = check_config(program, config)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert lines[0].startswith("config error: ")
    assert expected(config) in lines[0]


def test_missing_config_file_is_one_line(tmp_path: Path) -> None:
    result = check_config("shipper", tmp_path / "absent.toml")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "does not exist" in result.stderr


def test_corpus_is_not_empty() -> None:
    assert len(cases("shipper")) >= 25
    assert len(cases("consumer")) >= 15
    assert len(cases("alert")) >= 10
