"""The operating system seam. The rest of the shipper calls only these functions, on every platform.

The Windows system calls live in the `windows/` package (files, console, ACL modules; the service control
manager's are in logferry/service/scm.py, shared by every role); `posix.py` holds the Linux/macOS side. Around
them, with no system calls of their own: `paths.py` (Windows path rules: both separators, long paths) and `stop.py`
(the one stop event and who waits for the flush).

- `open_for_reading(path)`: a binary file object that does not stop other processes from renaming or deleting
  the file (on Windows: CreateFileW with FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE).
- `file_identity(fd)`: the identity of the open file as a string ("" when the platform cannot tell; then the
  caller falls back to the content fingerprint). Linux: "dev:<st_dev>/ino:<st_ino>"; Windows: volume serial and
  file id from the handle, as decimal strings ("vol:<serial>/fid:<id>").
- `is_delete_pending(fd)`: True when the file was deleted but the name is still reserved because a handle is
  open (Windows); always False on POSIX, where unlinked files have no name.
- `lock_exclusive(fd)`: an exclusive lock on an open file, released when the process ends (OSError when held).
- `replace_file(source, target)`: atomic rename over an existing file (retried on Windows while a reader has it open).
- `install_stop_handlers(request_stop, wait_stopped)`: route SIGTERM/SIGINT (POSIX) or console control events
  (Windows) to `request_stop()`; on Windows the handler then blocks in `wait_stopped(timeout)` so the process is
  not killed before the flush and checkpoint are done.
"""

import sys

if sys.platform == "win32":
    from shipper.platform.windows import (
        file_identity,
        install_stop_handlers,
        is_delete_pending,
        lock_exclusive,
        open_for_reading,
        replace_file,
    )
else:
    from shipper.platform.posix import (
        file_identity,
        install_stop_handlers,
        is_delete_pending,
        lock_exclusive,
        open_for_reading,
        replace_file,
    )

__all__ = [
    "file_identity", "install_stop_handlers", "is_delete_pending", "lock_exclusive", "open_for_reading", "replace_file",
]
