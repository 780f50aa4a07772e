"""Windows side of the platform seam: the shipper's Windows system calls live in this package.

- `files`: share-delete opens, identity and delete-pending from the handle, the retried rename, the state lock;
- `console`: console control events (and SIGINT/SIGBREAK) to the stop request.

The loading of kernel32/advapi32 (`api`) and the private directories' DACL (`acl`, set by every role's
`service install`) are every role's, in logferry.windows; the service control manager's calls are with the service
code every role shares, in logferry.service.scm.

The modules import on every platform: the system calls are the `_win_*` functions, bound on first use, so the
logic around them is testable on Linux with those functions replaced. mypy checks the Windows branches with
`--platform win32`.
"""

from shipper.platform.windows.console import install_stop_handlers
from shipper.platform.windows.files import file_identity, is_delete_pending, lock_exclusive, open_for_reading, replace_file

__all__ = [
    "file_identity", "install_stop_handlers", "is_delete_pending", "lock_exclusive", "open_for_reading", "replace_file",
]
