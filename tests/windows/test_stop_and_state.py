"""Console control events reach the one stop event; the state directory is private to the service."""

import threading
import time
from pathlib import Path

import pytest

from logferry.windows import acl
from shipper.platform.stop import StopController
from shipper.platform.windows import console

pytestmark = pytest.mark.windows


def test_console_close_event_requests_stop_and_blocks_until_stopped() -> None:
    controller = StopController()
    controller.install_os_handlers()  # the real SetConsoleCtrlHandler
    routine = console._installed_console_handler[-1]
    # Wine cannot generate console control events, so the routine Windows would call is called directly.
    returned: list[bool] = []
    caller = threading.Thread(target=lambda: returned.append(bool(routine(console.CTRL_CLOSE_EVENT))))
    caller.start()
    assert controller.stop_requested.wait(5)
    time.sleep(0.3)
    assert caller.is_alive(), "the handler returned before the flush was done; Windows would kill the process"
    controller.mark_stopped()
    caller.join(5)
    assert returned == [True]


def test_ctrl_c_requests_stop_without_blocking() -> None:
    controller = StopController()
    controller.install_os_handlers()
    routine = console._installed_console_handler[-1]
    assert routine(console.CTRL_C_EVENT)
    assert controller.stop_requested.is_set()
    assert not controller.stopped


@pytest.mark.real_windows
def test_state_directory_is_private_to_system_administrators_and_the_service(tmp_path: Path) -> None:
    state = tmp_path / "logferry" / "state"
    acl.make_private_directory(str(state), "logferry")
    assert state.is_dir()
    sddl = acl.directory_sddl(str(state))
    assert sddl.startswith("D:P"), sddl  # protected: nothing inherited from %ProgramData%
    assert "(A;OICI;FA;;;SY)" in sddl and "(A;OICI;FA;;;BA)" in sddl
    assert f"(A;OICI;FA;;;{acl.service_sid('logferry')})" in sddl
    assert ";BU)" not in sddl and ";WD)" not in sddl  # no Users, no Everyone
