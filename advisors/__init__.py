"""Advisors as a core: presence, pages, the bus (interfaces with in-memory versions), the choice
of advisor, the paging desk and the console's state machine. No sockets, tasks or clock reads:
time comes in as arguments; what must await is an async interface whose Redis version lives in
``server/cluster/``."""

from advisors.bus import Bus, MemoryBus, Subscription
from advisors.choice import can_take, choose_advisor
from advisors.console import Console, page_info, pages_message
from advisors.desk import ADVISOR_ETA_S, PAGES_TOPIC, PageDesk, PageEvent
from advisors.errors import AdvisorsError, PageExists
from advisors.grant import ConsoleGrant
from advisors.outputs import ConsoleOutput
from advisors.pages import MemoryPageBoard, Page, PageBoard, PageState
from advisors.presence import (
    PRESENCE_TTL_S,
    AdvisorState,
    AdvisorStatus,
    MemoryPresence,
    Presence,
)

__all__ = [
    "ADVISOR_ETA_S",
    "PAGES_TOPIC",
    "PRESENCE_TTL_S",
    "AdvisorState",
    "AdvisorStatus",
    "AdvisorsError",
    "Bus",
    "Console",
    "ConsoleGrant",
    "ConsoleOutput",
    "MemoryBus",
    "MemoryPageBoard",
    "MemoryPresence",
    "Page",
    "PageBoard",
    "PageDesk",
    "PageEvent",
    "PageExists",
    "PageState",
    "Presence",
    "Subscription",
    "can_take",
    "choose_advisor",
    "page_info",
    "pages_message",
]
