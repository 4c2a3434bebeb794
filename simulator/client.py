"""A protocol client over a real WebSocket: the base of the simulator's bots and of the tests.

It keeps a :class:`scenes.Replica` of the room from snapshot/delta frames (acking what it
applies), the reliable messages in arrival order, and every error frame. Waiting is by
condition, never by sleeping: ``await client.wait_for(lambda c: ...)`` returns as soon as a
received frame makes the predicate true.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Callable
from typing import Any, Self, TypeVar

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from protocol import messages as m
from protocol.codec import decode, encode
from protocol.codes import CloseCode
from protocol.limits import PROTOCOL_VERSION, SUBPROTOCOL
from protocol.messages import Direction
from scenes.replica import Replica

T = TypeVar("T")
MAX_REDIRECTS = 3


class ClientError(Exception):
    """Root of the client's failures (a refused join, a wait that timed out)."""


class RoomClient:
    def __init__(self, ws: ClientConnection, *, auto_ack: bool = True) -> None:
        self.ws = ws
        self.auto_ack = auto_ack
        self.replica = Replica()
        self.welcome: m.Welcome | None = None
        self.reliable: list[Any] = []  # sequenced messages, in arrival order
        self.direct: list[Any] = []  # other messages addressed to us (verified, pages, ...)
        self.errors: list[m.Error] = []
        self.pongs: list[m.Pong] = []
        self.state_frames = 0
        self.bytes_in = 0
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self._changed = asyncio.Condition()
        # Called with each state frame and direct message as it arrives (media signalling is
        # answered at once; benchmarks time what they see).
        self.listeners: list[Callable[[Any], None]] = []
        self._reader = asyncio.get_running_loop().create_task(self._read(), name="client-reader")

    @classmethod
    async def open(
        cls,
        room_url: str,
        token: str | None,
        *,
        origin: str | None = None,
        auto_ack: bool = True,
        tls: ssl.SSLContext | None = None,
    ) -> Self:
        """Open the WebSocket only (no hello): for tests that speak the protocol by hand."""
        headers = {"Authorization": f"Bearer {token}"} if token else None
        # wss with no context means the system's trust store: pass one only when given.
        extra: dict[str, Any] = {"ssl": tls} if tls is not None else {}
        ws = await connect(
            room_url,
            subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]
            additional_headers=headers,
            origin=origin,  # type: ignore[arg-type]
            compression=None,
            max_size=2**22,
            open_timeout=10,
            **extra,
        )
        return cls(ws, auto_ack=auto_ack)

    @classmethod
    async def join(
        cls,
        room_url: str,
        token: str,
        name: str,
        *,
        since: int | None = None,
        auto_ack: bool = True,
        timeout: float = 10.0,
        tls: ssl.SSLContext | None = None,
        look: m.Look | None = None,
    ) -> Self:
        """Connect, say hello, join; return once the room has confirmed our arrival.

        A room hosted by another node closes with ``ROOM_MOVED`` and its URL: followed.
        ``look``: the avatar's appearance, sent with the join.
        """
        for _ in range(MAX_REDIRECTS + 1):
            client = await cls.open(room_url, token, auto_ack=auto_ack, tls=tls)
            with contextlib.suppress(ConnectionClosed):  # a refused token closes at once
                await client.send(m.Hello(PROTOCOL_VERSION, "wealthroom-py"))
            await client.wait_for(lambda c: c.welcome is not None or c.closed, timeout)
            if client.close_code == CloseCode.ROOM_MOVED and client.close_reason:
                room_url = client.close_reason
                continue
            break
        if client.welcome is None:
            raise ClientError(f"no welcome: closed {client.close_code} {client.close_reason}")
        me = client.welcome.member
        await client.send(m.Join(name, since, look))
        await client.wait_for(lambda c: c.has_joined(me) or c.closed, timeout)
        if client.closed:
            raise ClientError(f"join refused: closed {client.close_code} {client.close_reason}")
        return client

    # --- sending -------------------------------------------------------------------------------

    async def send(self, message: m.Message) -> None:
        await self.ws.send(encode(message))

    async def send_raw(self, data: bytes | str) -> None:
        await self.ws.send(data)

    async def pose(
        self, p: tuple[float, float, float], q: tuple[float, float, float, float]
    ) -> None:
        await self.send(m.Pose(p, q))

    async def chat(self, text: str) -> None:
        await self.send(m.Chat(text))

    async def leave(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            await self.send(m.Leave())
        await self.wait_for(lambda c: c.closed, 10)

    async def close(self) -> None:
        await self.ws.close()
        await asyncio.gather(self._reader, return_exceptions=True)

    # --- observing -----------------------------------------------------------------------------

    @property
    def member(self) -> int:
        if self.welcome is None:
            raise ClientError("not welcomed yet")
        return self.welcome.member

    @property
    def closed(self) -> bool:
        return self.close_code is not None

    @property
    def chats(self) -> list[m.ChatPosted]:
        return [r for r in self.reliable if isinstance(r, m.ChatPosted)]

    def of(self, cls: type[T]) -> list[T]:
        """Messages of one type received so far, sequenced or direct."""
        return [x for x in (*self.reliable, *self.direct) if isinstance(x, cls)]

    def has_joined(self, member: int) -> bool:
        return any(isinstance(r, m.Joined) and r.member == member for r in self.reliable)

    async def wait_for(
        self, predicate: Callable[[RoomClient], bool], timeout: float = 10.0
    ) -> None:
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(lambda: predicate(self)), timeout)
            except TimeoutError as exc:
                raise ClientError(f"condition not met within {timeout} s") from exc

    async def _read(self) -> None:
        try:
            async for data in self.ws:
                assert isinstance(data, bytes)
                self.bytes_in += len(data)
                await self._on_frame(decode(data, Direction.SERVER))
        except ConnectionClosed:
            pass
        finally:
            self.close_code = self.ws.close_code if self.ws.close_code is not None else 1006
            self.close_reason = self.ws.close_reason or ""
            async with self._changed:
                self._changed.notify_all()

    async def _on_frame(self, msg: Any) -> None:
        ack: int | None = None
        if isinstance(msg, m.Snapshot | m.Delta):
            self.state_frames += 1
            for listener in list(self.listeners):
                listener(msg)
            if self.replica.apply(msg) and self.auto_ack:
                ack = msg.tick
        elif type(msg).RELIABLE:
            self.reliable.append(msg)
        elif isinstance(msg, m.Error):
            self.errors.append(msg)
        elif isinstance(msg, m.Welcome):
            self.welcome = msg
        elif isinstance(msg, m.Pong):
            self.pongs.append(msg)
        else:
            self.direct.append(msg)
            for listener in list(self.listeners):
                listener(msg)
        self._stored(msg)
        if ack is not None:
            with contextlib.suppress(ConnectionClosed):
                await self.send(m.Ack(ack))
        async with self._changed:
            self._changed.notify_all()

    def _stored(self, msg: Any) -> None:
        """``msg`` is stored: a hook that runs before the first await after it, so whoever
        takes over the stored messages in that await does not also hear it here."""
