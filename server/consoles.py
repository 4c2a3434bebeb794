"""The advisor consoles connected to this node, and the page events that keep them current.

Pages are raised, taken and withdrawn on any node; the bus says so. Every console here then
refreshes its queue, and a room here whose page was taken hears who is coming. A bus that fails
is subscribed to again, and consoles refresh at once, since events may have been missed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping

from websockets.asyncio.server import ServerConnection

from advisors.desk import PageDesk, PageEvent
from advisors.grant import ConsoleGrant
from rooms.audit import AuditLog
from server.appointments import Appointments
from server.auth import TokenAuthority
from server.config import Settings
from server.console import ConsoleSession
from server.health import Health
from server.metrics import Metrics
from server.room_host import RoomHost

log = logging.getLogger(__name__)


class Consoles:
    def __init__(  # noqa: PLR0913 - the node services the consoles are given
        self,
        settings: Settings,
        desk: PageDesk,
        tokens: TokenAuthority,
        audit: AuditLog,
        metrics: Metrics,
        health: Health,
        appointments: Appointments,
        *,
        rooms: Mapping[str, RoomHost],
        room_url: Callable[[str], Awaitable[str]],
    ) -> None:
        self.settings = settings
        self.desk = desk
        self.tokens = tokens
        self.audit = audit
        self.metrics = metrics
        self.health = health
        self.appointments = appointments
        self._rooms = rooms  # this node's rooms, as placement keeps them
        self._room_url = room_url
        self.sessions: set[ConsoleSession] = set()
        self.stopping = False

    async def serve(self, ws: ServerConnection, grant: ConsoleGrant) -> None:
        s = self.settings
        session = ConsoleSession(
            ws,
            grant,
            self.desk,
            self.tokens,
            self.audit,
            self.appointments,
            room_url=self._room_url,
            token_ttl_s=s.token_ttl_s,
            max_frame_bytes=s.max_frame_bytes,
            strikes=s.strikes,
        )
        self.sessions.add(session)
        self.metrics.consoles.set(len(self.sessions))
        try:
            await session.run()
        finally:
            self.sessions.discard(session)
            self.metrics.consoles.set(len(self.sessions))

    async def follow_pages(self, ready: asyncio.Event) -> None:
        """Pages raised, taken or withdrawn anywhere: rooms here hear who is coming, and
        every console here refreshes its queue. Resubscribes after the bus fails."""
        while not self.stopping:
            try:
                async with self.desk.events() as events:
                    self.health.recover("bus")
                    ready.set()
                    for console in self.sessions:
                        console.pages_changed()  # events may have been missed meanwhile
                    async for data in events:
                        self._on_page_event(data)
            except Exception as exc:
                self.health.degrade("bus", exc)
                ready.set()
                await asyncio.sleep(1.0)

    def _on_page_event(self, data: bytes) -> None:
        try:
            event = PageEvent.decode(data)
        except Exception:
            log.warning("ignoring a malformed page event")
            return
        host = self._rooms.get(event.room)
        if event.kind == "claimed" and host is not None and event.advisor:
            host.page_claimed(event.page, event.advisor, event.advisor_name)
        for console in self.sessions:
            console.pages_changed()
