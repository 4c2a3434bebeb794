"""What an advisor's console asks its shell to do. The console decides; the shell awaits the
shared services and writes to the socket, in the order the outputs come."""

from __future__ import annotations

from dataclasses import dataclass

from advisors.pages import Page
from advisors.presence import AdvisorStatus
from protocol import messages as m
from protocol.codes import CloseCode
from rooms.outputs import Audit


@dataclass(frozen=True, slots=True)
class Send:
    """Send ``message`` to the console."""

    message: m.Message


@dataclass(frozen=True, slots=True)
class Close:
    """Close the console's connection."""

    code: CloseCode
    reason: str


@dataclass(frozen=True, slots=True)
class PutPresence:
    """Write the advisor's presence (for ``PRESENCE_TTL_S``); their queue may change with it."""

    status: AdvisorStatus


@dataclass(frozen=True, slots=True)
class SendPages:
    """Send the console the open pages its advisor can take, now."""


@dataclass(frozen=True, slots=True)
class Claim:
    """Claim the page for the advisor on the shared board; give the result to
    ``Console.claimed``."""

    page: str


@dataclass(frozen=True, slots=True)
class Pass:
    """The advisor declines a page offered to them first (a booking's); give the board's
    answer to ``Console.passed``."""

    page: str


@dataclass(frozen=True, slots=True)
class Admit:
    """The advisor has the page: send them :class:`~protocol.messages.Accepted` with a token
    for the page's room and where to reach it (the shell holds the signing key)."""

    page: Page


@dataclass(frozen=True, slots=True)
class SendSlots:
    """Send the appointment slots this party sees (``advisors.appointments.slots_message``)."""


@dataclass(frozen=True, slots=True)
class Appoint:
    """Apply an appointment message (offer, book, cancel, move) to the shared store by
    ``advisors.appointments.decide``; a refusal goes back as ``refused``'s error frame."""

    message: m.Offer | m.Book | m.Cancel | m.Move


ConsoleOutput = (
    Send | Close | PutPresence | SendPages | Claim | Pass | Admit | Audit | SendSlots | Appoint
)

__all__ = [
    "Admit",
    "Appoint",
    "Audit",
    "Claim",
    "Close",
    "ConsoleOutput",
    "Pass",
    "PutPresence",
    "Send",
    "SendPages",
    "SendSlots",
]
