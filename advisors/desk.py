"""Finding a human advisor: pages on the shared board, advisors' presence, consoles told.

A room's :class:`~rooms.outputs.PageRequest` is posted to the :class:`PageBoard` (shared by
every node) and an available advisor with the right skill and language is chosen to be asked
first; every console whose advisor could take it sees it. The first advisor to accept gets it
(the board's claim is atomic) and the node hosting the room hears of it over the bus, whichever
node the advisor is on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import msgpack

from advisors.bus import Bus, Subscription
from advisors.choice import can_take, choose_advisor
from advisors.grant import ConsoleGrant
from advisors.pages import Page, PageBoard
from advisors.presence import PRESENCE_TTL_S, AdvisorState, AdvisorStatus, Presence
from protocol import messages as m
from protocol.codec import struct_to_wire
from rooms.outputs import PageRequest

PAGES_TOPIC = "pages"
# What a customer is told to expect once an advisor accepts: they join from their console.
ADVISOR_ETA_S = 60


@dataclass(frozen=True, slots=True)
class PageEvent:
    """What the bus says about a page: ``posted``, ``claimed`` or ``cancelled``."""

    kind: str
    page: str
    room: str
    advisor: str | None = None
    advisor_name: str | None = None

    def encode(self) -> bytes:
        data: bytes = msgpack.packb(
            [self.kind, self.page, self.room, self.advisor, self.advisor_name]
        )
        return data

    @classmethod
    def decode(cls, data: bytes) -> PageEvent:
        kind, page, room, advisor, name = msgpack.unpackb(data)
        return cls(str(kind), str(page), str(room), advisor, name)


class PageDesk:
    """Posting, claiming and cancelling pages over the shared board, presence and bus. It
    awaits those interfaces (their Redis versions do network I/O) but reads no clock of its
    own: ``clock`` gives the time pages are raised and advisors become busy."""

    def __init__(
        self,
        presence: Presence,
        board: PageBoard,
        bus: Bus,
        *,
        clock: Callable[[], float],
        node: str = "local",
    ) -> None:
        self.presence = presence
        self.board = board
        self.bus = bus
        self.node = node
        self._clock = clock

    async def post(
        self, request: PageRequest, *, first: str | None = None, first_for_s: float = 0.0
    ) -> AdvisorStatus | None:
        """Put the page on the board; return the advisor asked first, if any is free.
        ``first``: an advisor who alone sees the page for ``first_for_s`` (a booking's)."""
        now = self._clock()
        page = Page(
            request.id,
            request.room,
            request.customer,
            request.skill,
            request.language,
            request.product,
            request.reason,
            now,
            node=self.node,
            first=first,
            first_until=now + first_for_s if first else 0.0,
            customer_name=request.customer_name,
            risk=request.risk,
            brief=struct_to_wire(m.BRIEFING, request.brief) if request.brief else None,
        )
        await self.board.post(page)
        await self.bus.publish(PAGES_TOPIC, PageEvent("posted", page.id, page.room).encode())
        return choose_advisor(await self.presence.all(), page, now)

    async def cancel(self, page_id: str) -> None:
        page = await self.board.cancel(page_id)
        if page is not None:
            event = PageEvent("cancelled", page.id, page.room)
            await self.bus.publish(PAGES_TOPIC, event.encode())

    async def claim(self, page_id: str, grant: ConsoleGrant) -> Page | None:
        """The advisor accepts: theirs if nobody was faster, and they become busy."""
        page = await self.board.get(page_id)
        if page is None or not can_take(grant, page, self._clock()):
            return None
        page = await self.board.claim(page_id, grant.subject, grant.name)
        if page is None:
            return None
        status = await self.presence.get(grant.subject)
        if status is not None:
            busy = status.with_state(AdvisorState.BUSY, self._clock())
            await self.presence.put(busy, ttl_s=PRESENCE_TTL_S)
        event = PageEvent("claimed", page.id, page.room, grant.subject, grant.name)
        await self.bus.publish(PAGES_TOPIC, event.encode())
        return page

    async def decline(self, page_id: str, grant: ConsoleGrant) -> Page | None:
        """The booked advisor declines their head start: every console looks again."""
        page = await self.board.decline(page_id, grant.subject)
        if page is not None:
            event = PageEvent("opened", page.id, page.room, grant.subject, grant.name)
            await self.bus.publish(PAGES_TOPIC, event.encode())
        return page

    async def open_for(self, grant: ConsoleGrant) -> list[Page]:
        now = self._clock()
        return [p for p in await self.board.open_pages() if can_take(grant, p, now)]

    def events(self) -> Subscription:
        return self.bus.subscribe(PAGES_TOPIC)
