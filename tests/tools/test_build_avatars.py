"""The figure asset (tools/build_avatars.py): the committed file is what the tool builds, and
it holds what both clients look up in it by name."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from protocol.messages import FACES, HAIRSTYLES
from scenes import avatar_rig

pytest.importorskip("pygltflib")

from tools import build_avatars

SHIPPED = Path(str(resources.files("scenes"))) / "assets" / build_avatars.ASSET_NAME


def test_the_shipped_figure_is_what_build_avatars_makes(tmp_path: Path) -> None:
    written = build_avatars.write(tmp_path)
    assert written.read_bytes() == SHIPPED.read_bytes(), (
        f"{SHIPPED} is stale: run python -m tools.build_avatars"
    )


@pytest.fixture(scope="module")
def doc() -> object:
    import pygltflib  # type: ignore[import-untyped]

    return pygltflib.GLTF2.load_binary(str(SHIPPED))


def _names(items: list[object]) -> set[str]:
    return {str(getattr(item, "name", "")) for item in items}


def test_it_has_the_joints_targets_meshes_and_materials_the_clients_use(doc: object) -> None:
    nodes, meshes, materials = doc.nodes, doc.meshes, doc.materials  # type: ignore[attr-defined]
    (skin,) = doc.skins  # type: ignore[attr-defined]
    joints = {nodes[i].name for i in skin.joints}
    assert joints == {name for name, _, _ in build_avatars.JOINTS}
    assert set(avatar_rig.SEATED_TURNS) | {"hips", "head"} <= joints
    by_name = {m.name: m for m in meshes}
    assert by_name["face"].extras["targetNames"] == ["mouth_open", "blink", *avatar_rig.FACE_SHAPES]
    # Every face shape the protocol allows but the oval the head rests as.
    assert set(avatar_rig.FACE_SHAPES) == FACES - {"oval"}
    assert by_name["body"].extras["targetNames"] == ["broad", "slim", "breath"]
    assert avatar_rig.MOUTH_TARGET in by_name["face"].extras["targetNames"]
    # Every hairstyle the protocol allows has its mesh, but "none", which is no mesh.
    assert {f"hair_{s}" for s in HAIRSTYLES - {"none"}} == {n for n in by_name if "hair" in n}
    assert set(avatar_rig.HAIRSTYLE_MESHES) == HAIRSTYLES - {"none"}
    # The look colours these by name; the browser and the server's renderer find them so.
    assert {"skin", "hair", "top", "bottom", "accent"} <= _names(materials)
    for mesh in meshes:
        for prim in mesh.primitives:
            assert prim.attributes.JOINTS_0 is not None
            assert prim.attributes.WEIGHTS_0 is not None
            assert len(prim.targets or []) == len(mesh.extras.get("targetNames", []))


def _accessor(doc: object, index: int) -> npt.NDArray[np.generic]:
    acc = doc.accessors[index]  # type: ignore[attr-defined]
    view = doc.bufferViews[acc.bufferView]  # type: ignore[attr-defined]
    blob = doc.binary_blob()  # type: ignore[attr-defined]
    dtype = {5121: np.uint8, 5123: np.uint16, 5126: np.float32}[acc.componentType]
    width = {"SCALAR": 1, "VEC3": 3, "VEC4": 4, "MAT4": 16}[acc.type]
    data = np.frombuffer(blob, dtype, acc.count * width, view.byteOffset)
    return data.reshape(acc.count, width)


def test_skin_weights_are_whole_and_bind_real_joints(doc: object) -> None:
    (skin,) = doc.skins  # type: ignore[attr-defined]
    for mesh in doc.meshes:  # type: ignore[attr-defined]
        for prim in mesh.primitives:
            weights = _accessor(doc, prim.attributes.WEIGHTS_0)
            joints = _accessor(doc, prim.attributes.JOINTS_0)
            assert np.allclose(weights.sum(axis=1), 1.0, atol=1e-4)
            assert joints.max() < len(skin.joints)


def test_the_figure_stands_on_the_floor_with_its_eyes_where_the_server_puts_them(
    doc: object,
) -> None:
    lows, highs = [], []
    for mesh in doc.meshes:  # type: ignore[attr-defined]
        for prim in mesh.primitives:
            acc = doc.accessors[prim.attributes.POSITION]  # type: ignore[attr-defined]
            lows.append(acc.min[1])
            highs.append(acc.max[1])
    assert min(lows) == pytest.approx(0.0, abs=0.005)  # the soles
    assert 1.72 < max(highs) < 1.85  # the top of the hair, 170 cm tall
    # Eyes at the height the renderer's and the browser's cameras take for a standing head.
    assert pytest.approx(avatar_rig.STANDING_EYE_M) == build_avatars.EYE_HEIGHT_M


@pytest.mark.parametrize(
    "parts",
    [
        pytest.param(build_avatars.body_parts, id="body"),
        pytest.param(build_avatars.face_parts, id="face"),
        *(
            pytest.param(lambda s=s: build_avatars.hair_parts(s), id=s)
            for s in build_avatars.HAIRSTYLES
        ),
    ],
)
def test_every_face_of_every_part_looks_outwards(parts: object) -> None:
    for part in parts():  # type: ignore[operator]
        shape = part.shape
        a, b, c = (shape.positions[shape.triangles[:, k]] for k in range(3))
        normal = np.cross(b - a, c - a)
        area = np.linalg.norm(normal, axis=1)
        smooth = shape.normals[shape.triangles].sum(axis=1)
        outward = (normal * smooth).sum(axis=1) > 0
        assert (outward | (area < 1e-9)).all(), part.material


def test_hair_covers_the_crown_of_the_head_in_every_style() -> None:
    head = build_avatars.face_parts()[0].shape.positions
    centre = np.array(build_avatars.HEAD_CENTRE)
    crown = head[head[:, 1] > centre[1] + 0.06]
    for style in build_avatars.HAIRSTYLES:
        cap = build_avatars.hair_parts(style)[0].shape.positions
        # Seen from the head's centre, the cap lies over each point of the crown: in the
        # direction of the point, the cap's nearest vertex is farther out than the point.
        out = cap - centre
        reach = np.linalg.norm(out, axis=1)
        for point in crown:
            direction = (point - centre) / np.linalg.norm(point - centre)
            cosine = out @ direction / reach
            nearest = int(np.argmax(cosine))
            assert cosine[nearest] > 0.98, (style, point)
            assert reach[nearest] > np.linalg.norm(point - centre), (style, point)


@pytest.mark.parametrize(
    ("joint", "tube_radius"), [("thigh", 0.08), ("shin", 0.062), ("forearm", 0.05)]
)
def test_the_balls_that_fill_bent_joints_stay_inside_a_standing_figures_limbs(
    joint: str, tube_radius: float
) -> None:
    # Within the flat sides of the tubes they join, else they show through them as lumps.
    flat = tube_radius * np.cos(np.pi / build_avatars.TUBE_SEGMENTS)
    for side in ("l", "r"):
        at = np.array(build_avatars.JOINT_AT[f"{joint}_{side}"])
        balls = [
            p.shape.positions
            for p in build_avatars.body_parts()
            if (np.linalg.norm(p.shape.positions - at, axis=1) < tube_radius + 0.01).all()
        ]
        assert len(balls) == 1, (joint, side)
        off_axis = balls[0] - at
        # Arms hang a little out of plumb; measure across the limb, not along it.
        assert (np.hypot(off_axis[:, 0], off_axis[:, 2]) < flat).all(), (joint, side)
