"""Windows-marked tests run only where Windows behaviour is real: under Wine in CI, on Windows runners.

Every module here sets `pytestmark = pytest.mark.windows`, so Linux runs deselect them. Tests also marked
`real_windows` check what Wine does not reproduce (delete-pending, a handle's volume serial after a rename, file
ACLs, the service control manager); the Wine run deselects them by name and the Windows workflow runs them.
"""

import sys

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "real_windows: needs real Windows; deselected in the Wine run")


@pytest.fixture(autouse=True)
def _on_windows() -> None:
    # A Windows test that runs elsewhere proves nothing: fail rather than pass.
    assert sys.platform == "win32", "Windows-marked tests must run on Windows or under Wine (make test-windows)"
