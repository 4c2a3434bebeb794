"""Generate the rooms: binary glTF geometry and the layout metadata beside it.

    python -m tools.build_assets            # writes scenes/assets/*.glb and scenes/layouts/*.json
    python -m tools.build_assets --out DIR  # the same files under DIR/assets, DIR/layouts

The geometry is made of boxes, cylinders and spheres (trimesh), grouped per finish so that a
client draws each piece with few calls, and instanced: a chair is stored once and placed by
many nodes, which keeps a 200-seat lobby small. Every piece that matters has a named node
(``table``, ``screen-main``, ``seat-customer``, ``door-1`` ...), so a client can find it.

The metadata (spawn points, seats, walkable ground ...) is computed from the same placements,
so the furniture and the floor plan cannot drift apart; ``parse_layout`` checks the result
before anything is written.

Output is deterministic (same bytes on every run): a test rebuilds and compares. Vertices
are rounded to 0.1 mm and floats in the glTF header to 4 decimals so that last-bit
differences between maths libraries do not change the files.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import trimesh
from trimesh.visual import TextureVisuals
from trimesh.visual.material import PBRMaterial

from scenes.clearance import STANDING_RADIUS_M, clashes
from scenes.errors import LayoutError
from scenes.layout import parse_layout

Vec3 = tuple[float, float, float]
Box2 = tuple[float, float, float, float]  # x0, z0, x1, z1 on the floor
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# The checkout's scenes package, which ships what this writes.
SCENES_DIR = Path(__file__).resolve().parent.parent / "scenes"
UNITS = (
    "metres; right-handed, Y up (glTF); yaw_deg turns about +Y, counter-clockwise seen from "
    "above; yaw 0 looks along -Z, yaw 90 along -X"
)
# Avatars are about 0.5 m across: the walkable ground keeps their centre this far from walls
# and furniture.
CLEARANCE = 0.25
WALL_MARGIN = 0.3
WALL = 0.2  # wall thickness, built outside the bounds so the inside faces are the bounds


# --- finishes ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Finish:
    srgb: str  # "#rrggbb", as a designer picks colours; stored linear, as glTF wants
    metallic: float = 0.0
    roughness: float = 0.8
    alpha: float = 1.0
    glow: float = 0.0  # emissive strength: lamps, screens, the daylight in a window


FINISHES: dict[str, Finish] = {
    "walnut": Finish("#6b4226", roughness=0.5),
    "walnut-dark": Finish("#3e2616", roughness=0.55),
    "wall": Finish("#eee4cf", roughness=0.9),
    "ceiling": Finish("#f6f2e9", roughness=0.95),
    "carpet": Finish("#7a7066", roughness=1.0),
    "carpet-dark": Finish("#3a3f4b", roughness=1.0),
    "rug": Finish("#233a58", roughness=1.0),
    "rug-border": Finish("#c9b489", roughness=1.0),
    "stone": Finish("#e9e3d7", roughness=0.3),
    "stone-dark": Finish("#8c8276", roughness=0.35),
    "leather": Finish("#8c4a28", roughness=0.45),
    "leather-dark": Finish("#2e2b29", roughness=0.45),
    "leather-green": Finish("#2f4b3b", roughness=0.5),
    "fabric-navy": Finish("#2c3c5a", roughness=0.95),
    "fabric-cream": Finish("#d8ccb4", roughness=0.95),
    "fabric-burgundy": Finish("#6e2230", roughness=0.95),
    "fabric-slate": Finish("#5d6877", roughness=0.95),
    "brass": Finish("#c9a35b", metallic=0.85, roughness=0.3),
    "glass": Finish("#d6e8ef", roughness=0.05, alpha=0.3),
    "screen": Finish("#15273f", roughness=0.15, glow=0.4),
    "bezel": Finish("#17171a", roughness=0.4),
    "metal-dark": Finish("#2c2c2f", metallic=0.6, roughness=0.4),
    "ceramic": Finish("#34363a", roughness=0.35),
    "ceramic-light": Finish("#d9d2c4", roughness=0.35),
    "soil": Finish("#3b2d22", roughness=1.0),
    "leaf": Finish("#3d6a3a", roughness=0.8),
    "leaf-light": Finish("#5c8c4a", roughness=0.8),
    "lamp": Finish("#fff5dc", roughness=0.5, glow=1.0),
    "sky": Finish("#a9c9e4", roughness=1.0, glow=0.45),
    "city-1": Finish("#8794a3", roughness=0.9),
    "city-2": Finish("#a3adb8", roughness=0.9),
    "city-3": Finish("#6f7c8c", roughness=0.9),
    "paper": Finish("#f6f3ea", roughness=0.9),
    "art-navy": Finish("#1f3556", roughness=0.9),
    "art-ochre": Finish("#c98f3c", roughness=0.9),
    "art-sage": Finish("#8fa58a", roughness=0.9),
    "art-rust": Finish("#a4522f", roughness=0.9),
    "book-1": Finish("#6e2230", roughness=0.9),
    "book-2": Finish("#233a58", roughness=0.9),
    "book-3": Finish("#b89a62", roughness=0.9),
}


def linear(srgb: str) -> tuple[float, float, float]:
    """sRGB "#rrggbb" to linear RGB, the colour space of glTF's factors."""
    out = []
    for i in (1, 3, 5):
        c = int(srgb[i : i + 2], 16) / 255
        out.append(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4)
    return (out[0], out[1], out[2])


def _material(name: str) -> PBRMaterial:
    finish = FINISHES[name]
    # Exact factors are written by _tidy_tree: trimesh keeps colours as 8-bit values, too
    # coarse for dark linear colours.
    material: PBRMaterial = PBRMaterial(  # type: ignore[no-untyped-call]
        name=name,
        baseColorFactor=[*linear(finish.srgb), finish.alpha],
        metallicFactor=finish.metallic,
        roughnessFactor=finish.roughness,
        alphaMode="BLEND" if finish.alpha < 1 else "OPAQUE",
    )
    return material


def _tidy_tree(tree: dict[str, Any]) -> None:
    """Write exact material factors and drop trimesh's private extras from the glTF header."""
    for material in tree.get("materials", []):
        finish = FINISHES[material["name"]]
        rgb = linear(finish.srgb)
        pbr = material["pbrMetallicRoughness"]
        pbr["baseColorFactor"] = [round(c, 4) for c in (*rgb, finish.alpha)]
        pbr["metallicFactor"] = finish.metallic
        pbr["roughnessFactor"] = finish.roughness
        if finish.glow:
            material["emissiveFactor"] = [round(c * finish.glow, 4) for c in rgb]
    for mesh in tree.get("meshes", []):
        mesh.pop("extras", None)
    for node in tree.get("nodes", []):
        if "matrix" in node:
            node["matrix"] = [round(v, 5) + 0.0 for v in node["matrix"]]


# --- shapes --------------------------------------------------------------------------------------


def _rotation_y(yaw_deg: float) -> FloatArray:
    c, s = math.cos(math.radians(yaw_deg)), math.sin(math.radians(yaw_deg))
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def _pose(at: Vec3, yaw_deg: float) -> FloatArray:
    matrix = np.eye(4)
    matrix[:3, :3] = _rotation_y(yaw_deg)
    matrix[:3, 3] = at
    return matrix


@dataclass(slots=True)
class Shape:
    """One piece (a chair, a wall), as meshes grouped by finish, in the piece's own frame.

    The frame: origin on the floor under the piece, Y up, the piece's front towards -Z (a
    sitter looks along -Z). Pieces hung on a wall have their back at z = 0.
    """

    parts: dict[str, list[tuple[FloatArray, IntArray]]] = field(default_factory=dict)

    def mesh(self, finish: str, mesh: trimesh.Trimesh, at: Vec3 = (0, 0, 0)) -> Shape:
        if finish not in FINISHES:
            raise KeyError(f"unknown finish {finish!r}")
        vertices = np.asarray(mesh.vertices, dtype=np.float64) + np.asarray(at)
        faces = np.asarray(mesh.faces, dtype=np.int64)
        self.parts.setdefault(finish, []).append((vertices, faces))
        return self

    def box(self, finish: str, size: Vec3, center: Vec3) -> Shape:
        return self.mesh(finish, trimesh.creation.box(extents=size), center)

    def cylinder(
        self, finish: str, radius: float, height: float, base: Vec3, sections: int = 24
    ) -> Shape:
        """An upright cylinder standing on ``base``."""
        top = (base[0], base[1] + height, base[2])
        return self.rod(finish, radius, base, top, sections)

    def rod(self, finish: str, radius: float, start: Vec3, end: Vec3, sections: int = 12) -> Shape:
        mesh = trimesh.creation.cylinder(radius=radius, segment=[start, end], sections=sections)
        return self.mesh(finish, mesh)

    def ring(
        self, finish: str, r_min: float, r_max: float, height: float, base: Vec3, sections: int = 40
    ) -> Shape:
        """A flat ring lying on ``base`` (a disc if ``r_min`` is 0)."""
        if r_min <= 0:
            return self.cylinder(finish, r_max, height, base, sections)
        ring = trimesh.creation.annulus(r_min=r_min, r_max=r_max, height=height, sections=sections)
        vertices = np.asarray(ring.vertices)[:, [0, 2, 1]]  # annulus() lies in XY: lay it down
        faces = np.asarray(ring.faces)[:, ::-1]  # the swap mirrors it: keep the faces outward
        lying = trimesh.Trimesh(vertices=vertices, faces=faces, process=False)
        return self.mesh(finish, lying, (base[0], base[1] + height / 2, base[2]))

    def ball(self, finish: str, radius: float, center: Vec3, subdivisions: int = 1) -> Shape:
        mesh = trimesh.creation.icosphere(subdivisions=subdivisions, radius=radius)
        return self.mesh(finish, mesh, center)

    def add(self, other: Shape, at: Vec3 = (0, 0, 0), yaw_deg: float = 0.0) -> Shape:
        rotation = _rotation_y(yaw_deg)
        for finish, parts in other.parts.items():
            for vertices, faces in parts:
                moved = vertices @ rotation.T + np.asarray(at)
                self.parts.setdefault(finish, []).append((moved, faces))
        return self

    def merged(self) -> dict[str, trimesh.Trimesh]:
        """One mesh per finish, in a fixed order, with vertices rounded for stable bytes."""
        out = {}
        for finish in sorted(self.parts):
            chunks = self.parts[finish]
            offsets = np.cumsum([0] + [len(v) for v, _ in chunks[:-1]])
            vertices = np.round(np.vstack([v for v, _ in chunks]), 4) + 0.0
            faces = np.vstack([f + o for (_, f), o in zip(chunks, offsets, strict=True)])
            mesh = trimesh.Trimesh(vertices=vertices, faces=faces, process=False)
            mesh.visual = TextureVisuals(material=_material(finish))  # type: ignore[no-untyped-call]
            out[finish] = mesh
        return out

    def footprint(self, at: Vec3, yaw_deg: float) -> Box2:
        points = np.vstack([v for parts in self.parts.values() for v, _ in parts])
        moved = points @ _rotation_y(yaw_deg).T + np.asarray(at)
        return (
            float(moved[:, 0].min()),
            float(moved[:, 2].min()),
            float(moved[:, 0].max()),
            float(moved[:, 2].max()),
        )


# --- the room being built ------------------------------------------------------------------------


def _r(v: float) -> float:
    return round(v, 3) + 0.0  # + 0.0 turns -0.0 into 0.0


def _p(v: Sequence[float]) -> list[float]:
    return [_r(c) for c in v]


def facing(src: Vec3, dst: Vec3) -> float:
    """The yaw at ``src`` that looks at ``dst``."""
    yaw = math.degrees(math.atan2(-(dst[0] - src[0]), -(dst[2] - src[2])))
    return round(yaw % 360.0, 1) % 360.0


def _spot(ident: str, pos: Vec3, yaw_deg: float, roles: Iterable[str] = ()) -> dict[str, Any]:
    spot: dict[str, Any] = {"id": ident, "pos": _p(pos), "yaw_deg": _r(yaw_deg % 360.0)}
    if roles:
        spot["roles"] = list(roles)
    return spot


@dataclass(frozen=True, slots=True)
class Prefab:
    """A piece stored once in the file and placed by many nodes (chairs, plants, doors)."""

    name: str
    shape: Shape


@dataclass
class Room:
    name: str
    title: str
    lo: Vec3
    hi: Vec3
    scene: trimesh.Scene = field(default_factory=trimesh.Scene)
    obstacles: list[Box2] = field(default_factory=list)
    spawn_points: list[dict[str, Any]] = field(default_factory=list)
    seats: list[dict[str, Any]] = field(default_factory=list)
    expert_spots: list[dict[str, Any]] = field(default_factory=list)
    advisor_spot: dict[str, Any] | None = None
    screens: list[dict[str, Any]] = field(default_factory=list)
    doors: list[dict[str, Any]] = field(default_factory=list)
    zones: list[dict[str, Any]] = field(default_factory=list)
    views: list[dict[str, Any]] = field(default_factory=list)
    furniture: list[dict[str, Any]] = field(default_factory=list)
    _prefabs: dict[str, dict[str, trimesh.Trimesh]] = field(default_factory=dict)
    _nodes: set[str] = field(default_factory=set)

    def place(
        self,
        node: str,
        piece: Shape | Prefab,
        at: Vec3 = (0, 0, 0),
        yaw_deg: float = 0.0,
        *,
        blocks: bool = False,
        furniture: bool = False,
        holds: Sequence[str] = (),
    ) -> None:
        """Put ``piece`` in the room as node ``node``; ``blocks``: avatars walk around it;
        ``furniture`` (implied by ``blocks``): nobody is placed inside it, except in the seats
        it ``holds``."""
        shape = piece.shape if isinstance(piece, Prefab) else piece
        meshes, prefix = self._meshes(node, piece)
        for finish, mesh in meshes.items():
            self._geometry(f"{prefix}.{finish}", mesh)
        base, pose = self.scene.graph.base_frame, _pose(at, yaw_deg)
        if len(meshes) == 1:
            # One finish: the mesh hangs on the named node itself, easy for a client to find.
            self._link(base, node, pose, f"{prefix}.{next(iter(meshes))}")
        else:
            self._link(base, node, pose)
            for finish in meshes:
                self._link(node, f"{node}.{finish}", np.eye(4), f"{prefix}.{finish}")
        if blocks:
            self.obstacles.append(shape.footprint(at, yaw_deg))
        if blocks or furniture or holds:
            box = _furniture(node, shape, at, yaw_deg, holds)
            # What a piece pushes into a wall (a sideboard's back) is not in the room.
            box["min"] = [max(box["min"][0], self.lo[0]), max(box["min"][1], self.lo[2])]
            box["max"] = [min(box["max"][0], self.hi[0]), min(box["max"][1], self.hi[2])]
            self.furniture.append(box)

    def _link(self, parent: Hashable, node: str, matrix: FloatArray, geometry: str = "") -> None:
        if node in self._nodes:
            raise ValueError(f"node {node!r} placed twice")
        self._nodes.add(node)
        extra = {"geometry": geometry} if geometry else {}
        graph = self.scene.graph
        graph.update(frame_from=parent, frame_to=node, matrix=matrix, **extra)  # type: ignore[no-untyped-call]

    def _meshes(self, node: str, piece: Shape | Prefab) -> tuple[dict[str, trimesh.Trimesh], str]:
        if isinstance(piece, Shape):
            return piece.merged(), node
        if piece.name not in self._prefabs:
            self._prefabs[piece.name] = piece.shape.merged()
        return self._prefabs[piece.name], piece.name

    def _geometry(self, name: str, mesh: trimesh.Trimesh) -> None:
        if name not in self.scene.geometry:
            self.scene.geometry[name] = mesh

    def seat(
        self, node: str, piece: Shape | Prefab, at: Vec3, yaw_deg: float, roles: Sequence[str]
    ) -> None:
        self.place(node, piece, at, yaw_deg, holds=(node,))
        self.seats.append(_spot(node, at, yaw_deg, roles))

    def floor(self) -> list[Box2]:
        return walkable(self.floor_rect(), self.obstacles)

    def screen(self, ident: str, center: Vec3, size: tuple[float, float], yaw_deg: float) -> None:
        """A display on a wall: a bezel and a named surface a client can draw charts on."""
        width, height = size
        frame = Shape().box("bezel", (width + 0.1, height + 0.1, 0.05), (0, 0, -0.025))
        # The bezel's face 1 cm behind the surface's: nearer, they would fight for depth.
        self.place(f"{ident}-frame", frame, _step_back(center, yaw_deg, 0.06), yaw_deg)
        # The surface's face is exactly at ``center``, where a client draws the charts.
        surface = Shape().box("screen", (width, height, 0.01), (0, 0, 0.005))
        self.place(ident, surface, center, yaw_deg)
        normal = (-math.sin(math.radians(yaw_deg)), 0.0, -math.cos(math.radians(yaw_deg)))
        self.screens.append(
            {
                "id": ident,
                "center": _p(center),
                "size": _p(size),
                "yaw_deg": _r(yaw_deg),
                "normal": _p(normal),
            }
        )

    def floor_rect(self) -> Box2:
        lo, hi = self.lo, self.hi
        m = WALL_MARGIN
        return (lo[0] + m, lo[2] + m, hi[0] - m, hi[2] - m)


def _furniture(
    node: str, shape: Shape, at: Vec3, yaw_deg: float, holds: Sequence[str]
) -> dict[str, Any]:
    x0, z0, x1, z1 = shape.footprint(at, yaw_deg)
    heights = np.vstack([v for parts in shape.parts.values() for v, _ in parts])[:, 1] + at[1]
    piece: dict[str, Any] = {
        "id": node,
        "min": [_floor_r(x0), _floor_r(z0)],
        "max": [_ceil_r(x1), _ceil_r(z1)],
        "y": [_floor_r(float(heights.min())), _ceil_r(float(heights.max()))],
    }
    if holds:
        piece["seats"] = list(holds)
    return piece


def _gap(piece: dict[str, Any], x: float, z: float) -> float:
    (x0, z0), (x1, z1) = piece["min"], piece["max"]
    return math.hypot(max(x0 - x, 0.0, x - x1), max(z0 - z, 0.0, z - z1))


def _floor_r(v: float) -> float:
    # Rounded outwards to the millimetre: a footprint never shrinks in the file.
    return math.floor(round(v * 1000, 6)) / 1000 + 0.0


def _ceil_r(v: float) -> float:
    return math.ceil(round(v * 1000, 6)) / 1000 + 0.0


def _step_back(center: Vec3, yaw_deg: float, depth: float) -> Vec3:
    """The point ``depth`` behind ``center`` for something whose face looks along yaw."""
    yaw = math.radians(yaw_deg)
    return (center[0] + math.sin(yaw) * depth, center[1], center[2] + math.cos(yaw) * depth)


# --- walkable ground -----------------------------------------------------------------------------


def walkable(floor: Box2, obstacles: Iterable[Box2], clearance: float = CLEARANCE) -> list[Box2]:
    """The floor less the obstacles (grown by ``clearance``), as few rectangles as is easy.

    Cuts the floor into a grid along every obstacle edge, marks the free cells, joins free
    runs along x, then stacks equal runs of neighbouring rows into rectangles.
    """
    # Grown edges snap outwards to a 5 cm grid, or near-equal edges leave slivers of floor.
    grown = [
        (_snap(x0 - clearance, math.floor), _snap(z0 - clearance, math.floor),
         _snap(x1 + clearance, math.ceil), _snap(z1 + clearance, math.ceil))
        for x0, z0, x1, z1 in obstacles
    ]  # fmt: skip
    fx0, fz0, fx1, fz1 = floor
    xs = sorted({fx0, fx1, *(min(max(v, fx0), fx1) for b in grown for v in (b[0], b[2]))})
    zs = sorted({fz0, fz1, *(min(max(v, fz0), fz1) for b in grown for v in (b[1], b[3]))})
    open_rects: dict[tuple[float, float], list[float]] = {}  # x-run -> [z0, z1]
    done: list[Box2] = []
    for z0, z1 in itertools.pairwise(zs):
        cz = (z0 + z1) / 2
        runs = _free_runs(xs, cz, grown)
        for run in list(open_rects):
            if run not in runs:
                za, zb = open_rects.pop(run)
                done.append((run[0], za, run[1], zb))
        for run in runs:
            open_rects.setdefault(run, [z0, z1])[1] = z1
    done += [(run[0], za, run[1], zb) for run, (za, zb) in open_rects.items()]
    return sorted((_r(a), _r(b), _r(c), _r(d)) for a, b, c, d in done)


def _snap(v: float, direction: Callable[[float], int], grid: float = 0.05) -> float:
    return round(direction(round(v / grid, 6)) * grid, 3)


def _free_runs(xs: list[float], cz: float, blocked: list[Box2]) -> list[tuple[float, float]]:
    runs: list[tuple[float, float]] = []
    start: float | None = None
    for x0, x1 in itertools.pairwise(xs):
        cx = (x0 + x1) / 2
        free = not any(b[0] < cx < b[2] and b[1] < cz < b[3] for b in blocked)
        if free and start is None:
            start = x0
        if not free and start is not None:
            runs.append((start, x0))
            start = None
    if start is not None:
        runs.append((start, xs[-1]))
    return runs


def _on(rects: list[Box2], x: float, z: float) -> bool:
    return any(a <= x <= c and b <= z <= d for a, b, c, d in rects)


# --- furniture -----------------------------------------------------------------------------------


def armchair(leather: str = "leather") -> Shape:
    """A club chair: rolled back and arms."""
    s = Shape()
    s.box("walnut", (0.66, 0.07, 0.62), (0, 0.245, 0.01))
    s.box(leather, (0.54, 0.13, 0.54), (0, 0.345, -0.02))
    s.rod(leather, 0.055, (-0.26, 0.36, -0.28), (0.26, 0.36, -0.28), sections=14)
    s.box(leather, (0.6, 0.5, 0.12), (0, 0.66, 0.26))
    s.rod(leather, 0.07, (-0.3, 0.92, 0.27), (0.3, 0.92, 0.27), sections=16)
    for x in (-0.3, 0.3):
        s.box(leather, (0.08, 0.2, 0.6), (x, 0.48, 0.01))
        s.rod(leather, 0.05, (x, 0.6, -0.29), (x, 0.6, 0.3), sections=14)
        for z in (-0.24, 0.26):
            s.cylinder("walnut", 0.022, 0.21, (x * 0.9, 0, z), sections=10)
            s.cylinder("brass", 0.024, 0.03, (x * 0.9, 0, z), sections=10)
    return s


def office_chair() -> Shape:
    s = Shape()
    s.cylinder("metal-dark", 0.28, 0.04, (0, 0.02, 0), sections=5)
    s.cylinder("metal-dark", 0.03, 0.4, (0, 0.05, 0), sections=10)
    s.box("leather-dark", (0.5, 0.1, 0.5), (0, 0.47, 0))
    s.box("leather-dark", (0.48, 0.55, 0.08), (0, 0.82, 0.24))
    return s


def meeting_table(width: float, depth: float) -> Shape:
    s = Shape()
    s.box("walnut", (width, 0.05, depth), (0, 0.735, 0))
    s.box("brass", (width + 0.02, 0.012, depth + 0.02), (0, 0.712, 0))
    s.box("walnut-dark", (width - 0.2, 0.06, depth - 0.2), (0, 0.68, 0))
    for x in (-width / 2 + 0.35, width / 2 - 0.35):
        s.box("walnut-dark", (0.1, 0.66, depth * 0.6), (x, 0.35, 0))
        s.box("brass", (0.16, 0.02, depth * 0.68), (x, 0.01, 0))
    s.box("walnut-dark", (width - 0.8, 0.08, 0.1), (0, 0.16, 0))
    return s


def table_setting(places: Sequence[tuple[float, float, float]]) -> Shape:
    """Leather pads, paper and pens at each place (x, z, yaw), a carafe and glasses between."""
    s = Shape()
    for x, z, yaw in places:
        place = Shape()
        place.box("leather-green", (0.46, 0.006, 0.32), (0, 0.763, 0))
        place.box("paper", (0.21, 0.006, 0.28), (0.05, 0.769, 0))
        place.rod("brass", 0.005, (-0.1, 0.773, -0.1), (-0.1, 0.773, 0.06), sections=6)
        s.add(place, (x, 0, z), yaw)
    s.box("brass", (0.46, 0.01, 0.24), (0.0, 0.765, 0.0))
    s.cylinder("glass", 0.06, 0.26, (-0.14, 0.77, 0.0), sections=16)
    for x in (-0.01, 0.07, 0.15):
        s.cylinder("glass", 0.032, 0.1, (x, 0.77, 0.04 if x > 0.1 else -0.03), sections=12)
    return s


def credenza(width: float, height: float = 0.72, depth: float = 0.48) -> Shape:
    """Against a wall: back at z = 0."""
    s = Shape()
    body_h = height - 0.12
    s.box("walnut", (width, body_h, depth), (0, 0.12 + body_h / 2, -depth / 2))
    s.box("stone", (width + 0.04, 0.03, depth + 0.03), (0, height + 0.015, -depth / 2 - 0.005))
    doors = max(2, round(width / 0.6))
    for i in range(doors):
        x = -width / 2 + (i + 0.5) * width / doors
        if i:
            seam = (-width / 2 + i * width / doors, 0.12 + body_h / 2, -depth - 0.002)
            s.box("walnut-dark", (0.012, body_h - 0.06, 0.005), seam)
        handle = (x + width / doors * 0.32, 0.12 + body_h * 0.6, -depth - 0.012)
        s.box("brass", (0.02, 0.14, 0.02), handle)
    for x in (-width / 2 + 0.08, width / 2 - 0.08):
        for z in (-0.08, -depth + 0.08):
            s.cylinder("brass", 0.018, 0.12, (x, 0, z), sections=8)
    return s


def plant(height: float = 1.6, pot: str = "ceramic") -> Shape:
    s = Shape()
    s.cylinder(pot, 0.24, 0.5, (0, 0, 0), sections=16)
    s.cylinder("brass", 0.245, 0.03, (0, 0.47, 0), sections=16)
    s.cylinder("soil", 0.22, 0.02, (0, 0.49, 0), sections=16)
    s.rod("walnut-dark", 0.025, (0, 0.5, 0), (0.02, height * 0.85, 0.01), sections=6)
    leaves = (
        (0.0, 0.95, 0.0, 0.3, "leaf"),
        (0.16, 0.78, 0.08, 0.22, "leaf-light"),
        (-0.15, 0.82, -0.06, 0.23, "leaf"),
        (0.05, 0.7, -0.16, 0.2, "leaf-light"),
        (-0.08, 1.0, 0.12, 0.2, "leaf-light"),
        (0.02, 1.12, -0.02, 0.22, "leaf"),
    )
    for x, h, z, r, finish in leaves:
        s.ball(finish, r, (x, h * height, z))
    return s


def small_plant() -> Shape:
    s = Shape()
    s.cylinder("ceramic-light", 0.09, 0.16, (0, 0, 0), sections=12)
    s.ball("leaf", 0.13, (0, 0.26, 0))
    s.ball("leaf-light", 0.09, (0.07, 0.32, 0.03))
    return s


def expert_pad() -> Shape:
    """Brass rings set in the floor where a digital expert appears."""
    s = Shape()
    # Flat things on the floor stand 1 cm proud: a thinner gap flickers in a 16-bit depth buffer.
    s.ring("brass", 0.33, 0.37, 0.01, (0, 0, 0))
    s.ring("brass", 0.05, 0.08, 0.01, (0, 0, 0))
    return s


def rug(width: float, depth: float, finish: str = "rug", border: str = "rug-border") -> Shape:
    """A field inside a border band; side by side, not stacked, so no two faces share a depth."""
    s = Shape()
    band, h = 0.09, 0.012
    s.box(finish, (width - 2 * band, h, depth - 2 * band), (0, h / 2, 0))
    for z in (-(depth - band) / 2, (depth - band) / 2):
        s.box(border, (width, h, band), (0, h / 2, z))
    for x in (-(width - band) / 2, (width - band) / 2):
        s.box(border, (band, h, depth - 2 * band), (x, h / 2, 0))
    return s


def painting(
    width: float, height: float, blocks: Sequence[tuple[str, float, float, float, float]]
) -> Shape:
    """A framed abstract: blocks are (finish, x, y, w, h) in the canvas, -0.5..0.5."""
    s = Shape()
    s.box("brass", (width + 0.1, height + 0.1, 0.04), (0, 0, -0.02))
    s.box("paper", (width, height, 0.01), (0, 0, -0.045))
    for finish, x, y, w, h in blocks:
        s.box(finish, (w * width, h * height, 0.006), (x * width, y * height, -0.052))
    return s


def window_view(width: float, height: float) -> Shape:
    """A window on a city, built flat against the wall: daylight, skyline, glass, mullions."""
    s = Shape()
    s.box("sky", (width, height, 0.01), (0, 0, -0.01))
    skyline = ((-0.42, 0.55, "city-2"), (-0.3, 0.8, "city-1"), (-0.17, 0.45, "city-3"),
               (-0.05, 0.68, "city-2"), (0.08, 0.95, "city-1"), (0.2, 0.5, "city-3"),
               (0.32, 0.72, "city-2"), (0.43, 0.4, "city-1"))  # fmt: skip
    for x, h, finish in skyline:
        s.box(
            finish,
            (0.11 * width, h * height * 0.75, 0.01),
            (x * width, -height / 2 + h * height * 0.375, -0.022),
        )
    s.box("glass", (width, height, 0.01), (0, 0, -0.06))
    s.box("walnut", (width + 0.16, 0.08, 0.1), (0, height / 2 + 0.04, -0.05))
    s.box("walnut", (width + 0.24, 0.06, 0.16), (0, -height / 2 - 0.03, -0.08))
    for x in (-width / 2 - 0.04, width / 2 + 0.04):
        s.box("walnut", (0.08, height, 0.1), (x, 0, -0.05))
    for x in (-width / 6, width / 6):
        s.box("brass", (0.03, height, 0.03), (x, 0, -0.075))
    s.box("brass", (width, 0.03, 0.03), (0, height * 0.18, -0.075))
    return s


def door(width: float = 1.0, height: float = 2.2) -> Shape:
    """A closed door in a walnut frame, hung on a wall (back at z = 0)."""
    s = Shape()
    s.box("walnut", (width + 0.2, height + 0.1, 0.06), (0, (height + 0.1) / 2, -0.03))
    s.box("walnut-dark", (width, height, 0.05), (0, height / 2, -0.07))
    for y in (0.55, 1.55):
        s.box("walnut", (width - 0.24, 0.7, 0.01), (0, y, -0.1))
    s.box("brass", (0.03, 0.28, 0.03), (width / 2 - 0.12, 1.05, -0.12))
    s.box("brass", (0.16, 0.07, 0.01), (0, height - 0.18, -0.1))
    return s


def bookcase(width: float, height: float = 2.2, depth: float = 0.36) -> Shape:
    s = Shape()
    s.box("walnut", (width, height, 0.02), (0, height / 2, -0.01))
    for x in (-width / 2 + 0.02, width / 2 - 0.02):
        s.box("walnut", (0.04, height, depth), (x, height / 2, -depth / 2))
    shelves = 5
    books = ("book-1", "book-2", "book-3", "book-2", "book-1", "book-3")
    for i in range(shelves + 1):
        y = 0.05 + i * (height - 0.1) / shelves
        s.box("walnut", (width - 0.04, 0.03, depth), (0, y, -depth / 2))
        if i == shelves:
            break
        for j, finish in enumerate(books):
            if (i + j) % 4 == 3:
                continue
            x = -width / 2 + 0.2 + j * (width - 0.4) / (len(books) - 1)
            h = 0.24 + 0.03 * ((i + j) % 3)
            s.box(finish, (0.22, h, depth * 0.75), (x, y + 0.015 + h / 2, -depth / 2))
    return s


def ceiling_panel(size: float = 0.6) -> Shape:
    s = Shape()
    s.box("ceiling", (size + 0.06, 0.02, size + 0.06), (0, -0.01, 0))
    s.box("lamp", (size, 0.025, size), (0, -0.0125, 0))
    return s


def linear_pendant(length: float, drop: float) -> Shape:
    """Hung from the ceiling at y = 0 downwards."""
    s = Shape()
    s.box("brass", (length, 0.07, 0.16), (0, -drop, 0))
    s.box("lamp", (length - 0.04, 0.01, 0.12), (0, -drop - 0.036, 0))
    for x in (-length / 2 + 0.1, length / 2 - 0.1):
        s.rod("brass", 0.006, (x, 0, 0), (x, -drop, 0), sections=6)
    return s


def ring_pendant(radius: float, drop: float) -> Shape:
    s = Shape()
    s.rod("brass", 0.008, (0, 0, 0), (0, -drop, 0), sections=6)
    s.ring("brass", radius - 0.06, radius, 0.08, (0, -drop - 0.08, 0), sections=48)
    s.ring("lamp", radius - 0.12, radius - 0.06, 0.02, (0, -drop - 0.07, 0), sections=48)
    for k in range(4):
        a = math.pi * k / 4
        dx, dz = math.cos(a) * (radius - 0.06), math.sin(a) * (radius - 0.06)
        s.rod("brass", 0.006, (-dx, -drop - 0.02, -dz), (dx, -drop - 0.02, dz), sections=6)
    return s


def column(height: float, radius: float = 0.32) -> Shape:
    s = Shape()
    s.cylinder("stone", radius, height, (0, 0, 0), sections=24)
    s.cylinder("brass", radius + 0.05, 0.2, (0, 0, 0), sections=24)
    s.cylinder("brass", radius + 0.07, 0.14, (0, height - 0.14, 0), sections=24)
    return s


def sofa(seats: int, fabric: str) -> Shape:
    """Seats side by side along x, 0.68 m apart, front to -Z."""
    width = seats * 0.68 + 0.3
    s = Shape()
    s.box("walnut", (width, 0.1, 0.86), (0, 0.13, 0.02))
    for i in range(seats):
        x = (i - (seats - 1) / 2) * 0.68
        s.box(fabric, (0.66, 0.16, 0.62), (x, 0.26, -0.04))
    s.box(fabric, (width - 0.3, 0.5, 0.2), (0, 0.58, 0.32))
    for x in (-width / 2 + 0.08, width / 2 - 0.08):
        s.box(fabric, (0.16, 0.42, 0.86), (x, 0.39, 0.02))
    for x in (-width / 2 + 0.1, width / 2 - 0.1):
        for z in (-0.34, 0.38):
            s.cylinder("brass", 0.02, 0.08, (x, 0, z), sections=8)
    return s


def coffee_table(width: float = 1.2, depth: float = 0.6) -> Shape:
    s = Shape()
    s.box("glass", (width, 0.02, depth), (0, 0.42, 0))
    s.box("brass", (width + 0.02, 0.02, depth + 0.02), (0, 0.4, 0))
    s.box("walnut", (width - 0.1, 0.03, depth - 0.1), (0, 0.12, 0))
    for x in (-width / 2 + 0.04, width / 2 - 0.04):
        for z in (-depth / 2 + 0.04, depth / 2 - 0.04):
            s.box("brass", (0.03, 0.4, 0.03), (x, 0.2, z))
    return s


def reception_desk(width: float) -> Shape:
    """Front (the visitors' side) to -Z."""
    s = Shape()
    s.box("walnut", (width, 1.05, 0.7), (0, 0.525, 0))
    s.box("stone", (width + 0.1, 0.05, 0.42), (0, 1.075, -0.16))
    s.box("stone", (width - 0.1, 0.04, 0.4), (0, 0.76, 0.3))
    s.box("brass", (width + 0.01, 0.06, 0.71), (0, 0.05, 0))
    for i in range(5):
        x = -width / 2 + (i + 0.5) * width / 5
        s.box("walnut-dark", (0.02, 0.8, 0.01), (x - width / 10, 0.52, -0.355))
    for x in (-width / 4, width / 4):
        s.box("bezel", (0.5, 0.32, 0.03), (x, 1.05, 0.3))
        s.box("metal-dark", (0.06, 0.25, 0.06), (x, 0.87, 0.32))
    return s


def emblem(radius: float) -> Shape:
    """The bank's mark on a wall: a brass ring around three columns (back at z = 0)."""
    s = Shape()
    # annulus() makes its ring about the Z axis: already facing out of the wall.
    ring = trimesh.creation.annulus(r_min=radius * 0.86, r_max=radius, height=0.04, sections=48)
    s.mesh("brass", ring, (0, 0, -0.02))
    for x in (-0.4, 0.0, 0.4):
        s.box("brass", (radius * 0.16, radius * 1.0, 0.03), (x * radius, -radius * 0.05, -0.015))
    s.box("brass", (radius * 1.25, radius * 0.1, 0.03), (0, radius * 0.52, -0.015))
    s.box("brass", (radius * 1.25, radius * 0.08, 0.03), (0, -radius * 0.6, -0.015))
    return s


def glass_entrance(width: float, height: float) -> Shape:
    """Double glass doors in a brass frame, with a transom; on a wall (back at z = 0)."""
    s = Shape()
    # In front of the wainscot (2.5 cm) and rail (4 cm), or they would show through the glass.
    s.box("sky", (width, height, 0.01), (0, height / 2, -0.045))
    s.box("glass", (width, height, 0.012), (0, height / 2, -0.07))
    for x in (-width / 2, 0.0, width / 2):
        s.box("brass", (0.08, height, 0.12), (x, height / 2, -0.06))
    s.box("brass", (width + 0.08, 0.1, 0.12), (0, height + 0.05, -0.06))
    s.box("brass", (width, 0.06, 0.1), (0, height - 0.55, -0.06))
    for x in (-0.14, 0.14):
        s.rod("brass", 0.018, (x, 0.8, -0.16), (x, 1.5, -0.16), sections=8)
    return s


def lectern() -> Shape:
    """Front panel to -Z; the presenter stands at +Z."""
    s = Shape()
    s.box("walnut", (0.7, 1.0, 0.5), (0, 0.5, 0))
    s.box("walnut-dark", (0.76, 0.05, 0.58), (0, 1.04, 0.02))
    s.box("brass", (0.4, 0.3, 0.01), (0, 0.7, -0.255))
    s.rod("metal-dark", 0.008, (0.2, 1.06, -0.15), (0.16, 1.36, -0.2), sections=6)
    s.ball("metal-dark", 0.025, (0.16, 1.37, -0.2))
    return s


def auditorium_seat(fabric: str) -> Shape:
    s = Shape()
    s.cylinder("metal-dark", 0.05, 0.38, (0, 0, 0.05), sections=8)
    s.box(fabric, (0.5, 0.1, 0.48), (0, 0.43, -0.02))
    s.box(fabric, (0.5, 0.5, 0.08), (0, 0.78, 0.22))
    s.box("walnut", (0.52, 0.56, 0.03), (0, 0.79, 0.275))
    for x in (-0.285, 0.285):
        s.box("walnut", (0.05, 0.05, 0.46), (x, 0.64, 0.02))
        s.box("metal-dark", (0.03, 0.62, 0.08), (x, 0.31, 0.12))
    return s


def acoustic_panel(width: float, height: float, fabric: str) -> Shape:
    s = Shape()
    s.box("walnut", (width + 0.06, height + 0.06, 0.04), (0, 0, -0.02))
    s.box(fabric, (width, height, 0.05), (0, 0, -0.03))
    for i in range(1, 6):
        s.box("walnut", (0.03, height, 0.03), (-width / 2 + i * width / 6, 0, -0.065))
    return s


def stage(width: float, depth: float, height: float) -> Shape:
    """Front edge at z = 0, extending back to +Z."""
    s = Shape()
    s.box("walnut", (width, 0.03, depth), (0, height - 0.015, depth / 2))
    s.box("walnut-dark", (width, height - 0.03, depth), (0, (height - 0.03) / 2, depth / 2))
    s.box("brass", (width, 0.03, 0.03), (0, height - 0.015, 0.0))
    for x in (-width / 2 + 0.5, width / 2 - 0.5):
        for i, h in enumerate((height / 3, 2 * height / 3)):
            s.box("walnut", (0.9, h, 0.3), (x, h / 2, -0.3 * (2 - i) + 0.15))
    return s


def truss(length: float) -> Shape:
    s = Shape()
    s.box("metal-dark", (length, 0.12, 0.12), (0, 0, 0))
    for i in range(6):
        x = -length / 2 + (i + 0.5) * length / 6
        s.rod("metal-dark", 0.06, (x, -0.06, 0), (x, -0.26, 0.08), sections=10)
        s.cylinder("lamp", 0.045, 0.01, (x, -0.275, 0.085), sections=10)
    return s


# --- the shell -----------------------------------------------------------------------------------


def shell(room: Room, floor: str, wainscot: float = 0.95, panel_every: float = 1.2) -> None:
    """Floor, ceiling and four walls with walnut wainscot, a brass rail and a cornice."""
    (x0, y0, z0), (x1, y1, z1) = room.lo, room.hi
    w, d, h = x1 - x0, z1 - z0, y1 - y0
    cx, cz = (x0 + x1) / 2, (z0 + z1) / 2
    s = Shape()
    s.box(floor, (w, WALL, d), (cx, y0 - WALL / 2, cz))
    s.box("ceiling", (w, WALL, d), (cx, y1 + WALL / 2, cz))
    s.box("wall", (WALL, h, d + 2 * WALL), (x0 - WALL / 2, h / 2, cz))
    s.box("wall", (WALL, h, d + 2 * WALL), (x1 + WALL / 2, h / 2, cz))
    s.box("wall", (w, h, WALL), (cx, h / 2, z0 - WALL / 2))
    s.box("wall", (w, h, WALL), (cx, h / 2, z1 + WALL / 2))
    room.place("shell", s)
    trim = Shape()
    for yaw, length, at in (
        (180.0, w, (cx, 0.0, z0)),
        (0.0, w, (cx, 0.0, z1)),
        (270.0, d, (x0, 0.0, cz)),
        (90.0, d, (x1, 0.0, cz)),
    ):
        trim.add(_wall_trim(length, wainscot, h, panel_every), at, yaw)
    room.place("wall-trim", trim)


def _wall_trim(length: float, wainscot: float, height: float, panel_every: float) -> Shape:
    s = Shape()
    s.box("walnut", (length, wainscot, 0.025), (0, wainscot / 2, -0.0125))
    s.box("brass", (length, 0.02, 0.04), (0, wainscot + 0.01, -0.02))
    s.box("walnut-dark", (length, 0.1, 0.035), (0, 0.05, -0.0175))
    s.box("ceiling", (length, 0.1, 0.06), (0, height - 0.05, -0.03))
    panels = max(1, round(length / panel_every))
    for i in range(1, panels):
        x = -length / 2 + i * length / panels
        s.box("walnut-dark", (0.015, wainscot - 0.2, 0.03), (x, wainscot / 2 + 0.05, -0.015))
    return s


def ceiling_lights(room: Room, xs: Iterable[float], zs: Iterable[float], size: float = 0.6) -> None:
    panels = Shape()
    for x in xs:
        for z in zs:
            panels.add(ceiling_panel(size), (x, room.hi[1], z))
    room.place("ceiling-lights", panels)


# --- rooms ---------------------------------------------------------------------------------------

_GUESTS = ("customer", "guest", "advisor", "bot")


def private_room() -> Room:
    room = Room("private_room", "Private wealth room", (-4.5, 0.0, -3.5), (4.5, 3.0, 3.5))
    shell(room, "carpet")
    room.place("rug", rug(4.6, 3.4))
    room.place("table", meeting_table(2.8, 1.15), blocks=True)
    chair = Prefab("armchair", armchair())
    seats = (
        ("seat-customer", (0.0, 0.0, 1.1), 0.0, ("customer",)),
        ("seat-family-1", (-1.0, 0.0, 1.0), 350.0, ("guest",)),
        ("seat-family-2", (1.0, 0.0, 1.0), 10.0, ("guest",)),
        ("advisor-spot", (0.0, 0.0, -1.1), 180.0, ("advisor",)),
    )
    for ident, at, yaw, roles in seats:
        room.seat(ident, chair, at, yaw, roles)
        room.spawn_points.append(_spot(ident, at, yaw, roles))
    room.advisor_spot = _spot("advisor-spot", (0.0, 0.0, -1.1), 180.0)
    places = ((0.0, 0.36, 0.0), (-1.0, 0.36, 0.0), (1.0, 0.36, 0.0), (0.0, -0.36, 180.0))
    room.place("table-setting", table_setting(places))
    standing = (
        ((-2.5, 2.0), 315.0),
        ((2.5, 2.0), 45.0),
        ((-2.5, -2.0), 225.0),
        ((2.5, -2.0), 135.0),
    )
    for i, ((x, z), yaw) in enumerate(standing, start=1):
        room.spawn_points.append(_spot(f"standing-{i}", (x, 0.0, z), yaw, _GUESTS))
    _private_room_back_wall(room)
    _private_room_sides(room)
    # Over the customer's right shoulder, at the table and the screen.
    room.views.append(
        {"id": "default", "eye": [0.85, 1.9, 2.9], "target": [-0.4, 1.05, -2.2], "fov_deg": 50.0}
    )
    room.zones.append({"id": "table", "min": [-2.0, -1.8], "max": [2.0, 1.8]})
    return room


def _private_room_back_wall(room: Room) -> None:
    z = room.lo[2]
    room.screen("screen-main", (0.0, 1.72, z + 0.065), (2.6, 1.46), 180.0)
    room.place("credenza", credenza(3.0), (0.0, 0.0, z + 0.025), 180.0, blocks=True)
    room.place("credenza-plant", small_plant(), (1.2, 0.75, z + 0.27), furniture=True)
    pad = Prefab("expert-pad", expert_pad())
    for i, (x, pz) in enumerate(
        ((-3.3, -2.3), (-1.95, -2.55), (1.95, -2.55), (3.3, -2.3)), start=1
    ):
        at = (x, 0.0, pz)
        room.place(f"expert-{i}", pad, at)
        room.expert_spots.append(_spot(f"expert-{i}", at, facing(at, (0.0, 0.0, 1.1))))
    tall = Prefab("plant", plant())
    for i, (x, pz) in enumerate(((-4.0, -3.0), (4.0, -3.0), (-4.0, 3.0), (4.0, 3.0)), start=1):
        room.place(f"plant-{i}", tall, (x, 0.0, pz), 37.0 * i, blocks=True)
    ceiling_lights(room, (-2.8, 2.8), (-1.8, 1.8))
    room.place("pendant", linear_pendant(1.9, 0.75), (0.0, room.hi[1], 0.0))


def _private_room_sides(room: Room) -> None:
    x0, x1, z1 = room.lo[0], room.hi[0], room.hi[2]
    room.place("window", window_view(3.2, 1.45), (x0, 1.78, -0.2), 270.0)
    room.place("sideboard", credenza(1.8, 0.8, 0.45), (x1, 0.0, -0.7), 90.0, blocks=True)
    art = (
        ("art-navy", -0.2, 0.1, 0.5, 0.65),
        ("art-ochre", 0.2, -0.15, 0.4, 0.5),
        ("art-sage", 0.22, 0.25, 0.3, 0.3),
        ("art-rust", -0.3, -0.3, 0.25, 0.2),
    )
    room.place("painting", painting(1.3, 0.9, art), (x1, 1.75, -0.7), 90.0)
    room.place("sideboard-lamp", _table_lamp(), (x1 - 0.22, 0.83, -1.35), furniture=True)
    room.place("door", door(), (x1, 0.0, 2.55), 90.0)
    room.place("bookcase", bookcase(2.4), (-1.6, 0.0, z1), 0.0, blocks=True)


def _table_lamp() -> Shape:
    s = Shape()
    s.cylinder("brass", 0.08, 0.02, (0, 0, 0), sections=16)
    s.rod("brass", 0.01, (0, 0.02, 0), (0, 0.42, 0), sections=6)
    s.cylinder("lamp", 0.14, 0.18, (0, 0.36, 0), sections=20)
    return s


def branch_lobby() -> Room:
    room = Room("branch_lobby", "Branch lobby", (-10.0, 0.0, -7.0), (10.0, 4.5, 7.0))
    shell(room, "stone", wainscot=1.1, panel_every=1.4)
    room.place("floor-border", _floor_border(room))
    room.place("medallion", _medallion(1.6), (2.0, 0.0, 1.0))
    reception = (0.0, 0.0, -5.7)
    room.spawn_points.append(_spot("reception", reception, 180.0, ("advisor",)))
    room.advisor_spot = _spot("reception", reception, 180.0)
    _lobby_reception(room)
    _lobby_waiting(room)
    _lobby_doors(room)
    _lobby_fixtures(room)
    _standing_grid(room, (-2.6, -3.6, 9.0, 6.2), 0.8)
    # Arrivals stand first; the seats come last so that nobody is seated on arrival until
    # the hall is full.
    room.spawn_points += [dict(seat) for seat in room.seats]
    if len(room.spawn_points) < 200:
        raise RuntimeError(f"the lobby has only {len(room.spawn_points)} spawn points")
    room.views.append(
        {"id": "default", "eye": [4.5, 2.6, 6.4], "target": [-3.0, 1.0, -3.5], "fov_deg": 55.0}
    )
    room.zones += [
        {"id": "entrance", "min": [-3.5, 3.5], "max": [3.5, 7.0]},
        {"id": "reception", "min": [-3.5, -7.0], "max": [3.5, -3.5]},
        {"id": "waiting", "min": [-10.0, -7.0], "max": [-3.5, 7.0]},
        {"id": "hall", "min": [-3.5, -3.5], "max": [8.0, 3.5]},
        {"id": "doors", "min": [8.0, -7.0], "max": [10.0, 7.0]},
    ]
    return room


def _floor_border(room: Room) -> Shape:
    (x0, _, z0), (x1, _, z1) = room.lo, room.hi
    s = Shape()
    band, inset, h = 0.25, 0.6, 0.01
    for z in (z0 + inset, z1 - inset):
        s.box("stone-dark", (x1 - x0 - 2 * inset + band, h, band), (0, h / 2, z))
    for x in (x0 + inset, x1 - inset):
        s.box("stone-dark", (band, h, z1 - z0 - 2 * inset - band), (x, h / 2, 0))
    return s


def _medallion(radius: float) -> Shape:
    s = Shape()
    s.ring("brass", radius - 0.1, radius, 0.012, (0, 0, 0), sections=64)
    s.ring("rug", radius * 0.55, radius - 0.1, 0.012, (0, 0, 0), sections=64)
    s.ring("brass", radius * 0.5, radius * 0.55, 0.012, (0, 0, 0), sections=64)
    s.ring("brass", 0.0, radius * 0.18, 0.012, (0, 0, 0), sections=32)
    return s


def _lobby_reception(room: Room) -> None:
    z0 = room.lo[2]
    room.place("feature-wall", _feature_wall(8.0, 3.8), (0.0, 0.0, z0), 180.0)
    room.place("emblem", emblem(0.75), (0.0, 2.75, z0 + 0.06), 180.0)
    room.place("reception-desk", reception_desk(5.0), (0.0, 0.0, -4.6), 180.0, blocks=True)
    chair = Prefab("office-chair", office_chair())
    for side, x in (("l", -1.5), ("r", 1.5)):
        room.place(f"reception-chair-{side}", chair, (x, 0.0, -5.55), 180.0, furniture=True)
    for i, x in enumerate((-3.4, 3.4), start=3):
        at = (x, 0.0, -4.9)
        room.expert_spots.append(_spot(f"expert-{i}", at, 180.0))
        room.place(f"expert-{i}", Prefab("expert-pad", expert_pad()), at)


def _feature_wall(width: float, height: float) -> Shape:
    s = Shape()
    s.box("walnut", (width, height, 0.06), (0, height / 2, -0.03))
    for i in range(1, 16):
        x = -width / 2 + i * width / 16
        s.box("walnut-dark", (0.02, height - 0.1, 0.065), (x, height / 2, -0.0325))
    s.box("brass", (width, 0.04, 0.08), (0, height, -0.04))
    return s


def _lobby_waiting(room: Room) -> None:
    x0 = room.lo[0]
    room.place("waiting-rug", rug(6.0, 12.4, "rug", "rug-border"), (-6.8, 0.0, 0.0))
    room.screen("screen-lobby", (x0 + 0.06, 2.3, 0.0), (3.6, 2.03), 270.0)
    for i, z in enumerate((-2.4, 2.4), start=1):
        at = (-9.25, 0.0, z)
        room.expert_spots.append(_spot(f"expert-{i}", at, facing(at, (-6.8, 0.0, 0.0))))
        room.place(f"expert-{i}", Prefab("expert-pad", expert_pad()), at)
    sofa3 = Prefab("sofa", sofa(3, "fabric-navy"))
    chair = Prefab("lounge-chair", armchair("leather-green"))
    table = Prefab("coffee-table", coffee_table())
    for g, cz in enumerate((-4.3, 0.0, 4.3), start=1):
        centre = (-6.8, 0.0, cz)
        room.place(f"lounge-{g}-table", table, centre, blocks=True)
        room.place(f"lounge-{g}-plant", small_plant(), (centre[0], 0.43, cz), furniture=True)
        _lounge_group(room, g, centre, sofa3, chair)


def _lounge_group(room: Room, g: int, centre: Vec3, sofa3: Prefab, chair: Prefab) -> None:
    cx, _, cz = centre
    for side, (dz, yaw) in enumerate(((-1.05, 180.0), (1.05, 0.0))):
        at = (cx, 0.0, cz + dz)
        idents = [f"lounge-{g}-{side * 3 + k + 1}" for k in range(3)]
        room.place(f"lounge-{g}-sofa-{side + 1}", sofa3, at, yaw, holds=idents)
        for k, ident in enumerate(idents):
            local = ((k - 1) * 0.68, 0.0, -0.02)
            rot = _rotation_y(yaw) @ np.asarray(local)
            pos = (cx + float(rot[0]), 0.0, cz + dz + float(rot[2]))
            room.seats.append(_spot(ident, pos, yaw))
    for k, (dx, yaw) in enumerate(((-1.6, 270.0), (1.6, 90.0)), start=7):
        at = (cx + dx, 0.0, cz)
        room.seat(f"lounge-{g}-{k}", chair, at, yaw, ())


def _lobby_doors(room: Room) -> None:
    x1 = room.hi[0]
    frame = Prefab("door", door(1.2, 2.5))
    for i, z in enumerate((-4.8, -1.6, 1.6, 4.8), start=1):
        room.place(f"door-{i}", frame, (x1, 0.0, z), 90.0)
        room.doors.append(
            {
                "id": f"door-{i}",
                "pos": _p((x1 - 0.75, 0.0, z)),
                "yaw_deg": 270.0,
                "width": 1.2,
                "leads_to": "private_room",
            }
        )


def _lobby_fixtures(room: Room) -> None:
    z1 = room.hi[2]
    room.place("entrance", glass_entrance(3.2, 2.9), (0.0, 0.0, z1), 0.0)
    room.place("entrance-mat", rug(3.4, 1.6, "carpet-dark", "brass"), (0.0, 0.0, z1 - 1.0))
    pillar = Prefab("column", column(room.hi[1]))
    for i, (x, z) in enumerate(((-3.3, -2.6), (-3.3, 2.6), (6.4, -2.6), (6.4, 2.6)), start=1):
        room.place(f"column-{i}", pillar, (x, 0.0, z), blocks=True)
    tall = Prefab("plant", plant(1.9))
    corners = ((-9.3, -6.3), (-9.3, 6.3), (9.3, -6.3), (9.3, 6.3))
    flanks = ((-2.3, 6.3), (2.3, 6.3), (-3.6, -6.3), (3.6, -6.3))
    for i, (x, z) in enumerate(corners + flanks, start=1):
        room.place(f"plant-{i}", tall, (x, 0.0, z), 41.0 * i, blocks=True)
    ceiling_lights(room, (-7.5, -2.5, 2.5, 7.5), (-4.5, 0.0, 4.5), size=0.7)
    ring = Prefab("ring-pendant", ring_pendant(0.9, 1.1))
    for i, (x, z) in enumerate(((-6.8, -2.15), (-6.8, 2.15), (2.0, 1.0)), start=1):
        room.place(f"chandelier-{i}", ring, (x, room.hi[1], z))


def _standing_grid(room: Room, area: Box2, step: float) -> None:
    """Standing spawn points on a grid over ``area``, on walkable ground, clear of other spots."""
    floor = room.floor()
    taken = [s["pos"] for s in (*room.spawn_points, *room.seats, *room.expert_spots)]
    x0, z0, x1, z1 = area
    n = len([s for s in room.spawn_points if s["id"].startswith("standing-")])
    for j in range(int((z1 - z0) / step) + 1):
        for i in range(int((x1 - x0) / step) + 1):
            x, z = x0 + i * step, z0 + j * step
            if not _on(floor, x, z) or any(math.hypot(x - p[0], z - p[2]) < 0.6 for p in taken):
                continue
            if any(_gap(piece, x, z) < STANDING_RADIUS_M for piece in room.furniture):
                continue
            n += 1
            at = (x, 0.0, z)
            room.spawn_points.append(_spot(f"standing-{n}", at, facing(at, (0.0, 0.0, -4.6))))


def seminar_room() -> Room:
    room = Room("seminar_room", "Seminar room", (-8.0, 0.0, -6.0), (8.0, 5.0, 6.0))
    shell(room, "carpet-dark", wainscot=1.0, panel_every=1.6)
    stage_h = 0.45
    room.place("stage", stage(12.0, 2.6, stage_h), (0.0, 0.0, -6.0 + 2.6), 180.0, furniture=True)
    # In front of the stage wall's 6 cm panelling.
    room.screen("screen-main", (0.0, 2.75, -5.88), (6.4, 3.6), 180.0)
    room.place("lectern", lectern(), (4.6, stage_h, -4.3), 180.0, blocks=True)
    presenter = (4.6, stage_h, -5.05)
    room.spawn_points.append(_spot("presenter", presenter, 180.0, ("advisor",)))
    room.advisor_spot = _spot("presenter", presenter, 180.0)
    pad = Prefab("expert-pad", expert_pad())
    for i, (x, z) in enumerate(((-4.9, -4.4), (-3.7, -3.95), (3.4, -3.95), (5.5, -3.95)), start=1):
        at = (x, stage_h, z)
        room.place(f"expert-{i}", pad, at)
        room.expert_spots.append(_spot(f"expert-{i}", at, facing(at, (0.0, 0.0, 1.0))))
    _seminar_rows(room)
    _seminar_fixtures(room, stage_h)
    _standing_grid(room, (-6.6, 4.0, 6.6, 5.2), 0.8)
    room.views.append(
        {"id": "default", "eye": [6.2, 2.6, 5.4], "target": [-0.5, 1.2, -3.5], "fov_deg": 58.0}
    )
    room.zones += [
        {"id": "stage", "min": [-7.0, -6.0], "max": [7.0, -3.4]},
        {"id": "seats-left", "min": [-8.0, -3.4], "max": [0.0, 3.9]},
        {"id": "seats-right", "min": [0.0, -3.4], "max": [8.0, 3.9]},
        {"id": "back", "min": [-8.0, 3.9], "max": [8.0, 6.0]},
    ]
    return room


def _seminar_rows(room: Room) -> None:
    seat = Prefab("auditorium-seat", auditorium_seat("fabric-burgundy"))
    xs = [-(0.9 + 0.62 * k) for k in range(6, -1, -1)] + [0.9 + 0.62 * k for k in range(7)]
    for r, row in enumerate("ABCDEF"):
        z = -1.6 + r * 1.0
        for n, x in enumerate(xs, start=1):
            ident = f"row-{row}-{n}"
            room.seat(ident, seat, (x, 0.0, z), 0.0, ())
            room.spawn_points.append(_spot(ident, (x, 0.0, z), 0.0))


def _seminar_fixtures(room: Room, stage_h: float) -> None:
    (x0, _, z0), (x1, y1, z1) = room.lo, room.hi
    room.place("stage-wall", _feature_wall(12.0, 4.6), (0.0, 0.0, z0), 180.0)
    panel = Prefab("acoustic-panel", acoustic_panel(1.2, 2.2, "fabric-slate"))
    for i, z in enumerate((-2.5, 0.0, 2.5), start=1):
        room.place(f"acoustic-l{i}", panel, (x0, 2.4, z), 270.0)
        room.place(f"acoustic-r{i}", panel, (x1, 2.4, z), 90.0)
    frame = Prefab("door", door(1.2, 2.4))
    for i, x in enumerate((-5.5, 5.5), start=1):
        room.place(f"exit-{i}", frame, (x, 0.0, z1), 0.0)
    tall = Prefab("plant", plant(1.7))
    pots = ((-5.6, stage_h, -5.4), (5.6, stage_h, -5.4), (-7.4, 0.0, 5.4), (7.4, 0.0, 5.4))
    for i, at in enumerate(pots, start=1):
        room.place(f"plant-{i}", tall, at, 53.0 * i, blocks=True)
    room.place("truss", truss(9.0), (0.0, y1 - 0.6, -2.9))
    ceiling_lights(room, (-5.0, -1.7, 1.7, 5.0), (-1.5, 1.5, 4.5), size=0.6)
    room.place("back-counter", credenza(3.2, 1.0, 0.5), (0.0, 0.0, z1), 0.0, blocks=True)


ROOMS: dict[str, Callable[[], Room]] = {
    "private_room": private_room,
    "branch_lobby": branch_lobby,
    "seminar_room": seminar_room,
}


# --- output --------------------------------------------------------------------------------------


def metadata(room: Room) -> dict[str, Any]:
    floor = room.floor()
    meta: dict[str, Any] = {
        "name": room.name,
        "title": room.title,
        "units": UNITS,
        "asset": f"assets/{room.name}.glb",
        "bounds": {"min": _p(room.lo), "max": _p(room.hi)},
        "spawn_points": room.spawn_points,
        "seats": room.seats,
        "expert_spots": room.expert_spots,
        "advisor_spot": room.advisor_spot,
        "screens": room.screens,
        "doors": room.doors,
        "walkable": [{"min": [a, b], "max": [c, d]} for a, b, c, d in floor],
        "interest": {"zones": room.zones},
        "views": room.views,
        "furniture": room.furniture,
    }
    return meta


def dump_json(meta: dict[str, Any]) -> str:
    """Indented at the top, one line per list entry: readable, and diffs stay small."""
    lines = ["{"]
    items = list(meta.items())
    for i, (key, value) in enumerate(items):
        comma = "," if i < len(items) - 1 else ""
        if isinstance(value, list) and value:
            lines.append(f"  {json.dumps(key)}: [")
            lines += [f"    {json.dumps(v)}," for v in value[:-1]]
            lines.append(f"    {json.dumps(value[-1])}")
            lines.append(f"  ]{comma}")
        else:
            lines.append(f"  {json.dumps(key)}: {json.dumps(value)}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def export_glb(room: Room) -> bytes:
    data: bytes = trimesh.exchange.gltf.export_glb(  # type: ignore[no-untyped-call]
        room.scene, include_normals=False, tree_postprocessor=_tidy_tree
    )
    return data


def build(name: str) -> tuple[bytes, str]:
    """The ``.glb`` bytes and layout JSON text of room ``name``, checked."""
    room = ROOMS[name]()
    meta = metadata(room)
    layout = parse_layout(meta)  # raises LayoutError on any inconsistency, before writing
    crowded = clashes(layout)
    if crowded:
        raise LayoutError(f"{name}: " + "; ".join(map(str, crowded)))
    return export_glb(room), dump_json(meta)


def write_all(root: Path = SCENES_DIR) -> list[Path]:
    written = []
    for name in ROOMS:
        glb, text = build(name)
        for path, data in (
            (root / "assets" / f"{name}.glb", glb),
            (root / "layouts" / f"{name}.json", text.encode("utf-8")),
        ):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=SCENES_DIR, help="directory to write into")
    args = parser.parse_args(argv)
    for path in write_all(args.out):
        print(f"{path.stat().st_size:>9,} bytes  {path}")


if __name__ == "__main__":
    main()
