"""Security: the pipeline over SASL_SSL with credentials from the environment, secrets never printed, private files.

A dedicated broker with a SASL_SSL (SCRAM-SHA-512) listener and a CA made for this module runs for these tests.
"""

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.secure_kafka import SecureBroker, secure_broker

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def secure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureBroker]:
    with secure_broker(tmp_path_factory.mktemp("secure")) as broker:
        yield broker


def kafka_table(secure: SecureBroker) -> str:
    return f"""bootstrap_servers = "{secure.bootstrap}"
security_protocol = "SASL_SSL"
sasl_mechanism = "SCRAM-SHA-512"
ssl_ca_location = "{secure.tls.ca}"
"""


def write_configs(tmp_path: Path, secure: SecureBroker, topic: str) -> tuple[Path, Path]:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "app.log").write_text("".join(f"secured line {i} error maybe\n" for i in range(20)))
    shipper = tmp_path / "shipper.toml"
    shipper.write_text(f"""[shipper]
state_dir = "{tmp_path / 'state'}"
log_level = "debug"
log_format = "json"

[kafka]
topic = "{topic}"
{kafka_table(secure)}
[[inputs]]
id = "app"
paths = ["{logs}/*.log"]
format = "plain"
""")
    consumer = tmp_path / "consumer.toml"
    consumer.write_text(f"""[kafka]
topics = ["{topic}"]
group_id = "{topic}-indexer"
{kafka_table(secure)}
[sink]
type = "sqlite"
path = "{tmp_path / 'index' / 'logs.db'}"
""")
    return shipper, consumer


def run(program: str, *args: str, password: str, username: str = "shipper") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LOGFERRY_KAFKA_USERNAME": username, "LOGFERRY_KAFKA_PASSWORD": password}
    return subprocess.run([sys.executable, "-m", program, *args], capture_output=True, text=True, cwd=ROOT, env=env,
                          timeout=180)


def test_shipper_and_consumer_work_over_sasl_ssl_with_credentials_from_the_environment(
    tmp_path: Path, secure: SecureBroker
) -> None:
    shipper, consumer = write_configs(tmp_path, secure, "secured-ok")
    shipped = run("shipper", "run", "--config", str(shipper), "--once", password=secure.tls.password)
    assert shipped.returncode == 0, shipped.stderr[-2000:]
    indexed = run("consumer", "run", "--config", str(consumer), "--once", "--idle-timeout", "5",
                  password=secure.tls.password)
    assert indexed.returncode == 0, indexed.stderr[-2000:]
    found = run("consumer", "search", "--config", str(consumer), "secured", "--limit", "100", "--json",
                password=secure.tls.password)
    assert found.returncode == 0, found.stderr
    bodies = sorted(json.loads(line)["body"] for line in found.stdout.splitlines())
    assert bodies == sorted(f"secured line {i} error maybe" for i in range(20))

    # Secrets never appear in logs, status output or error messages.
    status = run("shipper", "status", "--config", str(shipper), password=secure.tls.password)
    consumer_status = run("consumer", "status", "--config", str(consumer), password=secure.tls.password)
    for result in (shipped, indexed, found, status, consumer_status):
        assert secure.tls.password not in result.stdout + result.stderr

    # State and index files are readable by their owner only.
    private = [*(tmp_path / "state").rglob("*"), *(tmp_path / "index").rglob("*")]
    assert any(p.name == "checkpoints.json" for p in private) and any(p.name == "logs.db" for p in private)
    for path in private:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, f"{path} is mode {mode:o}"


@pytest.mark.parametrize("program", ["shipper", "consumer"])
def test_a_wrong_password_fails_with_a_clear_message(tmp_path: Path, secure: SecureBroker, program: str) -> None:
    shipper, consumer = write_configs(tmp_path, secure, f"secured-wrong-{program}")
    wrong = "not-the-" + secure.tls.password
    args = ["run", "--config", str(shipper), "--once"] if program == "shipper" else [
        "run", "--config", str(consumer), "--once", "--idle-timeout", "30"]
    result = run(program, *args, password=wrong)
    assert result.returncode == 1, result.stderr[-2000:]
    last = result.stderr.strip().splitlines()[-1]
    assert "Kafka refused the connection: authentication failed" in last
    assert "Traceback" not in result.stderr
    assert wrong not in result.stdout + result.stderr


def test_missing_credentials_are_a_config_error(tmp_path: Path, secure: SecureBroker) -> None:
    shipper, _ = write_configs(tmp_path, secure, "secured-missing")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOGFERRY_KAFKA_")}
    result = subprocess.run([sys.executable, "-m", "shipper", "run", "--config", str(shipper), "--once"],
                            capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "LOGFERRY_KAFKA_PASSWORD" in result.stderr


def test_config_values_are_data_never_code(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    hostile = tmp_path / "shipper.toml"
    hostile.write_text(f"""[shipper]
state_dir = "{tmp_path}/state"
host_name = "__import__('os').system('touch {marker}')"

[[inputs]]
id = "a"
paths = ["{tmp_path}/$(touch {marker})/*.log"]
service_name = "{{{{7*7}}}}"
""")
    result = subprocess.run([sys.executable, "-m", "shipper", "check-config", "--config", str(hostile)],
                            capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stderr
    assert not marker.exists()
