"""The rule vectors of vectors.json (protocol/rule_vectors.py) against the codec and a room."""

from __future__ import annotations

import json
from typing import Any

import pytest

from avatars.pose import quantise_pose
from protocol import messages as m
from protocol.codec import decode, to_wire
from protocol.codes import CloseCode, ErrorCode
from protocol.errors import ProtocolError
from protocol.messages import Direction
from protocol.pose import AvatarPose, Part
from protocol.quantise import unpack_quat
from protocol.vectors import PATH, jsonable
from rooms.roles import Role
from tests.factor_shell import FactorShell
from tests.harness import Harness

VECTORS = json.loads(PATH.read_text("utf-8"))


def _frame(vec: dict[str, Any]) -> bytes | str:
    if "text" in vec:
        return str(vec["text"])
    repeat: int = vec.get("repeat", 1)
    return bytes.fromhex(vec["hex"]) * repeat


@pytest.mark.parametrize("vec", VECTORS["accepted"], ids=lambda v: v["name"])
def test_accepted_frame_reads_as_its_wire_value(vec: dict[str, Any]) -> None:
    msg = decode(_frame(vec), Direction(vec["direction"]))
    assert jsonable(to_wire(msg)) == vec["wire"]


@pytest.mark.parametrize("vec", VECTORS["precedence"], ids=lambda v: v["name"])
def test_frame_breaking_several_rules_gets_the_first_code(vec: dict[str, Any]) -> None:
    frame = _frame(vec)
    with pytest.raises(ProtocolError) as info:
        decode(frame, Direction(vec["direction"]), max_bytes=65_536)
    assert info.value.code == vec["code"] == ErrorCode[vec["error"]]


@pytest.mark.parametrize("vec", VECTORS["positions"], ids=lambda v: str(v["m"]))
def test_positions_round_half_to_even_in_millimetres(vec: dict[str, Any]) -> None:
    pose = quantise_pose(m.Pose((vec["m"], 0.0, 0.0), (0.0, 0.0, 0.0, 1.0)))
    assert pose.head.pos[0] == vec["mm"]
    packed = AvatarPose(Part((vec["mm"], 0, 0), 0)).pack()
    assert int.from_bytes(packed[1:3], "little", signed=True) == vec["packed"]


@pytest.mark.parametrize("vec", VECTORS["rotations"], ids=lambda v: str(v["packed"]))
def test_packed_rotations_decode_as_written(vec: dict[str, Any]) -> None:
    assert unpack_quat(vec["packed"]) == pytest.approx(vec["q"], abs=1e-12)


def _reply(msg: m.Message) -> str:
    if isinstance(msg, m.Error):
        return f"{'fatal' if msg.fatal else 'error'}:{ErrorCode(msg.code).name}"
    return msg.TYPE


@pytest.mark.parametrize("session", VECTORS["sessions"], ids=lambda s: s["name"])
def test_session_script(session: dict[str, Any]) -> None:
    h = Harness()
    factors = FactorShell()  # the vector says whether the code matched; the real rule judges
    members = [
        h.connect(Role(role), subject=f"{role}-{i}") for i, role in enumerate(session["members"])
    ]
    for number, step in enumerate(session["steps"]):
        member = members[step.get("member", 0)]
        for _ in range(step.get("repeat", 1)):
            h.now += step.get("wait", 0.0)
            if step.get("dropped"):
                # Closed: the shell reads and drops frames until the close completes
                # (server/room_host.py); the room no longer holds the member.
                assert member not in h.room.members
                continue
            for inbox in h.inbox.values():
                inbox.frames.clear()
            checks = len(h.checks)
            h.send(member, bytes.fromhex(step["send"]))
            if step.get("judged") == "room":
                h.tick()  # a room may judge a binary pose's body at the tick (SPEC, Binary pose)
            if "verdict" in step:
                assert len(h.checks) == checks + 1, f"step {number}: no code checked"
                factors.answer(h, step["verdict"])
            else:
                assert len(h.checks) == checks, f"step {number}: a code was checked"
            inbox = h.inbox[member]
            replies = [_reply(f) for f in inbox.frames if not isinstance(f, m.Snapshot | m.Delta)]
            if inbox.closed is not None:
                replies.append(f"close:{CloseCode(inbox.closed).name}")
                inbox.closed = None
            assert replies == step["replies"], f"step {number}"
            if "others" in step:
                for other in members:
                    if other != member:
                        got = [_reply(f) for f in h.inbox[other].frames]
                        assert got == step["others"], f"step {number}, member {other}"
