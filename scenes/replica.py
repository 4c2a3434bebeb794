"""A client's copy of the scene, rebuilt from snapshot and delta frames. Pure; no I/O.

Apply rule (the same in every client): a snapshot replaces everything; a delta applies when
``base <= tick < delta.tick`` and is dropped otherwise (stale or reordered). Deltas carry the
fields changed after ``base`` with their current values, so applying one to any state between
``base`` and its own tick gives exactly the server's state at that tick.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from protocol.messages import Delta, Ent, Snapshot
from protocol.pose import AvatarPose
from scenes.scene import state_digest


@dataclass(slots=True)
class Replica:
    tick: int = -1
    entities: dict[int, Ent] = field(default_factory=dict)
    dropped: int = 0

    def apply(self, frame: Snapshot | Delta) -> bool:
        """Apply a state frame; return whether it was applied (and so should be acked)."""
        if isinstance(frame, Snapshot):
            if frame.tick <= self.tick:
                self.dropped += 1
                return False
            self.entities = {e.i: e for e in frame.ents}
            self.tick = frame.tick
            return True
        if not frame.base <= self.tick < frame.tick:
            self.dropped += 1
            return False
        for gone in frame.gone:
            self.entities.pop(gone, None)
        for e in frame.ents:
            old = self.entities.get(e.i)
            self.entities[e.i] = e if old is None else _merge(old, e)
        self.tick = frame.tick
        return True

    def digest(self) -> str:
        return state_digest(self.entities.values())

    def by_member(self, member: int) -> Ent | None:
        return next((e for e in self.entities.values() if e.m == member), None)

    def to_snapshot(self) -> Snapshot:
        """This copy as a snapshot frame: what ``run_server.py render --state`` reads."""
        return Snapshot(self.tick, list(self.entities.values()))

    def pose_of(self, member: int) -> AvatarPose | None:
        ent = self.by_member(member)
        return AvatarPose.unpack(ent.x) if ent is not None and ent.x is not None else None


def _merge(old: Ent, new: Ent) -> Ent:
    changed = {k: v for k in _FIELDS if (v := getattr(new, k)) is not None}
    return replace(old, **changed)


_FIELDS = ("k", "m", "n", "r", "a", "s", "x", "p", "sp", "e", "l", "c", "mic", "cam", "mo")
