from __future__ import annotations

import pytest

from avatars.knowledge import Knowledge
from tests.bank import KNOWLEDGE


@pytest.fixture(scope="session")
def knowledge() -> Knowledge:
    return KNOWLEDGE
