"""Rooms tick on a few shared phases: the rooms of one phase tick in the same wave."""

from __future__ import annotations

import pytest

from server.room_host import on_grid, tick_offset

PERIOD = 1 / 30


@pytest.mark.parametrize("slots", [1, 2, 4])
def test_rooms_share_as_many_phases_as_slots(slots: int) -> None:
    offsets = {tick_offset(f"room-{i}", PERIOD, slots) for i in range(200)}
    assert len(offsets) == slots
    assert all(0 <= o < PERIOD for o in offsets)
    assert tick_offset("room-7", PERIOD, slots) == tick_offset("room-7", PERIOD, slots)


@pytest.mark.parametrize("t", [0.0, 1.0, 1000.017, 1_700_000_000.123])
@pytest.mark.parametrize("offset", [0.0, PERIOD / 2])
def test_the_next_tick_is_the_first_point_of_the_phase_at_or_after_now(
    t: float, offset: float
) -> None:
    at = on_grid(t, PERIOD, offset)
    assert t - 1e-9 <= at < t + PERIOD
    phase = (at - offset) / PERIOD
    assert phase == pytest.approx(round(phase), abs=1e-4)
    # Two rooms of one phase, starting at different moments, meet on the same ticks.
    later = on_grid(t + 0.004, PERIOD, offset)
    assert round((later - at) / PERIOD, 6) in (0.0, 1.0)
