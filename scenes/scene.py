"""The authoritative scene: a Panda3D scene graph plus the change bookkeeping that sync needs.

Every entity is a ``NodePath`` under a Y-up frame (so wire coordinates go in unchanged while
Panda3D keeps its Z-up world), and carries the tick at which each group of its fields last
changed. A delta against a member's acknowledged tick is then one pass over the entities: no
per-tick copies of the world are kept, only a short log of removals.

Ticks: ``tick`` is the newest published state. Changes made between ticks belong to
``tick + 1`` and become visible when the room calls :meth:`Scene.advance`.
"""

from __future__ import annotations

import hashlib
import struct
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from panda3d.core import NodePath
from panda3d.core import Quat as PandaQuat

from protocol.messages import Ent
from protocol.quantise import Vec3mm, mm_to_pos, pack_quat, unpack_quat
from scenes.errors import NoSuchEntity
from scenes.layout import Layout

AVATAR = "avatar"


@dataclass(slots=True)
class Entity:
    id: int
    kind: str
    member: int
    name: str
    role: str
    pos: Vec3mm
    rot: int
    node: NodePath
    created: int
    moved: int
    renamed: int

    def full(self) -> Ent:
        return Ent(self.id, self.kind, self.member, self.name, self.role, self.pos, self.rot)

    def since(self, base: int) -> Ent | None:
        """The fields that changed after ``base``, or ``None`` if nothing did."""
        if self.created > base:
            return self.full()
        moved, renamed = self.moved > base, self.renamed > base
        if not (moved or renamed):
            return None
        return Ent(
            self.id,
            n=self.name if renamed else None,
            p=self.pos if moved else None,
            q=self.rot if moved else None,
        )


class Scene:
    def __init__(self, layout: Layout, *, history_ticks: int = 300) -> None:
        self.layout = layout
        self.root = NodePath(f"room:{layout.name}")
        yup = self.root.attach_new_node("y-up")
        yup.set_p(90)  # maps glTF's (x, y, z) to Panda3D's (x, -z, y)
        self._yup = yup
        self._entities_np = yup.attach_new_node("entities")
        spawn_np = yup.attach_new_node("spawn-points")
        for sp in layout.spawn_points:
            node = spawn_np.attach_new_node(sp.id)
            node.set_pos(*sp.pos)
            node.set_h(sp.yaw_deg)
        self.entities: dict[int, Entity] = {}
        self.tick = 0
        self.history_ticks = history_ticks
        self._next_id = 1
        self._removed: deque[tuple[int, int]] = deque()  # (tick, entity id)
        self._last_change = 0

    # --- changes -------------------------------------------------------------------------

    @property
    def _pending(self) -> int:
        return self.tick + 1

    def spawn(self, kind: str, member: int, name: str, role: str, pos: Vec3mm, rot: int) -> Entity:
        eid = self._next_id
        self._next_id += 1
        node = self._entities_np.attach_new_node(f"{kind}:{eid}")
        node.set_tag("entity", str(eid))
        node.set_tag("member", str(member))
        t = self._pending
        ent = Entity(eid, kind, member, name, role, pos, rot, node, t, t, t)
        self._place(ent)
        self.entities[eid] = ent
        self._last_change = t
        return ent

    def move(self, eid: int, pos: Vec3mm, rot: int) -> bool:
        ent = self._get(eid)
        if ent.pos == pos and ent.rot == rot:
            return False
        ent.pos, ent.rot = pos, rot
        ent.moved = self._last_change = self._pending
        self._place(ent)
        return True

    def rename(self, eid: int, name: str) -> None:
        ent = self._get(eid)
        if ent.name != name:
            ent.name = name
            ent.renamed = self._last_change = self._pending

    def remove(self, eid: int) -> None:
        ent = self.entities.pop(eid, None)
        if ent is None:
            raise NoSuchEntity(eid)
        ent.node.remove_node()
        self._removed.append((self._pending, eid))
        self._last_change = self._pending

    def advance(self) -> int:
        """Publish pending changes as the next tick and forget history nobody can need."""
        self.tick += 1
        horizon = self.oldest_base
        while self._removed and self._removed[0][0] <= horizon:
            self._removed.popleft()
        return self.tick

    # --- reading ---------------------------------------------------------------------------

    @property
    def oldest_base(self) -> int:
        """Deltas can be built against any acknowledged tick at or after this one."""
        return max(0, self.tick - self.history_ticks)

    def changed_since(self, base: int) -> bool:
        return self._last_change > base

    def snapshot(self) -> list[Ent]:
        return [e.full() for e in self.entities.values()]

    def delta(self, base: int) -> tuple[list[Ent], list[int]] | None:
        """Entities added or changed and ids removed after ``base``; ``None`` if too old."""
        if base < self.oldest_base or base > self.tick:
            return None
        ents = [d for e in self.entities.values() if (d := e.since(base)) is not None]
        # Every removal after base, even of entities created after base: a client may hold a
        # newer state than the one it acked, in which that entity still exists.
        gone = [eid for t, eid in self._removed if base < t <= self.tick]
        return ents, gone

    def digest(self) -> str:
        return state_digest(self.snapshot())

    # --- internals ---------------------------------------------------------------------------

    def _get(self, eid: int) -> Entity:
        try:
            return self.entities[eid]
        except KeyError:
            raise NoSuchEntity(eid) from None

    @staticmethod
    def _place(ent: Entity) -> None:
        ent.node.set_pos(*mm_to_pos(ent.pos))
        x, y, z, w = unpack_quat(ent.rot)
        ent.node.set_quat(PandaQuat(w, x, y, z))


def state_digest(ents: Iterable[Ent]) -> str:
    """Order-independent hash of replicated state: equal on server and in-sync replicas."""
    h = hashlib.sha256()
    for e in sorted(ents, key=lambda e: e.i):
        p = e.p or (0, 0, 0)
        h.update(struct.pack("<IiiiI", e.i, p[0], p[1], p[2], e.q or 0))
        h.update(f"{e.k}|{e.m}|{e.n}|{e.r}\x00".encode())
    return h.hexdigest()[:16]


__all__ = ["AVATAR", "Entity", "Scene", "pack_quat", "state_digest"]
