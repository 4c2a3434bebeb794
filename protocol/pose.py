"""The packed avatar pose: what one VR member costs on the wire per update.

Layout, little-endian, 11 bytes (no hands) or 31 bytes (with hands)::

    u8      flags: bits 0-1 hand mode (0 none, 1 controllers, 2 tracked hands); bits 2-7 zero
    i16 x3  head (or body) position, millimetres (rooms fit in +-32.767 m)
    u32     head rotation, smallest three (protocol/quantise.py)
    -- only when the hand mode is not 0 --
    i16 x3  left hand position, millimetres
    u32     left hand rotation
    i16 x3  right hand position, millimetres
    u32     right hand rotation

Against a map of float64 arrays (about 190 bytes for head and hands), this is the bulk of
the saving that puts a moving VR room under a tenth of the naive encoding's bytes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

from protocol.errors import BadValue
from protocol.quantise import Vec3mm

_PART = struct.Struct("<hhhI")
_FLAGS = struct.Struct("<B")
_HEAD_ONLY = struct.Struct("<BhhhI")
_WITH_HANDS = struct.Struct("<BhhhIhhhIhhhI")
I16 = 32767
SIZE_HEAD_ONLY = _FLAGS.size + _PART.size
SIZE_WITH_HANDS = _FLAGS.size + 3 * _PART.size


class HandMode(IntEnum):
    NONE = 0
    CONTROLLERS = 1
    TRACKED = 2


@dataclass(frozen=True, slots=True)
class Part:
    """One tracked transform, quantised: position in mm, rotation packed."""

    pos: Vec3mm
    rot: int


@dataclass(frozen=True, slots=True)
class AvatarPose:
    head: Part
    hands: HandMode = HandMode.NONE
    left: Part | None = None
    right: Part | None = None

    def pack(self) -> bytes:
        # One struct call for the whole record: this runs for every pose the server accepts.
        (x, y, z), rot = self.head.pos, self.head.rot
        x = -I16 if x < -I16 else I16 if x > I16 else x
        y = -I16 if y < -I16 else I16 if y > I16 else y
        z = -I16 if z < -I16 else I16 if z > I16 else z
        if self.hands is HandMode.NONE:
            return _HEAD_ONLY.pack(0, x, y, z, rot)
        left, right = self.left, self.right
        if left is None or right is None:
            raise BadValue("pose: a hand mode needs both hands")
        lx, ly, lz = left.pos
        rx, ry, rz = right.pos
        return _WITH_HANDS.pack(
            int(self.hands),
            x,
            y,
            z,
            rot,
            -I16 if lx < -I16 else I16 if lx > I16 else lx,
            -I16 if ly < -I16 else I16 if ly > I16 else ly,
            -I16 if lz < -I16 else I16 if lz > I16 else lz,
            left.rot,
            -I16 if rx < -I16 else I16 if rx > I16 else rx,
            -I16 if ry < -I16 else I16 if ry > I16 else ry,
            -I16 if rz < -I16 else I16 if rz > I16 else rz,
            right.rot,
        )

    @classmethod
    def unpack(cls, data: bytes) -> AvatarPose:
        if len(data) not in (SIZE_HEAD_ONLY, SIZE_WITH_HANDS):
            raise BadValue(f"pose: {len(data)} bytes, expected 11 or 31")
        (flags,) = _FLAGS.unpack_from(data)
        if flags & ~0b11 or flags == 3:
            raise BadValue(f"pose: invalid flags {flags:#04x}")
        mode = HandMode(flags)
        if (mode is HandMode.NONE) != (len(data) == SIZE_HEAD_ONLY):
            raise BadValue("pose: length does not match the hand mode")
        head = _unpack_part(data, 1)
        if mode is HandMode.NONE:
            return cls(head)
        return cls(
            head, mode, _unpack_part(data, 1 + _PART.size), _unpack_part(data, 1 + 2 * _PART.size)
        )


def _clamp16(v: int) -> int:
    return -I16 if v < -I16 else I16 if v > I16 else v


def _pack_part(part: Part) -> bytes:
    x, y, z = part.pos
    return _PART.pack(_clamp16(x), _clamp16(y), _clamp16(z), part.rot)


def _unpack_part(data: bytes, offset: int) -> Part:
    x, y, z, rot = _PART.unpack_from(data, offset)
    return Part((x, y, z), rot)


_HEAD_POS = struct.Struct("<hhh")


def head_mm(packed: bytes) -> Vec3mm:
    """The head position of a packed pose, without unpacking the rest."""
    x, y, z = _HEAD_POS.unpack_from(packed, 1)
    return (x, y, z)


def shift_packed(packed: bytes, delta: Vec3mm) -> bytes:
    """The packed pose moved by ``delta`` mm, head and hands alike (clamped to the i16 range)."""
    dx, dy, dz = delta
    if len(packed) == SIZE_HEAD_ONLY:
        flags, x, y, z, rot = _HEAD_ONLY.unpack(packed)
        return _HEAD_ONLY.pack(flags, _clamp16(x + dx), _clamp16(y + dy), _clamp16(z + dz), rot)
    v = list(_WITH_HANDS.unpack(packed))
    for i in (1, 5, 9):
        v[i], v[i + 1], v[i + 2] = (
            _clamp16(v[i] + dx),
            _clamp16(v[i + 1] + dy),
            _clamp16(v[i + 2] + dz),
        )
    return _WITH_HANDS.pack(*v)
