"""The shipper's Windows service: its command line survives Windows quoting, its body ships and on the stop control
flushes, and (on real Windows only) it installs, starts, ships, stops with a flush and uninstalls."""

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from logferry.service import spec
from logferry.service.roles import ROLES, SHIPPER, RoleKey
from logferry.windows import acl
from shipper.runner import checkpoint_path
from tests.shipper.support import assert_exactly_once, lines, make_config, shipped, wait_for_count
from tests.support.service_body import run_service_body

pytestmark = pytest.mark.windows

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("key", list(RoleKey))
def test_service_command_line_reaches_the_host_module_with_its_arguments(tmp_path: Path, key: RoleKey) -> None:
    site_dir = tmp_path / "site dir with spaces"
    site_dir.mkdir()
    report = tmp_path / "report.json"
    (site_dir / "echo_host.py").write_text(
        "import json, sys\nimport logferry.service.host\n"
        f"open({str(report)!r}, 'w').write(json.dumps(sys.argv[1:]))\n",
        encoding="utf-8",
    )
    config = str(tmp_path / "my config" / "shipper.toml")
    role = ROLES[key]
    name = f"{role.service_name} 2"
    line = spec.host_command_line(sys.executable, [str(ROOT), str(site_dir)], role, name, config, module="echo_host")
    result = subprocess.run(line, capture_output=True, timeout=120)  # a string: CreateProcess parses it as the SCM would
    assert result.returncode == 0, result.stderr.decode("utf-8", "replace")
    assert json.loads(report.read_text(encoding="utf-8")) == ["--role", key.value, "--name", name, "--config", config]


def test_service_body_ships_and_on_stop_flushes_reports_progress_and_checkpoints(
    tmp_path: Path, kafka_bootstrap: str, kafka_topic: str
) -> None:
    # What SvcDoRun runs, without the SCM (which Wine does not provide): the stop control's path to the shipper.
    import threading

    log = tmp_path / "app.log"
    written = lines("svc", 300)
    log.write_bytes(("\ufeff" + "".join(line + "\r\n" for line in written)).encode("utf-16-le"))
    config = make_config(tmp_path / "state", kafka_bootstrap, kafka_topic, [str(log)], encoding="utf-16")
    config_file = tmp_path / "shipper.toml"
    config_file.write_text(
        f"[shipper]\nstate_dir = '{tmp_path / 'state'}'\nhost_id = 'test-host'\ncheckpoint_interval = 0.2\n"
        f"[kafka]\nbootstrap_servers = '{kafka_bootstrap}'\ntopic = '{kafka_topic}'\nlinger_ms = 5\n"
        f"[[inputs]]\nid = 'app'\npaths = ['{log}']\nencoding = 'utf-16'\n",
        encoding="utf-8",
    )
    stop = threading.Event()
    reports: list[int] = []

    def stop_when_shipped() -> None:
        try:
            wait_for_count(kafka_bootstrap, kafka_topic, len(written), timeout=90)
        finally:
            stop.set()  # what SvcStop / SvcShutdown / preshutdown do

    stopper = threading.Thread(target=stop_when_shipped, daemon=True)
    stopper.start()
    code = run_service_body(SHIPPER, SHIPPER.service_name, config_file, tmp_path / "logs", stop, reports=reports)
    stopper.join(5)
    assert code == 0
    assert checkpoint_path(config).is_file()
    log_text = (tmp_path / "logs" / "shipper.log").read_text(encoding="utf-8")  # where earlier versions logged too
    assert '"msg":"The service\'s command ended."' in log_text and '"exit_code":0' in log_text
    assert_exactly_once(shipped(kafka_bootstrap, kafka_topic), written)


def service(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "shipper.service", *args], cwd=ROOT, capture_output=True, text=True, timeout=180)


@pytest.mark.real_windows
@pytest.mark.kafka
def test_service_installs_starts_ships_stops_and_uninstalls(tmp_path: Path, kafka_bootstrap: str, kafka_topic: str) -> None:
    name = f"logferry-test-{uuid.uuid4().hex[:8]}"
    log = tmp_path / "logs" / "app.log"
    log.parent.mkdir()
    state = tmp_path / "state"
    config = make_config(state, kafka_bootstrap, kafka_topic, [str(log)])
    config_file = tmp_path / "shipper.toml"
    config_file.write_text(
        f"[shipper]\nstate_dir = '{state}'\nhost_id = 'svc'\nrescan_interval = 0.2\ncheckpoint_interval = 0.2\n"
        f"[kafka]\nbootstrap_servers = '{kafka_bootstrap}'\ntopic = '{kafka_topic}'\nlinger_ms = 5\n"
        f"[[inputs]]\nid = 'app'\npaths = ['{log}']\nformat = 'plain'\n",
        encoding="utf-8",
    )
    written = lines("service", 500)
    with open(log, "w", encoding="utf-8", newline="") as handle:
        handle.write("".join(line + "\r\n" for line in written))
    installed = service("install", "--config", str(config_file), "--name", name)
    assert installed.returncode == 0, installed.stderr
    try:
        assert acl.directory_sddl(str(state)).startswith("D:P")  # private state, inheritance removed
        started = service("start", "--name", name)
        assert started.returncode == 0, started.stdout + started.stderr
        wait_for_count(kafka_bootstrap, kafka_topic, len(written), timeout=120)
        assert service("status", "--name", name).returncode == 0
        stopped = service("stop", "--config", str(config_file), "--name", name)
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr
        assert service("status", "--name", name).returncode == 3
        assert checkpoint_path(config).is_file()  # the stop control flushed and checkpointed
    finally:
        removed = service("uninstall", "--name", name)
    assert removed.returncode == 0, removed.stderr
    assert service("status", "--name", name).returncode == 4
    assert_exactly_once(shipped(kafka_bootstrap, kafka_topic), written)
    assert os.path.isdir(state)
