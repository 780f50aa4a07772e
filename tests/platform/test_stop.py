"""The one stop event: who may set it, and who waits for the flush."""

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from shipper.platform import posix
from shipper.platform import stop as stop_module
from shipper.platform.stop import StopController, run_until_stopped
from shipper.platform.windows import console


@pytest.fixture
def restore_signals() -> Iterator[None]:
    saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    yield
    for s, handler in saved.items():
        signal.signal(s, handler)


def test_request_stop_sets_the_event_and_is_idempotent() -> None:
    controller = StopController()
    assert not controller.stop_requested.is_set()
    controller.request_stop()
    controller.request_stop()
    assert controller.stop_requested.is_set()
    assert not controller.stopped


def test_wait_stopped_blocks_until_marked() -> None:
    controller = StopController()
    assert controller.wait_stopped(0.05) is False
    threading.Timer(0.1, controller.mark_stopped).start()
    started = time.monotonic()
    assert controller.wait_stopped(5) is True
    assert time.monotonic() - started < 4


def test_run_marks_stopped_even_when_the_body_fails() -> None:
    controller = StopController()

    def body(stop_event: threading.Event) -> int:
        assert stop_event is controller.stop_requested
        raise RuntimeError("broken")

    with pytest.raises(RuntimeError):
        controller.run(body)
    assert controller.stopped


@pytest.mark.usefixtures("restore_signals")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_and_sigint_stop_the_body_and_it_returns_its_code(signum: int) -> None:
    def body(stop_event: threading.Event) -> int:
        threading.Timer(0.05, os.kill, (os.getpid(), signum)).start()
        assert stop_event.wait(5), "the signal did not reach the stop event"
        return 0

    assert run_until_stopped(body) == 0


@pytest.mark.usefixtures("restore_signals")
def test_posix_handlers_call_request_stop() -> None:
    calls: list[str] = []
    posix.install_stop_handlers(lambda: calls.append("stop"), lambda timeout: True)
    signal.raise_signal(signal.SIGTERM)
    assert calls == ["stop"]


def recorder(waited: list[float]) -> Callable[[float], bool]:
    def wait_stopped(timeout: float) -> bool:
        waited.append(timeout)
        return True

    return wait_stopped


def test_console_close_blocks_within_the_windows_allowance() -> None:
    waited: list[float] = []
    requested: list[bool] = []
    handler = console.console_event_handler(lambda: requested.append(True), recorder(waited))
    assert handler(console.CTRL_CLOSE_EVENT) is True
    assert requested == [True]
    assert waited and 0 < waited[0] < 5  # Windows kills 5 s after CTRL_CLOSE_EVENT


@pytest.mark.parametrize("event", [console.CTRL_LOGOFF_EVENT, console.CTRL_SHUTDOWN_EVENT])
def test_console_logoff_and_shutdown_block_within_twenty_seconds(event: int) -> None:
    waited: list[float] = []
    handler = console.console_event_handler(lambda: None, recorder(waited))
    assert handler(event) is True
    assert waited and 5 <= waited[0] < 20


@pytest.mark.parametrize("event", [console.CTRL_C_EVENT, console.CTRL_BREAK_EVENT])
def test_ctrl_c_and_break_stop_without_blocking(event: int) -> None:
    requested: list[bool] = []
    handler = console.console_event_handler(lambda: requested.append(True), lambda timeout: pytest.fail("must not block"))
    assert handler(event) is True
    assert requested == [True]


def test_unknown_console_events_are_passed_on() -> None:
    handler = console.console_event_handler(lambda: pytest.fail("no stop"), lambda timeout: True)
    assert handler(3) is False  # 3 and 4 are reserved


def test_windows_install_routes_console_events_to_the_controller(monkeypatch: pytest.MonkeyPatch, restore_signals: None) -> None:
    registered: list[object] = []
    monkeypatch.setattr(console, "_win_set_console_ctrl_handler", registered.append)
    controller = StopController()
    monkeypatch.setattr(stop_module, "install_stop_handlers", console.install_stop_handlers)
    controller.install_os_handlers()
    (handler,) = registered
    threading.Timer(0.1, controller.mark_stopped).start()
    assert handler(console.CTRL_SHUTDOWN_EVENT) is True  # type: ignore[operator]
    assert controller.stop_requested.is_set() and controller.stopped
