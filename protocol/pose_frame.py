"""The binary pose frame: a VR client's 30 Hz pose as the packed record the server keeps.

The map form ``pose`` carries 21 floats that the server must decode from msgpack, check and
quantise; a client that already quantises (``client_web/js/pose.js``) can send the packed
record itself, and the server only checks integers. Layout, little-endian::

    u8      0x50 ('P'), the tag: never the first byte of a msgpack map (0x80-0x8f, 0xde, 0xdf)
    u8      flags: bits 0-1 hand mode (0 none, 1 controllers, 2 tracked; 3 is BAD_VALUE),
            bit 2 ``n`` follows, bit 3 ``ack`` follows, bits 4-7 zero (else MALFORMED)
    10 B    head: i16 x3 millimetres, u32 rotation (smallest three), as in the packed pose
    20 B    left and right hand, the same, only when the hand mode is not 0
    u32     n, the sender's pose counter, when bit 2 is set
    u32     ack, the newest state tick applied, when bit 3 is set

The checks here are those a frame holds by itself; the room then checks what the map form's
room checks are (joined, allowed to move, ack not ahead, hands within reach, walking), in the
same order, so that each bad pose gets the same code in either form (SPEC.md, "Binary pose").
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from protocol.errors import BadValue, MalformedFrame

POSE_TAG = 0x50
HAS_N = 0b0100
HAS_ACK = 0b1000
_HAND_MODE = 0b0011
_RESERVED = 0xF0
_HEAD = struct.Struct("<hhhI")
_HANDS = struct.Struct("<hhhIhhhIhhhI")
_U32 = struct.Struct("<I")
_PART_BYTES = _HEAD.size
# A level past 1022 is never written, and three levels whose squares pass 1 leave no unit
# quaternion to complete: in integers, sum((2v - 1022)^2) <= 2 * 1022^2 (see quantise.py).
LEVEL_MAX = 1022
UNIT2 = 2 * LEVEL_MAX * LEVEL_MAX
I16_MIN = -32768  # the packed pose clamps to +-32767; the one value outside is refused
_POSE = "pose"


@dataclass(frozen=True, slots=True)
class PoseFrame:
    """A decoded binary pose: ``packed`` is the 11- or 31-byte record of ``protocol.pose``."""

    packed: bytes
    n: int | None = None
    ack: int | None = None

    def encode(self) -> bytes:
        flags = self.packed[0] | (HAS_N if self.n is not None else 0)
        flags |= HAS_ACK if self.ack is not None else 0
        out = bytes((POSE_TAG, flags)) + self.packed[1:]
        if self.n is not None:
            out += _U32.pack(self.n)
        if self.ack is not None:
            out += _U32.pack(self.ack)
        return out


def is_pose_frame(data: bytes | bytearray | memoryview | str) -> bool:
    return not isinstance(data, str) and len(data) > 0 and data[0] == POSE_TAG


FrameShape = tuple[int, int, int | None, int | None]


def read_pose_frame(data: bytes | bytearray | memoryview) -> FrameShape:
    """The frame's shape, checked: ``(hand mode, end of the parts, n, ack)``.

    Raises ``MalformedFrame`` or ``BadValue`` for the checks that need no part's values; a room
    that judges the values later (:func:`check_parts`) still answers every fault with its code.
    """
    size = len(data)
    if size < 2:
        raise MalformedFrame("pose frame: no flags byte", msg_type=_POSE)
    flags = data[1]
    if flags & _RESERVED:
        raise MalformedFrame(f"pose frame: reserved flag bits {flags:#04x}", msg_type=_POSE)
    mode = flags & _HAND_MODE
    if mode == 3:
        raise BadValue("pose frame: hand mode 3", msg_type=_POSE)
    end = 2 + (3 if mode else 1) * _PART_BYTES
    want = end + (4 if flags & HAS_N else 0) + (4 if flags & HAS_ACK else 0)
    if size != want:
        raise MalformedFrame(f"pose frame: {size} bytes, expected {want}", msg_type=_POSE)
    n = ack = None
    at = end
    if flags & HAS_N:
        (n,) = _U32.unpack_from(data, at)
        at += 4
    if flags & HAS_ACK:
        (ack,) = _U32.unpack_from(data, at)
    return mode, end, n, ack


def check_parts(packed: bytes) -> None:
    """The checks of each part's values, in order, on a packed record; ``BadValue`` if one fails."""
    values = _HANDS.unpack_from(packed, 1) if packed[0] else _HEAD.unpack_from(packed, 1)
    for i in range(0, len(values), 4):
        x, y, z, rot = values[i : i + 4]
        if x == I16_MIN or y == I16_MIN or z == I16_MIN:
            raise BadValue("pose frame: position outside +-32767 mm", msg_type=_POSE)
        a, b, c = (rot >> 20) & 0x3FF, (rot >> 10) & 0x3FF, rot & 0x3FF
        if a > LEVEL_MAX or b > LEVEL_MAX or c > LEVEL_MAX:
            raise BadValue("pose frame: rotation level 1023", msg_type=_POSE)
        a, b, c = 2 * a - LEVEL_MAX, 2 * b - LEVEL_MAX, 2 * c - LEVEL_MAX
        if a * a + b * b + c * c > UNIT2:
            raise BadValue("rotation is not a unit quaternion", msg_type=_POSE)


def decode_pose_frame(data: bytes | bytearray | memoryview) -> PoseFrame:
    """Check one binary pose frame by itself; raises ``MalformedFrame`` or ``BadValue``."""
    mode, end, n, ack = read_pose_frame(data)
    packed = bytes((mode,)) + bytes(data[2:end])
    check_parts(packed)
    return PoseFrame(packed, n, ack)
