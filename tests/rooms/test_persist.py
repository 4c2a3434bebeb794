"""A room's durable state survives being rebuilt elsewhere (failover), and only what it should."""

from __future__ import annotations

import pytest

from protocol import messages as m
from protocol.codes import ErrorCode
from rooms.limits import RoomLimits
from rooms.persist import TICK_MARGIN, StateError, dump, load
from rooms.roles import Role
from rooms.room import Room
from rooms.stepup import MAX_FAILURES
from scenes.layout import load_layout
from tests.factor_shell import FactorShell
from tests.harness import Harness


def _failover(h: Harness) -> tuple[Harness, int]:
    """Save the room, rebuild it in a new harness as another node would; return it and the
    tick the old room had reached."""
    data = dump(h.room)
    old_tick = h.room.scene.tick
    fresh = Harness(limits=RoomLimits(idle_timeout_s=10_000))
    fresh.now = h.now
    load(fresh.room, data, fresh.now)
    return fresh, old_tick


def test_a_resumed_member_gets_exactly_what_it_missed_from_the_rebuilt_room() -> None:
    h = Harness(limits=RoomLimits(idle_timeout_s=10_000))
    ann = h.join(Role.CUSTOMER, "Ann", risk=3)
    adv = h.join(Role.ADVISOR, "Ms Chan")
    h.send(ann, m.Chat("first"))
    seen = max(r.seq for r in h.inbox[ann].reliable)
    h.send(adv, m.Chat("said while Ann was away"))
    h.send(ann, m.Ask("what about government bonds?"))
    h.send(adv, m.Present("Allocation", ["Bonds", "Cash"], [60.0, 40.0]))
    h.tick()
    last = h.room.seq

    fresh, old_tick = _failover(h)
    again = fresh.join(Role.CUSTOMER, "Ann", since=seen, risk=3)
    replayed = [r.seq for r in fresh.inbox[again].reliable if r.seq <= last]
    assert replayed == list(range(seen + 1, last + 1))
    texts = [r.text for r in fresh.inbox[again].of(m.ChatPosted)]
    assert texts == ["said while Ann was away"]
    # The room goes on counting where it stopped; state ticks move past the old ones.
    fresh.send(again, m.Chat("back"))
    assert fresh.inbox[again].of(m.ChatPosted)[-1].seq == last + 2  # joined is last + 1
    fresh.tick()
    fresh.sync(again)
    replica = fresh.inbox[again].replica
    assert replica.tick > old_tick + TICK_MARGIN - 1
    kinds = sorted(e.k or "" for e in replica.entities.values())
    assert kinds == ["avatar", "expert", "screen"]
    expert = next(e for e in replica.entities.values() if e.k == "expert")
    assert (expert.sp, expert.e) == ("bonds", "present")


def test_a_newcomer_after_failover_sees_nothing_from_before_but_the_screen() -> None:
    h = Harness()
    ann = h.join(Role.CUSTOMER, "Ann")
    adv = h.join(Role.ADVISOR, "Ms Chan")
    h.send(ann, m.Chat("private"))
    h.send(adv, m.Present("Allocation", ["Bonds"], [1.0]))
    fresh, _ = _failover(h)
    bob = fresh.join(Role.GUEST, "Bob")
    assert fresh.inbox[bob].of(m.ChatPosted) == []
    assert [p.title for p in fresh.inbox[bob].of(m.Presented)] == ["Allocation"]


def test_a_lock_out_survives_failover() -> None:
    h = Harness()
    shell = FactorShell()
    ann = h.join(Role.CUSTOMER, "Ann")
    for _ in range(MAX_FAILURES):
        h.send(ann, m.Verify("123456"))
        shell.answer(h, ok=False)
    fresh, _ = _failover(h)
    again = fresh.join(Role.CUSTOMER, "Ann")
    fresh.send(again, m.Verify("123456"))
    assert [e.code for e in fresh.inbox[again].errors] == [ErrorCode.LOCKED_OUT]


def test_an_open_page_is_still_followed_after_failover() -> None:
    h = Harness()
    ann = h.join(Role.CUSTOMER, "Ann")
    h.send(ann, m.Help())
    (page,) = h.pages
    fresh, _ = _failover(h)
    again = fresh.join(Role.CUSTOMER, "Ann")
    fresh.deliver(fresh.room.page_update(page.id, "coming", fresh.now, advisor="adv-1"))
    assert fresh.inbox[again].of(m.Handoff)[-1].st == "coming"


@pytest.mark.parametrize(
    "damage",
    [b"", b"\xc1", b"\x81\xa1v\x02", b"\x82\xa1v\x01\xa4room\xa5other"],
)
def test_damaged_or_foreign_state_is_refused(damage: bytes) -> None:
    room = Room("r1", load_layout("private_room"))
    with pytest.raises(StateError):
        load(room, damage, 0.0)


def test_state_goes_only_into_an_empty_room() -> None:
    h = Harness()
    h.join()
    with pytest.raises(StateError):
        load(h.room, dump(h.room), h.now)


def test_a_recording_under_way_is_reported_stopped_after_failover() -> None:
    h = Harness(limits=RoomLimits(idle_timeout_s=10_000))
    ann = h.join(Role.CUSTOMER, "Ann")
    adv = h.join(Role.ADVISOR, "Ms Chan")
    h.send(adv, m.Record(True))
    seen = h.room.seq
    rec = h.inbox[ann].of(m.Recording)[-1].rec
    fresh, _ = _failover(h)
    again = fresh.join(Role.CUSTOMER, "Ann", since=seen)
    stopped = fresh.inbox[again].of(m.Recording)
    assert [(r.rec, r.on) for r in stopped] == [(rec, False)]
    assert fresh.room.media.recording is None
    fresh.tick()
    assert [e.outcome for e in fresh.actions("recording.stop")] == ["node lost"]
