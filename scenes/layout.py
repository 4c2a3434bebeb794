"""Room layouts: the metadata beside a room's geometry (bounds, spawn points), read from JSON."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from importlib import resources
from typing import Any

from protocol.quantise import Quat, Vec3, yaw_quat
from scenes.errors import LayoutError


@dataclass(frozen=True, slots=True)
class SpawnPoint:
    id: str
    pos: Vec3
    yaw_deg: float
    roles: frozenset[str] = frozenset()  # roles that prefer this point; empty: anyone

    @property
    def rotation(self) -> Quat:
        return yaw_quat(math.radians(self.yaw_deg))


@dataclass(frozen=True, slots=True)
class Layout:
    name: str
    title: str
    bounds_min: Vec3
    bounds_max: Vec3
    spawn_points: tuple[SpawnPoint, ...]

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


def _vec3(raw: Any, where: str) -> Vec3:
    if not (isinstance(raw, list) and len(raw) == 3):
        raise LayoutError(f"{where}: expected [x, y, z]")
    try:
        x, y, z = (float(v) for v in raw)
    except (TypeError, ValueError) as exc:
        raise LayoutError(f"{where}: coordinates must be numbers") from exc
    return (x, y, z)


def parse_layout(raw: Any) -> Layout:
    try:
        name = str(raw["name"])
        bounds = raw["bounds"]
        lo = _vec3(bounds["min"], "bounds.min")
        hi = _vec3(bounds["max"], "bounds.max")
        points = tuple(
            SpawnPoint(
                str(sp["id"]),
                _vec3(sp["pos"], f"spawn {sp['id']}"),
                float(sp.get("yaw_deg", 0)),
                frozenset(str(r) for r in sp.get("roles", ())),
            )
            for sp in raw["spawn_points"]
        )
    except (KeyError, TypeError) as exc:
        raise LayoutError(f"layout is missing or mistypes a field: {exc}") from exc
    if not all(a < b for a, b in zip(lo, hi, strict=True)):
        raise LayoutError(f"{name}: bounds.min must be below bounds.max on every axis")
    if not points:
        raise LayoutError(f"{name}: needs at least one spawn point")
    layout = Layout(name, str(raw.get("title", name)), lo, hi, points)
    for sp in points:
        if layout.clamp(sp.pos) != sp.pos:
            raise LayoutError(f"{name}: spawn point {sp.id} lies outside the bounds")
    return layout


def load_layout(name: str) -> Layout:
    """Load a layout shipped in ``scenes/layouts/``."""
    if not name.replace("_", "").isalnum():
        raise LayoutError(f"invalid layout name {name!r}")
    try:
        text = resources.files("scenes").joinpath("layouts", f"{name}.json").read_text("utf-8")
    except FileNotFoundError as exc:
        raise LayoutError(f"no layout named {name!r}") from exc
    return parse_layout(json.loads(text))
