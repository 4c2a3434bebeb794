"""Server-drawn pictures disclose digital experts as the browser does, and show them lit.

A real room (two experts spawned into its scene, each with its persona's look and AI label, and
a customer in the customer's seat) drawn by the renderer at the sizes the server streams, from
the same scene functions its tracks use: the customer's thin view and each expert's portrait.
A tag is found by drawing the picture again without it and looking at what changed.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import numpy.typing as npt
import pytest

from avatars.appearance import DEFAULT_LOOK
from avatars.personas import Personas
from avatars.placement import pose_at
from rooms.room import Room
from scenes.layout import load_layout
from scenes.name_tags import LABEL_CARD
from scenes.render import CameraView, Figure
from scenes.scene import EXPERT
from scenes.view_renderer import Frame, ViewRenderer
from server.media.pictures import PORTRAIT_SIZE, THIN_SIZE, portrait_scene, thin_view_scene

CUSTOMER = 1
# label -> (persona, spot): an English expert and a Chinese one, both in the customer's view.
EXPERTS = {
    "AI-generated": ("stocks-olivia-grant", "expert-2"),
    "AI生成": ("bonds-wang-jun", "expert-3"),
}
HEAD_TOP_M = 1.78  # the top of a standing figure's hair, above its feet (scenes/render.py)
BADGE = np.array([round(c * 255) for c in LABEL_CARD[:3]])


@pytest.fixture(scope="module")
def room() -> Room:
    room = Room("disclosure", load_layout("private_room"))
    layout = room.scene.layout
    seat = next(s for s in layout.seats if "customer" in s.roles)
    room.scene.spawn("avatar", CUSTOMER, "Ann", "customer", pose_at(seat, seated=True),
                     look=DEFAULT_LOOK, seat=seat.id)  # fmt: skip
    personas = Personas.load()
    spots = {s.id: s for s in layout.expert_spots}
    for label, (persona_id, spot) in EXPERTS.items():
        persona = personas.get(persona_id)
        room.scene.spawn(EXPERT, 0, persona.name[persona.language], "expert",
                         pose_at(spots[spot], seated=False), look=persona.look,
                         persona=persona.id, label=label, presence="present")  # fmt: skip
    return room


@pytest.fixture(scope="module")
def thin() -> Iterator[ViewRenderer]:
    with ViewRenderer("private_room", *THIN_SIZE) as renderer:
        yield renderer


@pytest.fixture(scope="module")
def portrait() -> Iterator[ViewRenderer]:
    with ViewRenderer("private_room", *PORTRAIT_SIZE) as renderer:
        yield renderer


def _changed(a: Frame, b: Frame) -> npt.NDArray[np.bool_]:
    moved = np.abs(a.astype(np.int16) - b.astype(np.int16)).max(axis=2)
    changed: npt.NDArray[np.bool_] = moved > 12
    return changed


def _box(mask: npt.NDArray[np.bool_]) -> tuple[int, int, int, int]:
    rows, cols = np.nonzero(mask)
    return int(cols.min()), int(rows.min()), int(cols.max()) + 1, int(rows.max()) + 1


def _point(renderer: ViewRenderer, point: tuple[float, float, float]) -> tuple[float, float]:
    seen = renderer.project(point)
    assert seen is not None, f"{point} is outside the picture"
    return seen


def _above(figure: Figure, height: float, dx: float = 0.0) -> tuple[float, float, float]:
    return (figure.pos[0] + dx, figure.pos[1] + height, figure.pos[2])


def _untagged(figures: list[Figure], figure: Figure) -> list[Figure]:
    return [f._replace(label="", ai_label="") if f is figure else f for f in figures]


def _assert_tag_over_head(
    renderer: ViewRenderer, scene: tuple[list[Figure], CameraView], figure: Figure
) -> tuple[int, int, int, int]:
    """The pixels ``figure``'s tag changes in ``scene`` are one solid block above its head,
    with the AI label's badge in it; the block's box."""
    figures, camera = scene
    without = renderer.draw(_untagged(figures, figure), camera)
    drawn = renderer.draw(figures, camera)  # last: the head is projected with this frame's view
    mask = _changed(drawn, without)
    x0, y0, x1, y1 = _box(mask)
    head_x, head_y = _point(renderer, _above(figure, HEAD_TOP_M))
    width, height = renderer.width, renderer.height
    assert x1 - x0 < 0.4 * width, (x0, x1)
    assert y1 - y0 < 0.25 * height, (y0, y1)
    assert mask[y0:y1, x0:x1].mean() > 0.6, "cards are solid: the change is one block"
    assert y1 <= head_y, f"the tag's bottom (row {y1}) is not above the head (row {head_y:.0f})"
    assert abs((x0 + x1) / 2 - head_x) < 3, "the tag is centred over the head"
    block = drawn[y0:y1, x0:x1].astype(np.int16)
    badge = (np.abs(block - BADGE).max(axis=2) < 16).sum()
    assert badge > 0.15 * (x1 - x0) * (y1 - y0), "the AI label's light badge is in the tag"
    return x0, y0, x1, y1


def _expert(figures: list[Figure], label: str) -> Figure:
    (figure,) = [f for f in figures if f.ai_label == label]
    return figure


@pytest.mark.parametrize("label", list(EXPERTS))
def test_the_thin_view_shows_each_experts_ai_label_above_its_head(
    room: Room, thin: ViewRenderer, label: str
) -> None:
    figures, camera = thin_view_scene(room, CUSTOMER)()
    figures = list(figures)
    assert sorted(f.ai_label for f in figures) == sorted(EXPERTS), "the customer's own is left out"
    _assert_tag_over_head(thin, (figures, camera), _expert(figures, label))


def test_chinese_labels_are_drawn_in_glyphs_not_missing_character_boxes(
    room: Room, thin: ViewRenderer
) -> None:
    # A font without these characters draws every one of them the same, in either order.
    figures, camera = thin_view_scene(room, CUSTOMER)()
    expert = _expert(list(figures), "AI生成")
    swapped = expert._replace(ai_label="AI成生")
    x0, y0, x1, y1 = _assert_tag_over_head(thin, ([expert], camera), expert)
    a = thin.draw([expert], camera)[y0:y1, x0:x1]
    b = thin.draw([swapped], camera)[y0:y1, x0:x1]
    assert _changed(a, b).sum() > 20


@pytest.mark.parametrize("label", list(EXPERTS))
def test_experts_are_drawn_lit_in_their_outfit_colours(
    room: Room, thin: ViewRenderer, label: str
) -> None:
    figures, camera = thin_view_scene(room, CUSTOMER)()
    expert = _expert(list(figures), label)
    drawn = thin.draw(figures, camera)
    # The jacket between hips and shoulders, on either side of the tie down its front.
    sides = []
    for x0, x1 in ((-0.13, -0.045), (0.045, 0.13)):
        corners = [_point(thin, _above(expert, h, dx)) for h in (0.95, 1.3) for dx in (x0, x1)]
        cols, rows = zip(*corners, strict=True)
        side = drawn[round(min(rows)) : round(max(rows)), round(min(cols)) : round(max(cols))]
        sides.append(side.reshape(-1, 3))
    torso = np.concatenate(sides)
    assert torso.size > 3 * 60
    mean = torso.mean(axis=0)
    outfit = np.array(expert.rgb) * 255
    # Lit from the front by the room's ambient and key lights: most of the colour shows (a
    # jacket once came out at a seventh of its colour, near black).
    assert _luminance(mean) > 0.6 * _luminance(outfit), (mean, outfit)
    assert np.abs(mean / mean.sum() - outfit / outfit.sum()).max() < 0.05, "the outfit's hue"


@pytest.mark.parametrize("label", list(EXPERTS))
def test_an_experts_portrait_carries_its_ai_label_inside_the_picture(
    room: Room, portrait: ViewRenderer, label: str
) -> None:
    entity = next(e.i for e in room.scene.snapshot() if e.l == label)
    figures, camera = portrait_scene(room, entity)()
    (expert,) = figures
    x0, y0, x1, _ = _assert_tag_over_head(portrait, (list(figures), camera), expert)
    # The whole tag is in the picture: none of its edges is cut by the picture's.
    assert x0 > 0
    assert y0 > 0
    assert x1 < portrait.width


def _luminance(rgb: npt.NDArray[np.float64]) -> float:
    return float(0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2])
