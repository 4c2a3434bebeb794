"""Rooms sharing a pose desk end as rooms judging their own poses do, each keeping its own."""

from __future__ import annotations

import random

import pytest

from avatars.pose_batch import MIN_BATCH
from protocol import messages as m
from protocol.codes import ErrorCode
from protocol.pose import AvatarPose, HandMode, Part
from protocol.pose_frame import PoseFrame
from rooms.pose_desk import PoseDesk
from rooms.roles import Role
from tests.harness import Harness

IDENT = 0xC0000000 | (511 << 20) | (511 << 10) | 511
MEMBERS = 8
# Four private rooms make a batch for the arrays; the others are judged one pose at a time.
LAYOUTS = ("private_room", "branch_lobby", "private_room", "seminar_room") + ("private_room",) * 2


def _pose(h: Harness, member: int, rng: random.Random) -> bytes:
    """A step of up to 0.5 m, now and then a hand out of reach or a sprint."""
    x, y, z = h.room.scene.entities[h.room.members[member].entity or 0].pos
    step = 3000 if rng.random() < 0.05 else 500
    x, z = x + rng.randint(-step, step), z + rng.randint(-step, step)
    reach = 1500 if rng.random() < 0.03 else 400
    head = Part((x, y, z), IDENT)
    if rng.random() < 0.3:
        return PoseFrame(AvatarPose(head).pack()).encode()
    left = Part((x - reach, y - 300, z), IDENT)
    right = Part((x + 300, y - 300, z), IDENT)
    return PoseFrame(AvatarPose(head, HandMode.TRACKED, left, right).pack()).encode()


def _rooms(desk: PoseDesk | None) -> list[tuple[Harness, list[int]]]:
    rooms = []
    for r, layout in enumerate(LAYOUTS):
        h = Harness(layout=layout)
        if desk is not None:
            h.room.share_desk(desk)
        roles = [Role.ADVISOR] + [Role.BOT] * (MEMBERS - 1)
        members = [h.join(role, name=f"m{r}-{i}") for i, role in enumerate(roles)]
        for mb in members[1:]:
            if h.room.members[mb].seat is not None:
                h.send(mb, m.Stand())
        rooms.append((h, members))
    return rooms


def _run(desk: PoseDesk | None) -> list[tuple[str, list[list[int]]]]:
    rng = random.Random(11)
    rooms = _rooms(desk)
    for _ in range(40):
        for h, members in rooms:
            for member in members:
                if member in h.room.members:
                    for _ in range(1 if rng.random() < 0.9 else 3):  # now and then bunched
                        h.send(member, _pose(h, member, rng))
        for h, _ in rooms:
            h.tick()
    return [
        (h.room.scene.digest(), [[e.code for e in h.inbox[mb].errors] for mb in members])
        for h, members in rooms
    ]


def test_rooms_on_a_desk_end_as_rooms_on_their_own() -> None:
    desk = PoseDesk()
    shared = _run(desk)
    assert _run(None) == shared
    # Both kinds of fault were met; the desk judged the private rooms' poses together, in
    # batches for the arrays, and the others' (a room each) one by one.
    codes = {c for _, errors in shared for member in errors for c in member}
    assert codes == {int(ErrorCode.BAD_VALUE), int(ErrorCode.MOVED_TOO_FAST)}
    assert desk.largest == 4 * MEMBERS >= MIN_BATCH
    assert desk.judged >= 40 * len(shared) * MEMBERS * 0.9
    assert len(desk) == len(shared)


def test_a_rooms_errors_wait_for_its_own_tick() -> None:
    desk = PoseDesk()
    (a, a_members), (b, b_members) = _rooms(desk)[:2]
    x, y, z = b.room.scene.entities[b.room.members[b_members[1]].entity or 0].pos
    far = AvatarPose(
        Part((x, y, z), IDENT),
        HandMode.TRACKED,
        Part((x + 2000, y, z), IDENT),
        Part((x, y, z), IDENT),
    )
    b.send(b_members[1], PoseFrame(far.pack()).encode())
    a.send(a_members[1], _pose(a, a_members[1], random.Random(1)))
    a.tick()  # judges both rooms' poses
    assert b.inbox[b_members[1]].errors == []
    b.tick()
    assert [e.code for e in b.inbox[b_members[1]].errors] == [int(ErrorCode.BAD_VALUE)]


def test_a_closed_room_leaves_the_desk() -> None:
    desk = PoseDesk()
    rooms = _rooms(desk)
    h, _ = rooms[0]
    h.deliver(h.room.close(h.now))
    assert len(desk) == len(rooms) - 1


def test_a_room_that_fails_to_place_its_poses_does_not_stop_another_rooms_tick(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    desk = PoseDesk()
    (a, a_members), (b, b_members) = _rooms(desk)[:2]

    def broken(*_: object) -> None:
        raise RuntimeError("a defect")

    monkeypatch.setattr(b.room, "apply_poses", broken)
    rng = random.Random(3)
    b.send(b_members[1], _pose(b, b_members[1], rng))
    x, y, z = a.room.scene.entities[a.room.members[a_members[1]].entity or 0].pos
    a.send(a_members[1], PoseFrame(AvatarPose(Part((x + 100, y, z), IDENT)).pack()).encode())
    a.tick()
    assert a.room.scene.entities[a.room.members[a_members[1]].entity or 0].pos == (x + 100, y, z)
    assert "could not be placed" in caplog.text
