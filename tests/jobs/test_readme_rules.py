"""The alert rules the documentation offers are rules the evaluator takes: shipper/jobs/README.md's three rules for
jobs and README.md's alerts.toml, each run through the real `consumer alert check-config`."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KAFKA = '[kafka]\nbootstrap_servers = "127.0.0.1:9092"\ntopics = ["logs"]\n'


def _toml_blocks(path: Path) -> list[str]:
    return re.findall(r"```toml\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.S)


def _check(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "consumer", "alert", "check-config", "--config", str(config)],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)


def test_the_three_job_rules_pass_check_config(tmp_path: Path) -> None:
    rules = [block for block in _toml_blocks(ROOT / "shipper" / "jobs" / "README.md") if "[[rules]]" in block]
    assert len(rules) == 1, "the README's block of job rules moved"
    config = tmp_path / "alerts.toml"
    config.write_text(f'{KAFKA}[alert]\nstate_path = "{tmp_path / "alerts.db"}"\n{rules[0]}', encoding="utf-8")
    result = _check(config)
    assert result.returncode == 0, result.stderr
    assert "3 rule(s)" in result.stdout


@pytest.mark.parametrize("readme", ["README.md", "consumer/alerting/README.md"])
def test_the_readmes_alert_configs_pass_check_config(tmp_path: Path, readme: str) -> None:
    blocks = [block for block in _toml_blocks(ROOT / readme) if "[[rules]]" in block]
    assert blocks, f"{readme} has no rules block"
    for number, block in enumerate(blocks):
        text = block if "[kafka]" in block else KAFKA + block
        text = re.sub(r'state_path = "[^"]*"', f'state_path = "{tmp_path / f"alerts-{number}.db"}"', text)
        if "state_path" not in text:
            text = text.replace("[alert]\n", f'[alert]\nstate_path = "{tmp_path / f"alerts-{number}.db"}"\n', 1) \
                if "[alert]\n" in text else f'{text}\n[alert]\nstate_path = "{tmp_path / f"alerts-{number}.db"}"\n'
        config = tmp_path / f"alerts-{number}.toml"
        config.write_text(text, encoding="utf-8")
        result = _check(config)
        assert result.returncode == 0, f"{readme} block {number}: {result.stderr}"
