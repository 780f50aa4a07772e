"""The host id: stable across restarts, so event ids made on this host stay the same.

Order: the configured value; the OS machine id (/etc/machine-id, /var/lib/dbus/machine-id, or the
Windows MachineGuid); else a random id generated once and kept in the state directory.
"""

import os
import sys
import uuid
from pathlib import Path

_LINUX_FILES = ("/etc/machine-id", "/var/lib/dbus/machine-id")


def os_machine_id() -> str | None:
    """The operating system's machine id, or None when it has none we can read."""
    if sys.platform == "win32":
        try:
            import winreg

            with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, r"SOFTWARE\Microsoft\Cryptography") as key:
                value, _ = winreg.QueryValueEx(key, "MachineGuid")
                return str(value).strip().lower() or None
        except OSError:
            return None
    for name in _LINUX_FILES:
        try:
            value = Path(name).read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            continue
        if value:
            return value
    return None


def host_id(configured: str | None, state_dir: Path) -> str:
    """The host id to put in events and event ids."""
    if configured:
        return configured
    found = os_machine_id()
    if found:
        return found
    kept = state_dir / "host-id"
    try:
        value = kept.read_text(encoding="ascii").strip()
        if value:
            return value
    except (OSError, UnicodeDecodeError):
        pass
    value = uuid.uuid4().hex
    state_dir.mkdir(parents=True, exist_ok=True)
    tmp = kept.with_suffix(".tmp")
    with open(tmp, "w", encoding="ascii") as handle:
        handle.write(value + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, kept)
    return value
