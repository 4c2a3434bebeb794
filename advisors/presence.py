"""Advisor presence: who is signed in to the console, in what state, with which skills."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Protocol

from avatars.specialties import Specialty

# A console refreshes its advisor's presence well within this (a third of it); a console that
# vanished without signing out stops receiving pages once it lapses.
PRESENCE_TTL_S = 60.0


class AdvisorState(StrEnum):
    AVAILABLE = "available"
    BUSY = "busy"
    AWAY = "away"


@dataclass(frozen=True, slots=True)
class AdvisorStatus:
    subject: str  # the advisor's stable id from the bank's identity system
    name: str
    state: AdvisorState
    skills: frozenset[Specialty]
    languages: frozenset[str]  # "en", "zh", "yue"
    customers: frozenset[str] = frozenset()  # subjects of the customers assigned to them
    node: str = "local"  # the node their console is connected to
    updated: float = 0.0  # when this status was last written, seconds since the epoch

    def with_state(self, state: AdvisorState, now: float) -> AdvisorStatus:
        return replace(self, state=state, updated=now)


class Presence(Protocol):
    """Shared across nodes. A status lapses ``ttl_s`` after its last write (a console that
    vanished without signing out must not keep receiving pages)."""

    async def put(self, status: AdvisorStatus, *, ttl_s: float) -> None: ...

    async def get(self, subject: str) -> AdvisorStatus | None: ...

    async def remove(self, subject: str) -> None: ...

    async def all(self) -> list[AdvisorStatus]: ...


class MemoryPresence:
    """One process's presence. ``clock`` decides lapses, so tests need no sleeping."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._items: dict[str, tuple[AdvisorStatus, float]] = {}

    async def put(self, status: AdvisorStatus, *, ttl_s: float) -> None:
        self._items[status.subject] = (status, self._clock() + ttl_s)

    async def get(self, subject: str) -> AdvisorStatus | None:
        item = self._items.get(subject)
        if item is None:
            return None
        if item[1] <= self._clock():
            del self._items[subject]
            return None
        return item[0]

    async def remove(self, subject: str) -> None:
        self._items.pop(subject, None)

    async def all(self) -> list[AdvisorStatus]:
        now = self._clock()
        for subject in [s for s, (_, exp) in self._items.items() if exp <= now]:
            del self._items[subject]
        return sorted((st for st, _ in self._items.values()), key=lambda st: st.subject)


class Clock(Protocol):
    def __call__(self) -> float: ...
