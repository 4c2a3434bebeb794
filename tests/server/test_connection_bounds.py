"""Hard bounds on one connection that no peer can talk its way past (server/connection.py).

Each attack is played by simulator/rogue.py's client, which does what no well-behaved library
would: reads nothing, sends pings without reading, splits a message into endless empty
fragments; and a raw socket sends a megabyte of headers.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from websockets.frames import Frame, Opcode

from rooms.roles import Role
from server.app import WealthroomServer
from simulator.rogue import RogueClient
from tests.conftest import BOTH_LOOPS, SECRET, make_settings

pytestmark = pytest.mark.asyncio(loop_factories=BOTH_LOOPS)

UNSENT_CAP = 64 * 1024


@asynccontextmanager
async def bounded_server(**overrides: object) -> AsyncIterator[WealthroomServer]:
    settings = make_settings(max_unsent_bytes=UNSENT_CAP, **overrides)
    async with WealthroomServer(settings, secret=SECRET) as srv:
        yield srv


async def rogue(srv: WealthroomServer, token: str) -> RogueClient:
    return await RogueClient.open("127.0.0.1", srv.port, token)


async def flood_pings(client: RogueClient, max_bytes: int) -> int:
    """Pings until the server cuts the connection; the bytes sent when it did."""
    sent, cut = await client.flood(client.pings(), max_bytes)
    assert cut, f"{sent} bytes of pings sent and the connection still open"
    return sent


def kernel_buffers() -> int:
    """The most loopback's socket buffers can hold between the server and a stalled reader."""
    with open("/proc/sys/net/ipv4/tcp_wmem") as fh:
        wmem = int(fh.read().split()[2])
    return wmem + 64 * 1024


async def test_a_member_that_pings_and_never_reads_is_cut_off() -> None:
    async with bounded_server() as srv:
        token = srv.tokens.mint(room="demo", role=Role.GUEST, subject="flooder")
        client = await rogue(srv, token)
        try:
            # Without a bound, every pong stays in the server's memory until the peer goes.
            sent = await flood_pings(client, 40 * (kernel_buffers() + UNSENT_CAP))
        finally:
            client.close()
        assert sent > 0
        assert _bound_count(srv, "unsent") == 1


async def test_a_refused_handshake_that_pings_and_never_reads_holds_nothing() -> None:
    async with bounded_server() as srv:
        client = await rogue(srv, "not-a-token")
        try:
            # Closing, the server answers no ping; were it to, the bound would cut it.
            await client.flood(client.pings(), 2 * (kernel_buffers() + UNSENT_CAP))
            assert srv._server is not None
            unsent = [c.transport.get_write_buffer_size() for c in srv._server.all_connections]
        finally:
            client.close()
        assert unsent, "the refused connection was already gone: nothing was tested"
        assert max(unsent) <= UNSENT_CAP


async def test_endless_empty_fragments_close_the_connection() -> None:
    async with bounded_server(max_fragments=32) as srv:
        token = srv.tokens.mint(room="demo", role=Role.GUEST, subject="fragments")
        client = await rogue(srv, token)
        try:
            client.writer.write(client.empty_fragments(100, first=True))
            await client.writer.drain()
            closed = await client.read_close()
            # And it reads no more: a peer that goes on is not read at wire speed until the
            # close timeout, it meets a closed socket.
            _, cut = await client.flood(client.empty_fragments(1000), max_bytes=256 * 1024**2)
        finally:
            client.close()
        assert closed == 1009
        assert cut
        assert _bound_count(srv, "fragments") == 1


async def test_a_message_left_open_too_long_closes_the_connection() -> None:
    async with bounded_server(max_message_open_s=0.05) as srv:
        token = srv.tokens.mint(room="demo", role=Role.GUEST, subject="slow-message")
        client = await rogue(srv, token)
        try:
            client.writer.write(client.frames(Frame(Opcode.BINARY, b"\x81", fin=False)))
            await client.writer.drain()
            # The bound is checked when the next fragment comes: wait until it is past.
            await asyncio.sleep(0.1)  # the bound itself is a time: this is what is tested
            client.writer.write(client.frames(Frame(Opcode.CONT, b"", fin=False)))
            await client.writer.drain()
            closed = await client.read_close()
        finally:
            client.close()
        assert closed == 1008


async def test_a_megabyte_of_headers_is_refused_before_the_handshake() -> None:
    async with bounded_server() as srv:
        reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
        head = [
            "GET /ws/demo HTTP/1.1",
            f"Host: 127.0.0.1:{srv.port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
            "Sec-WebSocket-Version: 13",
        ]
        head += [f"X-Pad-{i}: {'a' * 8000}" for i in range(120)]
        status = b""
        try:
            for line in head:
                writer.write(line.encode() + b"\r\n")
                await writer.drain()
            writer.write(b"\r\n")
            await writer.drain()
            status = await reader.read(64)
        except (ConnectionResetError, BrokenPipeError):
            pass  # cut while the rest was still being sent: the answer may be lost with it
        finally:
            writer.transport.abort()
        # Whether or not the 431 outran the reset, the upgrade never happened.
        assert status == b"" or status.startswith(b"HTTP/1.1 431"), status
        assert _bound_count(srv, "request") == 1


async def test_an_ordinary_handshake_is_within_the_bound() -> None:
    async with bounded_server() as srv:
        token = srv.tokens.mint(room="demo", role=Role.GUEST, subject="ordinary")
        client = await rogue(srv, token)
        client.close()
        assert _bound_count(srv, "request") == 0


def _bound_count(srv: WealthroomServer, bound: str) -> int:
    value = srv.metrics.connection_bounds.labels(bound=bound)._value.get()
    return int(value)
