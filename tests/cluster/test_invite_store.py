"""The guest links' store: one suite over the memory (embedded) and the Redis (distributed)
store. ``open_store`` hands out the store as another room or node would see it: for memory,
the same object (one process); for Redis, a new client on the same keys."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack

import pytest

from rooms.invitations import Admitted, InviteRecord, Refusal
from server.cluster.redis_invites import RedisInviteStore
from server.invites import InviteStore, MemoryInviteStore
from tests.redis_fixture import RedisServer, connected, redis_server

__all__ = ["redis_server"]  # fixtures, used by name

OpenStore = Callable[[], InviteStore]
NOW = 1_800_000_000.0


@pytest.fixture(params=["memory", "redis"])
async def open_store(request: pytest.FixtureRequest) -> AsyncIterator[OpenStore]:
    if request.param == "memory":
        store = MemoryInviteStore(lambda: NOW)
        yield lambda: store
        return
    server: RedisServer = request.getfixturevalue("redis_server")
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(connected(server))  # empties the database

        def open_redis() -> InviteStore:
            client = server.client()
            stack.push_async_callback(client.aclose)
            return RedisInviteStore(client, prefix="t:")

        yield open_redis


def _record(invite: str = "inv1", uses: int = 2, room: str = "r1") -> InviteRecord:
    # Redis expires keys by its own clock: the record must outlive the test in real time.
    return InviteRecord(room, invite, uses, expires=NOW + 3600)


async def test_a_link_is_used_as_often_as_it_allows_from_anywhere(open_store: OpenStore) -> None:
    await open_store().create(_record(uses=2))
    assert await open_store().redeem("r1", "inv1", NOW) == Admitted(1)
    assert await open_store().redeem("r1", "inv1", NOW + 1) == Admitted(2)
    assert await open_store().redeem("r1", "inv1", NOW + 2) is Refusal.USED_UP


async def test_an_expired_link_is_refused(open_store: OpenStore) -> None:
    await open_store().create(_record())
    assert await open_store().redeem("r1", "inv1", NOW + 3600) is Refusal.EXPIRED


async def test_a_revoked_link_is_refused_everywhere(open_store: OpenStore) -> None:
    await open_store().create(_record(uses=5))
    assert await open_store().redeem("r1", "inv1", NOW) == Admitted(1)
    await open_store().revoke("r1", "inv1")
    assert await open_store().redeem("r1", "inv1", NOW) is Refusal.REVOKED
    await open_store().revoke("r1", "never")  # nothing to revoke: nothing happens


async def test_links_are_per_room_and_unknown_ones_admit_nobody(open_store: OpenStore) -> None:
    await open_store().create(_record(room="r1"))
    assert await open_store().redeem("r2", "inv1", NOW) is Refusal.UNKNOWN
    assert await open_store().redeem("r1", "other", NOW) is Refusal.UNKNOWN


async def test_guests_arriving_at_once_on_a_one_use_link_are_admitted_once(
    open_store: OpenStore,
) -> None:
    await open_store().create(_record(uses=1))
    verdicts = await asyncio.gather(*(open_store().redeem("r1", "inv1", NOW) for _ in range(8)))
    assert verdicts.count(Admitted(1)) == 1
    assert verdicts.count(Refusal.USED_UP) == 7


async def test_a_guest_back_under_its_own_name_is_not_another_use(open_store: OpenStore) -> None:
    await open_store().create(_record(uses=1))
    assert await open_store().redeem("r1", "inv1", NOW, "tab-of-bo") == Admitted(1)
    assert await open_store().redeem("r1", "inv1", NOW + 5, "tab-of-bo") == Admitted(1)
    assert await open_store().redeem("r1", "inv1", NOW + 5, "tab-of-cy") is Refusal.USED_UP
    await open_store().revoke("r1", "inv1")
    assert await open_store().redeem("r1", "inv1", NOW + 6, "tab-of-bo") is Refusal.REVOKED
