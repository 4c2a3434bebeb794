"""The real server on a loopback port with real WebSocket clients."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import jwt
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from avatars.expertise import default_expertise
from protocol import messages as m
from protocol.codec import decode, encode, pack
from protocol.codes import CloseCode, ErrorCode
from protocol.limits import MAX_FRAME_BYTES, SUBPROTOCOL
from protocol.messages import Direction
from protocol.quantise import mm_to_pos, yaw_quat
from rooms.roles import Role
from server.app import WealthroomServer
from server.auth import TokenAuthority
from server.private_dir import private_dir
from simulator.client import ClientError, RoomClient
from tests.conftest import SECRET, Mint, make_settings, minter

POSE_Q = (0.0, 0.0, 0.0, 1.0)


async def _http(url: str) -> tuple[int, str, str]:
    def get() -> tuple[int, str, str]:
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                return resp.status, resp.headers["Content-Type"], resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers["Content-Type"], exc.read().decode()

    return await asyncio.to_thread(get)


async def test_two_clients_see_each_other_move_chat_and_leave(
    server: WealthroomServer, mint: Mint
) -> None:
    url = server.room_url("demo")
    ann = await RoomClient.join(url, mint(role=Role.CUSTOMER), "Ann")
    bo = await RoomClient.join(url, mint(role=Role.GUEST), "Bo")
    await ann.wait_for(lambda c: c.replica.by_member(bo.member) is not None)
    await bo.wait_for(lambda c: c.replica.by_member(ann.member) is not None)
    assert ann.has_joined(bo.member)

    # Moves arrive, in order (a peer may see a tick's latest pose only, never an older one).
    seen: list[int] = []

    def saw(x_mm: int) -> bool:
        pose = bo.replica.pose_of(ann.member)
        x = pose.head.pos[0] if pose else None
        if x is not None and (not seen or seen[-1] != x):
            seen.append(x)
        return x == x_mm

    for step in range(1, 6):
        await ann.pose((step / 10, 1.2, 1.1), POSE_Q)  # leaning in the customer's seat
        target = step * 100
        await bo.wait_for(lambda _c: saw(target))  # noqa: B023 (awaited in this iteration)
    assert seen == sorted(seen)
    assert seen[-1] == 500

    # Chat from both sides: everyone sees one order (the room's), each sender's lines in the
    # order they were sent, with contiguous sequence numbers.
    for i in range(10):
        await (ann if i % 2 == 0 else bo).chat(f"line {i}")
    for client in (ann, bo):
        await client.wait_for(lambda c: len(c.chats) == 10)
    assert [c.text for c in ann.chats] == [c.text for c in bo.chats]
    for sender, parity in ((ann, 0), (bo, 1)):
        mine = [c.text for c in bo.chats if c.by == sender.member]
        assert mine == [f"line {i}" for i in range(parity, 10, 2)]
    seqs = [r.seq for r in bo.reliable]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    assert [c.seq for c in ann.chats] == [c.seq for c in bo.chats]

    await bo.leave()
    assert bo.close_code == CloseCode.NORMAL
    await ann.wait_for(
        lambda c: any(isinstance(r, m.Left) and r.member == bo.member for r in c.reliable)
    )
    await ann.wait_for(lambda c: c.replica.by_member(bo.member) is None)
    assert ann.replica.digest() == server.rooms["demo"].room.scene.digest()
    await ann.close()


async def test_health_metrics_and_landing_page(server: WealthroomServer, mint: Mint) -> None:
    status, ctype, body = await _http(f"{server.base_url}/healthz")
    assert status == 200
    assert ctype == "application/json"
    assert json.loads(body) == {
        "status": "ok",
        "degraded": [],
        "node": "local",
        "mode": "embedded",
        "rooms": 1,
        "connections": 0,
        "content": default_expertise().version,
    }
    client = await RoomClient.join(server.room_url("demo"), mint(), "Ann")
    status, _, body = await _http(f"{server.base_url}/healthz")
    assert json.loads(body)["connections"] == 1
    status, _, body = await _http(f"{server.base_url}/metrics")
    assert status == 200
    assert "wealthroom_connections 1.0" in body
    assert "process_cpu_seconds_total" in body  # the process's own figures too
    status, ctype, body = await _http(f"{server.base_url}/")
    assert (status, ctype.split(";")[0]) == (200, "text/html")
    assert "1 room open" in body
    assert "/ws/demo" not in body  # room names are not told to whoever asks
    status, _, _ = await _http(f"{server.base_url}/nope")
    assert status == 404
    await client.close()


# --- handshake and tokens ----------------------------------------------------------------------


async def _refused(url: str, token: str | None) -> int | None:
    client = await RoomClient.open(url, token)
    await client.wait_for(lambda c: c.closed)
    return client.close_code


async def test_expired_token_is_closed_4401(server: WealthroomServer) -> None:
    token = server.tokens.mint(room="demo", role=Role.CUSTOMER, subject="u", ttl_s=60, now=0)
    assert await _refused(server.room_url("demo"), token) == CloseCode.TOKEN_EXPIRED


async def test_forged_token_is_closed_4405(server: WealthroomServer) -> None:
    forger = TokenAuthority(b"not-the-server-key-not-the-server-key!!")
    token = forger.mint(room="demo", role=Role.ADVISOR, subject="mallory")
    assert await _refused(server.room_url("demo"), token) == CloseCode.TOKEN_INVALID


@pytest.mark.parametrize("token", [None, "", "not.a.jwt", "a" * 500])
async def test_missing_or_garbage_token_is_closed_4405(
    server: WealthroomServer, token: str | None
) -> None:
    assert await _refused(server.room_url("demo"), token) == CloseCode.TOKEN_INVALID


async def test_token_for_another_room_is_closed_4406(server: WealthroomServer, mint: Mint) -> None:
    assert await _refused(server.room_url("demo"), mint(room="other")) == CloseCode.ROOM_NOT_ALLOWED
    assert "other" not in server.rooms


async def test_token_in_query_string_is_accepted_for_browsers(
    server: WealthroomServer, mint: Mint
) -> None:
    url = f"{server.room_url('demo')}?token={mint()}"
    client = await RoomClient.open(url, None)
    await client.send(m.Hello(1))
    await client.wait_for(lambda c: c.welcome is not None)
    assert client.welcome is not None
    assert (client.welcome.room, client.welcome.role) == ("demo", "customer")
    await client.close()


async def test_foreign_origin_is_refused_before_upgrade(
    server: WealthroomServer, mint: Mint
) -> None:
    with pytest.raises(InvalidStatus) as info:
        await RoomClient.open(server.room_url("demo"), mint(), origin="https://evil.example")
    assert info.value.response.status_code == 403
    own = await RoomClient.open(server.room_url("demo"), mint(), origin=server.base_url)
    await own.send(m.Hello(1))
    await own.wait_for(lambda c: c.welcome is not None)
    await own.close()


async def test_missing_subprotocol_is_refused_400(server: WealthroomServer, mint: Mint) -> None:
    with pytest.raises(InvalidStatus) as info:
        await connect(
            server.room_url("demo"), additional_headers={"Authorization": f"Bearer {mint()}"}
        )
    assert info.value.response.status_code == 400


async def test_connection_cap_per_user(server: WealthroomServer, mint: Mint) -> None:
    token = mint(subject="same-person")
    clients = [await RoomClient.join(server.room_url("demo"), token, f"tab {i}") for i in range(4)]
    assert await _refused(server.room_url("demo"), token) == CloseCode.TOO_MANY_CONNECTIONS
    await clients[0].close()
    again = await RoomClient.join(server.room_url("demo"), token, "tab again")
    for c in [*clients[1:], again]:
        await c.close()


# --- bad input over the wire: an error for the sender, nothing for anyone else -------------------

BAD_FRAMES: list[tuple[str, bytes | str, ErrorCode]] = [
    ("garbage", b"\x00\xc1\xff garbage", ErrorCode.MALFORMED),
    ("text frame", '{"t":"chat","text":"hi"}', ErrorCode.TEXT_FRAME),
    ("truncated msgpack", pack({"t": "chat", "text": "hello"})[:-2], ErrorCode.MALFORMED),
    (
        "oversize frame",
        pack({"t": "chat", "text": "x" * (MAX_FRAME_BYTES + 10)}),
        ErrorCode.FRAME_TOO_LARGE,
    ),
    ("unknown type", pack({"t": "teleport", "to": [0, 0, 0]}), ErrorCode.UNKNOWN_TYPE),
    ("unknown field", pack({"t": "chat", "text": "hi", "admin": True}), ErrorCode.UNKNOWN_FIELD),
    ("wrong field type", pack({"t": "pose", "p": "here", "q": [0, 0, 0, 1]}), ErrorCode.WRONG_TYPE),
    (
        "NaN pose",
        pack({"t": "pose", "p": [float("nan"), 0.0, 0.0], "q": [0, 0, 0, 1]}),
        ErrorCode.BAD_VALUE,
    ),
    (
        "infinite pose",
        pack({"t": "pose", "p": [0.0, float("inf"), 0.0], "q": [0, 0, 0, 1]}),
        ErrorCode.BAD_VALUE,
    ),
    ("chat over the limit", pack({"t": "chat", "text": "长" * 1001}), ErrorCode.TOO_LONG),
    ("advisor-only action", pack({"t": "remove", "member": 1}), ErrorCode.FORBIDDEN),
    # The guest sits at (-1, 0, 1): anything it sends about another avatar or another place
    # is refused.
    (
        "moving another's avatar",
        pack({"t": "pose", "member": 1, "p": [0, 1.2, 1.1], "q": [0, 0, 0, 1]}),
        ErrorCode.UNKNOWN_FIELD,
    ),
    (
        "hand out of reach",
        pack(
            {
                "t": "pose",
                "p": [-1.0, 1.2, 1.0],
                "q": [0, 0, 0, 1],
                "hm": 1,
                "lh": [2.0, 1.0, 1.0, 0, 0, 0, 1],
                "rh": [-1.0, 1.0, 1.0, 0, 0, 0, 1],
            }
        ),
        ErrorCode.BAD_VALUE,
    ),
    ("the customer's seat", pack({"t": "sit", "seat": "seat-customer"}), ErrorCode.FORBIDDEN),
    (
        "appearance with unknown field",
        pack({"t": "look", "look": {"crown": "#ffd700"}}),
        ErrorCode.UNKNOWN_FIELD,
    ),
    (
        "appearance with oversized string",
        pack({"t": "look", "look": {"hair": "x" * 10_000}}),
        ErrorCode.BAD_VALUE,
    ),
]


@pytest.mark.parametrize(("label", "frame", "code"), BAD_FRAMES, ids=[b[0] for b in BAD_FRAMES])
async def test_bad_frame_is_answered_and_others_are_unaffected(
    server: WealthroomServer, mint: Mint, label: str, frame: bytes | str, code: ErrorCode
) -> None:
    url = server.room_url("demo")
    ann = await RoomClient.join(url, mint(role=Role.CUSTOMER), "Ann")
    guest = await RoomClient.join(url, mint(role=Role.GUEST), "Mallory")
    await guest.send_raw(frame)
    await guest.wait_for(lambda c: bool(c.errors))
    assert [e.code for e in guest.errors] == [code]
    assert not guest.closed
    # The room carries on for everyone, the offender included.
    await ann.chat("still here")
    for client in (ann, guest):
        await client.wait_for(lambda c: any(x.text == "still here" for x in c.chats))
    assert not ann.errors
    await ann.close()
    await guest.close()


async def test_teleport_is_refused_and_the_avatar_stays(
    server: WealthroomServer, mint: Mint
) -> None:
    url = server.room_url("demo")
    ann = await RoomClient.join(url, mint(role=Role.CUSTOMER), "Ann")
    await ann.send(m.Stand())
    await ann.pose((4.0, 1.6, -3.0), POSE_Q)  # across the room in one step
    await ann.wait_for(lambda c: bool(c.errors))
    assert [e.code for e in ann.errors] == [ErrorCode.MOVED_TOO_FAST]
    await ann.chat("still here")  # the room has handled both frames once this comes back
    await ann.wait_for(lambda c: bool(c.chats) and c.chats[-1].text == "still here")
    pose = server.rooms["demo"].room.scene.entities[1].pose
    assert pose.head.pos == (0, 1600, 1100)  # where the customer stood up, not (4, -3)
    assert not ann.closed
    await ann.close()


async def test_message_before_join_is_not_joined(server: WealthroomServer, mint: Mint) -> None:
    client = await RoomClient.open(server.room_url("demo"), mint())
    await client.chat("too early")
    await client.wait_for(lambda c: bool(c.errors))
    assert client.errors[0].code == ErrorCode.NOT_JOINED
    assert client.errors[0].ref == "chat"
    await client.close()


async def test_frame_beyond_the_hard_limit_is_closed_1009(
    server: WealthroomServer, mint: Mint
) -> None:
    ann = await RoomClient.join(server.room_url("demo"), mint(), "Ann")
    guest = await RoomClient.join(server.room_url("demo"), mint(role=Role.GUEST), "Big")
    await guest.send_raw(b"\x00" * (server.settings.hard_frame_bytes + 1))
    await guest.wait_for(lambda c: c.closed)
    assert guest.close_code == CloseCode.MESSAGE_TOO_BIG
    await ann.wait_for(
        lambda c: any(isinstance(r, m.Left) and r.member == guest.member for r in c.reliable)
    )
    await ann.close()


async def test_flood_at_ten_times_the_rate_is_limited_then_closed(mint: Mint) -> None:
    settings = make_settings(rate=30.0, burst=30.0)
    async with WealthroomServer(settings, secret=SECRET) as srv:
        url = srv.room_url("demo")
        ann = await RoomClient.join(
            url, srv.tokens.mint(room="demo", role=Role.CUSTOMER, subject="a"), "Ann"
        )
        flooder = await RoomClient.join(
            url, srv.tokens.mint(room="demo", role=Role.GUEST, subject="f"), "F"
        )
        pose = m.Pose((-1.0, 1.2, 1.0), POSE_Q)  # where the guest sits: only the rate is wrong
        # 300 messages a second against 30 allowed, until the server hangs up (at most 10 s).
        for _ in range(3000):
            if flooder.closed:
                break
            try:
                await flooder.send(pose)
            except ConnectionClosed:
                break  # the close raced the check above
            await asyncio.sleep(1 / 300)  # pacing the flood, not synchronising the test
        await flooder.wait_for(lambda c: c.closed)
        assert flooder.close_code == CloseCode.RATE_LIMITED
        rate_errors = [e for e in flooder.errors if e.code == ErrorCode.RATE_LIMITED]
        assert rate_errors
        assert rate_errors[-1].fatal is True
        await ann.chat("unaffected")
        await ann.wait_for(lambda c: any(x.text == "unaffected" for x in c.chats))
        assert not ann.errors
        await ann.close()


async def test_removed_guest_is_closed_4403_and_everyone_is_told(
    server: WealthroomServer, mint: Mint
) -> None:
    url = server.room_url("demo")
    adv = await RoomClient.join(url, mint(role=Role.ADVISOR), "Ada")
    guest = await RoomClient.join(url, mint(role=Role.GUEST), "Gus")
    await adv.send(m.Remove(guest.member))
    await guest.wait_for(lambda c: c.closed)
    assert guest.close_code == CloseCode.REMOVED
    await adv.wait_for(
        lambda c: any(isinstance(r, m.Left) and r.reason == "removed" for r in c.reliable)
    )
    await adv.close()


# --- slow members, room lifecycle ---------------------------------------------------------------


def has_chats(n: int) -> Callable[[RoomClient], bool]:
    return lambda c: len(c.chats) >= n


async def _read_until_closed(ws: ClientConnection) -> None:
    while True:
        await ws.recv()


async def _join_without_reading(
    srv: WealthroomServer, token: str, peer: RoomClient
) -> tuple[ClientConnection, int]:
    """A member "Slow" on a tiny receive window that stops reading once it has joined: the
    WebSocket layer stops taking data from the socket once one frame waits, and the window
    fills. Returns its connection and member id, as ``peer`` saw it join."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: small window
    sock.connect(("127.0.0.1", srv.port))
    slow = await connect(
        srv.room_url("demo"),
        sock=sock,
        subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]
        additional_headers={"Authorization": f"Bearer {token}"},
        compression=None,
        max_queue=1,
    )
    await slow.send(encode(m.Hello(1)))
    await slow.send(encode(m.Join("Slow")))
    await peer.wait_for(
        lambda c: any(isinstance(r, m.Joined) and r.name == "Slow" for r in c.reliable)
    )
    slow_id = next(r.member for r in peer.reliable if isinstance(r, m.Joined) and r.name == "Slow")
    return slow, slow_id


def _ticked_past(tick: int, chats: int) -> Callable[[RoomClient], bool]:
    return lambda c: c.replica.tick > tick and len(c.chats) >= chats


async def test_a_member_that_falls_behind_and_catches_up_gets_everything_in_order() -> None:
    """Frames written at once and frames the writer queued while the member was behind must
    interleave in the room's order: every chat exactly once and in order, and state frames
    only ever newer (an unsent one replaced by the next, never sent after it)."""
    settings = make_settings(chat_rate=100_000.0, rate=100_000.0, burst=100_000.0)
    async with WealthroomServer(settings, secret=SECRET) as srv:
        mint = minter(srv)
        fast = await RoomClient.join(srv.room_url("demo"), mint(role=Role.GUEST), "Fast")
        slow, slow_id = await _join_without_reading(srv, mint(role=Role.GUEST), fast)
        slow_box = srv.rooms["demo"].outbox_of(slow_id)
        assert slow_box is not None

        def superseded() -> float:
            value = srv.metrics.registry.get_sample_value("wealthroom_state_superseded_total")
            return value or 0.0

        before = superseded()

        # Chat until the slow member's frames queue behind its full socket, turning all along
        # so that state frames are due every tick too.
        await fast.wait_for(lambda c: c.replica.pose_of(c.member) is not None)
        start = fast.replica.pose_of(fast.member)
        assert start is not None
        here = mm_to_pos(start.head.pos)
        text = "x" * 990
        sent = 0
        while slow_box.backlog < 20:
            await fast.pose(here, yaw_quat(0.01 * sent))
            for _ in range(50):
                await fast.chat(f"{sent} {text}")
                sent += 1
            await fast.wait_for(has_chats(sent))
        for _ in range(10):  # ticks with the member behind: state frames replace each other
            tick = fast.replica.tick
            await fast.pose(here, yaw_quat(0.01 * tick))
            await fast.chat(f"{sent} {text}")
            sent += 1
            await fast.wait_for(_ticked_past(tick, sent))
        assert superseded() > before

        async def keep_chatting(first: int, count: int) -> None:
            # While the slow member catches up, so that new frames arrive just as the writer
            # is emptying its queue: they must go behind it, not ahead.
            for i in range(first, first + count):
                await fast.chat(f"{i} {text}")
                if i % 10 == 0:
                    await fast.wait_for(has_chats(i + 1))

        more = asyncio.create_task(keep_chatting(sent, 300))
        sent += 300
        chats: list[int] = []
        ticks: list[int] = []
        async with asyncio.timeout(20):
            while len(chats) < sent:
                message = decode(await slow.recv(), Direction.SERVER)
                if isinstance(message, m.ChatPosted):
                    chats.append(int(message.text.split()[0]))
                elif isinstance(message, m.Snapshot | m.Delta):
                    ticks.append(message.tick)
        await more
        assert chats == list(range(sent))
        assert ticks == sorted(set(ticks))
        assert not slow_box.closing
        slow.transport.abort()  # its reader is gone: a close handshake would wait it out


async def test_member_that_stops_reading_is_cut_off_without_slowing_others() -> None:
    settings = make_settings(
        max_reliable_backlog=64, chat_rate=100_000.0, rate=100_000.0, burst=100_000.0
    )
    async with WealthroomServer(settings, secret=SECRET) as srv:
        mint = minter(srv)
        fast = await RoomClient.join(srv.room_url("demo"), mint(role=Role.GUEST), "Fast")
        slow, slow_id = await _join_without_reading(srv, mint(role=Role.GUEST), fast)
        host = srv.rooms["demo"]
        slow_box = host.outbox_of(slow_id)
        assert slow_box is not None

        text = "x" * 990
        sent = 0
        while not slow_box.closing and sent < 20_000:
            for _ in range(10):
                await fast.chat(f"{sent} {text}")
                sent += 1
            # The healthy member keeps up: its own backlog never nears the bound.
            await fast.wait_for(has_chats(sent))
        assert slow_box.closing
        # The slow member reads again: what the kernel held, then the close frame.
        with pytest.raises(ConnectionClosed):
            await _read_until_closed(slow)
        assert slow.close_code == CloseCode.SLOW_CONSUMER
        await fast.wait_for(
            lambda c: any(isinstance(r, m.Left) and r.member == slow_id for r in c.reliable)
        )
        await fast.chat("after")
        await fast.wait_for(lambda c: bool(c.chats) and c.chats[-1].text == "after")
        assert [c.text.split()[0] for c in fast.chats[:-1]] == [str(i) for i in range(sent)]
        assert not fast.errors
        await fast.close()


async def test_room_made_on_demand_is_disposed_when_empty(mint: Mint) -> None:
    async with WealthroomServer(make_settings(empty_room_ttl_s=0.0), secret=SECRET) as srv:
        token = srv.tokens.mint(room="family-chen", role=Role.CUSTOMER, subject="chen")
        client = await RoomClient.join(srv.room_url("family-chen"), token, "Chen")
        host = srv.rooms["family-chen"]
        await client.leave()
        await asyncio.wait_for(host.disposed.wait(), 5)
        assert "family-chen" not in srv.rooms
        assert "demo" in srv.rooms  # the pinned demo room stays
        again = await RoomClient.join(srv.room_url("family-chen"), token, "Chen")
        assert srv.rooms["family-chen"] is not host
        await again.close()


async def test_stopping_the_server_closes_members_1001(mint: Mint) -> None:
    srv = WealthroomServer(make_settings(), secret=SECRET)
    await srv.start()
    client = await RoomClient.join(
        srv.room_url("demo"), srv.tokens.mint(room="demo", role=Role.GUEST, subject="x"), "X"
    )
    await srv.stop()
    await client.wait_for(lambda c: c.closed)
    assert client.close_code == CloseCode.GOING_AWAY


async def test_join_refused_raises_a_client_error(server: WealthroomServer) -> None:
    with pytest.raises(ClientError):
        await RoomClient.join(server.room_url("demo"), "forged", "X")


async def test_no_frame_of_one_room_reaches_a_member_of_another(
    server: WealthroomServer, mint: Mint
) -> None:
    rooms = ("family-li", "family-ng")
    clients = {
        room: [
            await RoomClient.join(server.room_url(room), mint(room=room, role=role), f"{room}-{n}")
            for n, role in enumerate((Role.CUSTOMER, Role.GUEST))
        ]
        for room in rooms
    }
    for room, (owner, guest) in clients.items():
        await owner.chat(f"private to {room}")
        await guest.pose((-1.1, 1.2, 1.0), POSE_Q)
    for members in clients.values():
        for client in members:
            await client.wait_for(has_chats(1))
            await client.wait_for(lambda c: len(c.replica.entities) == 2)
    for room, members in clients.items():
        # Member ids restart in every room, so names (room-specific here) tell them apart.
        own = {f"{room}-0", f"{room}-1"}
        for client in members:
            assert {x.text for x in client.chats} == {f"private to {room}"}
            assert {e.n for e in client.replica.entities.values()} == own
            assert {r.name for r in client.reliable if isinstance(r, m.Joined)} <= own
            await client.close()


# --- smaller edges: methods, token lifetimes, private directories --------------------------


async def test_methods_other_than_get_and_head_get_405(server: WealthroomServer) -> None:
    for method in ("POST", "PUT", "DELETE", "OPTIONS"):
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(f"{method} / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        writer.close()
        assert head.startswith(b"HTTP/1.1 405"), (method, head)
        assert b"\r\nAllow: GET, HEAD\r\n" in head


async def test_a_token_living_longer_than_the_cap_is_refused(server: WealthroomServer) -> None:
    now = int(time.time())
    claims = {
        "iss": "wealthroom",
        "aud": "wealthroom.room",
        "sub": "u",
        "room": "demo",
        "role": "customer",
        "iat": now,
        "exp": now + 2 * 3600,  # a valid signature, but twice the room tokens' cap
    }
    token = jwt.encode(claims, SECRET, algorithm="HS256")
    assert await _refused(server.room_url("demo"), token) == CloseCode.TOKEN_INVALID
    with pytest.raises(ValueError, match="room tokens live between 1 and 3600 seconds"):
        server.tokens.mint(room="demo", role=Role.CUSTOMER, subject="u", ttl_s=7200)
    with pytest.raises(ValueError, match="console tokens live between 1 and 43200 seconds"):
        server.tokens.mint_console(
            subject="a", name="A", skills=[], languages=["en"], ttl_s=13 * 3600
        )


def test_settings_refuse_to_mint_tokens_the_server_would_refuse() -> None:
    with pytest.raises(ValueError, match="over max_room_token_s"):
        make_settings(token_ttl_s=7200)


def test_private_directories_are_owner_only(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        made = private_dir(tmp_path / "var" / "recordings")
    finally:
        os.umask(old)
    assert (tmp_path / "var").stat().st_mode & 0o777 == 0o700
    assert made.stat().st_mode & 0o777 == 0o700
    loose = tmp_path / "loose"
    loose.mkdir(mode=0o755)
    os.chmod(loose, 0o755)
    private_dir(loose)
    assert loose.stat().st_mode & 0o777 == 0o700


def _gen2_pause(body: str) -> float:
    (line,) = [
        x
        for x in body.splitlines()
        if x.startswith('wealthroom_gc_pause_seconds_total{generation="2"}')
    ]
    return float(line.split()[-1])


async def test_metrics_count_the_time_spent_in_the_garbage_collector(
    server: WealthroomServer,
) -> None:
    _, _, body = await _http(f"{server.base_url}/metrics")
    before = _gen2_pause(body)
    assert 'python_gc_collections_total{generation="2"}' in body
    gc.collect()  # a full collection, which stops the loop
    _, _, body = await _http(f"{server.base_url}/metrics")
    assert _gen2_pause(body) > before
