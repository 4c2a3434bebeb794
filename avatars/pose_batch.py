"""A tick's binary poses judged together: the body's checks and placement as array arithmetic.

A room receives a VR member's pose 30 times a second; checked one by one in Python, each costs
a struct unpack, a loop over three parts, a walk over the floor's rectangles and a repacking.
Here the poses that arrived since the last tick lie in one buffer of packed records (31 bytes
each: the hand-mode byte and three parts, a head-only pose padded with zeros), and the same
rules run as numpy expressions over all of them at once:

- each part's values (``protocol.pose_frame.check_parts``): no coordinate of -32768, no level
  of 1023, three levels that a unit quaternion can complete;
- hands within reach of the head (``avatars.pose.check_reach``);
- the head placed as ``avatars.placement.correction`` places it: near its seat when seated,
  else on the nearest walkable floor, and the step that costs on the walking budget.

What stays per pose is what depends on the order of a member's own poses (the walking budget,
a token bucket in time) and the error frames, which are rare. A record marked bad is judged
again by the one-pose functions, so its error detail is exactly theirs.

numpy costs about 100 µs a batch whatever its size (some fifty calls) and under a microsecond a
pose; the one-pose functions about 4.6 µs a pose. So a batch smaller than ``MIN_BATCH`` (one
room of ten, one member's poses before its next message) is judged one pose at a time, and the
arrays pay off when poses of many rooms are judged together (``rooms/pose_desk.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from avatars.placement import (
    SEATED_HIGH_MM,
    SEATED_LOW_MM,
    SEATED_REACH_MM,
    step_of,
    target_of,
)
from avatars.pose import MAX_REACH_MM, check_reach
from protocol.errors import BadValue
from protocol.pose import I16, SIZE_HEAD_ONLY, SIZE_WITH_HANDS, head_mm, shift_packed
from protocol.pose_frame import I16_MIN, LEVEL_MAX, UNIT2, check_parts
from protocol.quantise import POS_SCALE, Vec3mm
from scenes.layout import Layout

RECORD = SIZE_WITH_HANDS
# The packed pose as numpy reads it: the byte layout of protocol/pose.py, no padding.
_PART = np.dtype([("pos", "<i2", (3,)), ("rot", "<u4")])
POSE_RECORD = np.dtype([("mode", "u1"), ("parts", _PART, (3,))])
assert POSE_RECORD.itemsize == RECORD
HAND_PAD = bytes(RECORD - SIZE_HEAD_ONLY)
_REACH2 = MAX_REACH_MM * MAX_REACH_MM
# Where the arrays start to cost less than one pose at a time (see above).
MIN_BATCH = 24

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Judged:
    """What the rules say of each record, by its index in the batch."""

    bad: list[bool]  # a part's values or a hand's reach refused: judge it alone for the detail
    step: list[float]  # millimetres the head moves over the floor, to charge on the budget
    placed: bytes  # the records as placed (corrections move the hands with the head)

    def part(self, start: int, stop: int) -> Judged:
        """Records ``start`` to ``stop`` (of one room, in a batch of several)."""
        placed = self.placed[start * RECORD : stop * RECORD]
        return Judged(self.bad[start:stop], self.step[start:stop], placed)

    def record(self, i: int) -> bytes:
        """The placed pose ``i`` as the scene keeps it: 31 bytes, or 11 without hands."""
        at = i * RECORD
        size = RECORD if self.placed[at] else SIZE_HEAD_ONLY
        return self.placed[at : at + size]


class Floor:
    """A layout with its walkable rectangles and bounds as arrays, built once per room."""

    __slots__ = ("bounds_y", "hi", "layout", "lo")

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        rects = layout.floor_rects
        # In the order constrain() tries them: on ties the first rectangle wins there too.
        self.lo = np.array([r.min for r in rects], dtype=np.float64)  # (R, 2): x, z
        self.hi = np.array([r.max for r in rects], dtype=np.float64)
        self.bounds_y = (float(layout.bounds_min[1]), float(layout.bounds_max[1]))


def judge(
    floor: Floor,
    records: bytes | bytearray,
    current: Sequence[Vec3mm],
    seats: Sequence[Vec3mm | None],
) -> Judged:
    """Judge ``len(current)`` packed records: each one's values and reach, where it is placed
    and the step it costs.

    ``current`` is each record's member's head now (millimetres), ``seats`` its seat's floor
    point in millimetres, or ``None`` for a standing member.
    """
    if len(current) < MIN_BATCH:
        return judge_each(floor.layout, records, current, seats)
    return judge_arrays(floor, records, current, seats)


def judge_each(
    layout: Layout,
    records: bytes | bytearray,
    current: Sequence[Vec3mm],
    seats: Sequence[Vec3mm | None],
) -> Judged:
    """:func:`judge` by the one-pose functions, a record at a time."""
    bad: list[bool] = []
    step: list[float] = []
    placed: list[bytes] = []
    for i, (now, seat) in enumerate(zip(current, seats, strict=True)):
        record = bytes(records[i * RECORD : (i + 1) * RECORD])
        packed = record if record[0] else record[:SIZE_HEAD_ONLY]
        try:
            check_parts(packed)
            check_reach(packed)
        except BadValue:
            bad.append(True)
            step.append(0.0)
            placed.append(record)
            continue
        wanted = head_mm(packed)
        target = target_of(layout, wanted, seat)
        delta = (target[0] - wanted[0], target[1] - wanted[1], target[2] - wanted[2])
        moved = packed if delta == (0, 0, 0) else shift_packed(packed, delta)
        bad.append(False)
        step.append(step_of(now, target))
        placed.append(moved if moved[0] else moved + HAND_PAD)
    return Judged(bad, step, b"".join(placed))


def judge_arrays(
    floor: Floor,
    records: bytes | bytearray,
    current: Sequence[Vec3mm],
    seats: Sequence[Vec3mm | None],
) -> Judged:
    """:func:`judge` as numpy expressions over all the records at once."""
    rec = np.frombuffer(records, dtype=POSE_RECORD)
    n = len(rec)
    hands = rec["mode"] != 0
    pos = rec["parts"]["pos"].astype(np.int64)  # (n, 3 parts, xyz)
    rot = rec["parts"]["rot"].astype(np.int64)  # (n, 3 parts)

    levels = np.stack(((rot >> 20) & 0x3FF, (rot >> 10) & 0x3FF, rot & 0x3FF), axis=-1)
    centred = 2 * levels - LEVEL_MAX
    part_bad = (
        (pos == I16_MIN).any(axis=-1)
        | (levels > LEVEL_MAX).any(axis=-1)
        | ((centred * centred).sum(axis=-1) > UNIT2)
    )
    reach = pos[:, 1:, :] - pos[:, :1, :]
    too_far = ((reach * reach).sum(axis=-1) > _REACH2).any(axis=-1)
    bad = part_bad[:, 0] | (hands & (part_bad[:, 1:].any(axis=-1) | too_far))

    wanted = pos[:, 0, :]
    target = _place(floor, wanted, seats)
    now = np.array(current, dtype=np.int64).reshape(n, 3)
    step = np.hypot(target[:, 0] - now[:, 0], target[:, 2] - now[:, 2])

    delta = target - wanted
    moved = rec.copy()
    shifted = np.clip(pos + delta[:, None, :], -I16, I16)
    # A head-only record's padding stays zero: only the parts it has are moved.
    shifted[:, 1:, :] *= hands[:, None, None]
    moved["parts"]["pos"] = shifted
    return Judged(bad.tolist(), step.tolist(), moved.tobytes())


def _place(floor: Floor, wanted: IntArray, seats: Sequence[Vec3mm | None]) -> IntArray:
    """Where each head goes: ``avatars.placement.correction``'s target, row by row."""
    n = len(wanted)
    seated = np.array([s is not None for s in seats], dtype=np.bool_)
    target = _on_floor(floor, wanted)
    if seated.any():
        seat = np.array([s if s is not None else (0, 0, 0) for s in seats], dtype=np.int64)
        target = np.where(seated[:, None], _near_seat(wanted, seat.reshape(n, 3)), target)
    return target


def _on_floor(floor: Floor, wanted: IntArray) -> IntArray:
    """``Layout.constrain`` in millimetres: y within the bounds, x and z on the nearest
    walkable rectangle (the first of equals, as the loop there picks)."""
    metres = wanted / POS_SCALE
    x, y, z = metres[:, 0:1], metres[:, 1], metres[:, 2:3]
    cx = np.minimum(np.maximum(x, floor.lo[:, 0]), floor.hi[:, 0])  # (n, R)
    cz = np.minimum(np.maximum(z, floor.lo[:, 1]), floor.hi[:, 1])
    best = np.argmin((cx - x) ** 2 + (cz - z) ** 2, axis=1)
    rows = np.arange(len(wanted))
    lo_y, hi_y = floor.bounds_y
    placed = np.stack(
        (cx[rows, best], np.minimum(np.maximum(y, lo_y), hi_y), cz[rows, best]), axis=-1
    )
    millimetres: IntArray = np.rint(placed * POS_SCALE).astype(np.int64)
    return millimetres


def _near_seat(wanted: IntArray, seat: IntArray) -> IntArray:
    """Within 0.8 m of the seat, leaning, and between 0.7 and 1.7 m above it."""
    dx = (wanted[:, 0] - seat[:, 0]).astype(np.float64)
    dz = (wanted[:, 2] - seat[:, 2]).astype(np.float64)
    lean = np.hypot(dx, dz)
    over = lean > SEATED_REACH_MM
    scale = np.divide(SEATED_REACH_MM, lean, out=np.ones_like(lean), where=over)
    dx = np.where(over, np.rint(dx * scale), dx)
    dz = np.where(over, np.rint(dz * scale), dz)
    low, high = seat[:, 1] + SEATED_LOW_MM, seat[:, 1] + SEATED_HIGH_MM
    y = np.minimum(np.maximum(wanted[:, 1], low), high)
    x, z = seat[:, 0] + dx.astype(np.int64), seat[:, 2] + dz.astype(np.int64)
    return np.stack((x, y, z), axis=-1)
