"""Generate the people of the rooms: one rigged humanoid as binary glTF, shared by every client.

    python -m tools.build_avatars            # writes scenes/assets/avatar.glb
    python -m tools.build_avatars --out DIR  # the same file under DIR/assets

The browser (three.js) and the server's renderer (Panda3D) load this one file, so a person
looks the same in both. A figure's look (``protocol.messages.Look``) is applied to it, not
baked: materials named by their role (``skin``, ``hair``, ``top``, ``bottom``, ``accent`` ...)
take the look's colours, the ``broad`` and ``slim`` morph targets its build, one of the
``hair_<style>`` meshes its hairstyle, a uniform scale its height.

It is rigged: a skeleton of named joints (``hips`` ... ``head``, ``upper_arm_l`` ...) whose
rest pose is standing, arms hanging; a client sits a figure by turning its thighs and shins,
turns the head on the neck, raises an arm for a gesture, and hides its owner's head by scaling
the ``head`` joint to nothing. The face has two morph targets, ``mouth_open`` (driven by the
speech's mouth level) and ``blink``; the body a third, ``breath``.

Shapes are simple on purpose (ellipsoids and tubes, a few thousand vertices in all): the room
must draw on a phone and in software WebGL, and a plain figure reads better than an uncanny
face. Output is deterministic: vertices are rounded to 0.1 mm, and a test rebuilds and compares.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pygltflib as gl  # type: ignore[import-untyped]

Floats = npt.NDArray[np.float64]
Vec3 = tuple[float, float, float]

SCENES_DIR = Path(__file__).resolve().parent.parent / "scenes"
ASSET_NAME = "avatar.glb"

Joint = tuple[str, str | None, Vec3]

# Joints: name, parent, position in the rest pose (metres, Y up, the figure faces -Z; its left
# is -X). Standing 170 cm: eyes at 1.61 m, hands hanging at the thighs.
_TRUNK: tuple[Joint, ...] = (
    ("hips", None, (0.0, 0.92, 0.0)),
    ("spine", "hips", (0.0, 1.05, 0.0)),
    ("chest", "spine", (0.0, 1.22, 0.0)),
    ("neck", "chest", (0.0, 1.42, 0.0)),
    ("head", "neck", (0.0, 1.50, 0.0)),
)
# A left limb from the trunk out; the right one is its mirror image.
_ARM: tuple[Joint, ...] = (
    ("upper_arm", "chest", (-0.21, 1.40, 0.0)),
    ("forearm", "upper_arm", (-0.225, 1.12, 0.0)),
    ("hand", "forearm", (-0.235, 0.87, 0.0)),
)
_LEG: tuple[Joint, ...] = (
    ("thigh", "hips", (-0.1, 0.9, 0.0)),
    ("shin", "thigh", (-0.1, 0.49, 0.0)),
    ("foot", "shin", (-0.1, 0.08, 0.0)),
)


def _limb(chain: tuple[Joint, ...], side: str) -> tuple[Joint, ...]:
    """``chain`` on ``side`` ("l" as written, "r" mirrored), its joints named for the side."""
    sign = -1.0 if side == "r" else 1.0
    trunk = {name for name, _, _ in _TRUNK}
    return tuple(
        (f"{name}_{side}", parent if parent in trunk else f"{parent}_{side}", (sign * x, y, z))
        for name, parent, (x, y, z) in chain
    )


JOINTS: tuple[Joint, ...] = (
    *_TRUNK,
    *_limb(_ARM, "l"),
    *_limb(_ARM, "r"),
    *_limb(_LEG, "l"),
    *_limb(_LEG, "r"),
)
JOINT_INDEX = {name: i for i, (name, _, _) in enumerate(JOINTS)}
JOINT_AT = {name: at for name, _, at in JOINTS}
HEAD_CENTRE: Vec3 = (0.0, 1.61, 0.0)
EYE_HEIGHT_M = HEAD_CENTRE[1]

# Default colours as seen (sRGB); every figure's look replaces them (avatars/appearance.py
# has the defaults).
MATERIALS: dict[str, tuple[float, float, float]] = {
    "skin": (0.79, 0.6, 0.48),
    "hair": (0.17, 0.11, 0.08),
    "top": (0.12, 0.23, 0.37),
    "bottom": (0.18, 0.18, 0.18),
    "accent": (0.78, 0.66, 0.32),
    "shoes": (0.08, 0.07, 0.07),
    "eyes": (0.11, 0.086, 0.078),
    "mouth": (0.32, 0.07, 0.08),
}
HAIRSTYLES = ("short", "bob", "long", "bun", "ponytail", "curly")  # and "none": no mesh
FACE_TARGETS = ("mouth_open", "blink", "round", "square", "heart", "long")
FACE_SHAPES = ("round", "square", "heart", "long")  # and "oval": the rest shape
BODY_TARGETS = ("broad", "slim", "breath")
# Caps of hair tilt back, so that the hairline sits above the eyes.
HAIRLINE_TILT = 0.45


# --- shapes --------------------------------------------------------------------------------------


@dataclass
class Shape:
    """Vertices (with normals) and triangles, each vertex bound to up to two joints."""

    positions: Floats
    normals: Floats
    triangles: npt.NDArray[np.int64]
    joints: npt.NDArray[np.int64]  # (n, 2)
    weights: Floats  # (n, 2)


def _grid_triangles(rings: int, segments: int) -> npt.NDArray[np.int64]:
    tris = []
    for r in range(rings):
        for s in range(segments):
            a = r * (segments + 1) + s
            b = a + segments + 1
            tris += [(a, b, a + 1), (a + 1, b, b + 1)]
    return np.array(tris, dtype=np.int64)


def _unit_sphere(rings: int, segments: int, theta_max: float = math.pi) -> tuple[Floats, Floats]:
    """Points on the unit sphere from the top (+Y) down to ``theta_max``; their normals."""
    theta = np.linspace(0.0, theta_max, rings + 1)[:, None]
    phi = np.linspace(0.0, 2 * math.pi, segments + 1)[None, :]
    x = np.sin(theta) * np.cos(phi)
    y = np.cos(theta) * np.ones_like(phi)
    z = -np.sin(theta) * np.sin(phi)
    unit = np.stack([x, y, z], axis=-1).reshape(-1, 3)
    return unit, unit.copy()


def _rotation_x(angle: float) -> Floats:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]], dtype=np.float64)


def ellipsoid(
    centre: Vec3,
    radii: Vec3,
    joint: str,
    *,
    rings: int = 6,
    segments: int = 10,
    theta_max: float = math.pi,
    tilt_x: float = 0.0,
) -> Shape:
    unit, _ = _unit_sphere(rings, segments, theta_max)
    r = np.array(radii)
    rot = _rotation_x(tilt_x)
    positions = (unit * r) @ rot.T + np.array(centre)
    normals = (unit / np.where(r == 0, 1, r)) @ rot.T
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    return _bound(positions, normals, _grid_triangles(rings, segments), joint)


TUBE_SEGMENTS = 8


def _inside(radius: float) -> float:
    """A ball inside a tube of ``radius``: a little within the middle of its flat sides."""
    return round(0.97 * radius * math.cos(math.pi / TUBE_SEGMENTS), 4)


def tube(
    a: Vec3,
    b: Vec3,
    radius_a: float,
    radius_b: float,
    joint: str,
    *,
    segments: int = TUBE_SEGMENTS,
    depth: float = 1.0,
) -> Shape:
    """A tapered, capless tube from ``a`` to ``b`` (its depth, along Z, squashed by ``depth``)."""
    pa, pb = np.array(a), np.array(b)
    axis = pb - pa
    length = float(np.linalg.norm(axis))
    w = axis / length
    helper = np.array([0.0, 0.0, 1.0]) if abs(w[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    u = np.cross(w, helper)
    u /= np.linalg.norm(u)
    v = np.cross(w, u)
    phi = np.linspace(0.0, 2 * math.pi, segments + 1)
    rings = []
    normals = []
    for t, radius in ((0.0, radius_a), (1.0, radius_b)):
        ring = np.cos(phi)[:, None] * u + np.sin(phi)[:, None] * v
        rings.append(pa + t * axis + radius * ring)
        normals.append(ring)
    positions = np.concatenate(rings)
    normal = np.concatenate(normals)
    squash = np.array([1.0, 1.0, depth])
    positions = (positions - pa) * squash + pa
    normal = normal / squash
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    return _bound(positions, normal, _grid_triangles(1, segments)[:, ::-1], joint)


def box(centre: Vec3, size: Vec3, joint: str) -> Shape:
    half = np.array(size) / 2
    positions: list[Floats] = []
    normals: list[Floats] = []
    tris: list[tuple[int, int, int]] = []
    for axis in range(3):
        for sign in (-1.0, 1.0):
            n = np.zeros(3)
            n[axis] = sign
            u_axis, v_axis = [i for i in range(3) if i != axis]
            base = len(positions)
            for du, dv in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
                p = np.zeros(3)
                p[axis] = sign * half[axis]
                p[u_axis] = du * half[u_axis]
                p[v_axis] = dv * half[v_axis]
                positions.append(p + np.array(centre))
                normals.append(n)
            # Wound counter-clockwise seen from outside.
            quad = [(0, 2, 1), (0, 3, 2)]
            if (sign > 0) != (axis == 1):
                quad = [(0, 1, 2), (0, 2, 3)]
            tris += [(base + i, base + j, base + k) for i, j, k in quad]
    return _bound(np.array(positions), np.array(normals), np.array(tris, dtype=np.int64), joint)


def _bound(positions: Floats, normals: Floats, tris: npt.NDArray[np.int64], joint: str) -> Shape:
    n = len(positions)
    joints = np.zeros((n, 2), dtype=np.int64)
    joints[:, 0] = JOINT_INDEX[joint]
    weights = np.zeros((n, 2))
    weights[:, 0] = 1.0
    return Shape(positions, normals, tris, joints, weights)


def blend_by_height(shape: Shape, chain: Sequence[str]) -> Shape:
    """Bind each vertex to the two joints of ``chain`` (bottom to top) its height lies between,
    so that a torso bends smoothly where the spine does."""
    heights = [JOINT_AT[name][1] for name in chain]
    y = shape.positions[:, 1]
    for i in range(len(y)):
        k = int(np.searchsorted(heights, y[i])) - 1
        if k < 0:
            shape.joints[i] = (JOINT_INDEX[chain[0]], 0)
            shape.weights[i] = (1.0, 0.0)
        elif k >= len(chain) - 1:
            shape.joints[i] = (JOINT_INDEX[chain[-1]], 0)
            shape.weights[i] = (1.0, 0.0)
        else:
            t = (y[i] - heights[k]) / (heights[k + 1] - heights[k])
            shape.joints[i] = (JOINT_INDEX[chain[k]], JOINT_INDEX[chain[k + 1]])
            shape.weights[i] = (1.0 - t, t)
    return shape


# --- the figure ----------------------------------------------------------------------------------


@dataclass
class Part:
    """A shape with its material, and what each morph target of its mesh does to it."""

    material: str
    shape: Shape
    targets: dict[str, Floats] = field(default_factory=dict)  # name -> position deltas


def _head_local(p: Vec3) -> Vec3:
    return (HEAD_CENTRE[0] + p[0], HEAD_CENTRE[1] + p[1], HEAD_CENTRE[2] + p[2])


def face_parts() -> list[Part]:
    head = ellipsoid(HEAD_CENTRE, (0.1, 0.118, 0.108), "head", rings=9, segments=14)
    parts = [Part("skin", head, _face_shapes(head.positions))]
    for side in (-1, 1):
        eye_at = _head_local((side * 0.037, 0.005, -0.094))
        parts.append(
            Part("eyes", ellipsoid(eye_at, (0.012, 0.012, 0.012), "head", rings=4, segments=8))
        )
        # A lid at rest is flattened through the eye's middle (drawn as nothing); a blink
        # grows it into a skin-coloured shell over the eye.
        closed = ellipsoid(eye_at, (0.0145, 0.0145, 0.0145), "head", rings=4, segments=8)
        lid = ellipsoid(eye_at, (0.0145, 0.0, 0.0145), "head", rings=4, segments=8)
        parts.append(Part("skin", lid, {"blink": closed.positions - lid.positions}))
    mouth_at = _head_local((0.0, -0.047, -0.094))
    shut = ellipsoid(mouth_at, (0.021, 0.0035, 0.01), "head", rings=4, segments=12)
    wide = ellipsoid(mouth_at, (0.019, 0.022, 0.011), "head", rings=4, segments=12)
    parts.append(Part("mouth", shut, {"mouth_open": wide.positions - shut.positions}))
    return parts


def _face_shapes(p: Floats) -> dict[str, Floats]:
    """Shapes of the head beside the oval it rests as: each moves the cheeks, jaw and chin
    (below the eyes), so that the hair's cap and the eyes stay where they are."""
    rel = p - np.array(HEAD_CENTRE)
    # 0 at the eyes' height, 1 at the chin: how much of a change a point takes.
    low = np.clip(-rel[:, 1] / 0.118, 0.0, 1.0)[:, None]
    zero = np.zeros_like(p)

    def scaled(x: float, y: float) -> Floats:
        moved: Floats = rel * np.array([x, y, 0.0]) * low
        return moved

    chin = zero.copy()
    chin[:, 1] = -0.025 * low[:, 0] ** 2  # a longer chin, the jaw narrower towards it
    long = scaled(-0.1, 0.0) + chin
    return {
        "round": scaled(0.16, -0.12),  # fuller cheeks, a shorter chin
        "square": scaled(0.3, 0.0) * low,  # the jaw as wide as the cheeks
        "heart": scaled(-0.3, 0.0) * low,  # a narrow chin under full cheeks
        "long": long,
    }


def body_parts() -> list[Part]:
    torso = blend_by_height(
        tube((0.0, 0.86, 0.01), (0.0, 1.43, 0.01), 0.17, 0.2, "hips", segments=12, depth=0.62),
        ("hips", "spine", "chest"),
    )
    shoulders = ellipsoid(
        (0.0, 1.42, 0.01), (0.2, 0.07, 0.125), "chest", rings=6, segments=12, theta_max=math.pi / 2
    )
    # Inside the jacket at its hem (a little narrower than it), trousers below.
    pelvis = ellipsoid((0.0, 0.88, 0.01), (0.16, 0.1, 0.098), "hips", rings=6, segments=12)
    parts = [
        Part("top", torso, _build_targets(torso, arm=False)),
        Part("top", shoulders, _build_targets(shoulders, arm=False)),
        Part("bottom", pelvis, _build_targets(pelvis, arm=False)),
        # The accent (tie, scarf): a strip down the front of the jacket.
        Part("accent", box((0.0, 1.29, -0.128), (0.055, 0.26, 0.012), "chest")),
        Part("skin", tube((0.0, 1.40, 0.0), (0.0, 1.54, 0.0), 0.05, 0.045, "neck")),
    ]
    for side, s in (("l", -1), ("r", 1)):
        upper, fore, hand = (JOINT_AT[f"{j}_{side}"] for j in ("upper_arm", "forearm", "hand"))
        thigh, shin, foot = (JOINT_AT[f"{j}_{side}"] for j in ("thigh", "shin", "foot"))
        sleeve = tube(upper, fore, 0.055, 0.05, f"upper_arm_{side}")
        cuff = tube(fore, hand, 0.05, 0.043, f"forearm_{side}")
        palm = ellipsoid(
            (hand[0], hand[1] - 0.04, hand[2]),
            (0.035, 0.05, 0.022),
            f"hand_{side}",
            rings=4,
            segments=8,
        )
        shoulder = ellipsoid(
            upper, (0.058, 0.058, 0.058), f"upper_arm_{side}", rings=5, segments=10
        )
        parts += [
            Part("top", sleeve, _build_targets(sleeve, arm=True, side=s)),
            Part("top", cuff, _build_targets(cuff, arm=True, side=s)),
            Part("top", shoulder, _build_targets(shoulder, arm=True, side=s)),
            Part("skin", palm, _build_targets(palm, arm=True, side=s)),
            Part("bottom", tube(thigh, shin, 0.08, 0.062, f"thigh_{side}")),
            Part("bottom", tube(shin, foot, 0.062, 0.05, f"shin_{side}")),
            Part(
                "shoes",
                box((foot[0], foot[1] - 0.045, foot[2] - 0.05), (0.09, 0.07, 0.24), f"foot_{side}"),
            ),
        ]
        # The limbs are open tubes meeting end to end: a bent joint (a seated figure's hips
        # and knees, an elbow) would show their open ends. A ball of the limb's cloth, as wide
        # as the tubes' flat sides where they meet, fills each joint; standing, it hides inside
        # them (a wider ball would show through those sides as a lump).
        elbow = ellipsoid(fore, (_inside(0.05),) * 3, f"forearm_{side}", rings=4, segments=8)
        parts += [
            Part("top", elbow, _build_targets(elbow, arm=True, side=s)),
            Part(
                "bottom",
                ellipsoid(shin, (_inside(0.062),) * 3, f"shin_{side}", rings=4, segments=8),
            ),
            Part(
                "bottom",
                ellipsoid(thigh, (_inside(0.08),) * 3, f"thigh_{side}", rings=4, segments=8),
            ),
        ]
    return parts


def _build_targets(shape: Shape, *, arm: bool, side: int = 0) -> dict[str, Floats]:
    """``broad`` and ``slim`` widen or narrow the trunk and move the arms with its sides;
    ``breath`` fills the chest (its weight runs from -1, out, to 1, in)."""
    p = shape.positions
    zero = np.zeros_like(p)
    if arm:
        broad, slim = zero.copy(), zero.copy()
        broad[:, 0] = side * 0.035
        slim[:, 0] = -side * 0.025
        return {"broad": broad, "slim": slim, "breath": zero}

    def widen(x: float, z: float) -> Floats:
        # The trunk's axis runs through x = 0, z = 0.01.
        return np.stack([p[:, 0] * x, np.zeros(len(p)), (p[:, 2] - 0.01) * z], axis=1)

    chest = np.clip((p[:, 1] - 1.1) / 0.2, 0.0, 1.0)[:, None]
    return {
        "broad": widen(0.2, 0.12),
        "slim": widen(-0.15, -0.08),
        "breath": widen(0.012, 0.03) * chest,
    }


def hair_parts(style: str) -> list[Part]:
    def cap(scale: Vec3, offset: Vec3) -> Shape:
        radii = (0.112 * scale[0], 0.124 * scale[1], 0.118 * scale[2])
        return ellipsoid(
            _head_local(offset),
            radii,
            "head",
            rings=6,
            segments=16,
            theta_max=math.pi * 0.55,
            tilt_x=HAIRLINE_TILT,
        )

    shapes: list[Shape]
    if style == "short":
        shapes = [cap((1, 0.9, 1.02), (0, 0.01, 0.005))]
    elif style == "bob":
        shapes = [cap((1.08, 1.1, 1.08), (0, 0.0, 0.01))]
    elif style == "long":
        shapes = [
            cap((1.05, 1.1, 1.05), (0, 0, 0.005)),
            box(_head_local((0, -0.12, 0.085)), (0.2, 0.28, 0.05), "head"),
        ]
    elif style == "bun":
        shapes = [
            cap((1, 0.95, 1.02), (0, 0.01, 0.005)),
            ellipsoid(_head_local((0, 0.08, 0.1)), (0.055, 0.055, 0.055), "head"),
        ]
    elif style == "ponytail":
        top = _head_local((0, 0.04, 0.11))
        end = _head_local((0, -0.15, 0.17))
        shapes = [cap((1, 0.95, 1.02), (0, 0.01, 0.005)), tube(top, end, 0.03, 0.018, "head")]
    elif style == "curly":
        shapes = [cap((1.02, 0.9, 1.02), (0, 0.02, 0))]
        for i in range(9):
            a = i / 9 * 2 * math.pi
            at = _head_local((math.cos(a) * 0.09, 0.06 + (i % 2) * 0.02, math.sin(a) * 0.09))
            shapes.append(ellipsoid(at, (0.05, 0.05, 0.05), "head", rings=4, segments=6))
    else:
        raise ValueError(f"no such hairstyle: {style}")
    return [Part("hair", s) for s in shapes]


# --- glTF ----------------------------------------------------------------------------------------


class _Writer:
    """Accumulates one binary buffer and the accessors that view it."""

    def __init__(self) -> None:
        self.blob = bytearray()
        self.doc = gl.GLTF2(asset=gl.Asset(version="2.0", generator="wealthroom build_avatars"))

    def accessor(
        self,
        data: npt.NDArray[np.generic],
        kind: str,
        component: int,
        *,
        bounds: bool = False,
        target: int | None = None,
    ) -> int:
        raw = np.ascontiguousarray(data).tobytes()
        while len(self.blob) % 4:
            self.blob.append(0)
        self.doc.bufferViews.append(
            gl.BufferView(buffer=0, byteOffset=len(self.blob), byteLength=len(raw), target=target)
        )
        self.blob += raw
        acc = gl.Accessor(
            bufferView=len(self.doc.bufferViews) - 1,
            componentType=component,
            count=len(data),
            type=kind,
        )
        if bounds:
            acc.min = [round(float(v), 4) for v in data.min(axis=0)]
            acc.max = [round(float(v), 4) for v in data.max(axis=0)]
        self.doc.accessors.append(acc)
        return len(self.doc.accessors) - 1

    def vec3(self, data: Floats, *, bounds: bool = False) -> int:
        rounded = np.round(data, 4).astype(np.float32) + np.float32(0)  # no -0.0
        return self.accessor(rounded, gl.VEC3, gl.FLOAT, bounds=bounds, target=gl.ARRAY_BUFFER)


def _merge(parts: Sequence[Part]) -> Part:
    """One primitive's worth of parts of one material: concatenated, with targets filled."""
    offset = 0
    positions, normals, tris, joints, weights = [], [], [], [], []
    names = sorted({name for p in parts for name in p.targets})
    targets: dict[str, list[Floats]] = {name: [] for name in names}
    for p in parts:
        s = p.shape
        positions.append(s.positions)
        normals.append(s.normals)
        tris.append(s.triangles + offset)
        joints.append(s.joints)
        weights.append(s.weights)
        for name in names:
            targets[name].append(p.targets.get(name, np.zeros_like(s.positions)))
        offset += len(s.positions)
    shape = Shape(
        np.concatenate(positions),
        np.concatenate(normals),
        np.concatenate(tris),
        np.concatenate(joints),
        np.concatenate(weights),
    )
    return Part(parts[0].material, shape, {n: np.concatenate(v) for n, v in targets.items()})


def _mesh(
    writer: _Writer,
    name: str,
    parts: Sequence[Part],
    target_names: Sequence[str],
    material_index: dict[str, int],
) -> int:
    primitives = []
    for material in sorted({p.material for p in parts}, key=list(MATERIALS).index):
        merged = _merge([p for p in parts if p.material == material])
        s = merged.shape
        joints4 = np.zeros((len(s.joints), 4), dtype=np.uint8)
        joints4[:, :2] = s.joints
        weights4 = np.zeros((len(s.weights), 4), dtype=np.float32)
        weights4[:, :2] = np.round(s.weights, 4)
        weights4[:, 0] = 1.0 - weights4[:, 1]
        attributes = gl.Attributes(
            POSITION=writer.vec3(s.positions, bounds=True),
            NORMAL=writer.vec3(s.normals),
            JOINTS_0=writer.accessor(joints4, gl.VEC4, gl.UNSIGNED_BYTE, target=gl.ARRAY_BUFFER),
            WEIGHTS_0=writer.accessor(weights4, gl.VEC4, gl.FLOAT, target=gl.ARRAY_BUFFER),
        )
        indices = writer.accessor(
            s.triangles.reshape(-1).astype(np.uint16),
            gl.SCALAR,
            gl.UNSIGNED_SHORT,
            target=gl.ELEMENT_ARRAY_BUFFER,
        )
        targets = [
            {
                "POSITION": writer.vec3(
                    merged.targets.get(t, np.zeros_like(s.positions)), bounds=True
                )
            }
            for t in target_names
        ]
        primitives.append(
            gl.Primitive(
                attributes=attributes,
                indices=indices,
                material=material_index[material],
                targets=targets or None,
            )
        )
    extras = {"targetNames": list(target_names)} if target_names else {}
    weights = [0.0] * len(target_names) if target_names else None
    writer.doc.meshes.append(
        gl.Mesh(name=name, primitives=primitives, extras=extras, weights=weights)
    )
    return len(writer.doc.meshes) - 1


def _linear(c: float) -> float:
    """sRGB to linear: glTF's colour factors are linear, the colours above are as seen."""
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def build() -> bytes:
    """The ``.glb`` bytes of the avatar."""
    w = _Writer()
    doc = w.doc
    material_index = {}
    for name, rgb in MATERIALS.items():
        material_index[name] = len(doc.materials)
        doc.materials.append(
            gl.Material(
                name=name,
                pbrMetallicRoughness=gl.PbrMetallicRoughness(
                    baseColorFactor=[*(round(_linear(c), 4) for c in rgb), 1.0],
                    metallicFactor=0.0,
                    roughnessFactor=0.9,
                ),
            )
        )
    # Node 0 is the figure; the joints follow in JOINTS order, then one node per mesh.
    doc.nodes.append(gl.Node(name="avatar"))
    first_joint = 1
    for name, parent, at in JOINTS:
        base = JOINT_AT[parent] if parent else (0.0, 0.0, 0.0)
        local = [round(at[i] - base[i], 4) for i in range(3)]
        doc.nodes.append(gl.Node(name=name, translation=local))
    for i, (_, parent, _) in enumerate(JOINTS):
        holder = doc.nodes[first_joint + JOINT_INDEX[parent]] if parent else doc.nodes[0]
        holder.children.append(first_joint + i)
    inverse = []
    for _, _, at in JOINTS:
        m = np.eye(4, dtype=np.float32)
        m[3, :3] = [-v for v in at]  # column-major: the translation is the last column
        inverse.append(m)
    ibm = w.accessor(
        np.round(np.array(inverse), 4).astype(np.float32) + np.float32(0), gl.MAT4, gl.FLOAT
    )
    doc.skins.append(
        gl.Skin(
            name="figure",
            inverseBindMatrices=ibm,
            skeleton=first_joint,
            joints=[first_joint + i for i in range(len(JOINTS))],
        )
    )
    meshes = [("body", body_parts(), BODY_TARGETS), ("face", face_parts(), FACE_TARGETS)]
    meshes += [(f"hair_{style}", hair_parts(style), ()) for style in HAIRSTYLES]
    for name, parts, targets in meshes:
        mesh = _mesh(w, name, parts, targets, material_index)
        doc.nodes.append(gl.Node(name=name, mesh=mesh, skin=0))
        doc.nodes[0].children.append(len(doc.nodes) - 1)
    doc.scenes.append(gl.Scene(name="avatar", nodes=[0]))
    doc.scene = 0
    while len(w.blob) % 4:
        w.blob.append(0)
    doc.buffers.append(gl.Buffer(byteLength=len(w.blob)))
    doc.set_binary_blob(bytes(w.blob))
    data: bytes = b"".join(doc.save_to_bytes())
    return data


def write(root: Path = SCENES_DIR) -> Path:
    path = root / "assets" / ASSET_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(build())
    return path


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=SCENES_DIR, help="directory to write into")
    args = parser.parse_args(argv)
    path = write(args.out)
    print(f"{path.stat().st_size:>9,} bytes  {path}")


if __name__ == "__main__":
    main()
