"""The authoritative scene: a Panda3D scene graph plus the change bookkeeping that sync needs.

Every entity is a ``NodePath`` under a Y-up frame (so wire coordinates go in unchanged while
Panda3D keeps its Z-up world), and carries the tick at which each group of its fields last
changed. A delta against a member's acknowledged tick is then one pass over the entities: no
per-tick copies of the world are kept, only a short log of removals.

Ticks: ``tick`` is the newest published state. Changes made between ticks belong to
``tick + 1`` and become visible when the room calls :meth:`Scene.advance`.

Moving marks an entity's nodes stale instead of updating them: poses arrive tens of thousands
of times a second on a busy node and sync reads the packed pose, not the graph. Whoever reads
the graph goes through :attr:`Scene.root`, which brings every stale node up to date first, so
a reader never sees it behind the entities.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Container, Iterable
from dataclasses import dataclass
from typing import Any

from panda3d.core import NodePath, RenderState, TransformState
from panda3d.core import Quat as PandaQuat

from protocol.codec import ent_to_wire, look_to_wire
from protocol.messages import Ent, Look
from protocol.pose import AvatarPose, Part
from protocol.quantise import POS_SCALE, Vec3mm, mm_to_pos, unpack_quat
from scenes.assets import room_model
from scenes.errors import NoSuchEntity
from scenes.layout import Layout

AVATAR = "avatar"
EXPERT = "expert"
SCREEN = "screen"
NO_MEMBER = 0  # owner of entities no member controls: experts and screens


@dataclass(slots=True)
class Entity:
    """One replicated thing. Each group of fields remembers the tick it last changed."""

    id: int
    kind: str
    member: int
    name: str
    role: str
    look: Look
    seat: str
    # The pose as the room last set it; None when it came packed (a binary pose frame) and
    # nobody has read it since: ``packed`` is the truth, unpacked only when needed.
    unpacked: AvatarPose | None
    packed: bytes  # pose.pack(), kept so that every frame reuses the same bytes
    node: NodePath
    hand_nodes: tuple[NodePath, NodePath]
    created: int
    moved: int
    renamed: int
    styled: int
    seated: int
    # Experts and screens; empty for avatars.
    persona: str = ""
    specialty: str = ""
    label: str = ""
    presence: str = ""  # expert: arriving, present, leaving
    content: str = ""  # screen: id of what it shows
    staged: int = 0  # when presence or content last changed
    # Media: microphone and camera "on"/"off" ("" none) for avatars; mouth level for experts.
    mic: str = ""
    cam: str = ""
    mouth: int = 0
    media: int = 0  # when mic or cam last changed
    mouthed: int = 0  # when the mouth last changed

    @property
    def pose(self) -> AvatarPose:
        pose = self.unpacked
        if pose is None:
            pose = self.unpacked = AvatarPose.unpack(self.packed)
        return pose

    @property
    def pos(self) -> Vec3mm:
        return self.pose.head.pos

    def full(self) -> Ent:
        if self.kind == AVATAR:
            return Ent(
                self.id,
                self.kind,
                self.member,
                self.name,
                self.role,
                self.look,
                self.seat,
                self.packed,
                mic=self.mic or None,
                cam=self.cam or None,
            )
        return Ent(
            self.id,
            self.kind,
            None,
            self.name,
            self.role,
            self.look if self.kind == EXPERT else None,
            None,
            self.packed,
            self.persona or None,
            self.specialty or None,
            self.presence or None,
            self.label or None,
            self.content if self.kind == SCREEN else None,
            mo=self.mouth or None,
        )

    def wire_since(self, base: int) -> dict[str, Any] | None:
        """:meth:`since` as its wire map (``ent_to_wire``). An entity that only moved, which
        is every moving avatar of a VR room every tick, skips building the ``Ent``."""
        if (
            self.moved > base
            and self.created <= base
            and self.renamed <= base
            and self.styled <= base
            and self.seated <= base
            and self.staged <= base
            and self.media <= base
            and self.mouthed <= base
        ):
            return {"i": self.id, "x": self.packed}
        ent = self.since(base)
        return None if ent is None else ent_to_wire(ent)

    def since(self, base: int) -> Ent | None:
        """The fields that changed after ``base``, or ``None`` if nothing did."""
        if self.created > base:
            return self.full()
        moved, renamed = self.moved > base, self.renamed > base
        styled, seated = self.styled > base, self.seated > base
        staged = self.staged > base
        media, mouthed = self.media > base, self.mouthed > base
        if not (moved or renamed or styled or seated or staged or media or mouthed):
            return None
        return Ent(
            self.id,
            n=self.name if renamed else None,
            a=self.look if styled else None,
            s=self.seat if seated else None,
            x=self.packed if moved else None,
            e=self.presence if staged and self.kind == EXPERT else None,
            c=self.content if staged and self.kind == SCREEN else None,
            mic=self.mic if media else None,
            cam=self.cam if media else None,
            mo=self.mouth if mouthed else None,
        )


class Scene:
    def __init__(self, layout: Layout, *, history_ticks: int = 300) -> None:
        self.layout = layout
        self._root = NodePath(f"room:{layout.name}")
        if layout.asset is not None:
            room_model(layout.name).instance_to(self._root)
        yup = self._root.attach_new_node("y-up")
        yup.set_p(90)  # maps glTF's (x, y, z) to Panda3D's (x, -z, y)
        self._yup = yup
        self._entities_np = yup.attach_new_node("entities")
        spawn_np = yup.attach_new_node("spawn-points")
        for sp in layout.spawn_points:
            node = spawn_np.attach_new_node(sp.id)
            node.set_pos(*sp.pos)
            x, y, z, w = sp.rotation
            node.set_quat(PandaQuat(w, x, y, z))  # yaw about glTF's Y (up), as for entities
        self.entities: dict[int, Entity] = {}
        self.tick = 0
        self.history_ticks = history_ticks
        self._next_id = 1
        self._removed: deque[tuple[int, int]] = deque()  # (tick, entity id)
        self._last_change = 0
        self._stale: set[int] = set()  # moved entities whose nodes are not yet placed

    @property
    def root(self) -> NodePath:
        """The scene graph, every entity's nodes where its pose says."""
        if self._stale:
            for eid in self._stale:
                self._place_moved(self.entities[eid])
            self._stale.clear()
        return self._root

    # --- changes -------------------------------------------------------------------------

    @property
    def _pending(self) -> int:
        return self.tick + 1

    @property
    def next_entity(self) -> int:
        """The id the next spawned entity gets."""
        return self._next_id

    def resume_at(self, tick: int, next_entity: int) -> None:
        """Go on from ``tick``, numbering entities from ``next_entity`` on (a room rebuilt on
        another node): nothing of the old host's ticks or ids is reused, and every member's
        next state is a full one."""
        self.tick = tick
        self._next_id = max(self._next_id, next_entity)
        self._last_change = tick

    def spawn(  # noqa: PLR0913 - one keyword per entity field, all optional but the pose
        self,
        kind: str,
        member: int,
        name: str,
        role: str,
        pose: AvatarPose,
        *,
        look: Look,
        seat: str = "",
        persona: str = "",
        specialty: str = "",
        label: str = "",
        presence: str = "",
        content: str = "",
    ) -> Entity:
        eid = self._next_id
        self._next_id += 1
        node = self._entities_np.attach_new_node(f"{kind}:{eid}")
        node.set_tag("entity", str(eid))
        node.set_tag("member", str(member))
        hands = (node.attach_new_node("left-hand"), node.attach_new_node("right-hand"))
        t = self._pending
        ent = Entity(
            eid,
            kind,
            member,
            name,
            role,
            look,
            seat,
            pose,
            pose.pack(),
            node,
            hands,
            t,
            t,
            t,
            t,
            t,
            persona,
            specialty,
            label,
            presence,
            content,
            t,
        )
        self._place(ent)
        self.entities[eid] = ent
        self._last_change = t
        return ent

    def move(self, eid: int, pose: AvatarPose) -> bool:
        ent = self._get(eid)
        packed = pose.pack()
        if packed == ent.packed:
            return False
        ent.unpacked, ent.packed = pose, packed
        ent.moved = self._last_change = self._pending
        self._stale.add(eid)
        return True

    def move_packed(self, eid: int, packed: bytes) -> bool:
        """:meth:`move` for a pose already packed (and checked: a binary pose frame)."""
        ent = self._get(eid)
        if packed == ent.packed:
            return False
        ent.unpacked, ent.packed = None, packed
        ent.moved = self._last_change = self._pending
        self._stale.add(eid)
        return True

    def _place_moved(self, ent: Entity) -> None:
        # What _place does, in fewer Panda3D calls: one transform per node, the hands' made
        # relative to the head's by one compose. The entities node sits at the Y-up frame's
        # origin, so the head's transform is the one in that frame.
        one = (1.0, 1.0, 1.0)
        pose = ent.pose
        head, (left_np, right_np) = pose.head, ent.hand_nodes
        x, y, z, w = unpack_quat(head.rot)
        hx, hy, hz = head.pos
        head_ts = TransformState.make_pos_quat_scale(
            (hx / POS_SCALE, hy / POS_SCALE, hz / POS_SCALE), PandaQuat(w, x, y, z), one
        )
        ent.node.set_transform(head_ts)
        for part, hand in ((pose.left, left_np), (pose.right, right_np)):
            if part is None:
                hand.hide()
                continue
            hand.show()
            x, y, z, w = unpack_quat(part.rot)
            px, py, pz = part.pos
            hand_ts = TransformState.make_pos_quat_scale(
                (px / POS_SCALE, py / POS_SCALE, pz / POS_SCALE), PandaQuat(w, x, y, z), one
            )
            hand.set_transform(head_ts.invert_compose(hand_ts))

    def rename(self, eid: int, name: str) -> None:
        ent = self._get(eid)
        if ent.name != name:
            ent.name = name
            ent.renamed = self._last_change = self._pending

    def restyle(self, eid: int, look: Look) -> None:
        ent = self._get(eid)
        if ent.look != look:
            ent.look = look
            ent.styled = self._last_change = self._pending

    def seat(self, eid: int, seat: str) -> None:
        ent = self._get(eid)
        if ent.seat != seat:
            ent.seat = seat
            ent.seated = self._last_change = self._pending

    def stage(self, eid: int, *, presence: str | None = None, content: str | None = None) -> None:
        """Change an expert's presence state or what a screen shows."""
        ent = self._get(eid)
        changed = False
        if presence is not None and ent.presence != presence:
            ent.presence, changed = presence, True
        if content is not None and ent.content != content:
            ent.content, changed = content, True
        if changed:
            ent.staged = self._last_change = self._pending

    def set_media(self, eid: int, *, mic: str | None = None, cam: str | None = None) -> None:
        """A member's microphone or camera: "on", "off", or "" when it has none."""
        ent = self._get(eid)
        changed = False
        if mic is not None and ent.mic != mic:
            ent.mic, changed = mic, True
        if cam is not None and ent.cam != cam:
            ent.cam, changed = cam, True
        if changed:
            ent.media = self._last_change = self._pending

    def set_mouth(self, eid: int, level: int) -> None:
        """How far a speaking expert's mouth is open, 0 (closed) to ``MOUTH_LEVELS``."""
        ent = self._get(eid)
        if ent.mouth != level:
            ent.mouth = level
            ent.mouthed = self._last_change = self._pending

    def remove(self, eid: int) -> None:
        ent = self.entities.pop(eid, None)
        if ent is None:
            raise NoSuchEntity(eid)
        ent.node.remove_node()
        self._stale.discard(eid)
        self._removed.append((self._pending, eid))
        self._last_change = self._pending

    def advance(self) -> int:
        """Publish pending changes as the next tick and forget history nobody can need."""
        self.tick += 1
        horizon = self.oldest_base
        while self._removed and self._removed[0][0] <= horizon:
            self._removed.popleft()
        # Panda3D caches every transform and render state it has seen until they are
        # garbage-collected, which ShowBase does once a frame; there is no ShowBase here, and
        # without this a room of moving VR members grows by about a gigabyte an hour.
        TransformState.garbage_collect()
        RenderState.garbage_collect()
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

    def delta(
        self, base: int, *, only: Container[int] | None = None
    ) -> tuple[list[Ent], list[int]] | None:
        """Entities added or changed and ids removed after ``base``; ``None`` if too old.

        ``only`` limits the entities considered (interest management); removals are always
        complete, being cheap and idempotent.
        """
        if base < self.oldest_base or base > self.tick:
            return None
        entities: Iterable[Entity] = self.entities.values()
        if only is not None:
            entities = (e for e in entities if e.id in only)
        ents = [d for e in entities if (d := e.since(base)) is not None]
        # Every removal after base, even of entities created after base: a client may hold a
        # newer state than the one it acked, in which that entity still exists.
        gone = [eid for t, eid in self._removed if base < t <= self.tick]
        return ents, gone

    def delta_wire(
        self, base: int, *, only: Container[int] | None = None
    ) -> tuple[list[dict[str, Any]], list[int]] | None:
        """:meth:`delta` with the entities as wire maps, ready to pack (see Room._publish)."""
        if base < self.oldest_base or base > self.tick:
            return None
        entities: Iterable[Entity] = self.entities.values()
        if only is not None:
            entities = (e for e in entities if e.id in only)
        ents = [d for e in entities if (d := e.wire_since(base)) is not None]
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

    def _place(self, ent: Entity) -> None:
        pose = ent.pose
        _set_transform(ent.node, pose.head)
        for part, hand in zip((pose.left, pose.right), ent.hand_nodes, strict=True):
            if part is None:
                hand.hide()
                continue
            hand.show()
            # Hands are tracked in room coordinates, not relative to the head.
            hand.set_pos(self._yup, *mm_to_pos(part.pos))
            x, y, z, w = unpack_quat(part.rot)
            hand.set_quat(self._yup, PandaQuat(w, x, y, z))


def _set_transform(node: NodePath, part: Part) -> None:
    node.set_pos(*mm_to_pos(part.pos))
    x, y, z, w = unpack_quat(part.rot)
    node.set_quat(PandaQuat(w, x, y, z))


def state_digest(ents: Iterable[Ent]) -> str:
    """Order-independent hash of replicated state: equal on server and in-sync replicas."""
    h = hashlib.sha256()
    for e in sorted(ents, key=lambda e: e.i):
        look = look_to_wire(e.a) if e.a is not None else {}
        h.update(f"{e.i}|{e.k}|{e.m}|{e.n}|{e.r}|{e.s}|{sorted(look.items())}|".encode())
        h.update(f"{e.p}|{e.sp}|{e.e}|{e.l}|{e.c}|".encode())
        # "" (a delta removing a device) and absent (a snapshot) mean the same.
        h.update(f"{e.mic or ''}|{e.cam or ''}|{e.mo or 0}|".encode())
        h.update(e.x or b"")
        h.update(b"\x00")
    return h.hexdigest()[:16]


__all__ = ["AVATAR", "EXPERT", "NO_MEMBER", "SCREEN", "Entity", "Scene", "state_digest"]
