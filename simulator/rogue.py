"""A client that misbehaves below the room protocol, for the abuse tests and benchmark.

Built on websockets' sans-I/O client protocol, so that it can do what no well-behaved library
would: read nothing after the handshake, send pings without reading the pongs, split a
message into endless empty fragments.
"""

from __future__ import annotations

import asyncio
import socket
import time

from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.typing import Subprotocol
from websockets.uri import parse_uri

from protocol.limits import SUBPROTOCOL

PING = b"p" * 125  # the largest control frame: its pong is 127 bytes


class RogueClient:
    """Reads the handshake response, then (unless asked) never again."""

    protocol: ClientProtocol

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, host: str, port: int, token: str, room: str = "demo") -> RogueClient:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # The smallest receive window: what the server writes piles up on its side.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (host, port))
        # A 1 KiB limit makes the stream stop reading once 2 KiB wait unread.
        reader, writer = await asyncio.open_connection(sock=sock, limit=1024)
        client = cls(reader, writer)
        protocol = ClientProtocol(
            parse_uri(f"ws://{host}:{port}/ws/{room}"), subprotocols=[Subprotocol(SUBPROTOCOL)]
        )
        request = protocol.connect()
        request.headers["Authorization"] = f"Bearer {token}"
        protocol.send_request(request)
        writer.write(b"".join(protocol.data_to_send()))
        while not any(isinstance(e, Response) for e in protocol.events_received()):
            data = await reader.read(1024)
            if not data:
                raise ConnectionError("the server closed before answering the handshake")
            protocol.receive_data(data)
        client.protocol = protocol
        return client

    def frames(self, *frames: Frame) -> bytes:
        for frame in frames:
            self.protocol.send_frame(frame)
        return b"".join(self.protocol.data_to_send())

    async def flood(self, batch: bytes, max_bytes: int, max_s: float = 60.0) -> tuple[int, bool]:
        """``batch`` again and again until the server cuts the connection, ``max_bytes`` went
        out or ``max_s`` passed; the bytes sent, and whether the server cut it."""
        sent = 0
        deadline = time.monotonic() + max_s
        try:
            while sent < max_bytes and time.monotonic() < deadline:
                self.writer.write(batch)
                await self.writer.drain()
                sent += len(batch)
        except (ConnectionResetError, BrokenPipeError):
            return sent, True
        return sent, False

    def pings(self, count: int = 1000) -> bytes:
        return self.frames(*[Frame(Opcode.PING, PING)] * count)

    def empty_fragments(self, count: int = 1000, *, first: bool = False) -> bytes:
        """Continuation frames with no payload; ``first``: opened by a binary frame."""
        frames = [Frame(Opcode.CONT, b"", fin=False)] * count
        if first:
            frames = [Frame(Opcode.BINARY, b"\x81", fin=False), *frames[1:]]
        return self.frames(*frames)

    async def read_close(self, limit_s: float = 5.0) -> int:
        """The close code the server sent, reading past anything before it."""
        async with asyncio.timeout(limit_s):
            while True:
                data = await self.reader.read(4096)
                if not data:
                    raise ConnectionError("closed without a close frame")
                self.protocol.receive_data(data)
                for event in self.protocol.events_received():
                    if isinstance(event, Frame) and event.opcode is Opcode.CLOSE:
                        return int.from_bytes(event.data[:2], "big")

    def close(self) -> None:
        self.writer.transport.abort()
