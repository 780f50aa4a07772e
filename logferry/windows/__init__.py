"""Windows system calls every role shares: `api` (kernel32/advapi32 loaded once, OSError from a Windows error code)
and `acl` (the private directories' DACL that every role's `service install` sets).

The modules import on every platform: the system calls are the `_win_*` functions, bound on first use, so the logic
around them is testable on Linux. mypy checks the Windows branches with `--platform win32`.
"""
