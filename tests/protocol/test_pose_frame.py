"""The binary pose frame: the shared vectors, the same codes as the map form for every bad
pose, the data channel, and rooms where map-form and binary members converge."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from avatars.pose import quantise_pose
from protocol import messages as m
from protocol.codec import decode, encode, pack
from protocol.codes import ErrorCode
from protocol.errors import ProtocolError
from protocol.pose import AvatarPose, HandMode, Part
from protocol.pose_frame import POSE_TAG, PoseFrame, decode_pose_frame
from protocol.quantise import IDENTITY_Q, pack_quat
from protocol.vectors import PATH
from rooms.interest import POLICIES
from rooms.roles import Role
from tests.harness import Harness
from tests.rooms.test_sync_property import World

FRAMES = json.loads(PATH.read_text("utf-8"))["pose_frames"]
IDENT = pack_quat(IDENTITY_Q)


def _code(fn: Any) -> ErrorCode | None:
    try:
        fn()
    except ProtocolError as exc:
        return exc.code
    return None


def test_the_tag_can_never_start_a_msgpack_map() -> None:
    assert FRAMES["tag"] == POSE_TAG
    assert not 0x80 <= POSE_TAG <= 0x8F
    assert POSE_TAG not in (0xDE, 0xDF)


@pytest.mark.parametrize("vec", FRAMES["valid"], ids=lambda v: v["name"])
def test_valid_frame_round_trips(vec: dict[str, Any]) -> None:
    frame = decode_pose_frame(bytes.fromhex(vec["hex"]))
    assert frame == PoseFrame(bytes.fromhex(vec["packed"]), vec["n"], vec["ack"])
    assert frame.encode().hex() == vec["hex"]
    # The packed record is what the server makes of the map form of the same pose.
    pose = decode(bytes.fromhex(vec["map"]))
    assert quantise_pose(pose).pack().hex() == vec["packed"]
    assert (pose.n, pose.ack) == (vec["n"], vec["ack"])
    assert AvatarPose.unpack(frame.packed).pack() == frame.packed


@pytest.mark.parametrize("vec", FRAMES["invalid"], ids=lambda v: v["name"])
def test_malformed_frame_gets_the_map_forms_code(vec: dict[str, Any]) -> None:
    code = ErrorCode(vec["code"])
    assert _code(lambda: decode_pose_frame(bytes.fromhex(vec["hex"]))) is code
    if vec["map"] is not None:
        assert _code(lambda: decode(bytes.fromhex(vec["map"]))) is code
    # A joined member gets that code in an error frame (the frame's shape on arrival, the
    # parts' values at the tick that judges them), and keeps its pose.
    h = Harness()
    member = h.join(Role.ADVISOR)
    before = h.room.scene.entities[h.room.members[member].entity or 0].packed
    h.send(member, bytes.fromhex(vec["hex"]))
    h.tick()
    assert [(e.code, e.ref) for e in h.inbox[member].errors] == [(int(code), "pose")]
    assert h.room.scene.entities[h.room.members[member].entity or 0].packed == before


@pytest.mark.parametrize(
    ("name", "pose", "code"),
    [
        ("out-of-reach", m.Pose((0.0, 1.6, 0.0), (0, 0, 0, 1), 1, (1.3, 1.6, 0.0, 0, 0, 0, 1),
                                (0.0, 1.6, 0.0, 0, 0, 0, 1)), ErrorCode.BAD_VALUE),
        ("ack-ahead", m.Pose((0.0, 1.6, 0.0), (0, 0, 0, 1), ack=10**6), ErrorCode.BAD_VALUE),
    ],
)  # fmt: skip
def test_room_checks_give_both_forms_one_code(name: str, pose: m.Pose, code: ErrorCode) -> None:
    packed = AvatarPose(
        Part((round(pose.p[0] * 1000), round(pose.p[1] * 1000), round(pose.p[2] * 1000)), IDENT),
        HandMode(pose.hm or 0),
        *(
            [Part((round(v[0] * 1000), round(v[1] * 1000), round(v[2] * 1000)), IDENT)
             for v in (pose.lh, pose.rh) if v is not None]
        ),
    ).pack()  # fmt: skip
    for data in (encode(pose), PoseFrame(packed, pose.n, pose.ack).encode()):
        h = Harness()
        member = h.join(Role.ADVISOR)
        h.send(member, data)
        h.tick()  # the binary form's reach is judged at the tick
        assert [e.code for e in h.inbox[member].errors] == [int(code)], name


def _packed_at(h: Harness, member: int, dx: int, *, hands: bool = True) -> bytes:
    ent = h.room.scene.entities[h.room.members[member].entity or 0]
    x, y, z = ent.pos
    head = Part((x + dx, y, z), IDENT)
    if not hands:
        return AvatarPose(head).pack()
    left, right = Part((x + dx - 300, y - 400, z), IDENT), Part((x + dx + 300, y - 400, z), IDENT)
    return AvatarPose(head, HandMode.CONTROLLERS, left, right).pack()


def test_a_binary_pose_moves_the_avatar_as_the_map_form_does() -> None:
    moved = []
    for binary in (False, True):
        h = Harness()
        member = h.join(Role.ADVISOR)
        packed = _packed_at(h, member, 200)
        pose = AvatarPose.unpack(packed)
        if binary:
            h.send(member, PoseFrame(packed, n=1).encode())
        else:
            x, y, z = pose.head.pos
            lh, rh = pose.left, pose.right
            assert lh is not None
            assert rh is not None
            h.send(
                member,
                m.Pose(
                    (x / 1000, y / 1000, z / 1000),
                    IDENTITY_Q,
                    1,
                    (*(v / 1000 for v in lh.pos), *IDENTITY_Q),
                    (*(v / 1000 for v in rh.pos), *IDENTITY_Q),
                    n=1,
                ),
            )
        h.tick()  # the map form moves the avatar on arrival, the binary one at the tick
        assert h.inbox[member].errors == []
        ent = h.room.scene.entities[h.room.members[member].entity or 0]
        moved.append((ent.packed, ent.pose))
        # The scene graph is placed when read, from the packed record.
        node = h.room.scene.root.find(f"**/avatar:{ent.id}")
        assert round(node.get_x() * 1000) == ent.pos[0]
    assert moved[0] == moved[1]


def test_walking_budget_holds_for_binary_poses() -> None:
    """tests/test_room.py's sprint, sent as binary poses: the same budget, told once."""
    h = Harness()
    a = h.join()
    h.send(a, m.Stand())
    x0 = h.room.scene.entities[h.room.members[a].entity or 0].pos[0]
    for _ in range(30):
        h.send(a, PoseFrame(_packed_at(h, a, -400, hands=False)).encode())
        h.tick()
    assert x0 - h.room.scene.entities[h.room.members[a].entity or 0].pos[0] <= 1500 + 3000 + 1
    assert [e.code for e in h.inbox[a].errors] == [ErrorCode.MOVED_TOO_FAST]
    assert h.inbox[a].closed is None
    assert h.room.members[a].strikes.take(h.now, 20)


def test_data_channel_carries_binary_poses_and_drops_older_ones() -> None:
    h = Harness()
    member = h.join(Role.ADVISOR)
    ent = h.room.scene.entities[h.room.members[member].entity or 0]
    newer, older = _packed_at(h, member, 100), _packed_at(h, member, 50)
    h.deliver(h.room.receive_datagram(member, PoseFrame(newer, n=5).encode(), h.now))
    h.deliver(h.room.receive_datagram(member, PoseFrame(older, n=4).encode(), h.now))
    h.tick()
    assert ent.packed == newer
    h.deliver(h.room.receive_datagram(member, bytes((POSE_TAG, 0x03)), h.now))
    assert [e.code for e in h.inbox[member].errors] == [int(ErrorCode.BAD_VALUE)]


def test_a_room_mixing_both_forms_converges() -> None:
    h = Harness()
    members = [h.join(Role.ADVISOR, name=f"a{i}") for i in range(4)]
    rng = random.Random(7)
    for k in range(60):
        for i, member in enumerate(members):
            packed = _packed_at(h, member, rng.randint(-40, 40), hands=i % 3 != 0)
            pose = AvatarPose.unpack(packed)
            if i % 2:
                h.send(member, PoseFrame(packed, n=k).encode())
            else:
                x, y, z = pose.head.pos
                h.send(member, m.Pose((x / 1000, y / 1000, z / 1000), IDENTITY_Q, n=k))
        h.tick()
        for member in members:
            h.sync(member)
    h.tick()
    truth = h.room.scene.digest()
    for member in members:
        h.sync(member)
        assert h.inbox[member].errors == []
        assert h.inbox[member].replica.digest() == truth


class BinaryWorld(World):
    """The replica property test's world, its members' poses sent as binary frames."""

    def send(self, member: int, message: m.Message) -> None:
        if isinstance(message, m.Pose) and self.rng.random() < 0.7:
            x, y, z = message.p
            head = Part((round(x * 1000), round(y * 1000), round(z * 1000)), IDENT)
            data = PoseFrame(AvatarPose(head).pack(), message.n, message.ack).encode()
            outputs = self.room.receive(member, data, self.now)
            assert not any(getattr(o, "reliable", True) is False for o in outputs)
            return
        super().send(member, message)


@pytest.mark.parametrize("layout", ["private_room", "branch_lobby"])
@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_every_member_converges_with_binary_poses(layout: str, seed: int) -> None:
    rng = random.Random(seed)
    world = BinaryWorld(layout, POLICIES.get(layout), rng)
    for _ in range(rng.randint(20, 60)):
        for _ in range(rng.randint(0, 6)):
            world.act()
        world.tick(lossy=True)
    if not world.room.joined:
        world.join()
    policy = POLICIES.get(layout)
    for _ in range(3 * (policy.far_every if policy else 1) + 3):
        world.tick(lossy=False)
    truth = world.room.scene.digest()
    for member, link in world.links.items():
        assert link.replica.digest() == truth, f"member {member} diverged"


@settings(max_examples=300, deadline=None)
@given(body=st.binary(max_size=48))
def test_any_bytes_after_the_tag_decode_or_fail_with_a_protocol_error(body: bytes) -> None:
    data = bytes((POSE_TAG,)) + body
    code = _code(lambda: decode_pose_frame(data))
    if code is not None:
        assert code in (ErrorCode.MALFORMED, ErrorCode.BAD_VALUE)
        return
    frame = decode_pose_frame(data)
    assert frame.encode() == data
    assert AvatarPose.unpack(frame.packed).pack() == frame.packed


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_state_frames_packed_from_wire_maps_are_the_codecs_bytes(seed: int) -> None:
    """Room._publish packs deltas from Scene.delta_wire: the same bytes as encoding the
    Delta that Scene.delta describes, whatever changed (moves, renames, looks, seats, media,
    mouths, removals)."""
    rng = random.Random(seed)
    h = Harness()
    scene = h.room.scene
    members = [h.join(Role.ADVISOR, name=f"a{i}") for i in range(3)]
    ents = [h.room.members[mb].entity or 0 for mb in members]
    for _ in range(rng.randint(1, 12)):
        eid = rng.choice(ents)
        roll = rng.random()
        if eid not in scene.entities:
            continue
        if roll < 0.5:
            scene.move_packed(eid, _packed_at(h, members[ents.index(eid)], rng.randint(-50, 50)))
        elif roll < 0.6:
            scene.rename(eid, f"n{rng.randint(0, 9)}")
        elif roll < 0.7:
            scene.restyle(eid, m.Look(hair=rng.choice(["bob", "short"])))
        elif roll < 0.8:
            scene.seat(eid, rng.choice(["", "s1"]))
        elif roll < 0.9:
            scene.set_media(eid, mic=rng.choice(["on", "off", ""]))
        else:
            scene.set_mouth(eid, rng.randint(0, 3))
        if rng.random() < 0.3:
            scene.advance()
    if rng.random() < 0.3:
        scene.remove(ents[0])
    scene.advance()
    for base in range(max(scene.oldest_base, scene.tick - 5), scene.tick + 1):
        want, got = scene.delta(base), scene.delta_wire(base)
        assert want is not None
        assert got is not None
        assert encode(m.Delta(scene.tick, base, *want)) == pack(
            {"t": "delta", "tick": scene.tick, "base": base, "ents": got[0], "gone": got[1]}
        )
