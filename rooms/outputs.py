"""What a room asks its shell to do: send frames, close connections, record audit events."""

from __future__ import annotations

from dataclasses import dataclass

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


Output = Frame | Close | Audit
