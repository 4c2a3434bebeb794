"""The batch of a tick's binary poses judges each as the one-pose rules do."""

from __future__ import annotations

import random
import struct

import pytest

from avatars.errors import MovedTooFast
from avatars.placement import SEATED_REACH_MM, correction
from avatars.pose import check_reach
from avatars.pose_batch import (
    HAND_PAD,
    MIN_BATCH,
    RECORD,
    Floor,
    Judged,
    judge,
    judge_arrays,
    judge_each,
)
from protocol.errors import BadValue
from protocol.limits import TokenBucket
from protocol.pose import SIZE_HEAD_ONLY, head_mm, shift_packed
from protocol.pose_frame import check_parts
from protocol.quantise import Vec3mm, pos_to_mm
from scenes.layout import load_layout

_PART = struct.Struct("<hhhI")
LAYOUTS = ("private_room", "branch_lobby", "seminar_room")


def _rot(rng: random.Random) -> int:
    """Mostly rotations a client writes, now and then a level or a triple no unit completes."""
    if rng.random() < 0.05:
        return rng.getrandbits(32)
    a, b, c = (rng.randint(300, 722) for _ in range(3))
    return (rng.randint(0, 3) << 30) | (a << 20) | (b << 10) | c


def _coord(rng: random.Random, centre: int, spread: int) -> int:
    if rng.random() < 0.01:
        return -32768
    return max(-32767, min(32767, centre + rng.randint(-spread, spread)))


def _record(rng: random.Random, head: Vec3mm) -> bytes:
    x, y, z = (_coord(rng, c, 6000) for c in head)
    out = bytes((rng.choice((0, 1, 2)),)) + _PART.pack(x, y, z, _rot(rng))
    if not out[0]:
        return out + HAND_PAD
    for _ in range(2):
        # Within and beyond the 1.2 m reach.
        out += _PART.pack(*(_coord(rng, c, 900) for c in (x, y, z)), _rot(rng))
    return out


def _one_by_one(
    layout_name: str, record: bytes, current: Vec3mm, seat: Vec3mm | None
) -> tuple[bool, float, bytes]:
    """(refused, step, placed) by avatars.pose and avatars.placement, one pose at a time."""
    layout = load_layout(layout_name)
    packed = record if record[0] else record[:SIZE_HEAD_ONLY]
    try:
        check_parts(packed)
        check_reach(packed)
    except BadValue:
        return True, 0.0, b""
    spot = None
    if seat is not None:
        spot = next(s for s in layout.seats if pos_to_mm(s.pos) == seat)
    # The map form's placement (avatars.placement.place), on the packed record.
    budget = TokenBucket(0.0, 1e9, 0.0)
    delta = correction(layout, current, head_mm(packed), seat=spot, stride=budget, now=0.0)
    placed = packed if delta == (0, 0, 0) else shift_packed(packed, delta)
    return False, 1e9 - budget._tokens, placed


@pytest.mark.parametrize("way", ["arrays", "each"])
@pytest.mark.parametrize("layout_name", LAYOUTS)
def test_batch_agrees_with_the_one_pose_rules(layout_name: str, way: str) -> None:
    layout = load_layout(layout_name)
    rng = random.Random(layout_name)
    seats = [pos_to_mm(s.pos) for s in layout.seats]
    floor = Floor(layout)
    refused = 0
    for _ in range(40):
        n = rng.randint(1, 24)
        heads: list[Vec3mm] = []
        seated: list[Vec3mm | None] = []
        records = b""
        for _ in range(n):
            spot = rng.choice(layout.spawn_points)
            heads.append(pos_to_mm((spot.pos[0], spot.pos[1] + 1.6, spot.pos[2])))
            seated.append(rng.choice(seats) if seats and rng.random() < 0.3 else None)
            records += _record(rng, heads[-1])
        judged: Judged = (
            judge_arrays(floor, records, heads, seated)
            if way == "arrays"
            else judge_each(layout, records, heads, seated)
        )
        for i in range(n):
            record = records[i * RECORD : (i + 1) * RECORD]
            bad, step, placed = _one_by_one(layout_name, record, heads[i], seated[i])
            assert judged.bad[i] == bad, record.hex()
            refused += bad
            if not bad:
                assert judged.step[i] == pytest.approx(step, abs=1e-5), record.hex()
                assert judged.record(i) == placed, record.hex()
    assert 0 < refused < 40 * 12  # both kinds were judged


def test_a_seated_head_leans_no_further_than_the_rule() -> None:
    layout = load_layout("private_room")
    seat = pos_to_mm(layout.seats[0].pos)
    far = (seat[0] + 3000, seat[1] + 2500, seat[2] - 4000)
    record = bytes((0,)) + _PART.pack(*far, 0xC0000000 | (511 << 20) | (511 << 10) | 511)
    judged = judge_arrays(Floor(layout), record + HAND_PAD, [seat], [seat])
    x, y, z = struct.unpack_from("<hhh", judged.record(0), 1)
    assert round(((x - seat[0]) ** 2 + (z - seat[2]) ** 2) ** 0.5) <= SEATED_REACH_MM
    assert y == seat[1] + 1700
    assert len(judged.record(0)) == SIZE_HEAD_ONLY


def test_the_step_is_what_the_walking_budget_is_charged() -> None:
    layout = load_layout("private_room")
    start = pos_to_mm(layout.spawn_points[0].pos)
    ahead = (start[0] + 2000, start[1] + 1600, start[2])
    record = bytes((0,)) + _PART.pack(*ahead, 0xC0000000 | (511 << 20) | (511 << 10) | 511)
    judged = judge_arrays(Floor(layout), record + HAND_PAD, [start], [None])
    with pytest.raises(MovedTooFast):
        # The budget holds 1.5 m: the one-pose rule refuses the same step the batch measured.
        correction(layout, start, ahead, seat=None, stride=TokenBucket(0, 1500, 0), now=0)
    assert judged.step[0] > 1500


def test_small_batches_are_judged_one_by_one_and_large_ones_as_arrays() -> None:
    layout = load_layout("private_room")
    start = pos_to_mm(layout.spawn_points[0].pos)
    record = bytes((0,)) + _PART.pack(*start, 0xC0000000 | (511 << 20) | (511 << 10) | 511)
    for n in (1, MIN_BATCH - 1, MIN_BATCH, 3 * MIN_BATCH):
        records = (record + HAND_PAD) * n
        expected = judge_each(layout, records, [start] * n, [None] * n)
        assert judge(Floor(layout), records, [start] * n, [None] * n) == expected
