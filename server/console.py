"""The advisor console's connection: the shell around :class:`advisors.console.Console`.

The console decides; this awaits the shared services (presence, the page board) and the socket,
doing each output in order before the next frame is read. It also keeps presence fresh on a
timer and pushes the queue whenever pages change anywhere. An advisor disappears from presence
when the console closes or stops refreshing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from advisors.appointments import Party
from advisors.console import Console, pages_message
from advisors.desk import PageDesk
from advisors.grant import ConsoleGrant
from advisors.outputs import (
    Admit,
    Appoint,
    Audit,
    Claim,
    Close,
    ConsoleOutput,
    Pass,
    PutPresence,
    Send,
    SendPages,
    SendSlots,
)
from advisors.presence import PRESENCE_TTL_S
from protocol import messages as m
from protocol.codec import encode
from rooms.audit import AuditLog
from rooms.roles import Role
from server.appointments import Appointments
from server.auth import TokenAuthority

log = logging.getLogger(__name__)


class ConsoleSession:
    def __init__(  # noqa: PLR0913 - the services a console session is given
        self,
        ws: ServerConnection,
        grant: ConsoleGrant,
        desk: PageDesk,
        tokens: TokenAuthority,
        audit: AuditLog,
        appointments: Appointments,
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
        self._appointments = appointments
        self.party = Party(grant.subject, grant.name, advisor=True)
        self._room_url = room_url
        self._token_ttl = token_ttl_s
        self.console = Console(
            grant,
            node=desk.node,
            max_frame_bytes=max_frame_bytes,
            strikes=strikes,
            now=time.time(),
        )
        self._refresh = asyncio.Event()

    def pages_changed(self) -> None:
        self._refresh.set()

    async def run(self) -> None:
        self._appointments.watchers.add(self)
        try:
            await self._run()
        finally:
            self._appointments.watchers.discard(self)

    async def _run(self) -> None:
        await self._do(self.console.open(time.time()))
        g = self.grant
        tasks = [
            asyncio.create_task(self._keep_presence(), name=f"console:{g.subject}:presence"),
            asyncio.create_task(self._push_pages(), name=f"console:{g.subject}:pages"),
        ]
        try:
            async for data in self.ws:
                await self._do(self.console.receive(data, time.time()))
        except ConnectionClosed:
            pass
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            with contextlib.suppress(Exception):
                await self._desk.presence.remove(g.subject)

    async def _do(self, outputs: list[ConsoleOutput]) -> None:
        for out in outputs:
            if isinstance(out, Send):
                await self._send(out.message)
            elif isinstance(out, PutPresence):
                await self._desk.presence.put(out.status, ttl_s=PRESENCE_TTL_S)
                self.pages_changed()
            elif isinstance(out, SendPages):
                await self._send_pages()
            elif isinstance(out, Claim):
                page = await self._desk.claim(out.page, self.grant)
                await self._do(self.console.claimed(out.page, page, time.time()))
            elif isinstance(out, Pass):
                page = await self._desk.decline(out.page, self.grant)
                await self._do(self.console.passed(out.page, page, time.time()))
            elif isinstance(out, Admit):
                await self._admit(out)
            elif isinstance(out, Audit):
                self._audit.append(out.event)
            elif isinstance(out, Close):
                await self.ws.close(int(out.code), out.reason)
            elif isinstance(out, Appoint | SendSlots):
                rest = await self._appointments.carry_out(self, [out], self.console.refused)
                await self._do(rest)

    async def _admit(self, out: Admit) -> None:
        page = out.page
        token = self._tokens.mint(
            room=page.room,
            role=Role.ADVISOR,
            subject=self.grant.subject,
            name=self.grant.name,
            ttl_s=self._token_ttl,
        )
        url = await self._room_url(page.room)
        await self._send(m.Accepted(page.id, page.room, token, url))

    async def _keep_presence(self) -> None:
        while True:
            await asyncio.sleep(PRESENCE_TTL_S / 3)
            try:
                await self._do(self.console.refresh(time.time()))
            except Exception:
                log.exception("console %s: presence refresh failed", self.grant.subject)

    async def _push_pages(self) -> None:
        while True:
            await self._refresh.wait()
            self._refresh.clear()
            await self._send_pages()

    async def _send_pages(self) -> None:
        pages = await self._desk.open_for(self.grant)
        await self._send(pages_message(pages, self.grant.subject, time.time()))

    async def send(self, msg: m.Message) -> None:
        """The slots changed, or are asked for (``server/appointments.py``)."""
        await self._send(msg)

    async def _send(self, msg: m.Message) -> None:
        with contextlib.suppress(ConnectionClosed):
            await self.ws.send(encode(msg))
