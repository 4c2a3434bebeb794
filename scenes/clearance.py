"""Whether the people a layout places (members, the advisor, digital experts) stand clear of
its furniture: nobody drawn inside a potted plant, a sofa or the lectern.

A standing figure is a disc as wide as its hands hang (the broadest, tallest figure a member
may choose, both arms); a digital expert stands in a ring of light wider still; a seated
figure is narrower, and is meant to be inside its own chair or sofa, so that piece is
the one it may overlap. A piece counts only if it reaches the height a body fills above the
ground the spot is on: a stage under the presenter's feet or a chandelier above her head
does not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scenes.layout import Furniture, Layout, SpawnPoint

# client_web/js/figures.js: a broad figure's hands hang 0.34 m out at 170 cm, 0.42 m at the
# tallest (210 cm); an expert's ring is 0.42 m across its middle, 0.44 m at its edge.
STANDING_RADIUS_M = 0.42
EXPERT_RADIUS_M = 0.45
SEATED_RADIUS_M = 0.25
# Above the feet: a shoe's sole clears a rug or a threshold, a head fills up to here.
BODY_BOTTOM_M = 0.05
BODY_TOP_M = 1.9


@dataclass(frozen=True, slots=True)
class Clash:
    """A spot whose body reaches into a piece of furniture."""

    kind: str  # "spawn point", "seat", "expert spot", "advisor spot"
    spot: str
    furniture: str
    gap_m: float  # from the spot's centre to the piece's footprint; below the body's radius

    def __str__(self) -> str:
        return f"{self.kind} {self.spot} is {self.gap_m:.2f} m from {self.furniture}"


def spots_to_check(layout: Layout) -> list[tuple[str, SpawnPoint, bool]]:
    """Every place a layout puts someone: (kind, spot, seated)."""
    seats = {s.id for s in layout.seats}
    spots = [("spawn point", sp, sp.id in seats) for sp in layout.spawn_points]
    spots += [("seat", s, True) for s in layout.seats]
    spots += [("expert spot", s, False) for s in layout.expert_spots]
    if layout.advisor_spot is not None:
        spot = layout.advisor_spot
        spots.append(("advisor spot", spot, spot.id in seats))
    return spots


def gap(piece: Furniture, x: float, z: float) -> float:
    """Distance on the floor from (x, z) to the piece's footprint; 0 inside it."""
    (x0, z0), (x1, z1) = piece.rect.min, piece.rect.max
    return math.hypot(max(x0 - x, 0.0, x - x1), max(z0 - z, 0.0, z - z1))


def clashes(layout: Layout) -> list[Clash]:
    """The spots of ``layout`` whose bodies reach into furniture; empty when all are clear."""
    found = []
    for kind, spot, seated in spots_to_check(layout):
        x, y, z = spot.pos
        radius = SEATED_RADIUS_M if seated else STANDING_RADIUS_M
        if kind == "expert spot":
            radius = EXPERT_RADIUS_M
        for piece in layout.furniture:
            if seated and spot.id in piece.seats:
                continue
            if piece.top <= y + BODY_BOTTOM_M or piece.bottom >= y + BODY_TOP_M:
                continue
            d = gap(piece, x, z)
            if d < radius:
                found.append(Clash(kind, spot.id, piece.id, round(d, 3)))
    return found


__all__ = [
    "BODY_BOTTOM_M",
    "BODY_TOP_M",
    "EXPERT_RADIUS_M",
    "SEATED_RADIUS_M",
    "STANDING_RADIUS_M",
    "Clash",
    "clashes",
    "gap",
    "spots_to_check",
]
