"""The appointment store: one suite over SQLite (embedded) and Redis (distributed).

``open_store`` hands out the store as another process or node would see it: for SQLite, a new
connection to the same file; for Redis, a new client on the same keys.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from pathlib import Path

import pytest

from advisors.appointments import (
    AppointmentStore,
    Book,
    Decision,
    Party,
    Refused,
    SlotState,
    decide,
    due,
    honour,
)
from protocol import messages as m
from protocol.codes import ErrorCode
from server.appointment_store import SqliteAppointments
from server.cluster.redis_appointments import RedisAppointments
from tests.redis_fixture import RedisServer, connected, redis_server

__all__ = ["redis_server"]  # fixtures, used by name

OpenStore = Callable[[], AppointmentStore]
NOW = 1_800_000_000.0
HOUR = 3600.0
CHAN = Party("chan", "Ms Chan", advisor=True)
ANN = Party("ann", "Ann", advisor=False, room="ann-room", language="yue")
BOB = Party("bob", "Bob", advisor=False, room="bob-room")


@pytest.fixture(params=["sqlite", "redis"])
async def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[OpenStore]:
    async with AsyncExitStack() as stack:
        if request.param == "sqlite":
            path = tmp_path / "var" / "appointments.sqlite3"

            def open_sqlite() -> AppointmentStore:
                store = SqliteAppointments(path)
                stack.push_async_callback(store.close)
                return store

            yield open_sqlite
            return
        server: RedisServer = request.getfixturevalue("redis_server")
        await stack.enter_async_context(connected(server))  # empties the database

        def open_redis() -> AppointmentStore:
            client = server.client()
            stack.push_async_callback(client.aclose)
            return RedisAppointments(client, prefix="t:")

        yield open_redis


def _do(
    party: Party, msg: m.Message, new_id: str = "x", now: float = NOW
) -> Callable[[Book], Decision]:
    return lambda book: decide(book, party, msg, new_id, now)


async def test_a_booking_is_kept_moved_cancelled_and_honoured_once(open_store: OpenStore) -> None:
    store = open_store()
    start = round((NOW + HOUR) * 1000)
    await store.apply(_do(CHAN, m.Offer(start, start + 3_600_000), "a"))
    await store.apply(_do(CHAN, m.Offer(start + 7_200_000, start + 10_800_000), "b"))
    await store.apply(_do(ANN, m.Book("a")))
    # Another process or node sees the same slots.
    other = open_store()
    slots = await other.slots()
    assert slots["a"].state is SlotState.BOOKED
    assert slots["a"].customer == "ann"
    assert slots["a"].start == NOW + HOUR  # UTC seconds, exactly
    assert slots["a"].language == "yue"
    await other.apply(_do(ANN, m.Move("a", to="b")))
    await store.apply(_do(ANN, m.Cancel("b")))
    await store.apply(_do(ANN, m.Book("a")))
    slots = await open_store().slots()
    assert (slots["a"].customer, slots["b"].customer) == ("ann", None)
    assert (slots["a"].language, slots["b"].language) == ("yue", "en")
    at = NOW + HOUR + 5
    assert [s.id for s in due(await store.slots(), at)] == ["a"]
    results = await asyncio.gather(
        store.apply(lambda book: honour(book, "a", at)),
        other.apply(lambda book: honour(book, "a", at)),
    )
    assert sorted(r.slot is not None for r in results) == [False, True]
    assert (await open_store().slots())["a"].state is SlotState.HONOURED
    await store.apply(_do(CHAN, m.Cancel("b")))
    assert "b" not in await other.slots()


async def test_a_refusal_writes_nothing(open_store: OpenStore) -> None:
    store = open_store()
    start = round((NOW + HOUR) * 1000)
    await store.apply(_do(CHAN, m.Offer(start, start + 3_600_000), "a"))
    await store.apply(_do(ANN, m.Book("a")))
    before = await store.slots()
    with pytest.raises(Refused) as info:
        await store.apply(_do(BOB, m.Book("a")))
    assert info.value.code is ErrorCode.SLOT_TAKEN
    with pytest.raises(Refused) as info:
        await store.apply(_do(BOB, m.Cancel("a")))
    assert info.value.code is ErrorCode.NOT_YOUR_BOOKING
    assert await open_store().slots() == before


async def test_of_two_customers_booking_one_slot_at_once_exactly_one_gets_it(
    open_store: OpenStore,
) -> None:
    start = round((NOW + HOUR) * 1000)
    await open_store().apply(_do(CHAN, m.Offer(start, start + 3_600_000), "a"))
    customers = [Party(f"c{i}", f"C{i}", advisor=False, room=f"r{i}") for i in range(6)]
    stores = [open_store() for _ in customers]

    async def attempt(store: AppointmentStore, who: Party) -> ErrorCode | None:
        try:
            await store.apply(_do(who, m.Book("a")))
        except Refused as exc:
            return exc.code
        return None

    outcomes = await asyncio.gather(
        *(attempt(s, c) for s, c in zip(stores, customers, strict=True))
    )
    assert sorted(outcomes, key=str) == sorted([None] + [ErrorCode.SLOT_TAKEN] * 5, key=str)
    winner = customers[outcomes.index(None)]
    assert (await open_store().slots())["a"].customer == winner.subject
