"""Layouts: the shipped files load and agree with their geometry; bad files are refused."""

from __future__ import annotations

import copy
import json
import math
from importlib import resources
from pathlib import Path
from typing import Any

import gltf  # type: ignore[import-untyped]
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from panda3d.core import NodePath

from scenes.errors import LayoutError
from scenes.layout import Layout, Rect, SpawnPoint, load_layout, parse_layout

LAYOUTS = ("private_room", "branch_lobby", "seminar_room")
ALL_ROLES = frozenset({"customer", "guest", "advisor", "bot"})


def raw_layout(name: str = "private_room") -> dict[str, Any]:
    text = resources.files("scenes").joinpath("layouts", f"{name}.json").read_text("utf-8")
    raw: dict[str, Any] = json.loads(text)
    return raw


# --- the shipped layouts -------------------------------------------------------------------------


@pytest.mark.parametrize("name", LAYOUTS)
def test_every_layout_loads_with_its_asset(name: str) -> None:
    layout = load_layout(name)
    assert layout.name == name
    assert layout.asset_path.is_absolute()
    assert layout.asset_path.suffix == ".glb"
    assert layout.asset_path.stat().st_size < 300_000
    assert layout.walkable, "a shipped layout says where avatars may walk"
    assert layout.screens
    assert len(layout.expert_spots) >= 4
    assert any(v.id == "default" for v in layout.views)


@pytest.mark.parametrize("name", LAYOUTS)
def test_every_spot_is_inside_the_bounds_and_on_walkable_ground(name: str) -> None:
    layout = load_layout(name)
    spots = [*layout.spawn_points, *layout.seats, *layout.expert_spots]
    spots += [SpawnPoint(d.id, d.pos, d.yaw_deg) for d in layout.doors]
    for spot in spots:
        assert layout.clamp(spot.pos) == spot.pos, spot.id
        assert layout.on_floor(spot.pos[0], spot.pos[2]), spot.id
        assert layout.constrain(spot.pos) == spot.pos, spot.id


def test_private_room_keeps_its_spawn_points_and_roles() -> None:
    layout = load_layout("private_room")
    roles = {sp.id: sp.roles for sp in layout.spawn_points}
    assert roles == {
        "seat-customer": {"customer"},
        "seat-family-1": {"guest"},
        "seat-family-2": {"guest"},
        "advisor-spot": {"advisor"},
        "standing-1": ALL_ROLES,
        "standing-2": ALL_ROLES,
        "standing-3": ALL_ROLES,
        "standing-4": ALL_ROLES,
    }
    assert layout.spawn_for("guest", set()).id == "seat-family-1"
    assert layout.spawn_for("customer", {"seat-family-1"}).id == "seat-customer"
    assert layout.spawn_for("advisor", set()).id == "advisor-spot"
    assert {s.id for s in layout.expert_spots} == {f"expert-{i}" for i in range(1, 5)}
    assert [s.id for s in layout.screens] == ["screen-main"]
    assert layout.advisor_spot is not None
    assert layout.advisor_spot.id == "advisor-spot"


def test_private_room_seats_face_the_table() -> None:
    layout = load_layout("private_room")
    for seat in layout.seats:
        # Yaw 0 looks along -Z: from either side of the table, the view passes its middle.
        yaw = math.radians(seat.yaw_deg)
        ahead = (seat.pos[0] - math.sin(yaw) * 1.1, seat.pos[2] - math.cos(yaw) * 1.1)
        assert abs(ahead[0]) < 1.4, seat.id
        assert abs(ahead[1]) < 0.6, seat.id


def test_branch_lobby_holds_200_members() -> None:
    layout = load_layout("branch_lobby")
    assert len({sp.id for sp in layout.spawn_points}) >= 200
    assert [d.id for d in layout.doors] == ["door-1", "door-2", "door-3", "door-4"]
    assert all(d.leads_to == "private_room" for d in layout.doors)
    assert layout.advisor_spot is not None
    assert layout.spawn_for("advisor", set()).id == layout.advisor_spot.id
    # Arrivals stand until the standing places run out.
    assert layout.spawn_for("guest", set()).id.startswith("standing-")
    assert {z.id for z in layout.zones} >= {"entrance", "reception", "waiting"}


def test_seminar_room_has_rows_and_a_presenter() -> None:
    layout = load_layout("seminar_room")
    rows = [s for s in layout.seats if s.id.startswith("row-")]
    assert len(rows) >= 60
    assert layout.seat("row-A-1").id == "row-A-1"
    assert layout.advisor_spot is not None
    assert layout.advisor_spot.id == "presenter"
    assert layout.spawn_for("advisor", set()).id == "presenter"
    assert layout.advisor_spot.pos[1] > 0, "the presenter stands on the stage"


def test_seat_lookup() -> None:
    layout = load_layout("private_room")
    assert layout.seat("seat-customer").roles == {"customer"}
    with pytest.raises(KeyError, match="no seat"):
        layout.seat("standing-1")


def test_walkable_ground_leaves_out_the_table() -> None:
    layout = load_layout("private_room")
    assert not layout.on_floor(0.0, 0.0)
    x, y, z = layout.constrain((0.3, 1.6, 0.1))
    assert layout.on_floor(x, z)
    assert (x, y) == (0.3, 1.6)
    assert z > 0.5, "pushed out of the table's long side, the nearest way out"


# --- property: constrain -------------------------------------------------------------------------

_coord = st.floats(min_value=-15.0, max_value=15.0, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(LAYOUTS), x=_coord, y=_coord, z=_coord)
def test_constrain_puts_points_on_the_nearest_walkable_ground(
    name: str, x: float, y: float, z: float
) -> None:
    layout = load_layout(name)
    cx, cy, cz = layout.constrain((x, y, z))
    assert layout.on_floor(cx, cz)
    assert layout.bounds_min[1] <= cy <= layout.bounds_max[1]
    assert layout.constrain((cx, cy, cz)) == (cx, cy, cz)
    moved = math.hypot(cx - x, cz - z)
    for rect in layout.walkable:
        rx, rz = rect.clamp(x, z)
        assert moved <= math.hypot(rx - x, rz - z) + 1e-9
    if layout.on_floor(x, z):
        assert (cx, cz) == (x, z)


def test_constrain_survives_nan() -> None:
    x, _, z = load_layout("private_room").constrain((math.nan, 1.0, math.nan))
    assert not math.isnan(x)
    assert not math.isnan(z)


# --- bad metadata --------------------------------------------------------------------------------


def test_the_old_minimal_format_still_parses() -> None:
    layout = parse_layout(
        {
            "name": "tiny",
            "bounds": {"min": [-1, 0, -1], "max": [1, 2, 1]},
            "spawn_points": [{"id": "a", "pos": [0, 0, 0]}],
        }
    )
    assert layout.title == "tiny"
    assert layout.constrain((5.0, 5.0, -5.0)) == (1.0, 2.0, -1.0)
    with pytest.raises(LayoutError, match="no asset"):
        _ = layout.asset_path


def test_layouts_built_in_code_keep_working() -> None:
    layout = Layout("t", "T", (-1, 0, -1), (1, 2, 1), (SpawnPoint("a", (0, 0, 0), 0.0),))
    assert layout.constrain((3.0, 1.0, 0.5)) == (1.0, 1.0, 0.5)
    assert layout.seats == ()


def _spawn(raw: dict[str, Any], ident: str) -> dict[str, Any]:
    spot: dict[str, Any] = next(sp for sp in raw["spawn_points"] if sp["id"] == ident)
    return spot


def _spawn_outside(raw: dict[str, Any]) -> None:
    _spawn(raw, "standing-1")["pos"] = [-4.6, 0.0, 2.0]


def _duplicate_spawn(raw: dict[str, Any]) -> None:
    raw["spawn_points"].append(copy.deepcopy(raw["spawn_points"][-1]))


def _expert_named_like_a_seat(raw: dict[str, Any]) -> None:
    raw["expert_spots"][0]["id"] = "seat-customer"


def _too_big_for_the_packed_pose(raw: dict[str, Any]) -> None:
    raw["bounds"]["max"][0] = 40.0


def _seat_on_the_table(raw: dict[str, Any]) -> None:
    raw["seats"].append({"id": "seat-on-table", "pos": [0.0, 0.0, 0.0], "yaw_deg": 0.0})


def _expert_off_the_floor(raw: dict[str, Any]) -> None:
    raw["expert_spots"][0]["pos"] = [0.0, 0.0, 0.2]


def _door_off_the_floor(raw: dict[str, Any]) -> None:
    raw["doors"] = [
        {"id": "door-1", "pos": [0.0, 0.0, 0.0], "yaw_deg": 0, "width": 1, "leads_to": "x"}
    ]


def _seat_roles_differ(raw: dict[str, Any]) -> None:
    raw["seats"][0]["roles"] = ["guest"]


def _walkable_outside(raw: dict[str, Any]) -> None:
    raw["walkable"].append({"min": [3.0, 3.0], "max": [5.0, 3.4]})


def _walkable_inverted(raw: dict[str, Any]) -> None:
    raw["walkable"][0] = {"min": [1.0, 1.0], "max": [0.0, 2.0]}


def _asset_escapes(raw: dict[str, Any]) -> None:
    raw["asset"] = "../../etc/passwd.glb"


def _screen_normal_wrong(raw: dict[str, Any]) -> None:
    raw["screens"][0]["normal"] = [0.0, 0.0, -1.0]


def _screen_without_size(raw: dict[str, Any]) -> None:
    del raw["screens"][0]["size"]


def _spawn_without_pos(raw: dict[str, Any]) -> None:
    del raw["spawn_points"][0]["pos"]


def _no_bounds(raw: dict[str, Any]) -> None:
    del raw["bounds"]


def _no_name(raw: dict[str, Any]) -> None:
    del raw["name"]


def _no_spawn_points(raw: dict[str, Any]) -> None:
    raw["spawn_points"] = []


def _unknown_field(raw: dict[str, Any]) -> None:
    raw["spawn_piont"] = []


def _unknown_spot_field(raw: dict[str, Any]) -> None:
    raw["seats"][0]["colour"] = "red"


def _nan_yaw(raw: dict[str, Any]) -> None:
    raw["seats"][0]["yaw_deg"] = math.nan


def _bool_coordinate(raw: dict[str, Any]) -> None:
    raw["spawn_points"][0]["pos"] = [True, 0, 1]


def _bad_id(raw: dict[str, Any]) -> None:
    raw["expert_spots"][0]["id"] = "expert 1"


def _bounds_inverted(raw: dict[str, Any]) -> None:
    raw["bounds"]["min"][1] = 5.0


def _view_outside(raw: dict[str, Any]) -> None:
    raw["views"][0]["eye"] = [0.0, 9.0, 0.0]


def _zone_outside(raw: dict[str, Any]) -> None:
    raw["interest"]["zones"].append({"id": "yard", "min": [0, 0], "max": [20, 1]})


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (_spawn_outside, "spawn point standing-1 lies outside the bounds"),
        (_duplicate_spawn, "duplicate id standing-4"),
        (_expert_named_like_a_seat, "duplicate id seat-customer"),
        (_seat_on_the_table, "seat seat-on-table is not on walkable ground"),
        (_expert_off_the_floor, "expert spot expert-1 is not on walkable ground"),
        (_door_off_the_floor, "door door-1 is not on walkable ground"),
        (_seat_roles_differ, "differ in roles"),
        (_walkable_outside, r"walkable\[\d+\] reaches outside"),
        (_walkable_inverted, "min must be below max"),
        (_asset_escapes, "relative path"),
        (_screen_normal_wrong, "disagrees with yaw_deg"),
        (_screen_without_size, "missing size"),
        (_spawn_without_pos, "missing pos"),
        (_no_bounds, "missing bounds"),
        (_no_name, "missing name"),
        (_no_spawn_points, "at least one spawn point"),
        (_unknown_field, "unknown field spawn_piont"),
        (_unknown_spot_field, "unknown field colour"),
        (_nan_yaw, "must be finite"),
        (_bool_coordinate, "expected a number"),
        (_bad_id, "not a valid id"),
        (_bounds_inverted, "bounds.min must be below"),
        (_view_outside, "eye outside the bounds"),
        (_zone_outside, "zone yard reaches outside"),
        (_too_big_for_the_packed_pose, "within 32.767 m of the origin"),
    ],
)
def test_bad_metadata_is_refused(spoil: Any, message: str) -> None:
    raw = raw_layout()
    spoil(raw)
    with pytest.raises(LayoutError, match=message):
        parse_layout(raw)


@pytest.mark.parametrize("raw", [None, [], "layout", 3])
def test_a_layout_must_be_an_object(raw: Any) -> None:
    with pytest.raises(LayoutError, match="expected an object"):
        parse_layout(raw)


@pytest.mark.parametrize("name", ["nope", "../private_room", "private room", ""])
def test_unknown_or_unsafe_names_are_refused(name: str) -> None:
    with pytest.raises(LayoutError):
        load_layout(name)


def test_rect_helpers() -> None:
    rect = Rect((0.0, 0.0), (2.0, 1.0))
    assert rect.contains(2.0, 1.0)
    assert not rect.contains(2.1, 0.5)
    assert rect.clamp(-1.0, 3.0) == (0.0, 1.0)
    assert rect.area == 2.0


# --- the geometry --------------------------------------------------------------------------------


def _load_glb(path: Path) -> Any:
    return NodePath(gltf.load_model(str(path)))


@pytest.mark.parametrize(
    ("name", "nodes"),
    [
        ("private_room", ("table", "screen-main", "seat-customer", "advisor-spot", "window")),
        ("branch_lobby", ("reception-desk", "door-1", "door-4", "screen-lobby", "emblem")),
        ("seminar_room", ("stage", "lectern", "screen-main", "row-A-1", "row-F-14")),
    ],
)
def test_glb_loads_in_panda3d_with_named_nodes(name: str, nodes: tuple[str, ...]) -> None:
    layout = load_layout(name)
    model = _load_glb(layout.asset_path)
    expected = (*nodes, *(s.id for s in layout.expert_spots), *(s.id for s in layout.screens))
    for node in expected:
        assert not model.find(f"**/{node}").is_empty(), node


@pytest.mark.parametrize("name", LAYOUTS)
def test_geometry_matches_the_metadata(name: str) -> None:
    layout = load_layout(name)
    model = _load_glb(layout.asset_path)
    # panda3d-gltf turns glTF's Y-up into Panda3D's Z-up: (x, y, z) -> (x, -z, y).
    lo, hi = model.get_tight_bounds()
    gltf_lo = (lo[0], lo[2], -hi[1])
    gltf_hi = (hi[0], hi[2], -lo[1])
    for axis in range(3):
        # The shell's walls, floor and ceiling wrap the bounds, 20 cm thick.
        assert layout.bounds_min[axis] - 0.5 < gltf_lo[axis] < layout.bounds_min[axis]
        assert layout.bounds_max[axis] < gltf_hi[axis] < layout.bounds_max[axis] + 0.5
    for screen in layout.screens:
        node = model.find(f"**/{screen.id}")
        a, b = node.get_tight_bounds(model)
        centre = ((a[0] + b[0]) / 2, (a[2] + b[2]) / 2, -(a[1] + b[1]) / 2)
        assert math.dist(centre, screen.center) < 0.02, screen.id
        assert math.isclose(b[0] - a[0], screen.size[0], abs_tol=0.02) or math.isclose(
            b[1] - a[1], screen.size[0], abs_tol=0.02
        )
