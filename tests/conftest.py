from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from rooms.roles import Role
from server.app import WealthroomServer
from server.config import Settings

SECRET = b"test-secret-for-wealthroom-tests-0123456789"

Mint = Callable[..., str]


def make_settings(**overrides: Any) -> Settings:
    base: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": 0,
        "demo_room": "demo",
        "audit_path": None,
        "totp_path": None,
    }
    base.update(overrides)
    return Settings(**base)


@pytest.fixture
async def server() -> AsyncIterator[WealthroomServer]:
    async with WealthroomServer(make_settings(), secret=SECRET) as srv:
        yield srv


def minter(server: WealthroomServer) -> Mint:
    """Room tokens signed by ``server``, each for a new subject unless one is given."""
    counter = iter(range(1, 10_000))

    def _mint(room: str = "demo", role: Role = Role.CUSTOMER, **kw: Any) -> str:
        kw.setdefault("subject", f"user-{next(counter)}")
        return server.tokens.mint(room=room, role=role, **kw)

    return _mint


@pytest.fixture
def mint(server: WealthroomServer) -> Mint:
    return minter(server)
