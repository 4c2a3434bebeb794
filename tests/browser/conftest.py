from __future__ import annotations

import pytest

from tests.browser.pages import Watch


@pytest.fixture
def watch() -> Watch:
    return Watch()
