"""From a client's float pose to the quantised avatar pose the scene keeps, with the checks a
body imposes: hands within reach of the head, a head inside the room, no teleporting."""

from __future__ import annotations

import struct

from protocol import messages as m
from protocol.errors import BadValue
from protocol.pose import SIZE_WITH_HANDS, AvatarPose, HandMode, Part
from protocol.quantise import POS_SCALE, Vec3mm, pack_quat

# Generous arm's reach from the head: controllers held out at full stretch.
MAX_REACH_MM = 1200


_MODES = (HandMode.NONE, HandMode.CONTROLLERS, HandMode.TRACKED)  # by wire value (0..2)
_REACH2 = MAX_REACH_MM * MAX_REACH_MM


def quantise_pose(msg: m.Pose) -> AvatarPose:
    """Validate and quantise; raises ``BadValue`` for a pose no body could take."""
    # Runs for every pose: positions are rounded inline rather than through pos_to_mm, and the
    # hand mode (the schema admits 0..2) is looked up rather than built by the Enum.
    x, y, z = msg.p
    head_pos = (round(x * POS_SCALE), round(y * POS_SCALE), round(z * POS_SCALE))
    head = Part(head_pos, pack_quat(msg.q))
    mode = _MODES[msg.hm or 0]
    if mode is HandMode.NONE:
        if msg.lh is not None or msg.rh is not None:
            raise BadValue("pose: hands sent with hand mode 0", msg_type="pose")
        return AvatarPose(head)
    if msg.lh is None or msg.rh is None:
        raise BadValue("pose: hand mode needs both lh and rh", msg_type="pose")
    left, right = _hand(msg.lh, head_pos, "lh"), _hand(msg.rh, head_pos, "rh")
    return AvatarPose(head, mode, left, right)


def _hand(values: tuple[float, ...], head: Vec3mm, key: str) -> Part:
    x, y, z, qx, qy, qz, qw = values
    pos = (round(x * POS_SCALE), round(y * POS_SCALE), round(z * POS_SCALE))
    dx, dy, dz = pos[0] - head[0], pos[1] - head[1], pos[2] - head[2]
    # Integer millimetres: the squared distance is exact, so this is math.dist(...) > reach.
    if dx * dx + dy * dy + dz * dz > _REACH2:
        raise BadValue(f"pose.{key}: hand out of reach of the head", msg_type="pose")
    return Part(pos, pack_quat((qx, qy, qz, qw)))


_HANDS_MM = struct.Struct("<hhh4xhhh4xhhh")


def check_reach(packed: bytes) -> None:
    """The map form's reach rule on a packed pose (a binary pose frame); ``BadValue`` if not."""
    if len(packed) < SIZE_WITH_HANDS:
        return
    hx, hy, hz, lx, ly, lz, rx, ry, rz = _HANDS_MM.unpack_from(packed, 1)
    for key, x, y, z in (("lh", lx, ly, lz), ("rh", rx, ry, rz)):
        dx, dy, dz = x - hx, y - hy, z - hz
        if dx * dx + dy * dy + dz * dz > _REACH2:
            raise BadValue(f"pose.{key}: hand out of reach of the head", msg_type="pose")


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
