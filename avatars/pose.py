"""From a client's float pose to the quantised avatar pose the scene keeps, with the checks a
body imposes: hands within reach of the head, a head inside the room, no teleporting."""

from __future__ import annotations

import math

from protocol import messages as m
from protocol.errors import BadValue
from protocol.pose import AvatarPose, HandMode, Part
from protocol.quantise import Vec3mm, pack_quat, pos_to_mm

# Generous arm's reach from the head: controllers held out at full stretch.
MAX_REACH_MM = 1200


def quantise_pose(msg: m.Pose) -> AvatarPose:
    """Validate and quantise; raises ``BadValue`` for a pose no body could take."""
    head = Part(pos_to_mm(msg.p), pack_quat(msg.q))
    mode = HandMode(msg.hm or 0)
    if mode is HandMode.NONE:
        if msg.lh is not None or msg.rh is not None:
            raise BadValue("pose: hands sent with hand mode 0", msg_type="pose")
        return AvatarPose(head)
    if msg.lh is None or msg.rh is None:
        raise BadValue("pose: hand mode needs both lh and rh", msg_type="pose")
    left, right = _hand(msg.lh, head.pos, "lh"), _hand(msg.rh, head.pos, "rh")
    return AvatarPose(head, mode, left, right)


def _hand(values: tuple[float, ...], head: Vec3mm, key: str) -> Part:
    pos = pos_to_mm((values[0], values[1], values[2]))
    if math.dist(pos, head) > MAX_REACH_MM:
        raise BadValue(f"pose.{key}: hand out of reach of the head", msg_type="pose")
    return Part(pos, pack_quat((values[3], values[4], values[5], values[6])))


def moved_by(pose: AvatarPose, delta: Vec3mm) -> AvatarPose:
    """The same pose shifted (when the server corrects the head, the hands come along)."""

    def shift(part: Part | None) -> Part | None:
        if part is None:
            return None
        x, y, z = part.pos
        return Part((x + delta[0], y + delta[1], z + delta[2]), part.rot)

    head = shift(pose.head)
    assert head is not None
    return AvatarPose(head, pose.hands, shift(pose.left), shift(pose.right))
