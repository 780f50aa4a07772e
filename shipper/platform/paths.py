"""Windows path rules, as plain string logic (no system calls), so they are testable on any platform.

Config paths may use either separator (`C:/logs/*.log` or `C:\\logs\\*.log`); CreateFileW accepts both, except
behind the `\\\\?\\` prefix, which is the only way past MAX_PATH (260) when the LongPathsEnabled policy is off.
"""

import ntpath

MAX_PATH = 260
EXTENDED_PREFIX = "\\\\?\\"
EXTENDED_UNC_PREFIX = "\\\\?\\UNC\\"
DEVICE_PREFIX = "\\\\.\\"


def to_windows_separators(path: str) -> str:
    """`path` with every '/' turned into '\\'."""
    return path.replace("/", "\\")


def extended_path(path: str, cwd: str = "") -> str:
    """The form of `path` to hand to CreateFileW: unchanged when short, `\\\\?\\`-prefixed when it reaches MAX_PATH.

    `\\\\?\\` turns off all normalisation, so the path is made absolute (against `cwd` when relative), '/' becomes
    '\\' and '.'/'..' segments are resolved first. UNC paths become `\\\\?\\UNC\\server\\share\\...`.
    Paths already in the extended or device namespace are returned as they are.
    """
    if path.startswith((EXTENDED_PREFIX, DEVICE_PREFIX)):
        return path
    if len(path) < MAX_PATH - 12:
        # Short enough even after normalisation; the 12 leaves room CreateFileW needs for 8.3 names of directories.
        return path
    full = to_windows_separators(path)
    drive, _ = ntpath.splitdrive(full)
    if not drive or not ntpath.isabs(full):
        # Relative, drive-relative ("C:x") or root-relative ("\\x"): resolved against the working directory.
        full = ntpath.join(to_windows_separators(cwd), full)
    full = ntpath.normpath(full)
    if full.startswith("\\\\"):
        return EXTENDED_UNC_PREFIX + full[2:]
    return EXTENDED_PREFIX + full
