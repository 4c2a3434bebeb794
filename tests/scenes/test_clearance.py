"""Nobody is placed inside furniture: every spot of every shipped layout against every piece."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from scenes.clearance import EXPERT_RADIUS_M, Clash, clashes, spots_to_check
from scenes.errors import LayoutError
from scenes.layout import known_layouts, load_layout, parse_layout
from tests.scenes.test_layouts import raw_layout


@pytest.mark.parametrize("name", sorted(known_layouts()))
def test_every_spot_of_every_layout_is_clear_of_the_furniture(name: str) -> None:
    layout = load_layout(name)
    assert layout.furniture, "a shipped layout lists its furniture"
    kinds = {kind for kind, _, _ in spots_to_check(layout)}
    assert {"spawn point", "expert spot", "advisor spot"} <= kinds
    assert clashes(layout) == [], "\n".join(map(str, clashes(layout)))


@pytest.mark.parametrize("name", sorted(known_layouts()))
def test_the_furniture_holds_every_seat_once(name: str) -> None:
    layout = load_layout(name)
    held = [seat for piece in layout.furniture for seat in piece.seats]
    assert sorted(held) == sorted(s.id for s in layout.seats)


def test_the_private_rooms_plants_are_furniture() -> None:
    ids = {piece.id for piece in load_layout("private_room").furniture}
    assert {"plant-1", "plant-2", "table", "credenza", "credenza-plant"} <= ids


def _with_piece(piece: dict[str, Any], name: str = "private_room") -> dict[str, Any]:
    raw = copy.deepcopy(raw_layout(name))
    raw["furniture"].append(piece)
    return raw


def test_a_plant_on_an_expert_spot_is_a_clash() -> None:
    spot = load_layout("private_room").expert_spots[0]
    x, _, z = spot.pos
    pot = {"id": "pot", "min": [x + 0.1, z - 0.2], "max": [x + 0.5, z + 0.2], "y": [0, 1.6]}
    found = clashes(parse_layout(_with_piece(pot)))
    assert Clash("expert spot", spot.id, "pot", 0.1) in found


def test_a_piece_just_beyond_the_body_is_clear() -> None:
    x, _, z = load_layout("private_room").expert_spots[0].pos
    # Towards the wall, away from everyone else's spot.
    edge = x - EXPERT_RADIUS_M - 0.001
    pot = {"id": "pot", "min": [edge - 0.4, z - 0.2], "max": [edge, z + 0.2], "y": [0, 1.6]}
    assert clashes(parse_layout(_with_piece(pot))) == []


def test_a_seated_member_may_sit_in_their_own_chair_but_not_in_anothers() -> None:
    layout = load_layout("private_room")
    seat = layout.seat("seat-customer")
    assert not any(c.spot == seat.id for c in clashes(layout))
    raw = copy.deepcopy(raw_layout())
    chair = next(p for p in raw["furniture"] if p["id"] == "seat-customer")
    chair["seats"] = ["seat-family-1"]
    raw["furniture"] = [p for p in raw["furniture"] if p["id"] != "seat-family-1"]
    found = {(c.kind, c.spot, c.furniture) for c in clashes(parse_layout(raw))}
    assert ("seat", "seat-customer", "seat-customer") in found


@pytest.mark.parametrize(
    ("y", "clear"),
    [((0.0, 0.04), True), ((2.0, 2.6), True), ((0.0, 0.45), False), ((1.5, 2.5), False)],
)
def test_only_pieces_at_body_height_count(y: tuple[float, float], clear: bool) -> None:
    x, _, z = load_layout("private_room").expert_spots[0].pos
    piece = {"id": "thing", "min": [x - 0.1, z - 0.1], "max": [x + 0.1, z + 0.1], "y": list(y)}
    found = [c for c in clashes(parse_layout(_with_piece(piece))) if c.furniture == "thing"]
    assert (found == []) is clear


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"y": [1.0, 0.5]}, "bottom must be below the top"),
        ({"seats": ["nowhere"]}, "holds no seat nowhere"),
        ({"min": [-9.0, 0.0]}, "reaches outside the bounds"),
        ({"colour": "green"}, "unknown field colour"),
    ],
)
def test_bad_furniture_is_refused(change: dict[str, Any], message: str) -> None:
    piece = {"id": "pot", "min": [0.0, 0.0], "max": [0.3, 0.3], "y": [0.0, 1.0], **change}
    with pytest.raises(LayoutError, match=message):
        parse_layout(_with_piece(piece))
