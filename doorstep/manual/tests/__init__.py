import os

import pytest

from doorstep.manual.shoot import CHROMIUM


def require_chromium() -> None:
    """Skip loudly without Debian's Chromium — or fail, where the services are required (CI)."""
    if not os.access(CHROMIUM, os.X_OK):
        message = f"!!! Chromium is not installed at {CHROMIUM} — `make system-deps` installs it"
        if os.environ.get("DOORSTEP_REQUIRE_SERVICES"):
            pytest.fail(message)
        pytest.skip(message)
