"""Several nodes on one Redis: one home per room, redirects, cross-node pages, failover, and
surviving Redis going away. Real Redis servers and real server processes on loopback."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from avatars.advice import Complexity
from avatars.expertise import default_expertise
from avatars.specialties import Specialty
from protocol import messages as m
from protocol.codec import decode
from protocol.codes import CloseCode
from protocol.messages import Direction
from rooms.roles import Role
from run_server import main
from server.app import WealthroomServer
from server.auth import TokenAuthority
from server.cluster.room_store import RedisRoomStore
from simulator.client import RoomClient
from simulator.server_process import ServerProcess
from tests.cluster.rejoin import join_any
from tests.conftest import AUDIT_KEY, SECRET, make_settings
from tests.redis_fixture import RedisServer, own_redis, redis_server

__all__ = ["own_redis", "redis_server"]  # fixtures, used by name

LEASE_S = 1.0


@asynccontextmanager
async def nodes(redis: RedisServer, *names: str) -> AsyncIterator[list[WealthroomServer]]:
    prefix = f"t{uuid.uuid4().hex[:8]}:"
    async with AsyncExitStack() as stack:
        servers = []
        for name in names:
            settings = make_settings(
                redis_url=f"redis://{redis.host}:{redis.port}/0",
                node_id=name,
                redis_prefix=prefix,
                lease_s=LEASE_S,
                demo_room=None,
            )
            servers.append(
                await stack.enter_async_context(WealthroomServer(settings, secret=SECRET))
            )
        yield servers


def _token(server: WealthroomServer, room: str, **kw: Any) -> str:
    kw.setdefault("role", Role.CUSTOMER)
    kw.setdefault("subject", f"user-{uuid.uuid4().hex[:6]}")
    return server.tokens.mint(room=room, **kw)


async def test_a_room_has_one_home_and_other_nodes_send_clients_there(
    redis_server: RedisServer,
) -> None:
    async with nodes(redis_server, "a", "b") as (a, b):
        ann = await RoomClient.join(a.room_url("r1"), _token(a, "r1", name="Ann"), "Ann")
        raw = await RoomClient.open(b.room_url("r1"), _token(b, "r1", role=Role.GUEST))
        await raw.wait_for(lambda c: c.closed)
        assert raw.close_code == CloseCode.ROOM_MOVED
        assert raw.close_reason == a.room_url("r1")
        # The Python client follows the move by itself.
        bob = await RoomClient.join(b.room_url("r1"), _token(b, "r1", role=Role.GUEST), "Bob")
        await ann.wait_for(
            lambda c: any(isinstance(r, m.Joined) and r.name == "Bob" for r in c.reliable)
        )
        assert list(a.rooms) == ["r1"]
        assert list(b.rooms) == []
        for client in (ann, bob):
            await client.close()


async def test_a_new_room_opens_on_the_least_loaded_node(redis_server: RedisServer) -> None:
    async with nodes(redis_server, "a", "b") as (a, b):
        ann = await RoomClient.join(a.room_url("r1"), _token(a, "r1", name="Ann"), "Ann")
        for node in (a, b):
            await node._keep_leases_once()  # load reports now, not at the next renewal
        bob = await RoomClient.join(a.room_url("r2"), _token(a, "r2", name="Bob"), "Bob")
        assert list(b.rooms) == ["r2"]
        assert list(a.rooms) == ["r1"]
        for client in (ann, bob):
            await client.close()


async def test_a_page_raised_on_one_node_is_accepted_on_another(
    redis_server: RedisServer,
) -> None:
    async with nodes(redis_server, "a", "b") as (a, b):
        token = b.tokens.mint_console(
            subject="adv-1", name="Ms Chan", skills=list(Specialty), languages=["en"]
        )
        console = await RoomClient.open(b.ws_base + "/console", token)
        await console.wait_for(lambda c: bool(c.of(m.Pages)))
        ann = await RoomClient.join(a.room_url("r1"), _token(a, "r1", name="Ann", risk=3), "Ann")
        product = next(
            p
            for p in default_expertise().knowledge.products.values()
            if p.complexity is Complexity.COMPLEX
        )
        await ann.send(m.Ask(f"Tell me about the {product.name['en']}"))
        await console.wait_for(lambda c: bool(c.of(m.Pages)[-1].pages))
        (page,) = console.of(m.Pages)[-1].pages
        await console.send(m.Accept(page.id))
        await console.wait_for(lambda c: bool(c.of(m.Accepted)))
        accepted = console.of(m.Accepted)[0]
        assert accepted.url == a.room_url("r1")  # straight to the node hosting the room
        await ann.wait_for(lambda c: any(h.st == "coming" for h in c.of(m.Handoff)))
        advisor = await RoomClient.join(accepted.url, accepted.token, "Ms Chan")
        await ann.wait_for(lambda c: any(h.st == "arrived" for h in c.of(m.Handoff)))
        for client in (ann, advisor, console):
            await client.close()


async def test_a_node_shutting_down_hands_its_rooms_over_whole(
    redis_server: RedisServer,
) -> None:
    async with nodes(redis_server, "b") as (b,):
        settings = make_settings(
            redis_url=f"redis://{redis_server.host}:{redis_server.port}/0",
            node_id="a",
            redis_prefix=b.settings.redis_prefix,
            lease_s=LEASE_S,
            demo_room=None,
        )
        a = WealthroomServer(settings, secret=SECRET)
        await a.start()
        token = _token(a, "r1", name="Ann", risk=3, subject="ann")
        ann = await RoomClient.join(a.room_url("r1"), token, "Ann")
        await ann.send(m.Ask("what about government bonds?"))
        await ann.wait_for(lambda c: bool(c.of(m.Answer)))
        seen = max(r.seq for r in ann.reliable)
        await a.stop()
        await ann.wait_for(lambda c: c.closed)
        assert ann.close_code == CloseCode.GOING_AWAY
        back = await RoomClient.join(b.room_url("r1"), token, "Ann", since=seen)
        await back.wait_for(lambda c: any(e.k == "expert" for e in c.replica.entities.values()))
        expert = next(e for e in back.replica.entities.values() if e.k == "expert")
        assert expert.sp == "bonds"
        assert not any(isinstance(r, m.Left) for r in back.reliable)  # nobody "left" the room
        await back.close()


# --- a node dies ----------------------------------------------------------------------------


def _env(redis: RedisServer, node: str, prefix: str) -> dict[str, str]:
    return {
        "WEALTHROOM_REDIS_URL": f"redis://{redis.host}:{redis.port}/0",
        "WEALTHROOM_NODE_ID": node,
        "WEALTHROOM_REDIS_PREFIX": prefix,
        "WEALTHROOM_LEASE_S": str(LEASE_S),
        "WEALTHROOM_DEMO_ROOM": "",
        "WEALTHROOM_AUDIT_PATH": "",
        "WEALTHROOM_TOTP_PATH": "",
    }


async def test_kill_9_a_node_and_its_room_is_back_elsewhere_with_its_history(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}:"
    a = ServerProcess(tmp_path / "a.log", "INFO", None, None, env=_env(redis_server, "a", prefix))
    b = ServerProcess(tmp_path / "b.log", "INFO", None, None, env=_env(redis_server, "b", prefix))
    b.secret = a.secret
    await a.start()
    await b.start()
    try:
        tokens = TokenAuthority(a.secret.encode())
        url_a = f"ws://127.0.0.1:{a.port}/ws/r1"
        url_b = f"ws://127.0.0.1:{b.port}/ws/r1"
        ann_token = tokens.mint(room="r1", role=Role.CUSTOMER, subject="ann", name="Ann")
        bob_token = tokens.mint(room="r1", role=Role.GUEST, subject="bob", name="Bob")
        ann = await RoomClient.join(url_a, ann_token, "Ann")
        bob = await RoomClient.join(url_a, bob_token, "Bob")
        for i in range(8):  # within the chat allowance (a burst of 10)
            await ann.send(m.Chat(f"line {i}"))
        await bob.wait_for(lambda c: len(c.chats) == 8)
        seen = max(r.seq for r in bob.reliable)
        before = [(r.seq, r.text) for r in ann.chats]

        killed = time.monotonic()
        os.kill(a.pid, signal.SIGKILL)
        await ann.wait_for(lambda c: c.closed)
        bob2 = await join_any([url_a, url_b], bob_token, "Bob", seen, killed + 10)
        back = time.monotonic() - killed
        ann2 = await join_any([url_a, url_b], ann_token, "Ann", 0, killed + 10)
        # Ann asked for everything since her first arrival: the whole conversation, once.
        assert [(r.seq, r.text) for r in ann2.chats] == before
        assert bob2.chats == []  # Bob had all of it; nothing is replayed twice
        await ann2.send(m.Chat("still here"))
        await bob2.wait_for(lambda c: any(r.text == "still here" for r in c.chats))
        assert bob2.chats[-1].seq > seen
        assert back < 5.0, f"room back after {back:.2f} s"
        for client in (ann2, bob2):
            await client.close()
    finally:
        await b.stop()
        await a.stop()


# --- Redis goes away and comes back -----------------------------------------------------------


async def _health(server: WealthroomServer) -> dict[str, Any]:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    head = await reader.readuntil(b"\r\n\r\n")
    length = int(
        next(
            line.split(b":")[1]
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        )
    )
    body = await reader.readexactly(length)
    writer.close()
    return dict(json.loads(body))


def _chat_text(data: bytes) -> str | None:
    msg = decode(data, Direction.SERVER)
    return msg.text if isinstance(msg, m.ChatPosted) else None


async def _until(check: Callable[[], Any], what: str, limit_s: float = 15.0) -> None:
    deadline = time.monotonic() + limit_s
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not within {limit_s} s")
        await asyncio.sleep(0.05)  # polling an HTTP endpoint, not synchronisation


async def test_redis_stopped_and_restarted_mid_session(
    own_redis: Callable[[], subprocess.Popen[bytes]],
) -> None:
    redis = own_redis()
    port = own_redis.port  # type: ignore[attr-defined]
    server = RedisServer("127.0.0.1", port)
    async with nodes(server, "a") as (a,):
        ann = await RoomClient.join(a.room_url("r1"), _token(a, "r1", name="Ann"), "Ann")
        bob = await RoomClient.join(a.room_url("r1"), _token(a, "r1", role=Role.GUEST), "Bob")
        await ann.send(m.Chat("before"))
        await bob.wait_for(lambda c: len(c.chats) == 1)

        redis.terminate()
        redis.wait(10)
        for i in range(5):
            await ann.send(m.Chat(f"during {i}"))
        # The room goes on: everything is delivered, in order.
        await bob.wait_for(lambda c: len(c.chats) == 6, 10)

        async def degraded() -> bool:
            return bool((await _health(a))["status"] == "degraded")

        await _until(degraded, "health says degraded")
        health = await _health(a)
        assert "redis" in health["degraded"] or "store" in health["degraded"]

        own_redis()  # back, empty (no persistence), on the same port

        async def recovered() -> bool:
            return bool((await _health(a))["status"] == "ok")

        await _until(recovered, "recovered from the Redis restart")
        await ann.send(m.Chat("after"))
        await bob.wait_for(lambda c: len(c.chats) == 7)
        # The journal caught up: the restarted (empty) Redis holds the whole conversation.
        client = Redis(host="127.0.0.1", port=port)
        try:

            async def journaled() -> bool:
                saved = await RedisRoomStore(client, prefix=a.settings.redis_prefix).read("r1")
                texts = [] if saved is None else [_chat_text(data) for _, data in saved[1]]
                return [t for t in texts if t] == [c.text for c in bob.chats]

            await _until(journaled, "journal caught up")
        finally:
            await client.aclose()
        assert list(a.rooms) == ["r1"]
        for c in (ann, bob):
            await c.close()


async def test_audit_stream_verifies_and_names_the_first_bad_entry(
    redis_server: RedisServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEALTHROOM_AUDIT_KEY", AUDIT_KEY.decode())
    async with nodes(redis_server, "a") as (a,):
        ann = await RoomClient.join(a.room_url("r1"), _token(a, "r1", name="Ann"), "Ann")
        await ann.send(m.Chat("for the record"))
        await ann.wait_for(lambda c: bool(c.chats))
        await ann.close()
        prefix = a.settings.redis_prefix
    url = f"redis://{redis_server.host}:{redis_server.port}/0"
    args = ["audit", "verify-stream", "--redis", url, "--room", "r1", "--prefix", prefix]
    assert await asyncio.to_thread(main, args) == 0
    assert "chain intact" in capsys.readouterr().out
    client = Redis(host=redis_server.host, port=redis_server.port)
    try:
        key = f"{prefix}audit:r1"
        rows = await client.xrange(key, count=2)
        assert rows is not None
        second = rows[1][0]
        assert second is not None
        await client.xdel(key, second)  # an entry removed from the middle
    finally:
        await client.aclose()
    assert await asyncio.to_thread(main, args) == 1
    assert "entry 1 is broken" in capsys.readouterr().err
