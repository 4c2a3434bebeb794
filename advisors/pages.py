"""Pages: a room asking for a human advisor, waiting until one accepts.

A page is raised on the node that hosts the room and may be accepted by an advisor connected to
any node; :meth:`PageBoard.claim` is atomic, so two advisors pressing "accept" at once cannot
both get it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, Protocol

from advisors.errors import PageExists
from avatars.specialties import Specialty


class PageState(StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    CANCELLED = "cancelled"  # the customer left or no longer needs it


@dataclass(frozen=True, slots=True)
class Page:
    id: str
    room: str
    customer: str  # the customer's subject
    skill: Specialty | None  # None: the customer asked for a person, any skill
    language: str
    product: str | None  # the product that needs a human, if one
    reason: str
    raised: float  # seconds since the epoch
    customer_name: str = ""
    risk: int | None = None  # the customer's risk profile C1-C5, for the advisor to see
    # The room's briefing for the advisor, as its wire map (plain values: it travels as JSON).
    brief: dict[str, Any] | None = None
    node: str = "local"
    # A booked appointment's advisor is asked first: until ``first_until`` only they see it.
    first: str | None = None
    first_until: float = 0.0
    state: PageState = PageState.OPEN
    advisor: str | None = None  # subject of the advisor who claimed it
    advisor_name: str | None = None


class PageBoard(Protocol):
    async def post(self, page: Page) -> None: ...

    async def get(self, page_id: str) -> Page | None: ...

    async def claim(self, page_id: str, advisor: str, advisor_name: str) -> Page | None:
        """Give an open page to ``advisor``; ``None`` if it is not open (any more)."""
        ...

    async def cancel(self, page_id: str) -> Page | None: ...

    async def decline(self, page_id: str, advisor: str) -> Page | None:
        """The page's ``first`` advisor gives up their head start on an open page: every
        advisor who can take it sees it now. ``None`` if the page is not open, not theirs
        first, or the head start was given up already."""
        ...

    async def open_pages(self) -> list[Page]:
        """Open pages, oldest first."""
        ...


class MemoryPageBoard:
    def __init__(self) -> None:
        self._pages: dict[str, Page] = {}

    async def post(self, page: Page) -> None:
        if page.id in self._pages:
            raise PageExists(f"page {page.id} already posted")
        self._pages[page.id] = page

    async def get(self, page_id: str) -> Page | None:
        return self._pages.get(page_id)

    async def claim(self, page_id: str, advisor: str, advisor_name: str) -> Page | None:
        page = self._pages.get(page_id)
        if page is None or page.state is not PageState.OPEN:
            return None
        page = replace(page, state=PageState.CLAIMED, advisor=advisor, advisor_name=advisor_name)
        self._pages[page_id] = page
        return page

    async def cancel(self, page_id: str) -> Page | None:
        page = self._pages.get(page_id)
        if page is None or page.state is not PageState.OPEN:
            return None
        page = replace(page, state=PageState.CANCELLED)
        self._pages[page_id] = page
        return page

    async def decline(self, page_id: str, advisor: str) -> Page | None:
        page = self._pages.get(page_id)
        if page is None or page.state is not PageState.OPEN or page.first != advisor:
            return None
        if page.first_until == 0.0:
            return None
        page = replace(page, first_until=0.0)
        self._pages[page_id] = page
        return page

    async def open_pages(self) -> list[Page]:
        pages = [p for p in self._pages.values() if p.state is PageState.OPEN]
        return sorted(pages, key=lambda p: (p.raised, p.id))
