"""Which node hosts which room, and how loaded each node is.

A room's simulation lives on exactly one node at a time. The node that opens it claims it with a
lease and renews the lease while the room is open; if the node dies, the lease lapses and another
node may claim the room. Nodes report their load on a timer, so a new room can be opened on the
least loaded live node.

Leases are renewed per room, so they are long (seconds) to keep Redis work per room small. A
node also beats: one short-lived mark per node, renewed several times a second, whatever its
rooms. A node asked for a room whose holder's beat has lapsed takes it at once, before the
lease ends: that is how a member whose node died is back in a second rather than a lease.
A node that was only stalled (not dead) learns from its next beat that it lapsed, looks at its
leases at once and lets go of the rooms taken meanwhile. A node that never beat (an older
version during a rolling upgrade) keeps its rooms until their leases lapse.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class NodeLoad:
    node: str
    rooms: int  # rooms hosted
    members: int  # connections across those rooms


class RoomDirectory(Protocol):
    """Shared across nodes. Leases and load reports lapse unless written again in time."""

    async def claim(self, room: str, node: str, *, lease_s: float) -> str:
        """Take ``room`` for ``node`` if it is free, already ours (which renews the lease), or
        held by a node whose beat lapsed; returns the owner afterwards, so anything but
        ``node`` means someone else hosts it. Taking a lapsed node's room is one compare-and-set:
        of several nodes asking at once, exactly one gets it."""
        ...

    async def beat(self, node: str, *, ttl_s: float) -> bool:
        """Mark ``node`` alive for ``ttl_s``: until then its rooms are taken from it only when
        their leases lapse. ``False`` if the previous beat had lapsed, or there was none: other
        nodes may have taken our rooms meanwhile, so look at our leases now."""
        ...

    async def renew(self, room: str, node: str, *, lease_s: float) -> bool:
        """Extend our lease to ``lease_s`` from now; ``False`` if the room is not ours any more
        (the lease lapsed or another node holds it), and then it is not taken back."""
        ...

    async def release(self, room: str, node: str) -> None:
        """Give the room up; does nothing unless ``node`` owns it."""
        ...

    async def owner(self, room: str) -> str | None: ...

    async def rooms_of(self, node: str) -> list[str]:
        """The rooms ``node`` holds a live lease on, sorted."""
        ...

    async def report_load(self, node: str, rooms: int, members: int, *, ttl_s: float) -> None: ...

    async def nodes(self) -> dict[str, NodeLoad]:
        """Nodes whose last load report has not lapsed, nor their beat."""
        ...

    async def least_loaded(self) -> str | None:
        """The live node to open the next room on; ``None`` if no node is reporting."""
        ...

    async def advertise(self, node: str, url: str, *, ttl_s: float) -> None:
        """Where clients reach ``node`` (its public base URL), for redirects."""
        ...

    async def url_of(self, node: str) -> str | None:
        """Where ``node`` is reached; ``None`` if it does not say, or its beat lapsed."""
        ...

    async def withdraw(self, node: str) -> None:
        """A node shutting down: no new rooms are sent to it, no client is redirected to it,
        and its rooms, which it hands over and releases, are not taken early."""
        ...


def least_loaded_of(loads: Iterable[NodeLoad]) -> str | None:
    # Rooms first: every room ticks its simulation whether or not anyone speaks, so rooms
    # are the steady cost; members (bandwidth) break ties, then the name, so that every node
    # asked at the same moment picks the same target.
    best = min(loads, key=lambda load: (load.rooms, load.members, load.node), default=None)
    return None if best is None else best.node


class MemoryRoomDirectory:
    """One process's directory. ``clock`` decides lapses, so tests need no sleeping."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._leases: dict[str, tuple[str, float]] = {}  # room -> (node, expires)
        self._loads: dict[str, tuple[NodeLoad, float]] = {}  # node -> (load, expires)
        self._urls: dict[str, tuple[str, float]] = {}  # node -> (base URL, expires)
        self._beats: dict[str, float] = {}  # node -> when its beat lapses

    def _lapsed(self, node: str) -> bool:
        beat = self._beats.get(node)
        return beat is not None and beat <= self._clock()

    def _holder(self, room: str) -> str | None:
        lease = self._leases.get(room)
        if lease is None:
            return None
        if lease[1] <= self._clock():
            del self._leases[room]
            return None
        return lease[0]

    async def claim(self, room: str, node: str, *, lease_s: float) -> str:
        holder = self._holder(room)
        if holder is not None and holder != node and not self._lapsed(holder):
            return holder
        self._leases[room] = (node, self._clock() + lease_s)
        return node

    async def beat(self, node: str, *, ttl_s: float) -> bool:
        now = self._clock()
        last = self._beats.get(node)
        self._beats[node] = now + ttl_s
        return last is not None and last > now

    async def renew(self, room: str, node: str, *, lease_s: float) -> bool:
        if self._holder(room) != node:
            return False
        self._leases[room] = (node, self._clock() + lease_s)
        return True

    async def release(self, room: str, node: str) -> None:
        if self._holder(room) == node:
            del self._leases[room]

    async def owner(self, room: str) -> str | None:
        return self._holder(room)

    async def rooms_of(self, node: str) -> list[str]:
        return sorted(room for room in list(self._leases) if self._holder(room) == node)

    async def report_load(self, node: str, rooms: int, members: int, *, ttl_s: float) -> None:
        self._loads[node] = (NodeLoad(node, rooms, members), self._clock() + ttl_s)

    async def nodes(self) -> dict[str, NodeLoad]:
        now = self._clock()
        for node in [n for n, (_, exp) in self._loads.items() if exp <= now]:
            del self._loads[node]
        return {
            node: load for node, (load, _) in sorted(self._loads.items()) if not self._lapsed(node)
        }

    async def least_loaded(self) -> str | None:
        return least_loaded_of((await self.nodes()).values())

    async def advertise(self, node: str, url: str, *, ttl_s: float) -> None:
        self._urls[node] = (url, self._clock() + ttl_s)

    async def url_of(self, node: str) -> str | None:
        item = self._urls.get(node)
        if item is None or item[1] <= self._clock() or self._lapsed(node):
            return None
        return item[0]

    async def withdraw(self, node: str) -> None:
        self._loads.pop(node, None)
        self._urls.pop(node, None)
        self._beats.pop(node, None)
