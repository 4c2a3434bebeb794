"""Where an avatar may be: on walkable ground, in its seat, never faster than a brisk walk."""

from __future__ import annotations

import math

from avatars.errors import MovedTooFast
from avatars.pose import moved_by
from protocol.limits import TokenBucket
from protocol.pose import AvatarPose, Part
from protocol.quantise import Vec3mm, mm_to_pos, pack_quat, pos_to_mm
from scenes.layout import Layout, SpawnPoint

EYE_STANDING_MM = 1600
EYE_SEATED_MM = 1200
# Walking is a distance budget: it refills at a pace faster than anyone walks in a bank, and
# holds enough for poses that arrive bunched after a network hiccup. A per-pose allowance
# would not do: slack granted on every pose adds up to a sprint.
MAX_SPEED_MM_S = 3000
STRIDE_BUDGET_MM = 1500
# How far a seated member's head may lean from the seat (VR users lean over the table).
SEATED_REACH_MM = 800
# And between these heights above it: slumped low, or half risen.
SEATED_LOW_MM, SEATED_HIGH_MM = 700, 1700


def pose_at(spot: SpawnPoint, *, seated: bool) -> AvatarPose:
    x, y, z = pos_to_mm(spot.pos)
    eye = EYE_SEATED_MM if seated else EYE_STANDING_MM
    return AvatarPose(Part((x, y + eye, z), pack_quat(spot.rotation)))


def stride_budget(now: float) -> TokenBucket:
    """A member's walking budget, in millimetres."""
    return TokenBucket(MAX_SPEED_MM_S, STRIDE_BUDGET_MM, now)


def place(
    layout: Layout,
    current: AvatarPose,
    wanted: AvatarPose,
    *,
    seat: SpawnPoint | None,
    stride: TokenBucket,
    now: float,
) -> AvatarPose:
    """The pose the room accepts for ``wanted``: corrected onto allowed ground, or refused."""
    delta = correction(layout, current.head.pos, wanted.head.pos, seat=seat, stride=stride, now=now)
    return wanted if delta == (0, 0, 0) else moved_by(wanted, delta)


def correction(
    layout: Layout,
    current: Vec3mm,
    wanted: Vec3mm,
    *,
    seat: SpawnPoint | None,
    stride: TokenBucket,
    now: float,
) -> Vec3mm:
    """How far a head wanted at ``wanted`` is moved (onto the floor, near its seat), having
    spent the step on the walking budget; ``MovedTooFast`` when the budget cannot pay it."""
    target = target_of(layout, wanted, None if seat is None else pos_to_mm(seat.pos))
    step = step_of(current, target)
    if not stride.take(now, step):
        raise too_fast(step)
    return (target[0] - wanted[0], target[1] - wanted[1], target[2] - wanted[2])


def target_of(layout: Layout, wanted: Vec3mm, seat: Vec3mm | None) -> Vec3mm:
    """Where a head wanted at ``wanted`` is put: within reach of its seat (``seat``, the
    seat's floor point in millimetres) when seated, else on the nearest walkable floor."""
    wx, wy, wz = wanted
    if seat is None:
        return pos_to_mm(layout.constrain(mm_to_pos(wanted)))
    sx, sy, sz = seat
    dx, dz = wx - sx, wz - sz
    lean = math.hypot(dx, dz)
    if lean > SEATED_REACH_MM:
        scale = SEATED_REACH_MM / lean
        dx, dz = round(dx * scale), round(dz * scale)
    return (sx + dx, min(max(wy, sy + SEATED_LOW_MM), sy + SEATED_HIGH_MM), sz + dz)


def step_of(current: Vec3mm, target: Vec3mm) -> float:
    """What a move costs on the walking budget: the distance over the floor. It is charged
    where the avatar really goes, so pressing against a wall costs nothing."""
    return math.hypot(target[0] - current[0], target[2] - current[2])


def too_fast(step: float) -> MovedTooFast:
    """The refusal of a ``step`` (millimetres) the walking budget cannot pay."""
    return MovedTooFast(
        f"pose: a {step / 1000:.1f} m step is faster than walking; sit to change place",
        msg_type="pose",
    )
