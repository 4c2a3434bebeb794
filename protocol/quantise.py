"""Pose quantisation: positions to whole millimetres, rotations as "smallest three" in 32 bits.

A unit quaternion's largest component is implied by the other three (|q| = 1), and those three
lie in [-1/sqrt(2), 1/sqrt(2)]. We send the index of the largest (2 bits) and the three others
at 10 bits each: one uint32, angular error under 0.25 degree (0.18 at worst over 200,000
random and near-worst-case rotations, with the closest levels chosen where rounding each
component alone would reach 0.26), against 16-32 bytes of floats.
Each component uses 1023 levels (0..1022), an odd count, so that 0 is exact: the identity
and pure yaw rotations, the most common ones, survive quantisation unchanged.
"""

from __future__ import annotations

import math

from protocol.errors import BadValue

POS_SCALE = 1000  # millimetres per metre
ROT_BITS = 10
_ROT_MASK = (1 << ROT_BITS) - 1
_ROT_MAX = _ROT_MASK - 1
_ROT_RANGE = 1.0 / math.sqrt(2.0)
_MIN_NORM = 0.5
_MIN_NORM2 = _MIN_NORM * _MIN_NORM
_ROT_SCALE = _ROT_MAX / (2 * _ROT_RANGE)
_ROT_STEP = 2 * _ROT_RANGE / _ROT_MAX
# Left-out components below this amplify rounding enough to need the closest levels (0.2
# degree at worst above it; see _closest_levels).
_REFINE_BELOW = 0.7
Levels = tuple[int, int, int]

Vec3 = tuple[float, float, float]
Quat = tuple[float, float, float, float]  # x, y, z, w
Vec3mm = tuple[int, int, int]

IDENTITY_Q: Quat = (0.0, 0.0, 0.0, 1.0)


def pos_to_mm(p: Vec3) -> Vec3mm:
    return (round(p[0] * POS_SCALE), round(p[1] * POS_SCALE), round(p[2] * POS_SCALE))


def mm_to_pos(p: Vec3mm) -> Vec3:
    return (p[0] / POS_SCALE, p[1] / POS_SCALE, p[2] / POS_SCALE)


def normalise(q: Quat) -> Quat:
    norm = math.sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3])
    if not norm >= _MIN_NORM:  # also rejects NaN
        raise BadValue("rotation is not a unit quaternion")
    return (q[0] / norm, q[1] / norm, q[2] / norm, q[3] / norm)


def pack_quat(q: Quat) -> int:
    """Quantise a rotation (x, y, z, w), normalising it first, into one uint32."""
    # Unrolled, with comparisons instead of abs/min/max calls: this runs three times for every
    # VR pose the server receives.
    x, y, z, w = q
    n2 = x * x + y * y + z * z + w * w
    if not n2 >= _MIN_NORM2:  # also rejects NaN
        raise BadValue("rotation is not a unit quaternion")
    ax = x if x >= 0.0 else -x
    ay = y if y >= 0.0 else -y
    az = z if z >= 0.0 else -z
    aw = w if w >= 0.0 else -w
    # The first component of largest magnitude is left out (ties go to the lower index).
    if ax >= ay and ax >= az and ax >= aw:
        largest, big, a, b, c = 0, x, y, z, w
    elif ay >= az and ay >= aw:
        largest, big, a, b, c = 1, y, x, z, w
    elif az >= aw:
        largest, big, a, b, c = 2, z, x, y, w
    else:
        largest, big, a, b, c = 3, w, x, y, z
    # q and -q are the same rotation: make the implied component positive.
    k = (1.0 if big >= 0 else -1.0) / math.sqrt(n2)
    r = _ROT_RANGE
    a, b, c = a * k, b * k, c * k
    a = -r if a < -r else r if a > r else a
    b = -r if b < -r else r if b > r else b
    c = -r if c < -r else r if c > r else c
    ia, ib, ic = (
        round((a + r) * _ROT_SCALE),
        round((b + r) * _ROT_SCALE),
        round((c + r) * _ROT_SCALE),
    )
    if big * k < _REFINE_BELOW:
        ia, ib, ic = _closest_levels(a, b, c, big * k, ia, ib, ic)
    return (largest << 30) | (ia << 20) | (ib << 10) | ic


def _closest_levels(a: float, b: float, c: float, t: float, ia: int, ib: int, ic: int) -> Levels:
    """The levels whose decoded rotation is nearest (a, b, c, t), not merely the nearest levels.

    The decoder derives the left-out component from the other three, so their rounding errors
    add up in it, amplified by (a + b + c) / t: with four near-equal components, rounding each
    to its nearest level alone misses by up to 0.26 degree. Trying both levels around each
    brings the worst case under 0.2 degree. Only rotations whose left-out component is small
    get here (a head turned about one axis never does), so poses rarely pay for it.
    """
    best = _dot(a, b, c, t, ia, ib, ic)
    chosen = (ia, ib, ic)
    fa, fb, fc = (
        (a + _ROT_RANGE) * _ROT_SCALE,
        (b + _ROT_RANGE) * _ROT_SCALE,
        (c + _ROT_RANGE) * _ROT_SCALE,
    )
    for la in {math.floor(fa), min(math.ceil(fa), _ROT_MAX)}:
        for lb in {math.floor(fb), min(math.ceil(fb), _ROT_MAX)}:
            for lc in {math.floor(fc), min(math.ceil(fc), _ROT_MAX)}:
                dot = _dot(a, b, c, t, la, lb, lc)
                if dot > best:
                    best, chosen = dot, (la, lb, lc)
    return chosen


def _dot(a: float, b: float, c: float, t: float, ia: int, ib: int, ic: int) -> float:
    """cos(half the angle) between (a, b, c, t) and what levels ia, ib, ic decode to."""
    x, y, z = ia * _ROT_STEP - _ROT_RANGE, ib * _ROT_STEP - _ROT_RANGE, ic * _ROT_STEP - _ROT_RANGE
    rest = 1.0 - x * x - y * y - z * z
    return a * x + b * y + c * z + t * (math.sqrt(rest) if rest > 0.0 else 0.0)


def unpack_quat(packed: int) -> Quat:
    largest = (packed >> 30) & 0b11
    ia = (packed >> 20) & _ROT_MASK
    ib = (packed >> 10) & _ROT_MASK
    ic = packed & _ROT_MASK
    # 1023 is not a level a packer writes; read it as the top level, as min(v, 1022) would.
    r, step = _ROT_RANGE, _ROT_STEP
    a = (_ROT_MAX if ia > _ROT_MAX else ia) * step - r
    b = (_ROT_MAX if ib > _ROT_MAX else ib) * step - r
    c = (_ROT_MAX if ic > _ROT_MAX else ic) * step - r
    rest = 1.0 - a * a - b * b - c * c
    implied = math.sqrt(rest) if rest > 0.0 else 0.0
    if largest == 0:
        return (implied, a, b, c)
    if largest == 1:
        return (a, implied, b, c)
    if largest == 2:
        return (a, b, implied, c)
    return (a, b, c, implied)


def yaw_quat(yaw_rad: float) -> Quat:
    """Rotation about the vertical (Y) axis."""
    return (0.0, math.sin(yaw_rad / 2), 0.0, math.cos(yaw_rad / 2))


def angle_between(a: Quat, b: Quat) -> float:
    """Angle in radians of the rotation taking ``a`` to ``b``."""
    dot = abs(sum(x * y for x, y in zip(a, b, strict=True)))
    return 2 * math.acos(min(1.0, dot))
