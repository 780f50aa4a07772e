"""Wine shim for the Windows CPython of `make test-windows` (copied next to python.exe by .ci/wine/setup).

Wine 8 aborts the whole process inside platform's WMI query (propsys.VariantToString is unimplemented), which
platform.node()/uname() reach, for example from pytest's junitxml. Failing the query with OSError makes platform
fall back to its non-WMI path, as it does on Windows without WMI. Nothing of this is used on real Windows.
"""

import platform


def _wmi_unavailable(*args: object, **kwargs: object) -> object:
    raise OSError("WMI is not usable under Wine")


platform._wmi_query = _wmi_unavailable  # type: ignore[attr-defined]
