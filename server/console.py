"""The advisor console's connection: presence, the queue of pages, accepting one.

An advisor is *available* while their console is connected (unless they say otherwise), and
disappears from presence when it closes or stops refreshing. Accepting a page answers with a
short-lived room token, so the console can open the room at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from protocol import messages as m
from protocol.codec import decode, encode
from protocol.codes import CloseCode, ErrorCode
from protocol.errors import ProtocolError
from protocol.limits import MAX_ERROR_CHARS, MAX_PAGES, PROTOCOL_VERSION, TokenBucket
from rooms.audit import AuditEvent, AuditLog
from rooms.roles import Role
from server.auth import ConsoleGrant, TokenAuthority
from server.cluster.presence import AdvisorState, AdvisorStatus
from server.paging import PRESENCE_TTL_S, PageDesk, page_info

log = logging.getLogger(__name__)

# Messages that belong to a room, not the console: refused with a code that says so.
_ROOM_ONLY = frozenset(
    {m.Join, m.Pose, m.Restyle, m.Sit, m.Stand, m.Ack, m.Chat, m.Remove, m.Leave}
    | {m.Ask, m.Summon, m.Dismiss, m.Help, m.Present, m.Unpresent}
)


class ConsoleSession:
    def __init__(
        self,
        ws: ServerConnection,
        grant: ConsoleGrant,
        desk: PageDesk,
        tokens: TokenAuthority,
        audit: AuditLog,
        *,
        room_url: Callable[[str], Awaitable[str]],
        token_ttl_s: float,
        max_frame_bytes: int,
        strikes: float,
    ) -> None:
        self.ws = ws
        self.grant = grant
        self._desk = desk
        self._tokens = tokens
        self._audit = audit
        self._room_url = room_url
        self._token_ttl = token_ttl_s
        self._max_frame = max_frame_bytes
        self._strikes = TokenBucket(1.0, strikes, time.monotonic())
        self._messages = TokenBucket(20.0, 40.0, time.monotonic())
        self.state = AdvisorState.AVAILABLE
        self._refresh = asyncio.Event()

    def pages_changed(self) -> None:
        self._refresh.set()

    async def run(self) -> None:
        await self._put_presence()
        g = self.grant
        await self._send(
            m.ConsoleWelcome(
                g.name, self.state.value, sorted(s.value for s in g.skills), sorted(g.languages)
            )
        )
        await self._send_pages()
        tasks = [
            asyncio.create_task(self._keep_presence(), name=f"console:{g.subject}:presence"),
            asyncio.create_task(self._push_pages(), name=f"console:{g.subject}:pages"),
        ]
        try:
            async for data in self.ws:
                await self._receive(data)
        except ConnectionClosed:
            pass
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            with contextlib.suppress(Exception):
                await self._desk.presence.remove(g.subject)

    async def _receive(self, data: bytes | str) -> None:
        now = time.monotonic()
        if not self._messages.take(now):
            return await self._error(ErrorCode.RATE_LIMITED, "too many messages; slow down", None)
        try:
            msg = decode(data, max_bytes=self._max_frame)
        except ProtocolError as exc:
            return await self._error(exc.code, exc.detail, exc.msg_type)
        if isinstance(msg, m.Hello):
            if msg.v != PROTOCOL_VERSION:
                detail = f"protocol version {msg.v} is not supported"
                return await self._error(ErrorCode.UNSUPPORTED_VERSION, detail, "hello")
        elif isinstance(msg, m.Ping):
            await self._send(m.Pong(msg.n))
        elif isinstance(msg, m.SetPresence):
            self.state = AdvisorState(msg.state)
            await self._put_presence()
        elif isinstance(msg, m.Accept):
            await self._accept(msg.page)
        elif type(msg) in _ROOM_ONLY:
            detail = f"{msg.TYPE!r} belongs to a room (/ws/<room>), not the console"
            await self._error(ErrorCode.WRONG_ENDPOINT, detail, msg.TYPE)

    async def _accept(self, page_id: str) -> None:
        page = await self._desk.claim(page_id, self.grant)
        if page is None:
            self._audit_event(page_id, "-", "handoff.accept", "refused")
            detail = "that page is no longer open, or not one you can take"
            return await self._error(ErrorCode.NO_SUCH_PAGE, detail, "accept")
        self._audit_event(page.id, page.room, "handoff.accept", "ok")
        self.state = AdvisorState.BUSY
        token = self._tokens.mint(
            room=page.room,
            role=Role.ADVISOR,
            subject=self.grant.subject,
            name=self.grant.name,
            ttl_s=self._token_ttl,
        )
        url = await self._room_url(page.room)
        await self._send(m.Accepted(page.id, page.room, token, url))

    def _audit_event(self, page: str, room: str, action: str, outcome: str) -> None:
        event = AuditEvent(
            time.time(), room, self.grant.subject, "advisor", action, outcome, {"page": page}
        )
        self._audit.append(event)

    async def _put_presence(self) -> None:
        g = self.grant
        status = AdvisorStatus(
            g.subject,
            g.name,
            self.state,
            g.skills,
            g.languages,
            g.customers,
            self._desk.node,
            time.time(),
        )
        await self._desk.presence.put(status, ttl_s=PRESENCE_TTL_S)
        self.pages_changed()

    async def _keep_presence(self) -> None:
        while True:
            await asyncio.sleep(PRESENCE_TTL_S / 3)
            try:
                await self._put_presence()
            except Exception:
                log.exception("console %s: presence refresh failed", self.grant.subject)

    async def _push_pages(self) -> None:
        while True:
            await self._refresh.wait()
            self._refresh.clear()
            await self._send_pages()

    async def _send_pages(self) -> None:
        pages = await self._desk.open_for(self.grant)
        await self._send(m.Pages([page_info(p) for p in pages[:MAX_PAGES]]))

    async def _error(self, code: ErrorCode, detail: str, ref: str | None) -> None:
        fatal = not self._strikes.take(time.monotonic())
        await self._send(m.Error(int(code), detail[:MAX_ERROR_CHARS], ref, True if fatal else None))
        if fatal:
            await self.ws.close(int(CloseCode.TOO_MANY_ERRORS), "too many bad messages")

    async def _send(self, msg: m.Message) -> None:
        with contextlib.suppress(ConnectionClosed):
            await self.ws.send(encode(msg))
