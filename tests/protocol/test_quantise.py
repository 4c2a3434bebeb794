from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.errors import BadValue
from protocol.quantise import angle_between, mm_to_pos, normalise, pack_quat, pos_to_mm, unpack_quat

unit = st.floats(-1.0, 1.0, allow_nan=False)


@given(st.tuples(unit, unit, unit, unit).filter(lambda q: math.dist(q, (0, 0, 0, 0)) > 0.5))
def test_rotation_survives_packing_within_a_quarter_degree(
    q: tuple[float, float, float, float],
) -> None:
    packed = pack_quat(q)
    assert 0 <= packed < 2**32
    assert math.degrees(angle_between(normalise(q), unpack_quat(packed))) < 0.25


@given(st.tuples(unit, unit, unit, unit).filter(lambda q: math.dist(q, (0, 0, 0, 0)) > 0.5))
def test_unpacked_rotation_is_a_unit_quaternion(q: tuple[float, float, float, float]) -> None:
    assert math.isclose(math.dist(unpack_quat(pack_quat(q)), (0, 0, 0, 0)), 1.0, rel_tol=1e-3)


def test_q_and_minus_q_pack_the_same() -> None:
    q = (0.1, -0.7, 0.2, 0.6)
    assert pack_quat(q) == pack_quat((-0.1, 0.7, -0.2, -0.6))


@pytest.mark.parametrize(
    "q", [(0.0, 0.0, 0.0, 0.0), (math.nan, 0.0, 0.0, 1.0), (0.1, 0.1, 0.1, 0.1)]
)
def test_degenerate_rotation_is_a_bad_value(q: tuple[float, float, float, float]) -> None:
    with pytest.raises(BadValue):
        pack_quat(q)


@given(st.tuples(*[st.floats(-1000, 1000, allow_nan=False)] * 3))
def test_positions_quantise_to_the_nearest_millimetre(p: tuple[float, float, float]) -> None:
    back = mm_to_pos(pos_to_mm(p))
    assert all(abs(a - b) <= 0.0005 + 1e-9 for a, b in zip(p, back, strict=True))


@pytest.mark.parametrize("yaw", [0.0, 0.5, 1.0, 3.0])
def test_pure_yaw_keeps_its_zero_components_exact(yaw: float) -> None:
    x, _, z, _ = unpack_quat(pack_quat((0.0, math.sin(yaw / 2), 0.0, math.cos(yaw / 2))))
    assert x == 0.0
    assert z == 0.0
