"""Binary poses wait for the tick in arrival order, and a member's later messages see them."""

from __future__ import annotations

from protocol import messages as m
from protocol.codes import ErrorCode
from protocol.pose import AvatarPose, HandMode, Part
from protocol.pose_frame import PoseFrame
from rooms.pose_queue import PoseQueue
from rooms.roles import Role
from tests.harness import Harness

IDENT = 0xC0000000 | (511 << 20) | (511 << 10) | 511
IDENT_Q = (0.0, 0.0, 0.0, 1.0)


def _head(h: Harness, member: int) -> tuple[int, int, int]:
    return h.room.scene.entities[h.room.members[member].entity or 0].pos


def _frame(x: int, y: int, z: int, *, hands: bool = False, n: int | None = None) -> bytes:
    head = Part((x, y, z), IDENT)
    if not hands:
        return PoseFrame(AvatarPose(head).pack(), n=n).encode()
    left, right = Part((x - 300, y - 400, z), IDENT), Part((x + 300, y - 400, z), IDENT)
    return PoseFrame(AvatarPose(head, HandMode.CONTROLLERS, left, right).pack(), n=n).encode()


def test_a_queue_gives_each_members_poses_in_rounds_in_order() -> None:
    q = PoseQueue()
    for i, (member, x) in enumerate([(1, 10), (2, 20), (1, 11), (3, 30), (1, 12), (2, 21)]):
        q.add(member, 0, x.to_bytes(2, "little") + bytes(8), i, False)
    assert 2 in q
    assert len(q) == 6
    rounds = q.take()
    assert [r.members for r in rounds] == [[1, 2, 3], [1, 2], [1]]
    assert [[r.record(i)[1] for i in range(len(r.members))] for r in rounds] == [
        [10, 20, 30],
        [11, 21],
        [12],
    ]
    assert [r.times for r in rounds] == [[0, 1, 3], [2, 5], [4]]
    assert len(q) == 0
    assert q.take() == []


def test_taking_one_members_poses_keeps_the_others() -> None:
    q = PoseQueue()
    for member, x in [(1, 10), (2, 20), (1, 11), (3, 30)]:
        q.add(member, 0, x.to_bytes(2, "little") + bytes(8), 0.0, member == 3)
    assert [r.members for r in q.take(1)] == [[1], [1]]
    (left,) = q.take()
    assert left.members == [2, 3]
    assert left.quiet == [False, True]
    assert [left.record(i)[1] for i in range(2)] == [20, 30]


def test_poses_bunched_in_one_tick_walk_as_they_would_one_by_one() -> None:
    """Three poses in one tick, 1 m apart: the budget (1.5 m in hand) pays for the first
    only, as it would have with a tick between them; the client is told once."""
    h = Harness()
    a = h.join()
    h.send(a, m.Stand())
    x0, y, z = _head(h, a)
    for i in (1, 2, 3):
        h.send(a, _frame(x0 - 1000 * i, y, z, hands=True))
    assert _head(h, a) == (x0, y, z)  # nothing moves before the tick
    h.tick()
    assert _head(h, a)[0] == x0 - 1000
    assert [e.code for e in h.inbox[a].errors] == [ErrorCode.MOVED_TOO_FAST]


def test_a_pose_is_placed_before_the_members_next_message() -> None:
    """A pose, then a sit in the same tick: the pose does not drag the avatar out of the seat
    afterwards, as it would if it were judged after the sit."""
    h = Harness()
    a = h.join()  # the customer, seated on arrival
    seat = h.room.members[a].seat
    assert seat is not None
    seated = _head(h, a)
    h.send(a, m.Stand())
    h.tick()
    x0, y, z = _head(h, a)
    h.send(a, _frame(x0 + 300, y, z))
    h.send(a, m.Sit(seat))
    h.tick()
    assert h.inbox[a].errors == []
    assert h.room.members[a].seat == seat
    assert _head(h, a) == seated  # judged after the sit, the pose would lean 0.3 m from it


def test_poses_of_a_member_who_left_are_dropped() -> None:
    h = Harness()
    a, b = h.join(Role.ADVISOR, name="a"), h.join(Role.ADVISOR, name="b")
    xb, yb, zb = _head(h, b)
    h.send(a, _frame(*_head(h, a)))
    h.send(b, _frame(xb + 100, yb, zb))
    h.deliver(h.room.disconnect(a, h.now))
    h.tick()
    assert _head(h, b) == (xb + 100, yb, zb)
    assert h.inbox[b].errors == []


def test_a_bad_pose_costs_its_strike_at_the_tick_and_out_of_strikes_a_close() -> None:
    h = Harness()
    a, b = h.join(Role.ADVISOR, name="a"), h.join(Role.ADVISOR, name="b")
    x, y, z = _head(h, a)
    far = PoseFrame(
        AvatarPose(
            Part((x, y, z), IDENT),
            HandMode.CONTROLLERS,
            Part((x + 2000, y, z), IDENT),
            Part((x, y, z), IDENT),
        ).pack()
    ).encode()
    for _ in range(40):
        if h.inbox[a].closed is not None:
            break
        h.send(a, far)
        h.tick()
    assert {e.code for e in h.inbox[a].errors} == {int(ErrorCode.BAD_VALUE)}
    assert h.inbox[a].closed is not None
    assert a not in h.room.members
    assert h.inbox[b].errors == []
    assert h.inbox[b].closed is None


def test_a_refused_step_on_the_data_channel_is_not_answered() -> None:
    h = Harness()
    a = h.join()
    h.send(a, m.Stand())
    x, y, z = _head(h, a)
    h.deliver(h.room.receive_datagram(a, _frame(x + 4000, y, z, n=1), h.now))
    h.tick()
    assert _head(h, a) == (x, y, z)
    assert h.inbox[a].errors == []


def test_a_member_not_joined_gets_the_frames_own_code_first() -> None:
    """Before the join, nothing waits: a bad value is refused at once, as the SPEC orders."""
    h = Harness()
    a = h.connect(Role.ADVISOR)
    bad = bytes((0x50, 0x00)) + bytes((0, 0x80, 0, 0, 0, 0, 0, 0, 0, 0))  # x = -32768
    h.send(a, bad)
    assert [e.code for e in h.inbox[a].errors] == [int(ErrorCode.BAD_VALUE)]
    h.send(a, _frame(0, 1600, 0))
    assert [e.code for e in h.inbox[a].errors][-1] == int(ErrorCode.NOT_JOINED)
