"""The rigged figure in Panda3D (scenes/avatar_rig.py): dressed, shaped and posed by its look."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from panda3d.core import LMatrix4f, LVecBase3f, MaterialAttrib

from protocol.messages import HAIRSTYLES
from scenes.avatar_rig import SEATED_HIP_DROP_M, STANDING_EYE_M, Rig
from scenes.render import CameraView, Figure
from scenes.view_renderer import ViewRenderer

COLOURS = {
    "top": (0.1, 0.2, 0.6),
    "bottom": (0.1, 0.1, 0.1),
    "accent": (0.8, 0.7, 0.3),
    "skin": (0.8, 0.6, 0.5),
    "hair": (0.3, 0.2, 0.1),
}


def _rig(**kw: object) -> Rig:
    args: dict[str, object] = {
        "hairstyle": "short",
        "build": "average",
        "height_cm": 170,
        "seated": False,
    }
    args.update(kw)
    return Rig(COLOURS, **args)  # type: ignore[arg-type]


def _joint_at(rig: Rig, name: str) -> LVecBase3f:
    """Where a joint is in the model's own frame (Z up, facing +Y), after the rig's pose."""
    bundle = rig._bundle
    bundle.force_update()
    matrix = LMatrix4f()
    bundle.find_child(name).get_net_transform(matrix)
    return matrix.get_row3(3)


@pytest.mark.parametrize("style", sorted(HAIRSTYLES))
def test_only_the_looks_hairstyle_is_drawn(style: str) -> None:
    rig = _rig(hairstyle=style)
    hair = [
        n.get_name()
        for n in rig.root.find_all_matches("**/+GeomNode")
        if n.get_name().startswith("hair_")
    ]
    assert hair == ([] if style == "none" else [f"hair_{style}"])


def test_materials_take_the_looks_colours_by_their_role() -> None:
    rig = _rig()
    seen = {}
    for holder in rig.root.find_all_matches("**/+GeomNode"):
        node = holder.node()
        for i in range(node.get_num_geoms()):
            material = node.get_geom_state(i).get_attrib(MaterialAttrib).get_material()
            seen[material.get_name()] = tuple(round(c, 3) for c in material.get_diffuse())[:3]
    for role, rgb in COLOURS.items():
        assert seen[role] == pytest.approx(rgb, abs=1e-3), role
    assert seen["eyes"] != seen["skin"]


def test_a_seated_figure_has_its_thighs_forward_and_its_feet_on_the_floor() -> None:
    standing, seated = _rig(), _rig(seated=True)
    for side in ("l", "r"):
        hip, knee, ankle = (_joint_at(seated, f"{j}_{side}") for j in ("thigh", "shin", "foot"))
        assert knee.y - hip.y == pytest.approx(0.41, abs=0.01)  # forward, level with the hip
        assert knee.z == pytest.approx(hip.z, abs=0.01)
        assert ankle.y == pytest.approx(knee.y, abs=0.01)  # the shin hangs down
        assert ankle.z == pytest.approx(_joint_at(standing, f"foot_{side}").z, abs=0.01)
    drop = _joint_at(standing, "head").z - _joint_at(seated, "head").z
    assert drop == pytest.approx(SEATED_HIP_DROP_M, abs=0.005)
    assert seated.eye_height(seated=True) == pytest.approx(STANDING_EYE_M - SEATED_HIP_DROP_M)


# A seated figure's joints in the glTF frame: the same numbers in the browser's test
# (client_web/test/figures.test.js), so both clients seat people alike.
SEATED_JOINTS = {
    "hand_l": (-0.14, 0.606, -0.257),
    "hand_r": (0.14, 0.606, -0.257),
    "forearm_l": (-0.211, 0.713, -0.042),
    "foot_l": (-0.1, 0.08, -0.41),
}


def test_a_seated_figure_sits_as_the_browser_seats_it() -> None:
    rig = _rig(seated=True)
    for name, where in SEATED_JOINTS.items():
        at = _joint_at(rig, name)
        assert (at.x, at.z, -at.y) == pytest.approx(where, abs=0.002), name


def test_height_scales_the_figure() -> None:
    assert _rig(height_cm=190).eye_height(seated=False) == pytest.approx(STANDING_EYE_M * 190 / 170)


FRONT = CameraView((0.0, 1.2, 0.4), (0.0, 1.2, -1.6), 50.0)


@pytest.fixture(scope="module")
def renderer() -> Iterator[ViewRenderer]:
    with ViewRenderer("private_room", 200, 160) as r:
        yield r


def _width_at_chest(renderer: ViewRenderer, build: str) -> int:
    # Standing off every seat, facing the camera (yaw 180 looks along +Z).
    figure = Figure((0.0, 0.0, -1.6), 180.0, (0.9, 0.1, 0.1), build=build)
    empty = renderer.draw([], FRONT)
    drawn = renderer.draw([figure], FRONT)
    moved = np.abs(drawn.astype(int) - empty.astype(int)).max(axis=2) > 12
    rows = moved[55:65]  # the chest, in this picture
    return int(rows.sum(axis=1).max())


CLOSE = CameraView((0.0, 1.58, -0.9), (0.0, 1.58, -1.6), 30.0)


def _jaw_width(renderer: ViewRenderer, face: str) -> int:
    """Pixels across the head at the jaw, 7.5 cm below the eyes."""
    figure = Figure((0.0, 0.0, -1.6), 180.0, (0.9, 0.1, 0.1), hairstyle="none", face=face)
    empty = renderer.draw([], CLOSE)
    moved = np.asarray(np.abs(renderer.draw([figure], CLOSE).astype(int) - empty) > 12)
    at = renderer.project((0.0, STANDING_EYE_M - 0.075, -1.6))
    assert at is not None
    return int(moved[round(at[1])].any(axis=1).sum())


def test_the_face_takes_the_looks_shape(renderer: ViewRenderer) -> None:
    heart, oval, square = (_jaw_width(renderer, f) for f in ("heart", "oval", "square"))
    assert heart < oval < square, (heart, oval, square)


def test_a_broad_build_is_wider_than_a_slim_one_in_the_picture(renderer: ViewRenderer) -> None:
    slim, average, broad = (_width_at_chest(renderer, b) for b in ("slim", "average", "broad"))
    assert slim < average < broad, (slim, average, broad)
