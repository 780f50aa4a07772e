"""The service control manager's calls (pywin32, and sc.exe for the recovery options): install, recovery, remove,
start, stop and state of the Windows service, and one sentence for each error the SCM answers with.

pywin32 is imported inside each function, so the module imports on every platform.
"""

SERVICE_STATES = {1: "stopped", 2: "start pending", 3: "stop pending", 4: "running", 5: "continue pending",
                  6: "pause pending", 7: "paused"}


def create_service(name: str, display_name: str, description: str, command_line: str, preshutdown_ms: int) -> None:
    """Register an automatic-start service of its own process running `command_line` as LocalSystem, whose SID is
    added to its token (so ACLs naming `NT SERVICE\\<name>` apply), with `preshutdown_ms` to flush at shutdown."""
    import win32service

    manager = win32service.OpenSCManager(None, None, win32service.SC_MANAGER_ALL_ACCESS)
    try:
        service = win32service.CreateService(
            manager, name, display_name, win32service.SERVICE_ALL_ACCESS, win32service.SERVICE_WIN32_OWN_PROCESS,
            win32service.SERVICE_AUTO_START, win32service.SERVICE_ERROR_NORMAL, command_line, None, 0, None, None, None,
        )
        try:
            win32service.ChangeServiceConfig2(service, win32service.SERVICE_CONFIG_DESCRIPTION, description)
            win32service.ChangeServiceConfig2(service, win32service.SERVICE_CONFIG_PRESHUTDOWN_INFO, preshutdown_ms)
        finally:
            win32service.CloseServiceHandle(service)
    finally:
        win32service.CloseServiceHandle(manager)


def configure_service_recovery(name: str, restart_delays_ms: tuple[int, int, int], reset_seconds: int) -> None:
    """Restart the service after each of its first three failures (crash, or stop with a non-zero exit code), and
    give it the unrestricted service SID type. sc.exe's syntax is stable and documented; pywin32's dict form is not."""
    import subprocess

    actions = "/".join(f"restart/{delay}" for delay in restart_delays_ms)
    for args in (
        ["failure", name, "reset=", str(reset_seconds), "actions=", actions],
        ["failureflag", name, "1"],
        ["sidtype", name, "unrestricted"],
    ):
        result = subprocess.run(["sc.exe", *args], capture_output=True, text=True)
        if result.returncode != 0:
            raise OSError(f"sc.exe {' '.join(args)} failed: {(result.stdout or result.stderr).strip()}")


def delete_service(name: str) -> None:
    import win32serviceutil

    win32serviceutil.RemoveService(name)


def start_service(name: str) -> None:
    import win32serviceutil

    win32serviceutil.StartService(name)


def stop_service(name: str) -> None:
    """Send the stop control; the service then flushes while it reports STOP_PENDING."""
    import win32serviceutil

    win32serviceutil.StopService(name)


def service_state(name: str) -> str | None:
    """The service's state ("running", "stopped", ...), or None when no such service is installed."""
    import win32serviceutil

    try:
        status = win32serviceutil.QueryServiceStatus(name)
    except Exception as error:  # pywintypes.error
        if getattr(error, "winerror", None) == 1060:  # ERROR_SERVICE_DOES_NOT_EXIST
            return None
        raise
    return SERVICE_STATES.get(int(status[1]), f"state {status[1]}")


def service_error_message(error: BaseException) -> str | None:
    """One sentence for a pywin32 service error (None when `error` is not one)."""
    code = getattr(error, "winerror", None)
    known = {
        5: "access denied: run this from an elevated (Run as administrator) prompt",
        1056: "the service is already running",
        1060: "the service is not installed",
        1062: "the service is not running",
        1072: "the service is marked for deletion: close the Services console and try again",
        1073: "a service of that name is already installed",
    }
    if code is None:
        return None
    return known.get(int(code), f"{getattr(error, 'strerror', error)} (winerror {code})")
