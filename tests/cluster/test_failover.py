"""Failover faster than the lease: a node that stops beating loses its rooms to the next node
asked for one, exactly once; a node that beats keeps them; a stalled node that was robbed lets
go. The directory on a real Redis (and in memory, on a fake clock), then real server processes
killed with SIGKILL or stopped with SIGSTOP."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path

import pytest

from protocol import messages as m
from protocol.codes import CloseCode
from rooms.roles import Role
from server.auth import TokenAuthority
from server.cluster.directory import MemoryRoomDirectory, RoomDirectory
from server.cluster.redis_directory import RedisRoomDirectory
from server.urls import PLACED
from simulator.client import RoomClient
from simulator.server_process import ServerProcess
from tests.cluster.rejoin import join_any
from tests.redis_fixture import RedisServer, connected, redis_server

__all__ = ["redis_server"]  # fixture, used by name

BEAT_S = 0.3  # a beat meant to lapse during the test
LONG_S = 60.0  # a lease (or beat) meant to outlast the test
DEADLINE_S = 10.0
NODES = 4

Condition = Callable[[], Awaitable[bool]]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_795_000_000.0

    def __call__(self) -> float:
        return self.now


class Directories:
    """The directory as seen from several nodes: one object in memory, one Redis client per
    node on the same keys in Redis. ``lapse`` lets a beat run out: the fake clock moves, or
    real expiry is waited on as a condition with a deadline."""

    def __init__(self, kind: str, make: Callable[[int], RoomDirectory], clock: FakeClock) -> None:
        self.kind = kind
        self._make = make
        self.clock = clock

    def of(self, node: int) -> RoomDirectory:
        return self._make(node)

    async def lapse(self, seconds: float, condition: Condition) -> None:
        if self.kind == "memory":
            self.clock.now += seconds
            assert await condition(), f"still holds after {seconds}s on the clock"
            return
        await until(condition, f"still holds {DEADLINE_S}s after a {seconds}s beat")


@pytest.fixture(params=["memory", "redis"])
async def directories(request: pytest.FixtureRequest) -> AsyncIterator[Directories]:
    if request.param == "memory":
        clock = FakeClock()
        shared = MemoryRoomDirectory(clock)
        yield Directories("memory", lambda _: shared, clock)
        return
    server: RedisServer = request.getfixturevalue("redis_server")
    prefix = f"t{uuid.uuid4().hex[:8]}:"
    async with AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(connected(server)) for _ in range(NODES)]
        yield Directories(
            "redis", lambda n: RedisRoomDirectory(clients[n], prefix=prefix), FakeClock()
        )


async def until(condition: Condition, message: str, *, deadline_s: float = DEADLINE_S) -> None:
    deadline = time.monotonic() + deadline_s
    while not await condition():
        if time.monotonic() > deadline:
            pytest.fail(message)
        await asyncio.sleep(0.01)


# --- the directory ---------------------------------------------------------------------------


async def test_a_beat_says_whether_the_last_one_lapsed(directories: Directories) -> None:
    a = directories.of(0)
    assert not await a.beat("node-a", ttl_s=BEAT_S)  # none before: look at the leases
    assert await a.beat("node-a", ttl_s=BEAT_S)

    async def lapsed() -> bool:
        return await a.url_of("node-a") is None

    await a.advertise("node-a", "http://10.0.0.1:8765", ttl_s=LONG_S)
    await directories.lapse(BEAT_S, lapsed)
    assert not await a.beat("node-a", ttl_s=LONG_S)
    assert await a.url_of("node-a") == "http://10.0.0.1:8765"


async def test_a_dead_owners_room_is_taken_before_its_lease_ends(
    directories: Directories,
) -> None:
    a, b = directories.of(0), directories.of(1)
    await a.beat("node-a", ttl_s=BEAT_S)
    await a.claim("r1", "node-a", lease_s=LONG_S)
    await a.report_load("node-a", 1, 1, ttl_s=LONG_S)
    await b.beat("node-b", ttl_s=LONG_S)
    assert await b.claim("r1", "node-b", lease_s=LONG_S) == "node-a"  # beating: its room

    async def silent() -> bool:
        return "node-a" not in await b.nodes()  # nor is it sent new rooms

    await directories.lapse(BEAT_S, silent)
    assert await b.claim("r1", "node-b", lease_s=LONG_S) == "node-b"
    assert await a.owner("r1") == "node-b"
    assert await a.rooms_of("node-a") == []
    assert await a.rooms_of("node-b") == ["r1"]
    # The stalled node comes back: its lease is gone, it cannot renew, nor take the room back.
    assert not await a.beat("node-a", ttl_s=LONG_S)
    assert not await a.renew("r1", "node-a", lease_s=LONG_S)
    assert await a.claim("r1", "node-a", lease_s=LONG_S) == "node-b"


async def test_an_owner_that_beats_keeps_its_room(directories: Directories) -> None:
    a, b = directories.of(0), directories.of(1)
    await a.beat("node-a", ttl_s=BEAT_S)
    await a.claim("r1", "node-a", lease_s=LONG_S)
    for _ in range(3):
        # Each beat comes before the last lapses: the room stays, however often it is asked.
        if directories.kind == "memory":
            directories.clock.now += BEAT_S / 2
        assert await a.beat("node-a", ttl_s=BEAT_S)
        assert await b.claim("r1", "node-b", lease_s=LONG_S) == "node-a"
    assert await b.owner("r1") == "node-a"


async def test_a_node_that_withdrew_is_not_robbed_while_it_hands_over(
    directories: Directories,
) -> None:
    a, b = directories.of(0), directories.of(1)
    for node, room in (("node-a", "r1"), ("node-c", "r2")):
        await a.beat(node, ttl_s=BEAT_S)
        await a.claim(room, node, lease_s=LONG_S)
        await a.advertise(node, f"http://{node}:8765", ttl_s=LONG_S)
    await a.withdraw("node-a")  # stops beating, then hands its rooms over and releases them

    async def c_silent() -> bool:
        return await b.url_of("node-c") is None

    await directories.lapse(BEAT_S, c_silent)
    assert await b.claim("r2", "node-b", lease_s=LONG_S) == "node-b"  # silent: taken
    assert await b.claim("r1", "node-b", lease_s=LONG_S) == "node-a"  # withdrawn: its lease
    await a.release("r1", "node-a")
    assert await b.claim("r1", "node-b", lease_s=LONG_S) == "node-b"


async def test_nodes_racing_for_a_dead_owners_room_one_wins(directories: Directories) -> None:
    a = directories.of(0)
    await a.beat("node-a", ttl_s=BEAT_S)
    await a.claim("r1", "node-a", lease_s=LONG_S)
    await a.advertise("node-a", "http://10.0.0.1:8765", ttl_s=LONG_S)
    racers = [f"node-{i}" for i in range(12)]
    for i, name in enumerate(racers):
        await directories.of(i % NODES).beat(name, ttl_s=LONG_S)

    async def dead() -> bool:
        return await a.url_of("node-a") is None

    await directories.lapse(BEAT_S, dead)
    owners = await asyncio.gather(
        *(
            directories.of(i % NODES).claim("r1", name, lease_s=LONG_S)
            for i, name in enumerate(racers)
        )
    )
    (winner,) = set(owners)
    assert winner in racers
    assert await a.owner("r1") == winner
    held = [name for name in racers if await a.rooms_of(name) == ["r1"]]
    assert held == [winner]


# --- real nodes ------------------------------------------------------------------------------

PROCESS_LEASE_S = 60.0  # far longer than the test may take: only the beat can move the room


def _env(redis: RedisServer, node: str, prefix: str) -> dict[str, str]:
    return {
        "WEALTHROOM_REDIS_URL": f"redis://{redis.host}:{redis.port}/0",
        "WEALTHROOM_NODE_ID": node,
        "WEALTHROOM_REDIS_PREFIX": prefix,
        "WEALTHROOM_LEASE_S": str(PROCESS_LEASE_S),
        "WEALTHROOM_DEMO_ROOM": "",
        "WEALTHROOM_AUDIT_PATH": "",
        "WEALTHROOM_TOTP_PATH": "",
    }


@pytest.fixture
async def two_nodes(
    redis_server: RedisServer, tmp_path: Path
) -> AsyncIterator[tuple[ServerProcess, ServerProcess]]:
    prefix = f"t{uuid.uuid4().hex[:8]}:"
    a = ServerProcess(tmp_path / "a.log", "INFO", None, None, env=_env(redis_server, "a", prefix))
    b = ServerProcess(tmp_path / "b.log", "INFO", None, None, env=_env(redis_server, "b", prefix))
    b.secret = a.secret
    await a.start()
    await b.start()
    try:
        yield a, b
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(a.pid, signal.SIGCONT)  # a stopped node cannot be stopped politely
        await b.stop()
        await a.stop()


async def test_kill_9_the_room_is_back_before_its_lease_ends(
    two_nodes: tuple[ServerProcess, ServerProcess],
) -> None:
    a, b = two_nodes
    tokens = TokenAuthority(a.secret.encode())
    url_a, url_b = (f"ws://127.0.0.1:{n.port}/ws/r1" for n in (a, b))
    token = tokens.mint(room="r1", role=Role.CUSTOMER, subject="ann", name="Ann")
    ann = await RoomClient.join(f"{url_a}?{PLACED}", token, "Ann")
    await ann.send(m.Chat("before"))
    await ann.wait_for(lambda c: len(c.chats) == 1)
    seen = max(r.seq for r in ann.reliable)

    killed = time.monotonic()
    os.kill(a.pid, signal.SIGKILL)
    back = await join_any([url_a, url_b], token, "Ann", seen, _half_lease())
    took = time.monotonic() - killed
    assert took < PROCESS_LEASE_S / 2, f"back after {took:.2f} s"
    await back.send(m.Chat("after"))
    await back.wait_for(lambda c: [r.text for r in c.chats] == ["after"])
    await back.close()


async def test_a_stalled_node_that_was_robbed_moves_its_members(
    two_nodes: tuple[ServerProcess, ServerProcess],
) -> None:
    a, b = two_nodes
    tokens = TokenAuthority(a.secret.encode())
    url_a, url_b = (f"ws://127.0.0.1:{n.port}/ws/r1" for n in (a, b))
    ann_token = tokens.mint(room="r1", role=Role.CUSTOMER, subject="ann", name="Ann")
    bob_token = tokens.mint(room="r1", role=Role.GUEST, subject="bob", name="Bob")
    ann = await RoomClient.join(f"{url_a}?{PLACED}", ann_token, "Ann")
    await ann.send(m.Chat("before"))
    await ann.wait_for(lambda c: len(c.chats) == 1)

    # Alive, node A keeps its room: B sends Bob there.
    bob = await RoomClient.join(url_b, bob_token, "Bob")
    await ann.wait_for(lambda c: c.has_joined(bob.member))
    await bob.close()

    os.kill(a.pid, signal.SIGSTOP)  # stalled, not dead: its connections stay open
    bob = await join_any([url_b], bob_token, "Bob", 0, _half_lease())  # B takes the room meanwhile
    os.kill(a.pid, signal.SIGCONT)
    # A learns from its next beat that it lapsed, and sends Ann where the room is now.
    await ann.wait_for(lambda c: c.closed, DEADLINE_S)
    assert ann.close_code == CloseCode.ROOM_MOVED
    ann = await RoomClient.join(url_a, ann_token, "Ann", since=0)  # redirected to B
    assert [r.text for r in ann.chats] == ["before"]  # the room B restored from the store
    await ann.send(m.Chat("after"))
    await bob.wait_for(lambda c: [r.text for r in c.chats] == ["after"])
    for client in (ann, bob):
        await client.close()


def _half_lease() -> float:
    """The room must be back well within the lease: its beat, not its lease, moved it."""
    return time.monotonic() + PROCESS_LEASE_S / 2
