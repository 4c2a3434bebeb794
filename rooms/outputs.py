"""What a room asks its shell to do: send frames, close connections, record audit events,
consult a brain, page an advisor."""

from __future__ import annotations

from dataclasses import dataclass

from avatars.advice import Brief
from avatars.specialties import Specialty
from protocol.codes import CloseCode
from rooms.audit import AuditEvent


@dataclass(frozen=True, slots=True)
class Frame:
    """Send ``data`` to each member in ``to``.

    ``reliable`` frames must all arrive, in order; state frames (``reliable=False``) may be
    replaced by a newer one if the member has not taken the older yet.
    """

    to: tuple[int, ...]
    data: bytes
    reliable: bool


@dataclass(frozen=True, slots=True)
class Close:
    member: int
    code: CloseCode
    reason: str


@dataclass(frozen=True, slots=True)
class Audit:
    """Append ``event`` to the audit log."""

    event: AuditEvent


@dataclass(frozen=True, slots=True)
class Consult:
    """Ask a brain to draft an answer to ``brief``; give it back with ``Room.answered``."""

    ticket: int
    brief: Brief


@dataclass(frozen=True, slots=True)
class PageRequest:
    """Find a human advisor for this room; report progress with ``Room.page_update``."""

    id: str
    room: str
    customer: str  # subject
    customer_name: str
    skill: Specialty | None  # None: any advisor (the customer asked for a person)
    language: str
    product: str | None
    reason: str
    risk: int | None  # the customer's risk profile C1-C5


@dataclass(frozen=True, slots=True)
class PageCancel:
    """Nobody in the room needs the advisor any more."""

    id: str


@dataclass(frozen=True, slots=True)
class CheckFactor:
    """Check a second-factor code for ``subject``; give the result to ``Room.factor_checked``.

    The code is a secret: never log it.
    """

    member: int
    subject: str
    code: str


@dataclass(frozen=True, slots=True)
class FetchPortfolio:
    """Look up ``subject``'s holdings; give them to ``Room.portfolio_ready``."""

    member: int
    subject: str


Output = Frame | Close | Audit | Consult | PageRequest | PageCancel | CheckFactor | FetchPortfolio
