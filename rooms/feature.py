"""One part of what a room does (experts, hand-offs, screens, step-up, media), behind one seam.

A feature receives its room as a :class:`~rooms.context.RoomContext` and is driven by it: the
messages it declares in :meth:`Feature.handlers` are dispatched to it, and it hears of every
member's arrival and departure, every tick, the room's close, and takes part in saving and
restoring the room (:mod:`rooms.persist`). Each hook returns the outputs it causes. The bodies
here are the defaults a feature that subclasses :class:`Feature` inherits: nothing to do.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from protocol import messages as m
from rooms.members import Member
from rooms.outputs import Output

Handler = Callable[[Member, Any, float], list[Output]]


class Feature(Protocol):
    def handlers(self) -> Mapping[type[m.Message], Handler]:
        """The messages this feature answers; the room reads this once, when it is built."""
        return {}

    def resume(self, member: Member, since: int | None, floor: int, now: float) -> list[Output]:
        """``member`` is joining (``since``: the seq it asked to resume from; ``floor``: the
        oldest seq it may see): what it is owed besides the replay, before it is announced."""
        return []

    def on_join(self, member: Member, now: float) -> list[Output]:
        """``member`` has joined and been announced."""
        return []

    def on_leave(self, member: Member, now: float) -> list[Output]:
        """``member``, who had joined, is gone (already out of the room's members)."""
        return []

    def advance(self, now: float) -> list[Output]:
        """Once per tick, before the state is published."""
        return []

    def close(self, now: float) -> list[Output]:
        """The room closes, after every member was closed."""
        return []

    def dump(self) -> dict[str, Any]:
        """What of this feature must survive a failover, as msgpack-able values under keys of
        the saved state that are this feature's own."""
        return {}

    def load(self, state: Mapping[str, Any], now: float) -> None:
        """Take back what :meth:`dump` saved (``state`` is the whole saved state) into a fresh
        room; a missing or damaged key raises ``KeyError``, ``ValueError`` or ``TypeError``."""
        return None
