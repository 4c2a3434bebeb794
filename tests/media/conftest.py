from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from server.media.hub import MediaHub
from tests.media.peers import Member


@pytest.fixture
async def hub() -> AsyncIterator[MediaHub]:
    hub = MediaHub()
    yield hub
    await hub.close()


@pytest.fixture
async def members() -> AsyncIterator[Callable[[str], Member]]:
    made: list[Member] = []

    def make(name: str) -> Member:
        member = Member(name)
        made.append(member)
        return member

    yield make
    for member in made:
        await member.close()
