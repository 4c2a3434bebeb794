"""Room layouts: the metadata beside a room's geometry, read from JSON by the server and clients.

A layout names its geometry (``asset``, a ``.glb`` path relative to the ``scenes`` package), the
room's bounds, where members appear (``spawn_points``), where they may sit (``seats``), where
digital experts and the human advisor stand, the wall screens, the doors, and the ground that
avatars may walk on (``walkable``: axis-aligned floor rectangles whose union is allowed).

Coordinates are the wire's: metres, right-handed, Y up (glTF). ``yaw_deg`` turns about +Y,
counter-clockwise seen from above, and yaw 0 looks along -Z, as a head pose with the identity
rotation does (protocol/SPEC.md); yaw 90 looks along -X.

Files are checked strictly on load (unknown keys, ids, bounds, walkability) because a layout
mistake would otherwise show up as an avatar stuck in a table in front of a customer.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from protocol.pose import I16
from protocol.quantise import Quat, Vec3, yaw_quat
from scenes.errors import LayoutError

Vec2 = tuple[float, float]  # (x, z) on the floor

_T = TypeVar("_T")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_ASSET = re.compile(r"[a-z0-9_]+(/[a-z0-9_.-]+)*\.glb")
_TOP_KEYS = frozenset(
    {
        "name",
        "title",
        "units",
        "asset",
        "bounds",
        "spawn_points",
        "seats",
        "expert_spots",
        "advisor_spot",
        "screens",
        "doors",
        "walkable",
        "interest",
        "views",
        "furniture",
    }
)


@dataclass(frozen=True, slots=True)
class SpawnPoint:
    """A named place on the floor and the way one faces there (also seats and spots)."""

    id: str
    pos: Vec3
    yaw_deg: float
    roles: frozenset[str] = frozenset()  # roles that prefer this point; empty: anyone

    @property
    def rotation(self) -> Quat:
        return yaw_quat(math.radians(self.yaw_deg))


@dataclass(frozen=True, slots=True)
class Rect:
    """An axis-aligned rectangle on the floor, in (x, z)."""

    min: Vec2
    max: Vec2

    def contains(self, x: float, z: float) -> bool:
        return self.min[0] <= x <= self.max[0] and self.min[1] <= z <= self.max[1]

    def clamp(self, x: float, z: float) -> Vec2:
        return (
            min(max(x, self.min[0]), self.max[0]),
            min(max(z, self.min[1]), self.max[1]),
        )

    @property
    def area(self) -> float:
        return (self.max[0] - self.min[0]) * (self.max[1] - self.min[1])


@dataclass(frozen=True, slots=True)
class Screen:
    """A flat display; its face looks along ``yaw_deg`` as a person standing there would."""

    id: str
    center: Vec3
    size: Vec2  # width, height
    yaw_deg: float

    @property
    def normal(self) -> Vec3:
        """Unit vector out of the screen's face, towards its viewers."""
        yaw = math.radians(self.yaw_deg)
        return (-math.sin(yaw), 0.0, -math.cos(yaw))


@dataclass(frozen=True, slots=True)
class Door:
    """A door out of the room; ``pos`` is the spot in front of it, facing it."""

    id: str
    pos: Vec3
    yaw_deg: float
    width: float
    leads_to: str


@dataclass(frozen=True, slots=True)
class Zone:
    """A named part of the floor, a hint for interest management."""

    id: str
    rect: Rect


@dataclass(frozen=True, slots=True)
class View:
    """A camera for a first look at the room (renders, spectators)."""

    id: str
    eye: Vec3
    target: Vec3
    fov_deg: float  # vertical


@dataclass(frozen=True, slots=True)
class Furniture:
    """A piece standing in the room, as the box it fills: a floor rectangle and a height span.

    ``seats`` names the seats it holds (a chair its own, a sofa three): a sitter is meant to
    be inside it, nobody else.
    """

    id: str
    rect: Rect
    bottom: float
    top: float
    seats: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Layout:
    name: str
    title: str
    bounds_min: Vec3
    bounds_max: Vec3
    spawn_points: tuple[SpawnPoint, ...]
    seats: tuple[SpawnPoint, ...] = ()
    expert_spots: tuple[SpawnPoint, ...] = ()
    advisor_spot: SpawnPoint | None = None
    screens: tuple[Screen, ...] = ()
    doors: tuple[Door, ...] = ()
    walkable: tuple[Rect, ...] = ()  # empty: the whole floor within the bounds
    zones: tuple[Zone, ...] = ()
    views: tuple[View, ...] = ()
    furniture: tuple[Furniture, ...] = ()
    asset: str | None = None  # relative to the scenes package
    _seat_index: Mapping[str, SpawnPoint] = field(init=False, repr=False, compare=False, hash=False)
    _floor: tuple[Rect, ...] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_seat_index", {s.id: s for s in self.seats})
        floor = self.walkable or (
            Rect(
                (self.bounds_min[0], self.bounds_min[2]), (self.bounds_max[0], self.bounds_max[2])
            ),
        )
        # Largest first: most positions are inside one of the big rectangles, so the
        # containment test in constrain() usually stops at the first or second one.
        object.__setattr__(self, "_floor", tuple(sorted(floor, key=lambda r: -r.area)))

    @property
    def floor_rects(self) -> tuple[Rect, ...]:
        """The walkable rectangles in the order :meth:`constrain` tries them."""
        return self._floor

    def spawn_for(self, role: str, taken: set[str]) -> SpawnPoint:
        """The first free point meant for ``role``, else any free point, else reuse one."""
        free = [sp for sp in self.spawn_points if sp.id not in taken]
        for sp in free:
            if role in sp.roles:
                return sp
        for sp in free:
            if not sp.roles:
                return sp
        if free:
            return free[0]
        return self.spawn_points[len(taken) % len(self.spawn_points)]

    def clamp(self, p: Vec3) -> Vec3:
        lo, hi = self.bounds_min, self.bounds_max
        return (
            min(max(p[0], lo[0]), hi[0]),
            min(max(p[1], lo[1]), hi[1]),
            min(max(p[2], lo[2]), hi[2]),
        )

    def on_floor(self, x: float, z: float) -> bool:
        """Whether (x, z) is walkable ground."""
        return any(r.contains(x, z) for r in self._floor)

    def constrain(self, p: Vec3) -> Vec3:
        """The nearest point on walkable ground (in x, z), with y clamped to the bounds."""
        x, y, z = p
        y = min(max(y, self.bounds_min[1]), self.bounds_max[1])
        best: Vec2 | None = None
        best_d2 = math.inf
        for rect in self._floor:
            cx, cz = rect.clamp(x, z)
            d2 = (cx - x) ** 2 + (cz - z) ** 2
            if d2 < best_d2:
                best, best_d2 = (cx, cz), d2
                if d2 == 0.0:
                    break
        if best is None:  # only a NaN coordinate compares false with everything
            best = _centre(self._floor[0])
        return (best[0], y, best[1])

    def seat(self, seat_id: str) -> SpawnPoint:
        """The seat called ``seat_id``; ``KeyError`` if the room has none by that name."""
        try:
            return self._seat_index[seat_id]
        except KeyError:
            raise KeyError(f"{self.name} has no seat {seat_id!r}") from None

    @property
    def asset_path(self) -> Path:
        """Absolute path of the room's ``.glb``."""
        if self.asset is None:
            raise LayoutError(f"{self.name}: the layout names no asset")
        package = resources.files("scenes")
        path = Path(str(package.joinpath(*self.asset.split("/"))))
        if not path.is_file():
            raise LayoutError(f"{self.name}: asset {self.asset} is not installed")
        return path


def _centre(rect: Rect) -> Vec2:
    return ((rect.min[0] + rect.max[0]) / 2, (rect.min[1] + rect.max[1]) / 2)


# --- parsing -----------------------------------------------------------------------------------


def _number(raw: Any, where: str) -> float:
    # bool is an int in Python, and never a coordinate.
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise LayoutError(f"{where}: expected a number")
    value = float(raw)
    if not math.isfinite(value):
        raise LayoutError(f"{where}: must be finite")
    return value


def _numbers(raw: Any, n: int, where: str) -> tuple[float, ...]:
    if not (isinstance(raw, list) and len(raw) == n):
        raise LayoutError(f"{where}: expected a list of {n} numbers")
    return tuple(_number(v, where) for v in raw)


def _vec3(raw: Any, where: str) -> Vec3:
    x, y, z = _numbers(raw, 3, where)
    return (x, y, z)


def _vec2(raw: Any, where: str) -> Vec2:
    x, z = _numbers(raw, 2, where)
    return (x, z)


def _obj(
    raw: Any, where: str, required: Iterable[str], optional: Iterable[str] = ()
) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise LayoutError(f"{where}: expected an object")
    required = tuple(required)
    missing = [k for k in required if k not in raw]
    if missing:
        raise LayoutError(f"{where}: missing {', '.join(missing)}")
    unknown = sorted(set(raw) - set(required) - set(optional))
    if unknown:
        raise LayoutError(f"{where}: unknown field {', '.join(map(str, unknown))}")
    return raw


def _text(raw: Any, where: str) -> str:
    if not isinstance(raw, str) or not raw:
        raise LayoutError(f"{where}: expected a non-empty string")
    return raw


def _ident(raw: Any, where: str) -> str:
    ident = _text(raw, where)
    if not _ID.fullmatch(ident):
        raise LayoutError(f"{where}: {ident!r} is not a valid id (letters, digits, _ . -)")
    return ident


def _list(raw: Any, where: str, item: Callable[[Any, str], _T]) -> tuple[_T, ...]:
    if not isinstance(raw, list):
        raise LayoutError(f"{where}: expected a list")
    return tuple(item(entry, f"{where}[{i}]") for i, entry in enumerate(raw))


def _spot(raw: Any, where: str, *, with_roles: bool = True) -> SpawnPoint:
    obj = _obj(raw, where, ("id", "pos"), ("yaw_deg", "roles") if with_roles else ("yaw_deg",))
    ident = _ident(obj["id"], f"{where}.id")
    where = f"{where} ({ident})"
    roles = obj.get("roles", [])
    if not isinstance(roles, list):
        raise LayoutError(f"{where}.roles: expected a list of role names")
    return SpawnPoint(
        ident,
        _vec3(obj["pos"], f"{where}.pos"),
        _number(obj.get("yaw_deg", 0), f"{where}.yaw_deg"),
        frozenset(_text(r, f"{where}.roles") for r in roles),
    )


def _expert_spot(raw: Any, where: str) -> SpawnPoint:
    return _spot(raw, where, with_roles=False)


def _rect(raw: Any, where: str) -> Rect:
    obj = _obj(raw, where, ("min", "max"))
    rect = Rect(_vec2(obj["min"], f"{where}.min"), _vec2(obj["max"], f"{where}.max"))
    if not (rect.min[0] < rect.max[0] and rect.min[1] < rect.max[1]):
        raise LayoutError(f"{where}: min must be below max on x and z")
    return rect


def _screen(raw: Any, where: str) -> Screen:
    obj = _obj(raw, where, ("id", "center", "size", "yaw_deg"), ("normal",))
    ident = _ident(obj["id"], f"{where}.id")
    where = f"{where} ({ident})"
    width, height = _vec2(obj["size"], f"{where}.size")
    if width <= 0 or height <= 0:
        raise LayoutError(f"{where}.size: width and height must be positive")
    screen = Screen(
        ident,
        _vec3(obj["center"], f"{where}.center"),
        (width, height),
        _number(obj["yaw_deg"], f"{where}.yaw_deg"),
    )
    if "normal" in obj:
        given = _vec3(obj["normal"], f"{where}.normal")
        if math.dist(given, screen.normal) > 0.02:
            raise LayoutError(f"{where}.normal: disagrees with yaw_deg {screen.yaw_deg}")
    return screen


def _door(raw: Any, where: str) -> Door:
    obj = _obj(raw, where, ("id", "pos", "yaw_deg", "width", "leads_to"))
    ident = _ident(obj["id"], f"{where}.id")
    where = f"{where} ({ident})"
    width = _number(obj["width"], f"{where}.width")
    if width <= 0:
        raise LayoutError(f"{where}.width: must be positive")
    return Door(
        ident,
        _vec3(obj["pos"], f"{where}.pos"),
        _number(obj["yaw_deg"], f"{where}.yaw_deg"),
        width,
        _text(obj["leads_to"], f"{where}.leads_to"),
    )


def _zone(raw: Any, where: str) -> Zone:
    obj = _obj(raw, where, ("id", "min", "max"))
    ident = _ident(obj["id"], f"{where}.id")
    return Zone(ident, _rect({"min": obj["min"], "max": obj["max"]}, f"{where} ({ident})"))


def _view(raw: Any, where: str) -> View:
    obj = _obj(raw, where, ("id", "eye", "target"), ("fov_deg",))
    ident = _ident(obj["id"], f"{where}.id")
    where = f"{where} ({ident})"
    fov = _number(obj.get("fov_deg", 50), f"{where}.fov_deg")
    if not 5 <= fov <= 150:
        raise LayoutError(f"{where}.fov_deg: must lie between 5 and 150")
    eye = _vec3(obj["eye"], f"{where}.eye")
    target = _vec3(obj["target"], f"{where}.target")
    if eye == target:
        raise LayoutError(f"{where}: eye and target must differ")
    return View(ident, eye, target, fov)


def _furniture(raw: Any, where: str) -> Furniture:
    obj = _obj(raw, where, ("id", "min", "max", "y"), ("seats",))
    ident = _ident(obj["id"], f"{where}.id")
    where = f"{where} ({ident})"
    bottom, top = _vec2(obj["y"], f"{where}.y")
    if not bottom < top:
        raise LayoutError(f"{where}.y: the bottom must be below the top")
    seats = _list(obj.get("seats", []), f"{where}.seats", _ident)
    return Furniture(
        ident, _rect({"min": obj["min"], "max": obj["max"]}, where), bottom, top, frozenset(seats)
    )


def _zones(raw: Any, where: str) -> tuple[Zone, ...]:
    obj = _obj(raw, where, (), ("zones",))
    return _list(obj.get("zones", []), f"{where}.zones", _zone)


def _asset(raw: Any, where: str) -> str:
    asset = _text(raw, where)
    # A layout may come from outside the package one day: never let it name another file.
    if not _ASSET.fullmatch(asset):
        raise LayoutError(f"{where}: {asset!r} must be a relative path to a .glb in the package")
    return asset


MAX_EXTENT_M = I16 / 1000


def parse_layout(raw: Any) -> Layout:
    """Check a layout document and build the :class:`Layout`; ``LayoutError`` says what is wrong."""
    obj = _obj(raw, "layout", ("name", "bounds", "spawn_points"), _TOP_KEYS)
    name = _ident(obj["name"], "name")
    bounds = _obj(obj["bounds"], f"{name}: bounds", ("min", "max"))
    lo = _vec3(bounds["min"], f"{name}: bounds.min")
    hi = _vec3(bounds["max"], f"{name}: bounds.max")
    if not all(a < b for a, b in zip(lo, hi, strict=True)):
        raise LayoutError(f"{name}: bounds.min must be below bounds.max on every axis")
    if max(abs(c) for c in (*lo, *hi)) > MAX_EXTENT_M:
        raise LayoutError(
            f"{name}: bounds must lie within {MAX_EXTENT_M} m of the origin"
            " (the packed pose holds positions as 16-bit millimetres)"
        )
    advisor = obj.get("advisor_spot")
    layout = Layout(
        name=name,
        title=_text(obj.get("title", name), f"{name}: title"),
        bounds_min=lo,
        bounds_max=hi,
        spawn_points=_list(obj["spawn_points"], f"{name}: spawn_points", _spot),
        seats=_list(obj.get("seats", []), f"{name}: seats", _spot),
        expert_spots=_list(obj.get("expert_spots", []), f"{name}: expert_spots", _expert_spot),
        advisor_spot=None if advisor is None else _expert_spot(advisor, f"{name}: advisor_spot"),
        screens=_list(obj.get("screens", []), f"{name}: screens", _screen),
        doors=_list(obj.get("doors", []), f"{name}: doors", _door),
        walkable=_list(obj.get("walkable", []), f"{name}: walkable", _rect),
        zones=_zones(obj.get("interest", {}), f"{name}: interest"),
        views=_list(obj.get("views", []), f"{name}: views", _view),
        furniture=_list(obj.get("furniture", []), f"{name}: furniture", _furniture),
        asset=None if "asset" not in obj else _asset(obj["asset"], f"{name}: asset"),
    )
    if "units" in obj:
        _text(obj["units"], f"{name}: units")
    _check(layout)
    return layout


# --- consistency ---------------------------------------------------------------------------------


def _check(layout: Layout) -> None:
    if not layout.spawn_points:
        raise LayoutError(f"{layout.name}: needs at least one spawn point")
    _check_floor(layout)
    _check_spots(layout)
    _check_ids(layout)
    _check_fixtures(layout)


def _inside_xz(layout: Layout, rect: Rect) -> bool:
    lo, hi = layout.bounds_min, layout.bounds_max
    x_ok = lo[0] <= rect.min[0] and rect.max[0] <= hi[0]
    return x_ok and lo[2] <= rect.min[1] and rect.max[1] <= hi[2]


def _check_floor(layout: Layout) -> None:
    for i, rect in enumerate(layout.walkable):
        if not _inside_xz(layout, rect):
            raise LayoutError(f"{layout.name}: walkable[{i}] reaches outside the bounds")
    for zone in layout.zones:
        if not _inside_xz(layout, zone.rect):
            raise LayoutError(f"{layout.name}: interest zone {zone.id} reaches outside the bounds")


def _all_spots(layout: Layout) -> list[tuple[str, SpawnPoint]]:
    spots = [("spawn point", sp) for sp in layout.spawn_points]
    spots += [("seat", s) for s in layout.seats]
    spots += [("expert spot", s) for s in layout.expert_spots]
    if layout.advisor_spot is not None:
        spots.append(("advisor spot", layout.advisor_spot))
    spots += [("door", SpawnPoint(d.id, d.pos, d.yaw_deg)) for d in layout.doors]
    return spots


def _check_spots(layout: Layout) -> None:
    for kind, spot in _all_spots(layout):
        if layout.clamp(spot.pos) != spot.pos:
            raise LayoutError(f"{layout.name}: {kind} {spot.id} lies outside the bounds")
        if not layout.on_floor(spot.pos[0], spot.pos[2]):
            raise LayoutError(f"{layout.name}: {kind} {spot.id} is not on walkable ground")


def _check_ids(layout: Layout) -> None:
    """Ids are unique, except that one spot may be listed as, say, both spawn point and seat."""
    seen: dict[str, tuple[str, Vec3, float]] = {}
    for kind, spot in _all_spots(layout):
        where = (kind, spot.pos, spot.yaw_deg)
        first = seen.setdefault(spot.id, where)
        if first is not where and (first[0] == kind or first[1:] != where[1:]):
            raise LayoutError(f"{layout.name}: duplicate id {spot.id} ({first[0]} and {kind})")
    for kind, ids in (
        ("screen", [s.id for s in layout.screens]),
        ("zone", [z.id for z in layout.zones]),
        ("view", [v.id for v in layout.views]),
        ("furniture", [f.id for f in layout.furniture]),
    ):
        dupes = sorted({i for i in ids if ids.count(i) > 1 or (kind == "screen" and i in seen)})
        if dupes:
            raise LayoutError(f"{layout.name}: duplicate {kind} id {', '.join(dupes)}")
    _check_seat_roles(layout)


def _check_seat_roles(layout: Layout) -> None:
    # A seat that is also a spawn point must grant it to the same people, or the room would
    # seat someone on arrival in a seat they may not take.
    spawns = {sp.id: sp for sp in layout.spawn_points}
    for seat in layout.seats:
        twin = spawns.get(seat.id)
        if twin is not None and twin.roles != seat.roles:
            raise LayoutError(f"{layout.name}: seat {seat.id} and its spawn point differ in roles")


def _check_fixtures(layout: Layout) -> None:
    for screen in layout.screens:
        if layout.clamp(screen.center) != screen.center:
            raise LayoutError(f"{layout.name}: screen {screen.id} lies outside the bounds")
    seat_ids = {s.id for s in layout.seats}
    for piece in layout.furniture:
        if not _inside_xz(layout, piece.rect):
            raise LayoutError(f"{layout.name}: furniture {piece.id} reaches outside the bounds")
        unknown = sorted(piece.seats - seat_ids)
        if unknown:
            raise LayoutError(
                f"{layout.name}: furniture {piece.id} holds no seat {', '.join(unknown)}"
            )
    for view in layout.views:
        if layout.clamp(view.eye) != view.eye:
            raise LayoutError(f"{layout.name}: view {view.id} has its eye outside the bounds")


def known_layouts() -> frozenset[str]:
    """The names of the layouts shipped in ``scenes/layouts/``: what a room may be built as."""
    folder = resources.files("scenes").joinpath("layouts")
    return frozenset(
        item.name.removesuffix(".json") for item in folder.iterdir() if item.name.endswith(".json")
    )


def load_layout(name: str) -> Layout:
    """Load a layout shipped in ``scenes/layouts/``."""
    if not name.replace("_", "").isalnum():
        raise LayoutError(f"invalid layout name {name!r}")
    try:
        text = resources.files("scenes").joinpath("layouts", f"{name}.json").read_text("utf-8")
    except FileNotFoundError as exc:
        raise LayoutError(f"no layout named {name!r}") from exc
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LayoutError(f"layout {name!r} is not valid JSON: {exc}") from exc
    layout = parse_layout(raw)
    if layout.name != name:
        raise LayoutError(f"layouts/{name}.json calls itself {layout.name!r}")
    return layout


__all__ = [
    "Door",
    "Furniture",
    "Layout",
    "Rect",
    "Screen",
    "SpawnPoint",
    "View",
    "Zone",
    "known_layouts",
    "load_layout",
    "parse_layout",
]
