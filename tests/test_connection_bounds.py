"""Hard bounds on one connection that no peer can talk its way past (server/connection.py).

Each attack is played by a raw client built on websockets' sans-I/O client protocol, so that
it can do what no well-behaved library would: answer nothing, send pings without reading,
split a message into endless empty fragments, send a megabyte of headers.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.typing import Subprotocol
from websockets.uri import parse_uri

from protocol.limits import SUBPROTOCOL
from rooms.roles import Role
from server.app import WealthroomServer
from tests.conftest import BOTH_LOOPS, SECRET, make_settings

pytestmark = pytest.mark.asyncio(loop_factories=BOTH_LOOPS)

UNSENT_CAP = 64 * 1024
PING = b"p" * 125  # the largest control frame: its pong is 127 bytes


@asynccontextmanager
async def bounded_server(**overrides: object) -> AsyncIterator[WealthroomServer]:
    settings = make_settings(max_unsent_bytes=UNSENT_CAP, **overrides)
    async with WealthroomServer(settings, secret=SECRET) as srv:
        yield srv


class RawClient:
    """A WebSocket client that reads only the handshake response, then never again."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, srv: WealthroomServer, token: str, room: str = "demo") -> RawClient:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # The smallest receive window: what the server writes piles up on its side.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", srv.port))
        # A 1 KiB limit makes the stream stop reading once 2 KiB wait unread.
        reader, writer = await asyncio.open_connection(sock=sock, limit=1024)
        client = cls(reader, writer)
        protocol = ClientProtocol(
            parse_uri(f"ws://127.0.0.1:{srv.port}/ws/{room}"),
            subprotocols=[Subprotocol(SUBPROTOCOL)],
        )
        request = protocol.connect()
        request.headers["Authorization"] = f"Bearer {token}"
        protocol.send_request(request)
        writer.write(b"".join(protocol.data_to_send()))
        while not any(isinstance(e, Response) for e in protocol.events_received()):
            data = await reader.read(1024)
            assert data, "the server closed before answering the handshake"
            protocol.receive_data(data)
        client.protocol = protocol
        return client

    protocol: ClientProtocol

    def frames(self, *frames: Frame) -> bytes:
        for frame in frames:
            self.protocol.send_frame(frame)
        return b"".join(self.protocol.data_to_send())

    async def flood_pings(self, max_bytes: int) -> int:
        """Pings until the server cuts the connection; the bytes sent when it did."""
        batch = self.frames(*[Frame(Opcode.PING, PING)] * 1000)
        sent = 0
        try:
            while sent < max_bytes:
                self.writer.write(batch)
                await self.writer.drain()
                sent += len(batch)
        except (ConnectionResetError, BrokenPipeError):
            return sent
        raise AssertionError(f"{sent} bytes of pings sent and the connection still open")

    def close(self) -> None:
        self.writer.transport.abort()


def kernel_buffers() -> int:
    """The most loopback's socket buffers can hold between the server and a stalled reader."""
    with open("/proc/sys/net/ipv4/tcp_wmem") as fh:
        wmem = int(fh.read().split()[2])
    return wmem + 64 * 1024


async def test_a_member_that_pings_and_never_reads_is_cut_off() -> None:
    async with bounded_server() as srv:
        token = srv.tokens.mint(room="demo", role=Role.GUEST, subject="flooder")
        client = await RawClient.open(srv, token)
        try:
            # Without a bound, every pong stays in the server's memory until the peer goes.
            sent = await client.flood_pings(max_bytes=40 * (kernel_buffers() + UNSENT_CAP))
        finally:
            client.close()
        assert sent > 0
        assert _bound_count(srv, "unsent") == 1


async def test_a_refused_handshake_that_pings_and_never_reads_holds_nothing() -> None:
    async with bounded_server() as srv:
        client = await RawClient.open(srv, "not-a-token")
        try:
            # Closing, the server answers no ping; were it to, the bound would cut it.
            with contextlib.suppress(AssertionError):
                await client.flood_pings(max_bytes=2 * (kernel_buffers() + UNSENT_CAP))
            assert srv._server is not None
            unsent = [c.transport.get_write_buffer_size() for c in srv._server.all_connections]
        finally:
            client.close()
        assert unsent, "the refused connection was already gone: nothing was tested"
        assert max(unsent) <= UNSENT_CAP


async def test_endless_empty_fragments_close_the_connection() -> None:
    async with bounded_server(max_fragments=32) as srv:
        token = srv.tokens.mint(room="demo", role=Role.GUEST, subject="fragments")
        client = await RawClient.open(srv, token)
        try:
            start = Frame(Opcode.BINARY, b"\x81", fin=False)
            more = [Frame(Opcode.CONT, b"", fin=False)] * 100
            client.writer.write(client.frames(start, *more))
            await client.writer.drain()
            closed = await _read_close(client)
        finally:
            client.close()
        assert closed == 1009
        assert _bound_count(srv, "fragments") == 1


async def test_a_message_left_open_too_long_closes_the_connection() -> None:
    async with bounded_server(max_message_open_s=0.05) as srv:
        token = srv.tokens.mint(room="demo", role=Role.GUEST, subject="slow-message")
        client = await RawClient.open(srv, token)
        try:
            client.writer.write(client.frames(Frame(Opcode.BINARY, b"\x81", fin=False)))
            await client.writer.drain()
            # The bound is checked when the next fragment comes: wait until it is past.
            await asyncio.sleep(0.1)  # the bound itself is a time: this is what is tested
            client.writer.write(client.frames(Frame(Opcode.CONT, b"", fin=False)))
            await client.writer.drain()
            closed = await _read_close(client)
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
        client = await RawClient.open(srv, token)
        client.close()
        assert _bound_count(srv, "request") == 0


async def _read_close(client: RawClient) -> int:
    """The close code the server sent, reading past anything before it."""
    async with asyncio.timeout(5):
        while True:
            data = await client.reader.read(4096)
            assert data, "closed without a close frame"
            client.protocol.receive_data(data)
            for event in client.protocol.events_received():
                if isinstance(event, Frame) and event.opcode is Opcode.CLOSE:
                    return int.from_bytes(event.data[:2], "big")


def _bound_count(srv: WealthroomServer, bound: str) -> int:
    value = srv.metrics.connection_bounds.labels(bound=bound)._value.get()
    return int(value)
