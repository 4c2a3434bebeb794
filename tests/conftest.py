from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import uvloop

from rooms.roles import Role
from server.app import WealthroomServer
from server.config import Settings

SECRET = b"test-secret-for-wealthroom-tests-0123456789"
AUDIT_KEY = b"test-audit-key-for-wealthroom-tests-98765"

Mint = Callable[..., str]
BOTH_LOOPS = ["asyncio", "uvloop"]

# What a folder's tests need beyond Python, as markers (registered in pyproject.toml), so that
# ``pytest -m "not browser"`` leaves them out. A test elsewhere that starts its own Redis gets
# ``redis`` from the fixture it uses; one elsewhere that needs more says so with ``pytestmark``.
TESTS = Path(__file__).parent
FOLDER_MARKS = {"browser": ("browser",), "media": ("media",), "cluster": ("redis",)}
REDIS_FIXTURES = {"redis_server", "own_redis"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if not item.path.is_relative_to(TESTS):
            continue
        folder = item.path.relative_to(TESTS).parts[0]
        marks = set(FOLDER_MARKS.get(folder, ()))
        if REDIS_FIXTURES & set(getattr(item, "fixturenames", ())):
            marks.add("redis")
        for mark in sorted(marks):
            item.add_marker(mark)


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
    """A test marked ``asyncio(loop_factories=BOTH_LOOPS)`` runs on asyncio's loop and on
    uvloop (the served loop, server/event_loop.py); every other test on asyncio's alone."""
    marker = item.get_closest_marker("asyncio")
    if marker is None or "loop_factories" not in marker.kwargs:
        return {"asyncio": asyncio.new_event_loop}
    return {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}


def make_settings(**overrides: Any) -> Settings:
    base: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": 0,
        "demo_room": "demo",
        "audit_path": None,
        "audit_key": AUDIT_KEY.decode(),
        "totp_path": None,
        "factor_path": None,
        "appointments_path": None,
        # Tests open hundreds of connections from one address (tests/server/test_refusals.py
        # sets a rate of its own).
        "handshake_rate": 0,
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


@pytest.fixture
def media_settings(tmp_path: Path) -> Settings:
    """Settings of ``media_server``; a module overrides this fixture to change them."""
    return make_settings(recordings_dir=tmp_path / "recordings")


@pytest.fixture
async def media_server(media_settings: Settings) -> AsyncIterator[WealthroomServer]:
    """A server that records into the test's own folder."""
    async with WealthroomServer(media_settings, secret=SECRET) as srv:
        yield srv


@pytest.fixture
def mint_media(media_server: WealthroomServer) -> Mint:
    return minter(media_server)
