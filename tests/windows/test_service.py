"""The Windows service: its command line survives Windows quoting, and (on real Windows only) it installs, starts,
ships, stops with a flush and uninstalls."""

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from shipper.platform.windows import acl
from shipper.runner import checkpoint_path
from shipper.service import spec
from tests.shipper.support import assert_exactly_once, lines, make_config, shipped, wait_for_count

pytestmark = pytest.mark.windows

ROOT = Path(__file__).resolve().parents[2]


def test_service_command_line_reaches_the_host_module_with_its_arguments(tmp_path: Path) -> None:
    site_dir = tmp_path / "site dir with spaces"
    site_dir.mkdir()
    report = tmp_path / "report.json"
    (site_dir / "echo_host.py").write_text(
        "import json, sys\nimport shipper.service.host\n"
        f"open({str(report)!r}, 'w').write(json.dumps(sys.argv[1:]))\n",
        encoding="utf-8",
    )
    config = str(tmp_path / "my config" / "shipper.toml")
    line = spec.host_command_line(sys.executable, [str(ROOT), str(site_dir)], "logferry", config, module="echo_host")
    result = subprocess.run(line, capture_output=True, timeout=120)  # a string: CreateProcess parses it as the SCM would
    assert result.returncode == 0, result.stderr.decode("utf-8", "replace")
    assert json.loads(report.read_text(encoding="utf-8")) == ["--name", "logferry", "--config", config]


def test_service_body_ships_and_on_stop_flushes_reports_progress_and_checkpoints(
    tmp_path: Path, kafka_bootstrap: str, kafka_topic: str
) -> None:
    # What SvcDoRun runs, without the SCM (which Wine does not provide): the stop control's path to the shipper.
    import logging
    import threading

    from shipper.platform.stop import StopController
    from shipper.service.host import ship
    from shipper.service.supervise import supervise

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
    controller = StopController()
    reports: list[int] = []
    saved_handlers = logging.getLogger().handlers[:]

    def stop_when_shipped() -> None:
        wait_for_count(kafka_bootstrap, kafka_topic, len(written), timeout=90)
        controller.request_stop()  # what SvcStop / SvcShutdown / preshutdown do

    stopper = threading.Thread(target=stop_when_shipped, daemon=True)
    stopper.start()
    try:
        code = supervise(
            controller, lambda stop: ship(str(config_file), stop, str(tmp_path / "logs")), lambda: reports.append(1), 0.05
        )
    finally:
        logging.getLogger().handlers[:] = saved_handlers
    stopper.join(5)
    assert code == 0
    assert controller.stopped
    assert checkpoint_path(config).is_file()
    assert (tmp_path / "logs" / "shipper.log").stat().st_size > 0
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
