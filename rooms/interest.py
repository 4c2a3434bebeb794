"""Interest management for big rooms (branch lobby, seminar): what is near, what can wait.

Near entities (same or adjacent grid cell) and relevant ones (bank staff) reach a member at the
full tick rate; the rest only every ``far_every`` ticks. Members' baselines advance only on
frames that carried everything ("full" frames: snapshots, and deltas on far ticks), so a far
entity's change is never lost, only delivered later. Members in one cell with one baseline
share one encoded frame.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from scenes.scene import Entity

Cell = tuple[int, int]


@dataclass(frozen=True, slots=True)
class InterestPolicy:
    cell_mm: int = 5000
    far_every: int = 10  # 30 Hz ticks -> far entities at 3 Hz
    always_roles: frozenset[str] = frozenset({"advisor"})

    def cell_of(self, ent: Entity) -> Cell:
        x, _, z = ent.pos
        return (x // self.cell_mm, z // self.cell_mm)

    def is_full_tick(self, tick: int) -> bool:
        return tick % self.far_every == 0

    def index(self, entities: Iterable[Entity]) -> Index:
        return Index(self, entities)


class Index:
    """One tick's view of who is where: built once, asked once per group of members."""

    def __init__(self, policy: InterestPolicy, entities: Iterable[Entity]) -> None:
        self.cell_of: dict[int, Cell] = {}
        self._by_cell: dict[Cell, list[int]] = {}
        self._always: list[int] = []
        for e in entities:
            cell = policy.cell_of(e)
            self.cell_of[e.id] = cell
            self._by_cell.setdefault(cell, []).append(e.id)
            if e.role in policy.always_roles:
                self._always.append(e.id)

    def near(self, cell: Cell) -> set[int]:
        cx, cz = cell
        out = set(self._always)
        for dx in (-1, 0, 1):
            for dz in (-1, 0, 1):
                out.update(self._by_cell.get((cx + dx, cz + dz), ()))
        return out


# Layouts where not everyone needs everyone at full rate. The private room has no entry:
# in a room of a handful of people, everything is near.
# Cells are sized so that "near" (3 x 3 cells) is a conversation's reach, not the whole room.
POLICIES: dict[str, InterestPolicy] = {
    "branch_lobby": InterestPolicy(cell_mm=2500, far_every=10),
    "seminar_room": InterestPolicy(cell_mm=2000, far_every=10),
}
