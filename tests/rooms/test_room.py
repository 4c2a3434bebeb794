"""The pure room: sessions, permissions, reliability, limits. No sockets, time is a number."""

from __future__ import annotations

from dataclasses import replace

import pytest

from avatars.appearance import DEFAULT_LOOK
from protocol import messages as m
from protocol.codec import pack
from protocol.codes import CloseCode, ErrorCode
from protocol.pose import HandMode
from rooms.limits import RoomLimits, TokenBucket
from rooms.members import Grant
from rooms.roles import PERMISSIONS, REMOVABLE, Action, Role, allowed
from tests.harness import Harness


def test_join_flow_welcome_joined_snapshot_then_deltas() -> None:
    h = Harness()
    a = h.connect()
    h.send(a, m.Hello(1))
    welcome = h.inbox[a].of(m.Welcome)[0]
    assert (welcome.member, welcome.room, welcome.role, welcome.tick_hz) == (
        a,
        "r1",
        "customer",
        30,
    )
    h.send(a, m.Join("Ann"))
    assert h.inbox[a].of(m.Joined)[0].member == a
    h.tick()
    snap = h.inbox[a].of(m.Snapshot)[0]
    assert [(e.m, e.n, e.r) for e in snap.ents] == [(a, "Ann", "customer")]
    h.sync(a)
    h.tick()
    # Nothing changed since the acked tick: nothing is sent.
    assert h.inbox[a].of(m.Snapshot) == []
    assert h.inbox[a].of(m.Delta) == []
    h.send(a, m.Pose((0.3, 1.2, 1.1), (0.0, 0.0, 0.0, 1.0)))
    h.tick()
    assert not h.inbox[a].errors
    delta = h.inbox[a].of(m.Delta)[0]
    # The baseline is the tick a acknowledged, never one it did not receive.
    assert (delta.base, delta.tick) == (snap.tick, snap.tick + 2)
    ent = snap.ents[0].i
    assert delta.ents == [m.Ent(ent, x=h.room.scene.entities[ent].packed)]


def test_customer_sits_in_the_customer_seat_and_advisor_at_the_advisor_spot() -> None:
    h = Harness()
    g = h.join(Role.GUEST, "Gus")
    c = h.join(Role.CUSTOMER, "Cat")
    adv = h.join(Role.ADVISOR, "Ada")
    spots = {mb.id: mb.spawn for mb in h.room.members.values()}
    assert spots == {g: "seat-family-1", c: "seat-customer", adv: "advisor-spot"}


def test_two_members_see_each_others_moves_in_order() -> None:
    h = Harness()
    a, b = h.join(name="Ann"), h.join(Role.GUEST, "Bo")
    h.tick()
    h.sync(a)
    h.sync(b)
    seen = []
    for step in range(1, 6):
        # Ann is seated in the customer seat at (0, 0, 1.1): she leans, within reach.
        h.send(a, m.Pose((step / 10, 1.2, 1.1), (0.0, 0.0, 0.0, 1.0)))
        h.tick()
        h.sync(b)
        pose = h.inbox[b].replica.pose_of(a)
        assert pose is not None
        seen.append(pose.head.pos[0])
    assert seen == [100, 200, 300, 400, 500]
    assert h.inbox[b].replica.digest() == h.room.scene.digest()


def test_a_quiet_tick_does_not_strand_the_client_on_an_unknown_baseline() -> None:
    h = Harness()
    a, b = h.join(name="Ann"), h.join(Role.GUEST, "Bo")
    h.tick()
    h.sync(a)
    h.sync(b)
    for lean in (0.1, 0.2):
        h.send(a, m.Pose((lean, 1.2, 1.1), (0.0, 0.0, 0.0, 1.0)))
        h.tick()
        h.sync(b)
        h.tick()  # nothing changed: nothing is sent
        assert h.inbox[b].of(m.Delta) == []
        h.sync(b)
        pose = h.inbox[b].replica.pose_of(a)
        assert pose is not None
        assert pose.head.pos[0] == round(lean * 1000)
    assert h.inbox[b].replica.dropped == 0


def test_a_long_quiet_spell_refreshes_the_baseline_with_an_empty_delta() -> None:
    h = Harness()
    a = h.join()
    h.tick()
    h.sync(a)
    sent = 0
    for _ in range(20 * 30):  # 20 s of nothing, at 30 Hz, with 10 s of history
        h.tick()
        sent += len(h.inbox[a].of(m.Delta)) + len(h.inbox[a].of(m.Snapshot))
        assert h.inbox[a].of(m.Snapshot) == []
        h.sync(a)
    # A handful of ~20-byte keep-alive deltas, never a snapshot.
    assert 0 < sent <= 5
    assert h.inbox[a].replica.digest() == h.room.scene.digest()


def test_one_encoding_per_distinct_baseline() -> None:
    h = Harness()
    members = [h.join(Role.GUEST, f"g{i}") for i in range(6)]
    h.tick()
    for mb in members:
        h.sync(mb)
    x, y, z = _head(h, members[0])
    h.send(members[0], m.Pose((x / 1000 + 0.1, y / 1000, z / 1000), IDENT))
    h.encodings = 0
    h.tick()
    assert h.encodings == 1  # six members, same acked tick: one frame


IDENT = (0.0, 0.0, 0.0, 1.0)


def _head(h: Harness, member: int) -> tuple[int, int, int]:
    return h.room.scene.entities[h.room.members[member].entity or 0].pos


def test_customer_arrives_seated_at_eye_height() -> None:
    h = Harness()
    a = h.join()
    ent = h.room.scene.entities[h.room.members[a].entity or 0]
    assert ent.seat == "seat-customer"
    assert ent.pos == (0, 1200, 1100)


def test_standing_avatar_is_kept_on_walkable_floor() -> None:
    h = Harness()
    a = h.join()
    h.send(a, m.Stand())
    layout = h.room.scene.layout
    assert not layout.on_floor(0.0, 0.0)  # the table
    for _ in range(10):
        h.now += 0.1
        h.send(a, m.Pose((0.0, 1.6, 0.0), IDENT))  # walking into the table
    x, _, z = _head(h, a)
    assert layout.on_floor(x / 1000, z / 1000)
    assert (x, z) != (0, 0)
    assert not h.inbox[a].errors


def test_walking_speed_is_a_budget_not_a_per_pose_allowance() -> None:
    h = Harness()
    a = h.join()
    h.send(a, m.Stand())
    # 0.4 m every 33 ms is 12 m/s: a few steps fit the budget, then the sprint is refused.
    x0, y, z = _head(h, a)
    for i in range(1, 31):
        h.now += 1 / 30
        h.send(a, m.Pose(((x0 - 400 * i) / 1000, y / 1000, z / 1000), IDENT))
    # One second of sprinting: the avatar got no further than the budget and a second's walk,
    # the client was told once (not thirty times), and it is not punished for it.
    assert x0 - _head(h, a)[0] <= 1500 + 3000 * 1.0 + 1
    assert [e.code for e in h.inbox[a].errors] == [ErrorCode.MOVED_TOO_FAST]
    assert h.inbox[a].closed is None
    assert h.room.members[a].strikes.take(h.now, 20)


def test_teleport_faster_than_walking_is_refused() -> None:
    h = Harness()
    a = h.join()
    h.send(a, m.Stand())
    before = _head(h, a)
    h.now += 0.1
    h.send(a, m.Pose((3.0, 1.6, -3.0), IDENT))
    assert h.inbox[a].errors[-1].code == ErrorCode.MOVED_TOO_FAST
    assert _head(h, a) == before
    h.now += 0.1
    h.send(a, m.Pose((before[0] / 1000 + 0.2, 1.6, before[2] / 1000), IDENT))
    assert _head(h, a)[0] == before[0] + 200


def test_vr_hands_travel_with_the_pose() -> None:
    h = Harness()
    a, b = h.join(name="Ann"), h.join(Role.GUEST, "Bo")
    h.tick()
    h.sync(b)
    left = (-0.25, 0.8, 0.8, 0.0, 0.0, 0.0, 1.0)
    right = (0.25, 0.8, 0.8, 0.0, 0.0, 0.0, 1.0)
    h.send(a, m.Pose((0.0, 1.2, 1.1), IDENT, 2, left, right))
    h.tick()
    h.sync(b)
    pose = h.inbox[b].replica.pose_of(a)
    assert pose is not None
    assert pose.hands == HandMode.TRACKED
    assert pose.left is not None
    assert pose.right is not None
    assert (pose.left.pos, pose.right.pos) == ((-250, 800, 800), (250, 800, 800))


@pytest.mark.parametrize(
    "pose",
    [
        m.Pose((0.0, 1.2, 1.1), IDENT, 1, None, None),
        m.Pose((0.0, 1.2, 1.1), IDENT, 0, (0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0), None),
        m.Pose((0.0, 1.2, 1.1), IDENT, 1, (3.0, 1.0, 1.0, 0, 0, 0, 1), (0.0, 1.0, 1.0, 0, 0, 0, 1)),
    ],
    ids=["hand-mode-without-hands", "hands-without-mode", "hand-out-of-reach"],
)
def test_impossible_hands_are_bad_values(pose: m.Pose) -> None:
    h = Harness()
    a = h.join()
    h.send(a, pose)
    assert [e.code for e in h.inbox[a].errors] == [ErrorCode.BAD_VALUE]


def test_appearance_defaults_restyle_and_validation() -> None:
    h = Harness()
    a = h.connect()
    h.send(a, m.Hello(1))
    h.send(a, m.Join("Ann", look=m.Look(hair="bob", top="#7A1F3D")))
    ent = h.room.scene.entities[h.room.members[a].entity or 0]
    assert ent.look == replace(DEFAULT_LOOK, hair="bob", top="#7a1f3d")
    h.tick()
    h.sync(a)
    h.send(a, m.Restyle(m.Look(accent="#ffffff")))
    h.tick()
    delta = h.inbox[a].of(m.Delta)[-1]
    assert delta.ents == [
        m.Ent(ent.id, a=replace(DEFAULT_LOOK, hair="bob", top="#7a1f3d", accent="#ffffff"))
    ]
    h.send(a, pack({"t": "look", "look": {"cape": "#ffffff"}}))
    h.send(a, pack({"t": "look", "look": {"top": "x" * 5000}}))
    assert [e.code for e in h.inbox[a].errors] == [ErrorCode.UNKNOWN_FIELD, ErrorCode.BAD_VALUE]


def test_seats_sit_stand_taken_unknown_and_reserved() -> None:
    h = Harness()
    h.join(Role.CUSTOMER, "Cat")
    first = h.join(Role.GUEST, "Gus")
    guest = h.join(Role.GUEST, "Gwen")
    assert h.room.members[first].seat == "seat-family-1"
    h.send(guest, m.Sit("seat-family-1"))
    h.send(guest, m.Sit("no-such-seat"))
    h.send(guest, m.Sit("seat-customer"))  # reserved for the customer
    codes = [e.code for e in h.inbox[guest].errors]
    assert codes == [ErrorCode.SEAT_TAKEN, ErrorCode.NO_SUCH_SEAT, ErrorCode.FORBIDDEN]
    h.send(first, m.Stand())
    assert h.room.scene.entities[h.room.members[first].entity or 0].seat == ""
    h.send(guest, m.Sit("seat-family-1"))
    ent = h.room.scene.entities[h.room.members[guest].entity or 0]
    assert ent.seat == "seat-family-1"
    assert ent.pos == (-1000, 1200, 1000)
    assert len(h.inbox[guest].errors) == 3


def test_chat_is_sequenced_and_reaches_everyone_in_order() -> None:
    h = Harness()
    a, b = h.join(name="Ann"), h.join(Role.GUEST, "Bo")
    for i in range(5):
        h.send(a if i % 2 else b, m.Chat(f"message {i}"))
    for mb in (a, b):
        chats = h.inbox[mb].of(m.ChatPosted)
        assert [c.text for c in chats] == [f"message {i}" for i in range(5)]
        seqs = [r.seq for r in h.inbox[mb].reliable]
        assert seqs == sorted(seqs)
        assert len(set(seqs)) == len(seqs)
    # b joined after a: a saw b's arrival too, so a's stream is b's plus a's own arrival.
    assert [r.seq for r in h.inbox[a].reliable][1:] == [r.seq for r in h.inbox[b].reliable]
    assert h.inbox[b].reliable[-1].seq == h.room.seq


def test_rejoin_with_since_replays_exactly_the_missed_reliable_messages() -> None:
    h = Harness()
    a, b = h.join(name="Ann"), h.join(Role.GUEST, "Bo")
    h.send(a, m.Chat("before"))
    last_seen = h.inbox[b].reliable[-1].seq
    h.deliver(h.room.disconnect(b, h.now))
    h.send(a, m.Chat("while away 1"))
    h.send(a, m.Chat("while away 2"))
    b2 = h.join(Role.GUEST, "Bo", since=last_seen)
    got = h.inbox[b2].reliable
    assert [r.seq for r in got] == list(range(last_seen + 1, h.room.seq + 1))
    texts = [r.text for r in got if isinstance(r, m.ChatPosted)]
    assert texts == ["while away 1", "while away 2"]


def test_since_never_reveals_what_was_said_before_a_person_first_joined() -> None:
    h = Harness()
    a = h.join(name="Ann")
    h.send(a, m.Chat("private: my portfolio"))
    late = h.join(Role.GUEST, "Late", since=0)
    assert h.inbox[late].of(m.ChatPosted) == []
    obs = h.join(Role.OBSERVER, "Compliance", since=0)
    assert [c.text for c in h.inbox[obs].of(m.ChatPosted)] == ["private: my portfolio"]


def test_name_in_the_token_wins_over_the_typed_one() -> None:
    h = Harness()
    member = h.room.connect(Grant("adv-1", "r1", Role.ADVISOR, "Ada Chen"), h.now)
    h.send(member, m.Hello(1))
    h.send(member, m.Join("The Bank CEO"))
    assert h.inbox[member].of(m.Joined)[-1].name == "Ada Chen"


def test_leaving_removes_the_avatar_and_tells_the_others() -> None:
    h = Harness()
    a, b = h.join(name="Ann"), h.join(Role.GUEST, "Bo")
    h.tick()
    h.sync(a)
    h.send(b, m.Leave())
    assert h.inbox[b].closed == CloseCode.NORMAL
    left = h.inbox[a].of(m.Left)[-1]
    assert (left.member, left.reason) == (b, "left")
    h.tick()
    h.sync(a)
    assert h.inbox[a].replica.by_member(b) is None


def test_observer_is_invisible_and_read_only() -> None:
    h = Harness()
    a = h.join(name="Ann")
    obs = h.join(Role.OBSERVER, "Compliance")
    assert not any(j.member == obs for j in h.inbox[a].of(m.Joined))
    h.tick()
    h.sync(obs)
    assert h.inbox[obs].replica.by_member(obs) is None
    h.send(obs, m.Chat("hello"))
    assert h.inbox[obs].errors[-1].code == ErrorCode.FORBIDDEN
    h.send(a, m.Chat("for the record"))
    assert h.inbox[obs].of(m.ChatPosted)[-1].text == "for the record"


# --- permissions: every role against every action, enforced by the room -----------------------

_ACTION_MESSAGES: dict[Action, m.Message] = {
    Action.MOVE: m.Pose((0.0, 1.2, 1.1), (0.0, 0.0, 0.0, 1.0)),
    Action.RESTYLE: m.Restyle(m.Look(hair="bun")),
    Action.SIT: m.Stand(),
    Action.CHAT: m.Chat("hi"),
    Action.ASK: m.Ask("what do you think of government bonds?"),
    Action.SUMMON: m.Summon("bonds"),
    Action.DISMISS: m.Dismiss(0),
    Action.HELP: m.Help(),
    Action.PRESENT: m.Present("Allocation", ["Bonds", "Cash"], [60.0, 40.0]),
    Action.VIEW_PORTFOLIO: m.ViewPortfolio(),
    Action.CONFIRM_INTEREST: m.ConfirmInterest("any-product"),
    Action.LISTEN: m.StartMedia([]),
    Action.SPEAK: m.StartMedia(["audio"]),
    Action.CAMERA: m.StartMedia(["video"]),
    Action.RECORD: m.Record(True),
    Action.INVITE: m.Invite(),
}
# Sensitive actions, when allowed, still need a second factor first.
_ALLOWED_ANSWER: dict[Action, list[ErrorCode]] = {
    Action.VIEW_PORTFOLIO: [ErrorCode.STEP_UP_REQUIRED],
    Action.CONFIRM_INTEREST: [ErrorCode.STEP_UP_REQUIRED],
}


def test_permission_table_covers_every_role_and_action() -> None:
    assert set(PERMISSIONS) == set(Role)
    assert all(actions <= set(Action) for actions in PERMISSIONS.values())


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("action", list(Action))
def test_room_enforces_the_permission_table(role: Role, action: Action) -> None:
    h = Harness()
    target = h.join(Role.GUEST, "Target")
    member = h.join(role, "Actor")
    before = len(h.inbox[member].errors)
    if action is Action.APPEAR:
        h.tick()
        h.sync(member)
        appears = h.inbox[member].replica.by_member(member) is not None
        assert appears == allowed(role, action)
        return
    message = _ACTION_MESSAGES.get(action) or m.Remove(target)
    if action is Action.MOVE and h.room.members[member].entity is not None:
        x, y, z = _head(h, member)  # stay put: only the permission is under test
        message = m.Pose((x / 1000, y / 1000, z / 1000), IDENT)
    h.send(member, message)
    errors = h.inbox[member].errors[before:]
    if allowed(role, action):
        assert [e.code for e in errors] == _ALLOWED_ANSWER.get(action, [])
    else:
        assert [e.code for e in errors] == [ErrorCode.FORBIDDEN]
        assert target in h.room.members


@pytest.mark.parametrize("target_role", list(Role))
def test_advisor_may_remove_only_guests_and_bots(target_role: Role) -> None:
    h = Harness()
    adv = h.join(Role.ADVISOR, "Ada")
    target = h.join(target_role, "T")
    h.send(adv, m.Remove(target))
    if target_role in REMOVABLE:
        assert h.inbox[target].closed == CloseCode.REMOVED
        assert target not in h.room.members
        assert h.inbox[adv].of(m.Left)[-1].reason == "removed"
    else:
        assert h.inbox[adv].errors[-1].code == ErrorCode.FORBIDDEN
        assert target in h.room.members


def test_removing_a_stranger_is_no_such_member() -> None:
    h = Harness()
    adv = h.join(Role.ADVISOR, "Ada")
    h.send(adv, m.Remove(999))
    assert h.inbox[adv].errors[-1].code == ErrorCode.NO_SUCH_MEMBER


# --- bad input --------------------------------------------------------------------------------


def test_messages_before_hello_or_join_are_not_joined() -> None:
    h = Harness()
    a = h.connect()
    h.send(a, m.Join("early"))
    h.send(a, m.Chat("early"))
    h.send(a, m.Hello(1))
    h.send(a, m.Pose((0.0, 0.0, 0.0), (0.0, 0.0, 0.0, 1.0)))
    h.send(a, m.Ack(0))
    assert [e.code for e in h.inbox[a].errors] == [ErrorCode.NOT_JOINED] * 4
    h.send(a, m.Ping(5))
    assert h.inbox[a].of(m.Pong) == [m.Pong(5)]


def test_hello_twice_and_join_twice_are_already_done() -> None:
    h = Harness()
    a = h.join()
    h.send(a, m.Hello(1))
    h.send(a, m.Join("again"))
    assert [e.code for e in h.inbox[a].errors] == [ErrorCode.ALREADY_DONE] * 2


def test_wrong_protocol_version_is_refused() -> None:
    h = Harness()
    a = h.connect()
    h.send(a, m.Hello(2))
    assert h.inbox[a].errors[-1].code == ErrorCode.UNSUPPORTED_VERSION
    assert not h.inbox[a].of(m.Welcome)


def test_ack_from_the_future_is_a_bad_value() -> None:
    h = Harness()
    a = h.join()
    h.send(a, m.Ack(10_000))
    assert h.inbox[a].errors[-1].code == ErrorCode.BAD_VALUE


def test_invisible_name_is_a_bad_value_and_names_are_cleaned() -> None:
    h = Harness()
    a = h.connect()
    h.send(a, m.Hello(1))
    h.send(a, m.Join("\u202e\u200b "))
    assert h.inbox[a].errors[-1].code == ErrorCode.BAD_VALUE
    h.send(a, m.Join("  Ann\u202e  Lee\x07 "))
    assert h.room.members[a].name == "Ann Lee"


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (b"\xc1garbage", ErrorCode.MALFORMED),
        ("text frame", ErrorCode.TEXT_FRAME),
        (pack({"t": "nope"}), ErrorCode.UNKNOWN_TYPE),
        (pack({"t": "chat", "text": 3}), ErrorCode.WRONG_TYPE),
        (
            pack({"t": "pose", "p": [float("nan"), 0.0, 0.0], "q": [0.0, 0.0, 0.0, 1.0]}),
            ErrorCode.BAD_VALUE,
        ),
        (pack({"t": "pose", "p": [0.0, 0.0, 0.0], "q": [0.0, 0.0, 0.0, 0.0]}), ErrorCode.BAD_VALUE),
        (pack({"t": "chat", "text": "x" * 1001}), ErrorCode.TOO_LONG),
        (pack({"t": "chat", "text": "x" * 70_000}), ErrorCode.FRAME_TOO_LARGE),
    ],
)
def test_bad_frame_gets_an_error_and_nobody_else_notices(
    frame: bytes | str, code: ErrorCode
) -> None:
    h = Harness()
    a, b = h.join(name="Ann"), h.join(Role.GUEST, "Bo")
    before_b = list(h.inbox[b].frames)
    h.send(b, frame)
    assert [e.code for e in h.inbox[b].errors] == [code]
    assert h.inbox[b].closed is None
    assert not h.inbox[a].errors
    h.send(a, m.Chat("still fine"))
    assert h.inbox[b].of(m.ChatPosted)[-1].text == "still fine"
    assert h.inbox[b].frames[: len(before_b)] == before_b


def test_repeat_offender_is_closed_after_its_strikes() -> None:
    h = Harness(limits=RoomLimits(strikes=5, strike_refill=0.1))
    a, b = h.join(name="Ann"), h.join(Role.GUEST, "Bo")
    for _ in range(5):
        h.send(b, b"\xc1")
    assert h.inbox[b].closed is None
    h.send(b, b"\xc1")
    assert h.inbox[b].closed == CloseCode.TOO_MANY_ERRORS
    assert h.inbox[b].errors[-1].fatal is True
    assert b not in h.room.members
    assert h.inbox[a].of(m.Left)[-1].reason == "too many errors"


def test_flood_at_ten_times_the_rate_is_limited_then_closed() -> None:
    limits = RoomLimits(rate=20, burst=20)
    h = Harness(limits=limits)
    a, b = h.join(name="Ann"), h.join(Role.GUEST, "Bo")
    x, y, z = _head(h, b)
    pose = m.Pose((x / 1000, y / 1000, z / 1000), IDENT)
    # 200 messages a second against a limit of 20, for up to three seconds.
    for _ in range(600):
        h.now += 1 / 200
        h.send(b, pose)
        if h.inbox[b].closed:
            break
    assert h.inbox[b].closed == CloseCode.RATE_LIMITED
    rate_errors = [e for e in h.inbox[b].errors if e.code == ErrorCode.RATE_LIMITED]
    # At most one error a second (plus the final, fatal one): the flood is not echoed back.
    assert 1 <= len(rate_errors) <= 4
    assert not h.inbox[a].errors
    assert a in h.room.members


def test_a_chat_flood_is_limited_separately_from_poses() -> None:
    h = Harness(limits=RoomLimits(chat_rate=1, chat_burst=3))
    a = h.join()
    for i in range(5):
        h.send(a, m.Chat(f"spam {i}"))
    assert len(h.inbox[a].of(m.ChatPosted)) == 3
    assert h.inbox[a].errors[-1].code == ErrorCode.RATE_LIMITED


def test_member_that_never_joins_is_closed_after_the_timeout() -> None:
    h = Harness(limits=RoomLimits(join_timeout_s=5))
    a = h.connect()
    h.send(a, m.Hello(1))
    h.tick(4.0)
    assert h.inbox[a].closed is None
    h.tick(2.0)
    assert h.inbox[a].closed == CloseCode.JOIN_TIMEOUT
    assert h.room.is_empty


def test_idle_member_is_closed_and_acks_or_pings_do_not_count_as_activity() -> None:
    h = Harness(limits=RoomLimits(idle_timeout_s=60))
    a, b = h.join(name="Ann"), h.join(Role.GUEST, "Bo")
    for _ in range(5):
        h.tick(10.0)
        h.send(a, m.Chat("still here"))
        h.send(b, m.Ping(1))
        h.sync(b)  # b acks whatever it receives
    assert h.inbox[b].closed is None
    h.tick(15.0)
    assert h.inbox[b].closed == CloseCode.IDLE_TIMEOUT
    assert h.inbox[a].closed is None
    assert h.inbox[a].of(m.Left)[-1].reason == "idle"


def test_member_whose_ack_is_too_old_gets_a_fresh_snapshot() -> None:
    h = Harness()
    a, b = h.join(name="Ann"), h.join(Role.GUEST, "Bo")
    h.tick()
    h.sync(a)
    h.sync(b)
    for i in range(400):  # more than the room's 10 s of history at 30 Hz
        h.send(a, m.Pose((i / 1000, 1.2, 1.1), (0.0, 0.0, 0.0, 1.0)))  # leaning
        h.tick()
        h.inbox[b].frames.clear()  # b hears nothing and acks nothing
    h.tick()
    assert isinstance(h.inbox[b].frames[-1], m.Snapshot)
    h.sync(b)
    assert h.inbox[b].replica.digest() == h.room.scene.digest()


def test_room_close_closes_everyone() -> None:
    h = Harness()
    a, b = h.join(name="Ann"), h.join(Role.GUEST, "Bo")
    h.deliver(h.room.close(h.now))
    assert h.inbox[a].closed == h.inbox[b].closed == CloseCode.GOING_AWAY
    assert h.room.is_empty


def test_token_bucket_refills_and_ignores_clock_going_back() -> None:
    bucket = TokenBucket(rate=2, capacity=2, now=0.0)
    assert bucket.take(0.0)
    assert bucket.take(0.0)
    assert not bucket.take(0.0)
    assert not bucket.take(-100.0)
    assert bucket.take(0.5)
