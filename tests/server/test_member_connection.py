"""A member's connection hands messages to its sink in order, whole, and held until attached."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed, ConnectionClosedError
from websockets.frames import CloseCode
from websockets.http11 import Request
from websockets.protocol import Event

from server.connection import MemberConnection
from tests.conftest import BOTH_LOOPS

# The served loop is uvloop (server/event_loop.py); pausing and resuming reads must work on it.
pytestmark = pytest.mark.asyncio(loop_factories=BOTH_LOOPS)

Sink = Callable[[bytes | str], None]


class Collector:
    """A sink that says when it has seen a number of messages."""

    def __init__(self, fail_on: bytes | None = None) -> None:
        self.got: list[bytes | str] = []
        self._fail_on = fail_on
        self._changed = asyncio.Condition()

    def __call__(self, data: bytes | str) -> None:
        if data == self._fail_on:
            raise RuntimeError("a bug in the room")
        self.got.append(data)
        asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_for(self, count: int) -> list[bytes | str]:
        async with asyncio.timeout(5), self._changed:
            await self._changed.wait_for(lambda: len(self.got) >= count)
        return self.got


class WatchedConnection(MemberConnection):
    """Says when it stops reading, so a test can wait for that rather than for a while."""

    stopped_reading: asyncio.Event

    def hold_messages(self) -> None:
        self.stopped_reading = asyncio.Event()
        super().hold_messages()

    def process_event(self, event: Event) -> None:
        super().process_event(event)
        if not self.transport.is_reading():
            self.stopped_reading.set()


class Gate:
    """The server side of each connection: attached when the test says so."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self.attach = asyncio.Event()
        loop = asyncio.get_running_loop()
        self.connected: asyncio.Future[WatchedConnection] = loop.create_future()

    async def handler(self, ws: ServerConnection) -> None:
        assert isinstance(ws, WatchedConnection)
        if not self.connected.done():
            self.connected.set_result(ws)
        await self.attach.wait()
        ws.deliver_to(self.sink)
        await ws.wait_closed()


class ShortHold(WatchedConnection):
    max_held = 8


@asynccontextmanager
async def member_server(
    gate: Gate, connection: type[WatchedConnection] = WatchedConnection
) -> AsyncIterator[str]:
    def hold(conn: ServerConnection, request: Request) -> None:
        assert isinstance(conn, WatchedConnection)
        conn.hold_messages()

    async with serve(
        gate.handler, "127.0.0.1", 0, process_request=hold, create_connection=connection
    ) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}/"


async def _closed_with(client: ClientConnection) -> int:
    with pytest.raises(ConnectionClosedError) as closed:
        async with asyncio.timeout(5):
            await client.recv()
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code


async def test_messages_before_attaching_are_held_in_order_and_reading_pauses() -> None:
    sink = Collector()
    gate = Gate(sink)
    async with member_server(gate, ShortHold) as url, connect(url) as client:
        ws = await gate.connected
        for i in range(40):
            await client.send(i.to_bytes(2, "big"))
        # Eight held, then the server stops reading: the rest wait in the kernel's buffers.
        async with asyncio.timeout(5):
            await ws.stopped_reading.wait()
        assert sink.got == []
        gate.attach.set()
        assert await sink.wait_for(40) == [i.to_bytes(2, "big") for i in range(40)]
        assert ws.transport.is_reading()
        await client.send(b"after")
        assert (await sink.wait_for(41))[-1] == b"after"


async def test_a_fragmented_message_arrives_whole_and_text_arrives_as_text() -> None:
    sink = Collector()
    gate = Gate(sink)
    gate.attach.set()
    async with member_server(gate) as url, connect(url) as client:
        await client.send([b"ab", b"cd", b"ef"])
        await client.send("hello")
        await client.send(b"last")
        assert await sink.wait_for(3) == [b"abcdef", "hello", b"last"]


async def test_invalid_utf8_in_a_text_message_closes_1007() -> None:
    sink = Collector()
    gate = Gate(sink)
    gate.attach.set()
    async with member_server(gate) as url, connect(url) as client:
        # The client library refuses invalid UTF-8, so the frame is written below it.
        client.protocol.send_text(b"caf\xe9")
        client.send_data()
        assert await _closed_with(client) == CloseCode.INVALID_DATA
    assert sink.got == []


async def test_a_failing_sink_closes_only_that_member_with_1011() -> None:
    sink = Collector(fail_on=b"boom")
    gate = Gate(sink)
    gate.attach.set()
    async with member_server(gate) as url, connect(url) as bad, connect(url) as good:
        await bad.send(b"one")
        await bad.send(b"boom")
        with contextlib.suppress(ConnectionClosed):
            await bad.send(b"never")  # if it arrives at all, the room never sees it
        assert await _closed_with(bad) == CloseCode.INTERNAL_ERROR
        await good.send(b"still here")
        assert await sink.wait_for(2) == [b"one", b"still here"]


async def test_a_held_message_that_fails_stops_delivery_to_that_member() -> None:
    sink = Collector(fail_on=b"boom")
    gate = Gate(sink)
    async with member_server(gate, ShortHold) as url, connect(url) as client:
        ws = await gate.connected
        for data in (b"one", b"boom", b"held after", *[b"x"] * 8):
            await client.send(data)
        async with asyncio.timeout(5):
            await ws.stopped_reading.wait()
        gate.attach.set()
        assert await _closed_with(client) == CloseCode.INTERNAL_ERROR
    assert sink.got == [b"one"]
