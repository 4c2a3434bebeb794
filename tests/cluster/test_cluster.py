"""What nodes share: every shared test runs against the in-memory and the Redis implementation.

The ``backend`` fixture hands out implementations as seen from several nodes: for memory the
same object each time, for Redis one client per node on the same keys. Lapses are driven by a
fake clock in memory and by real expiry in Redis, waited on as a condition with a deadline.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import pytest
from redis.asyncio import Redis

from advisors.bus import Bus, MemoryBus
from advisors.pages import MemoryPageBoard, Page, PageBoard, PageState
from advisors.presence import AdvisorState, AdvisorStatus, MemoryPresence, Presence
from avatars.specialties import Specialty
from rooms.audit import AuditEvent, AuditLog, verify
from server.cluster.directory import MemoryRoomDirectory, NodeLoad, RoomDirectory
from server.cluster.redis_audit import BufferedAuditLog, RedisAuditLog, read_stream, verify_stream
from server.cluster.redis_bus import RedisBus
from server.cluster.redis_directory import RedisRoomDirectory
from server.cluster.redis_pages import RedisPageBoard
from server.cluster.redis_presence import RedisPresence, reply_text
from server.cluster.room_store import LOG_LENGTH, MemoryRoomStore, RedisRoomStore, RoomStore
from tests.conftest import AUDIT_KEY
from tests.redis_fixture import RedisServer, connected, redis_client, redis_server

__all__ = ["redis_client", "redis_server"]  # fixtures, used by name

SHORT_S = 0.3  # a lease or ttl meant to lapse during the test
LONG_S = 60.0  # one meant to outlast it
LAPSE_DEADLINE_S = 5.0
RECEIVE_DEADLINE_S = 5.0

Condition = Callable[[], Awaitable[bool]]


class FakeClock:
    def __init__(self, now: float = 1_795_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Backend:
    kind: str

    def presence(self, node: int = 0) -> Presence:
        raise NotImplementedError

    def pages(self, node: int = 0) -> PageBoard:
        raise NotImplementedError

    def bus(self, node: int = 0) -> Bus:
        raise NotImplementedError

    def directory(self, node: int = 0) -> RoomDirectory:
        raise NotImplementedError

    def store(self, node: int = 0) -> RoomStore:
        raise NotImplementedError

    async def lapse(self, seconds: float, condition: Condition) -> None:
        """Let ``seconds`` pass, after which ``condition`` must hold."""
        raise NotImplementedError


class MemoryBackend(Backend):
    kind = "memory"

    def __init__(self) -> None:
        self.clock = FakeClock()
        self._presence = MemoryPresence(self.clock)
        self._pages = MemoryPageBoard()
        self._bus = MemoryBus()
        self._directory = MemoryRoomDirectory(self.clock)
        self._store = MemoryRoomStore()

    def store(self, node: int = 0) -> RoomStore:
        return self._store

    def presence(self, node: int = 0) -> Presence:
        return self._presence

    def pages(self, node: int = 0) -> PageBoard:
        return self._pages

    def bus(self, node: int = 0) -> Bus:
        return self._bus

    def directory(self, node: int = 0) -> RoomDirectory:
        return self._directory

    async def lapse(self, seconds: float, condition: Condition) -> None:
        self.clock.advance(seconds)
        assert await condition(), f"still holds after {seconds}s on the clock"


class RedisBackend(Backend):
    kind = "redis"

    def __init__(self, server: RedisServer, stack: AsyncExitStack) -> None:
        self.server = server
        self.prefix = f"t{uuid.uuid4().hex[:8]}:"  # and the database is emptied too
        self._stack = stack
        self._clients: dict[int, Redis] = {}

    async def connect(self, nodes: int) -> None:
        for node in range(nodes):
            self._clients[node] = await self._stack.enter_async_context(connected(self.server))

    def client(self, node: int = 0) -> Redis:
        return self._clients[node]

    def presence(self, node: int = 0) -> Presence:
        return RedisPresence(self.client(node), prefix=self.prefix)

    def pages(self, node: int = 0) -> PageBoard:
        return RedisPageBoard(self.client(node), prefix=self.prefix)

    def bus(self, node: int = 0) -> Bus:
        return RedisBus(self.client(node), prefix=self.prefix)

    def directory(self, node: int = 0) -> RoomDirectory:
        return RedisRoomDirectory(self.client(node), prefix=self.prefix)

    def store(self, node: int = 0) -> RoomStore:
        return RedisRoomStore(self.client(node), prefix=self.prefix)

    async def lapse(self, seconds: float, condition: Condition) -> None:
        await until(condition, f"still holds {LAPSE_DEADLINE_S}s after a {seconds}s expiry")


NODES = 4


@pytest.fixture(params=["memory", "redis"])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    if request.param == "memory":
        yield MemoryBackend()
        return
    server: RedisServer = request.getfixturevalue("redis_server")
    async with AsyncExitStack() as stack:
        redis_backend = RedisBackend(server, stack)
        await redis_backend.connect(NODES)
        yield redis_backend


async def until(
    condition: Condition, message: str, *, deadline_s: float = LAPSE_DEADLINE_S
) -> None:
    deadline = time.monotonic() + deadline_s
    while not await condition():
        if time.monotonic() > deadline:
            pytest.fail(message)
        await asyncio.sleep(0.01)


# --- presence --------------------------------------------------------------------------------


def status(subject: str, state: AdvisorState = AdvisorState.AVAILABLE, **kw: Any) -> AdvisorStatus:
    base: dict[str, Any] = {
        "subject": subject,
        "name": f"Advisor {subject}",
        "state": state,
        "skills": frozenset({Specialty.BONDS, Specialty.FX}),
        "languages": frozenset({"en", "yue"}),
    }
    base.update(kw)
    return AdvisorStatus(**base)


async def test_presence_round_trips_every_field(backend: Backend) -> None:
    full = status(
        "adv-1",
        AdvisorState.BUSY,
        name="陈美玲",
        customers=frozenset({"cust-1", "cust-2"}),
        node="node-b",
        updated=1_795_000_123.456789,
    )
    await backend.presence(0).put(full, ttl_s=LONG_S)
    assert await backend.presence(1).get("adv-1") == full
    assert await backend.presence(1).get("adv-2") is None


async def test_presence_lists_sorted_replaces_and_removes(backend: Backend) -> None:
    presence = backend.presence()
    for subject in ("b", "c", "a"):
        await presence.put(status(subject), ttl_s=LONG_S)
    await presence.put(status("b", AdvisorState.AWAY), ttl_s=LONG_S)
    everyone = await backend.presence(1).all()
    assert [(s.subject, s.state) for s in everyone] == [
        ("a", AdvisorState.AVAILABLE),
        ("b", AdvisorState.AWAY),
        ("c", AdvisorState.AVAILABLE),
    ]
    await presence.remove("b")
    await presence.remove("nobody")
    assert [s.subject for s in await presence.all()] == ["a", "c"]
    assert await presence.get("b") is None


async def test_presence_lapses_unless_written_again(backend: Backend) -> None:
    presence = backend.presence()
    await presence.put(status("gone"), ttl_s=SHORT_S)
    await presence.put(status("stays"), ttl_s=LONG_S)

    async def gone_lapsed() -> bool:
        return await presence.get("gone") is None

    await backend.lapse(SHORT_S, gone_lapsed)
    assert [s.subject for s in await presence.all()] == ["stays"]
    await presence.put(status("gone"), ttl_s=LONG_S)  # signing in again brings it back
    assert [s.subject for s in await presence.all()] == ["gone", "stays"]


# --- pages -----------------------------------------------------------------------------------


def page(page_id: str, raised: float = 1_795_000_000.0, **kw: Any) -> Page:
    base: dict[str, Any] = {
        "id": page_id,
        "room": "room-1",
        "customer": "cust-1",
        "skill": Specialty.FUNDS,
        "language": "en",
        "product": None,
        "reason": "asks for a person",
        "raised": raised,
    }
    base.update(kw)
    return Page(**base)


async def test_page_round_trips_every_field(backend: Backend) -> None:
    bare = page("p1", skill=None)
    full = page(
        "p2",
        raised=1_795_000_000.123456789,
        skill=Specialty.INSURANCE,
        language="zh",
        product="保险计划 A",
        reason="wants to sign",
        customer_name="王小明",
        risk=4,
        node="node-c",
        brief={
            "why": "wants to sign",
            "turns": [{"q": "佢嘅收費係幾多？", "by": "insurance", "a": "", "cut": True}],
            "products": [{"id": "保险计划 A", "name": "保险计划 A", "sp": "insurance", "risk": 2}],
            "decisions": [{"sp": "insurance", "verdict": "handoff", "why": "complex"}],
        },
    )
    for p in (bare, full):
        await backend.pages(0).post(p)
        assert await backend.pages(1).get(p.id) == p
    assert await backend.pages(1).get("p3") is None


async def test_posting_a_page_twice_is_refused(backend: Backend) -> None:
    await backend.pages(0).post(page("p1"))
    with pytest.raises(ValueError, match="already posted"):
        await backend.pages(1).post(page("p1", reason="again"))
    assert (await backend.pages(0).get("p1")) == page("p1")


async def test_twenty_advisors_accept_at_once_and_one_gets_the_page(backend: Backend) -> None:
    await backend.pages(0).post(page("p1"))
    claims = [backend.pages(i % NODES).claim("p1", f"adv-{i}", f"Advisor {i}") for i in range(20)]
    results = await asyncio.gather(*claims)
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    winner = winners[0]
    assert winner.state is PageState.CLAIMED
    assert winner == await backend.pages(0).get("p1")
    assert winner.advisor is not None
    assert winner.advisor_name == f"Advisor {winner.advisor.removeprefix('adv-')}"
    assert await backend.pages(0).open_pages() == []


async def test_claim_and_cancel_race_and_only_one_settles_the_page(backend: Backend) -> None:
    await backend.pages(0).post(page("p1"))
    claimed, cancelled = await asyncio.gather(
        backend.pages(1).claim("p1", "adv", "Ada"), backend.pages(2).cancel("p1")
    )
    assert (claimed is None) != (cancelled is None)
    settled = claimed or cancelled
    assert settled == await backend.pages(0).get("p1")


async def test_a_settled_page_stays_settled(backend: Backend) -> None:
    board = backend.pages()
    await board.post(page("p1"))
    await board.post(page("p2"))
    cancelled = await board.cancel("p1")
    assert cancelled == page("p1", state=PageState.CANCELLED)
    assert await board.claim("p1", "adv", "Ada") is None
    assert await board.cancel("p1") is None
    claimed = await board.claim("p2", "adv", "Ada")
    assert claimed == page("p2", state=PageState.CLAIMED, advisor="adv", advisor_name="Ada")
    assert await board.cancel("p2") is None
    assert await board.claim("p2", "other", "Bo") is None
    assert await board.get("p2") == claimed
    assert await board.claim("missing", "adv", "Ada") is None
    assert await board.cancel("missing") is None


async def test_open_pages_oldest_first(backend: Backend) -> None:
    board = backend.pages()
    for p in (page("c", 30.0), page("b", 10.0), page("a", 10.0), page("d", 20.0), page("e", 5)):
        await board.post(p)
    await board.claim("e", "adv", "Ada")
    await board.cancel("d")
    assert [p.id for p in await backend.pages(1).open_pages()] == ["a", "b", "c"]


# --- bus -------------------------------------------------------------------------------------


async def receive(events: AsyncIterator[bytes]) -> bytes:
    async with asyncio.timeout(RECEIVE_DEADLINE_S):
        return await anext(events)


async def test_bus_fans_out_to_every_subscriber_of_a_topic_only(backend: Backend) -> None:
    async with (
        backend.bus(0).subscribe("pages") as first,
        backend.bus(1).subscribe("pages") as second,
        backend.bus(2).subscribe("rooms") as other,
    ):
        publisher = backend.bus(3)
        await publisher.publish("pages", b"look again")
        await publisher.publish("pages", b"\x00\xffbinary")
        # Published after the others on one connection, so it arrives after anything leaked.
        await publisher.publish("rooms", b"marker")
        for events in (first, second):
            assert [await receive(events), await receive(events)] == [
                b"look again",
                b"\x00\xffbinary",
            ]
        assert await receive(other) == b"marker"


async def test_bus_delivers_nothing_after_leaving_and_to_late_subscribers(backend: Backend) -> None:
    bus = backend.bus()
    async with bus.subscribe("t") as events:
        await bus.publish("t", b"1")
        assert await receive(events) == b"1"
    await bus.publish("t", b"unheard")  # nobody is listening: dropped, not an error
    async with bus.subscribe("t") as events:
        await bus.publish("t", b"2")
        assert await receive(events) == b"2"


# --- directory -------------------------------------------------------------------------------


async def test_directory_claims_once_and_tells_others_the_owner(backend: Backend) -> None:
    a, b = backend.directory(0), backend.directory(1)
    assert await a.owner("r1") is None
    assert await a.claim("r1", "node-a", lease_s=LONG_S) == "node-a"
    assert await b.claim("r1", "node-b", lease_s=LONG_S) == "node-a"
    assert await a.claim("r1", "node-a", lease_s=LONG_S) == "node-a"
    assert await b.owner("r1") == "node-a"


async def test_directory_concurrent_claims_agree_on_one_owner(backend: Backend) -> None:
    claims = [
        backend.directory(i % NODES).claim("r1", f"node-{i}", lease_s=LONG_S) for i in range(12)
    ]
    owners = set(await asyncio.gather(*claims))
    assert len(owners) == 1
    assert owners == {await backend.directory().owner("r1")}


async def test_directory_renew_sets_a_new_lease_and_fails_once_lost(backend: Backend) -> None:
    a, b = backend.directory(0), backend.directory(1)
    await a.claim("r1", "node-a", lease_s=LONG_S)
    assert not await b.renew("r1", "node-b", lease_s=LONG_S)
    # Renewing with a short lease replaces the long one: proof the renewal is what counts.
    assert await a.renew("r1", "node-a", lease_s=SHORT_S)

    async def free() -> bool:
        return await b.owner("r1") is None

    await backend.lapse(SHORT_S, free)
    assert not await a.renew("r1", "node-a", lease_s=LONG_S)
    assert await a.owner("r1") is None  # a failed renewal does not take the room back
    assert await b.claim("r1", "node-b", lease_s=LONG_S) == "node-b"
    assert not await a.renew("r1", "node-a", lease_s=LONG_S)
    assert await a.rooms_of("node-a") == []


async def test_directory_lease_lapses_and_the_room_is_free(backend: Backend) -> None:
    a = backend.directory(0)
    await a.claim("r1", "node-a", lease_s=SHORT_S)

    async def free() -> bool:
        return await a.owner("r1") is None

    await backend.lapse(SHORT_S, free)
    assert await backend.directory(1).claim("r1", "node-b", lease_s=LONG_S) == "node-b"


async def test_directory_only_the_owner_releases(backend: Backend) -> None:
    a, b = backend.directory(0), backend.directory(1)
    await a.claim("r1", "node-a", lease_s=LONG_S)
    await b.release("r1", "node-b")
    assert await a.owner("r1") == "node-a"
    await a.release("r1", "node-a")
    assert await b.owner("r1") is None
    await a.release("r1", "node-a")  # twice is harmless
    assert await b.claim("r1", "node-b", lease_s=LONG_S) == "node-b"


async def test_directory_lists_a_nodes_rooms(backend: Backend) -> None:
    a, b = backend.directory(0), backend.directory(1)
    for room in ("r3", "r1", "r2"):
        await a.claim(room, "node-a", lease_s=LONG_S)
    await a.claim("short", "node-a", lease_s=SHORT_S)
    await b.claim("r4", "node-b", lease_s=LONG_S)
    await b.claim("r1", "node-b", lease_s=LONG_S)  # taken: not b's
    await a.release("r2", "node-a")

    async def short_lapsed() -> bool:
        return await a.owner("short") is None

    await backend.lapse(SHORT_S, short_lapsed)
    assert await b.rooms_of("node-a") == ["r1", "r3"]
    assert await a.rooms_of("node-b") == ["r4"]
    assert await a.rooms_of("node-c") == []


async def test_directory_load_reports_lapse_and_pick_the_least_loaded(backend: Backend) -> None:
    a, b = backend.directory(0), backend.directory(1)
    assert await a.least_loaded() is None
    assert await a.nodes() == {}
    await a.report_load("node-a", 3, 10, ttl_s=LONG_S)
    await b.report_load("node-b", 1, 50, ttl_s=LONG_S)
    await b.report_load("node-c", 1, 20, ttl_s=SHORT_S)
    assert await a.nodes() == {
        "node-a": NodeLoad("node-a", 3, 10),
        "node-b": NodeLoad("node-b", 1, 50),
        "node-c": NodeLoad("node-c", 1, 20),
    }
    assert await b.least_loaded() == "node-c"  # fewest rooms, then fewest members

    async def c_lapsed() -> bool:
        return "node-c" not in await a.nodes()

    await backend.lapse(SHORT_S, c_lapsed)
    assert await a.least_loaded() == "node-b"
    await a.report_load("node-a", 0, 0, ttl_s=LONG_S)  # a new report replaces the old
    assert await b.least_loaded() == "node-a"
    assert (await b.nodes())["node-a"] == NodeLoad("node-a", 0, 0)


# --- Redis only: key layout and expiry -------------------------------------------------------


async def use_everything(client: Redis, prefix: str, ttl_s: float) -> None:
    await RedisPresence(client, prefix=prefix).put(status("a"), ttl_s=ttl_s)
    directory = RedisRoomDirectory(client, prefix=prefix)
    await directory.claim("r1", "node-a", lease_s=ttl_s)
    await directory.report_load("node-a", 1, 1, ttl_s=ttl_s)
    await RedisPageBoard(client, prefix=prefix, ttl_s=ttl_s).post(page("p1"))
    await RedisAuditLog(client, AUDIT_KEY, prefix=prefix).append(event(0))


async def test_redis_keys_stay_under_the_prefix(redis_client: Redis) -> None:
    await use_everything(redis_client, "elsewhere:", LONG_S)
    keys = sorted(reply_text(k) for k in await redis_client.keys("*"))
    assert keys == [
        "elsewhere:audit-head:room-1",
        "elsewhere:audit:room-1",
        "elsewhere:node-rooms:node-a",
        "elsewhere:node:node-a",
        "elsewhere:nodes",
        "elsewhere:page:p1",
        "elsewhere:pages:open",
        "elsewhere:presence",
        "elsewhere:presence:a",
        "elsewhere:room:r1",
    ]


async def test_redis_keeps_nothing_past_its_expiry_but_the_audit_chain(
    redis_client: Redis,
) -> None:
    await use_everything(redis_client, "wr:", SHORT_S)

    async def lapsed() -> bool:
        return await redis_client.exists("wr:presence:a", "wr:room:r1", "wr:page:p1") == 0

    await until(lapsed, "status, lease and page outlived their expiry")
    presence, directory = RedisPresence(redis_client), RedisRoomDirectory(redis_client)
    assert await presence.all() == []
    assert await directory.nodes() == {}
    assert await directory.rooms_of("node-a") == []
    assert await RedisPageBoard(redis_client).open_pages() == []
    # Reading the indexes dropped what had lapsed, so the indexes themselves are gone.
    remaining = sorted(reply_text(k) for k in await redis_client.keys("*"))
    assert remaining == ["wr:audit-head:room-1", "wr:audit:room-1"]


async def test_redis_pages_have_a_bounded_life(redis_client: Redis) -> None:
    board = RedisPageBoard(redis_client)
    await board.post(page("p1"))
    ttl_ms = await redis_client.pttl("wr:page:p1")
    assert 23 * 3600 * 1000 < ttl_ms <= 24 * 3600 * 1000
    await board.claim("p1", "adv", "Ada")
    assert await redis_client.pttl("wr:page:p1") <= ttl_ms  # settling does not extend it


# --- Redis only: the audit stream ------------------------------------------------------------


async def chain(client: Redis, key: str) -> list[dict[str, Any]]:
    entries = await read_stream(client, key)
    assert None not in entries
    return [e for e in entries if e is not None]


async def intact(client: Redis, room: str, prefix: str = "wr:") -> bool:
    return (await verify_stream(client, AUDIT_KEY, room, prefix=prefix)).ok


async def first_broken(client: Redis, room: str, prefix: str = "wr:") -> int | None:
    verdict = await verify_stream(client, AUDIT_KEY, room, prefix=prefix)
    assert not verdict.ok
    return verdict.first_broken


def event(i: int, room: str = "room-1", actor: str = "user") -> AuditEvent:
    return AuditEvent(
        1_795_084_400 + i, room, f"{actor}-{i}", "guest", "member.join", "ok", {"i": i, "名": "值"}
    )


async def test_audit_stream_chains_each_room_and_verifies(redis_client: Redis) -> None:
    audit = RedisAuditLog(redis_client, AUDIT_KEY)
    returned = [await audit.append(event(i)) for i in range(5)]
    await audit.append(event(0, room="room-2"))
    stored = await chain(redis_client, audit.stream_key("room-1"))
    assert stored == returned
    assert await read_stream(redis_client, audit.stream_key("room-1"), batch=2) == stored
    assert [e["n"] for e in returned] == [0, 1, 2, 3, 4]
    assert verify(stored, AUDIT_KEY).ok
    assert await intact(redis_client, "room-1")
    assert await intact(redis_client, "room-2")
    assert await intact(redis_client, "room-3")


async def test_audit_chain_continues_after_a_restart(
    redis_client: Redis, redis_server: RedisServer
) -> None:
    first = RedisAuditLog(redis_client, AUDIT_KEY)
    for i in range(3):
        await first.append(event(i))
    fresh = redis_server.client()  # another process: no cached head, learns it from Redis
    try:
        entry = await RedisAuditLog(fresh, AUDIT_KEY).append(event(3))
    finally:
        await fresh.aclose()
    stored = await chain(redis_client, first.stream_key("room-1"))
    assert entry == stored[3]
    assert (entry["n"], entry["prev"]) == (3, stored[2]["mac"])
    assert await intact(redis_client, "room-1")


async def test_two_nodes_appending_to_one_room_never_fork_the_chain(
    redis_server: RedisServer,
) -> None:
    async with connected(redis_server) as one, connected(redis_server) as two:
        node_a, node_b = RedisAuditLog(one, AUDIT_KEY), RedisAuditLog(two, AUDIT_KEY)
        appends = [node_a.append(event(i, actor="a")) for i in range(15)]
        appends += [node_b.append(event(i, actor="b")) for i in range(15)]
        returned = await asyncio.gather(*appends)
        stored = await chain(one, node_a.stream_key("room-1"))
        assert await intact(one, "room-1")
        assert [e["n"] for e in stored] == list(range(30))
        assert sorted(e["n"] for e in returned) == list(range(30))
        actors = sorted(e["actor"] for e in stored)
        assert actors == sorted([f"a-{i}" for i in range(15)] + [f"b-{i}" for i in range(15)])


async def test_audit_stream_tampering_is_found(redis_client: Redis) -> None:
    audit = RedisAuditLog(redis_client, AUDIT_KEY)
    for i in range(5):
        await audit.append(event(i))
    key = audit.stream_key("room-1")
    ids = [reply_text(row[0]) for row in await redis_client.xrange(key) or []]

    await redis_client.xdel(key, ids[4])  # cut from the end: only the count can tell
    assert await first_broken(redis_client, "room-1") == 4
    await audit.append(event(5))  # and the chain does not rewind over the gap
    assert await first_broken(redis_client, "room-1") == 4

    await redis_client.xdel(key, ids[2])  # cut from the middle
    assert await first_broken(redis_client, "room-1") == 2


async def test_audit_stream_forged_and_garbled_entries_are_found(redis_client: Redis) -> None:
    audit = RedisAuditLog(redis_client, AUDIT_KEY)
    for i in range(3):
        await audit.append(event(i))
    key = audit.stream_key("room-1")
    stored = await chain(redis_client, key)
    forged = dict(stored[2], n=3, actor="someone-else")
    await redis_client.xadd(key, {"entry": json.dumps(forged)})
    assert await first_broken(redis_client, "room-1") == 3

    other = RedisAuditLog(redis_client, AUDIT_KEY, prefix="garbled:")
    await other.append(event(0))
    await redis_client.xadd(other.stream_key("room-1"), {"entry": b"{not json"})
    assert await first_broken(redis_client, "room-1", prefix="garbled:") == 1


async def test_buffered_audit_log_writes_in_order_behind_a_sync_append(
    redis_client: Redis,
) -> None:
    audit = RedisAuditLog(redis_client, AUDIT_KEY)
    buffered = BufferedAuditLog(audit)
    as_room_host_sees_it: AuditLog = buffered  # the synchronous protocol the room host calls
    buffered.start()
    try:
        records = [as_room_host_sees_it.append(event(i)) for i in range(10)]
        assert all("hash" not in r and r["actor"] == f"user-{i}" for i, r in enumerate(records))
        await buffered.flush()
        stored = await chain(redis_client, audit.stream_key("room-1"))
        assert [e["actor"] for e in stored] == [f"user-{i}" for i in range(10)]
        assert await intact(redis_client, "room-1")
    finally:
        await buffered.aclose()


async def test_buffered_audit_log_puts_its_losses_on_the_record(redis_client: Redis) -> None:
    audit = RedisAuditLog(redis_client, AUDIT_KEY)
    buffered = BufferedAuditLog(audit, max_pending=2)
    for i in range(5):
        buffered.append(event(i))  # the writer has not started: three do not fit
    assert (buffered.dropped, buffered.pending) == (3, 2)
    buffered.start()
    await buffered.aclose()
    stored = await chain(redis_client, audit.stream_key("room-1"))
    summary = [(e["actor"], e["action"], e["detail"]) for e in stored]
    assert summary == [
        ("user-0", "member.join", {"i": 0, "名": "值"}),
        ("user-1", "member.join", {"i": 1, "名": "值"}),
        ("server", "audit.dropped", {"count": 3}),
    ]
    assert await intact(redis_client, "room-1")


async def test_directory_advertises_where_a_node_is_reached(backend: Backend) -> None:
    a, b = backend.directory(0), backend.directory(1)
    assert await b.url_of("node-a") is None
    await a.advertise("node-a", "http://10.0.0.1:8765", ttl_s=LONG_S)
    assert await b.url_of("node-a") == "http://10.0.0.1:8765"
    await a.advertise("node-a", "http://10.0.0.1:8765", ttl_s=SHORT_S)

    async def gone() -> bool:
        return await b.url_of("node-a") is None

    await backend.lapse(SHORT_S, gone)


# --- the room store -------------------------------------------------------------------------


async def test_room_store_appends_the_log_and_replaces_the_state(backend: Backend) -> None:
    a, b = backend.store(0), backend.store(1)
    assert await b.read("r1") is None
    await a.write("r1", [(1, b"one"), (2, b"two")], b"state-1")
    await a.write("r1", [], b"state-2")
    await a.write("r1", [(3, b"three")], b"state-3")
    assert await b.read("r1") == (b"state-3", [(1, b"one"), (2, b"two"), (3, b"three")])
    assert await b.read("r2") is None
    await b.forget("r1")
    assert await a.read("r1") is None


async def test_room_store_keeps_only_the_replayable_tail(backend: Backend) -> None:
    store = backend.store(0)
    entries = [(seq, b"x%d" % seq) for seq in range(1, LOG_LENGTH + 51)]
    await store.write("r1", entries[:1000], b"s")
    await store.write("r1", entries[1000:], b"s")
    got = await store.read("r1")
    assert got is not None
    assert [seq for seq, _ in got[1]] == list(range(51, LOG_LENGTH + 51))


async def test_directory_withdrawn_node_gets_no_rooms_or_redirects(backend: Backend) -> None:
    a, b = backend.directory(0), backend.directory(1)
    await a.report_load("node-a", 0, 0, ttl_s=LONG_S)
    await a.advertise("node-a", "http://10.0.0.1:8765", ttl_s=LONG_S)
    await b.report_load("node-b", 5, 50, ttl_s=LONG_S)
    assert await b.least_loaded() == "node-a"
    await a.withdraw("node-a")
    assert await b.least_loaded() == "node-b"
    assert await b.url_of("node-a") is None


async def test_the_first_advisor_declines_a_head_start_once(backend: Backend) -> None:
    board = backend.pages(0)
    await board.post(page("p1", first="adv-chan", first_until=1_795_000_120.5))
    assert await backend.pages(1).get("p1") == page(
        "p1", first="adv-chan", first_until=1_795_000_120.5
    )
    assert await backend.pages(1).decline("p1", "adv-lee") is None  # not offered to them first
    declined = await backend.pages(2).decline("p1", "adv-chan")
    assert declined == page("p1", first="adv-chan", first_until=0.0)
    assert await board.get("p1") == declined
    assert await board.decline("p1", "adv-chan") is None  # once
    await board.post(page("p2", first="adv-chan", first_until=1_795_000_120.5))
    await board.claim("p2", "adv-chan", "Ms Chan")
    assert await board.decline("p2", "adv-chan") is None  # no longer open
    assert await board.decline("missing", "adv-chan") is None
