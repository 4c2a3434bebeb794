"""What a room offers its features: the one way a feature reaches members and the audit trail.

A feature (:mod:`rooms.feature`) is handed its room as a :class:`RoomContext` and sees nothing
else of it: it checks an action with :meth:`~RoomContext.gate`, answers the sender with
:meth:`~RoomContext.direct` or :meth:`~RoomContext.reject`, tells everyone with
:meth:`~RoomContext.broadcast_reliable` (which numbers the message and keeps it for replay) and
records with :meth:`~RoomContext.audit`. :class:`rooms.room.Room` implements it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from protocol import messages as m
from protocol.codes import ErrorCode
from rooms.audit import Detail
from rooms.limits import RoomLimits
from rooms.members import Member
from rooms.outputs import Audit, Frame, Output
from rooms.roles import Action

if TYPE_CHECKING:
    from scenes.scene import Scene


class RoomContext(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def limits(self) -> RoomLimits: ...

    @property
    def scene(self) -> Scene:
        """The room's scene: features put their own entities (experts, screens) in it."""
        ...

    @property
    def seq(self) -> int:
        """The sequence number of the newest reliable message."""
        ...

    @property
    def reliable_log(self) -> Sequence[tuple[int, bytes]]:
        """The reliable messages kept for replay, ``(seq, encoded)``, oldest first."""
        ...

    @property
    def joined(self) -> list[Member]: ...

    def member(self, member_id: int) -> Member | None:
        """A connected member (any phase), or ``None`` once it has gone."""
        ...

    def gate(self, member: Member, now: float, action: Action, ref: str) -> list[Output] | None:
        """``None`` if ``member`` has joined and its role may do ``action``; else what to send."""
        ...

    def reject(
        self,
        member: Member,
        now: float,
        code: ErrorCode,
        detail: str,
        ref: str | None,
        *,
        throttled: bool = False,
    ) -> list[Output]:
        """An error frame for the sender, costing a strike; out of strikes, a close."""
        ...

    def rate_limited(self, member: Member, now: float, what: str = "messages") -> list[Output]: ...

    def direct(self, member: Member, message: m.Message) -> Frame:
        """A reliable frame for ``member`` alone, outside the numbered sequence."""
        ...

    def broadcast_reliable(self, build: Callable[[int], m.Message]) -> list[Output]:
        """The next sequence number goes to ``build``; its message is kept and sent to everyone
        joined."""
        ...

    def audit(
        self, member: Member | None, now: float, action: str, outcome: str, detail: Detail
    ) -> Audit:
        """An audit event by ``member``, or by the room itself (``None``: experts, timers)."""
        ...
