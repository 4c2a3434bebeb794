"""The rigged figure (``assets/avatar.glb``, built by ``tools/build_avatars.py``) in Panda3D.

The browser loads the same file (``client_web/js/figures.js``), so a person looks the same in
the server's pictures as in the page. A :class:`Rig` is one figure's own copy: dressed in its
look's colours, with its hairstyle's mesh, its build's and face shape's morph weights,
standing or seated, and a mouth that opens with the speech's level.
"""

from __future__ import annotations

import math
from typing import Any

from panda3d.core import LColor, LMatrix3f, LMatrix4f, LVector3, NodePath, TransformState

from scenes.assets import figure_model
from scenes.materials import classic_material, matte, replace_materials

RGB = tuple[float, float, float]

# What the file holds (a test checks them against it).
HAIRSTYLE_MESHES = ("short", "bob", "long", "bun", "ponytail", "curly")
BUILD_TARGETS = ("broad", "slim")  # "average" is the rest shape
FACE_SHAPES = ("round", "square", "heart", "long")  # "oval" is the rest shape
MOUTH_TARGET = "mouth_open"
STANDING_EYE_M = 1.61  # the head's centre above the feet, standing, at 170 cm
REST_HEIGHT_CM = 170
# Seated: the hips drop onto the chair (the eyes to 1.2 m, where the server puts a seated
# head), the thighs turn forward and the shins down again; the arms come a little forward and
# in, the forearms forward and in from the elbow, hands on the lap. Radians about the glTF X
# (forward) and Z (inward) axes, as client_web/js/figures.js turns the same joints.
SEATED_HIP_DROP_M = 0.41
_SEATED_LEFT = {
    "thigh": (math.pi / 2, 0.0),
    "shin": (-math.pi / 2, 0.0),
    "upper_arm": (0.15, 0.05),
    "forearm": (0.95, 0.3),
}
# The right side turns as the left does, inward being the other way about Z.
SEATED_TURNS = {
    f"{joint}_{side}": (forward, inward * sign)
    for joint, (forward, inward) in _SEATED_LEFT.items()
    for side, sign in (("l", 1.0), ("r", -1.0))
}


class Rig:
    """One figure's copy of the model, in the glTF frame (Y up, facing -Z) under ``root``."""

    def __init__(
        self,
        colours: dict[str, RGB],
        *,
        hairstyle: str,
        build: str,
        height_cm: float,
        seated: bool,
        face: str = "oval",
    ) -> None:
        self.root = NodePath("figure")
        model = figure_model().copy_to(self.root)
        model.set_p(-90)  # the file's Z-up back to the glTF frame its parent uses
        self.scale = height_cm / REST_HEIGHT_CM
        model.set_scale(self.scale)
        for hair in model.find_all_matches("**/+Character/hair_*"):
            if hair.get_name() != f"hair_{hairstyle}":
                hair.remove_node()
        _dress(model, colours)
        self._bundle: Any = model.find("**/+Character").node().get_bundle(0)
        for target in BUILD_TARGETS:
            self._bundle.freeze_joint(target, 1.0 if build == target else 0.0)
        for target in FACE_SHAPES:
            self._bundle.freeze_joint(target, 1.0 if face == target else 0.0)
        if seated:
            self._sit()
        # The mouth's slider follows the X of a node of its own, set each frame.
        self._mouth = NodePath("mouth-level")
        self._bundle.control_joint(MOUTH_TARGET, self._mouth.node())

    def _sit(self) -> None:
        hips = self._bundle.find_child("hips")
        pos = hips.get_default_value().get_row3(3)
        pos.z -= SEATED_HIP_DROP_M
        self._bundle.freeze_joint("hips", TransformState.make_pos(pos))
        for name, (forward, inward) in SEATED_TURNS.items():
            rest = self._bundle.find_child(name).get_default_value().get_row3(3)
            self._bundle.freeze_joint(name, TransformState.make_mat(_turn(forward, inward, rest)))

    def open_mouth(self, level: float) -> None:
        """0 closed .. 1 wide open (also for NaN: closed)."""
        self._mouth.set_x(min(level, 1.0) if level > 0.0 else 0.0)

    def eye_height(self, *, seated: bool) -> float:
        """Where the head's centre is above the feet, metres."""
        return (STANDING_EYE_M - (SEATED_HIP_DROP_M if seated else 0.0)) * self.scale


def _turn(about_x: float, about_z: float, at: Any) -> LMatrix4f:
    """A joint's local matrix at ``at``, turned as three.js's ``rotation.set(x, 0, z)`` turns it
    in the glTF frame, in the file's Z-up frame: glTF's X is Panda3D's X, its Z is -Y."""
    # Row vectors: the Z turn applies first, then the X turn (three.js's XYZ order).
    turn = LMatrix3f.rotate_mat(math.degrees(-about_z), LVector3(0, 1, 0)) * LMatrix3f.rotate_mat(
        math.degrees(about_x), LVector3(1, 0, 0)
    )
    return LMatrix4f(turn, at)


def _dress(model: NodePath, colours: dict[str, RGB]) -> None:
    """Each material named for a role the look colours takes that colour; the rest (eyes,
    mouth, shoes) keep the file's."""

    def make(source: Any) -> Any:
        role = source.get_name()
        return matte(colours[role], role) if role in colours else classic_material(source)

    replace_materials(model, make)
    model.set_color(LColor(1, 1, 1, 1))
