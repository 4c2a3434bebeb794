"""The codec against the shared vectors, and every way a frame can be refused."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from avatars.appearance import DEFAULT_LOOK
from protocol import messages as m
from protocol import vectors
from protocol.catalogue import render
from protocol.codec import decode, encode, pack, to_wire
from protocol.codes import ErrorCode
from protocol.errors import ProtocolError
from protocol.limits import MAX_FRAME_BYTES
from protocol.messages import Direction
from protocol.vectors import PATH, build, jsonable

VECTORS = json.loads(PATH.read_text("utf-8"))


def _dir(name: str) -> Direction:
    return Direction(name)


def test_vectors_file_is_current() -> None:
    # The committed file is what the JavaScript client is tested against: it must agree.
    assert build() == VECTORS


def test_vectors_show_the_default_look_avatars_start_with() -> None:
    # The snapshots' look is the one every avatar starts with, so clients are tested against it.
    assert vectors.DEFAULT_LOOK == DEFAULT_LOOK


@pytest.mark.parametrize("vec", VECTORS["valid"], ids=lambda v: v["name"])
def test_valid_vector_round_trips(vec: dict[str, Any]) -> None:
    data = bytes.fromhex(vec["hex"])
    msg = decode(data, _dir(vec["direction"]))
    assert jsonable(to_wire(msg)) == vec["wire"]
    assert encode(msg) == data
    assert jsonable(msgpack.unpackb(data)) == vec["wire"]


@pytest.mark.parametrize("vec", VECTORS["invalid"], ids=lambda v: v["name"])
def test_invalid_vector_is_refused_with_its_code(vec: dict[str, Any]) -> None:
    with pytest.raises(ProtocolError) as info:
        decode(bytes.fromhex(vec["hex"]), _dir(vec["direction"]))
    assert info.value.code == vec["code"]
    assert ErrorCode[vec["error"]] == vec["code"]


def test_spec_tables_are_generated_from_the_code() -> None:
    spec = (Path(__file__).resolve().parents[2] / "protocol" / "SPEC.md").read_text("utf-8")
    assert render() in spec


def test_text_frame_is_refused() -> None:
    with pytest.raises(ProtocolError) as info:
        decode('{"t": "chat"}')
    assert info.value.code == ErrorCode.TEXT_FRAME


def test_frame_over_the_limit_is_refused_before_parsing() -> None:
    frame = pack({"t": "chat", "text": "x" * MAX_FRAME_BYTES})
    with pytest.raises(ProtocolError) as info:
        decode(frame)
    assert info.value.code == ErrorCode.FRAME_TOO_LARGE


def test_error_names_the_offending_message_type() -> None:
    with pytest.raises(ProtocolError) as info:
        decode(pack({"t": "chat", "text": 1}))
    assert info.value.msg_type == "chat"
    assert "chat.text" in str(info.value)


def test_integers_are_accepted_as_floats_as_javascript_sends_them() -> None:
    msg = decode(pack({"t": "pose", "p": [1, 2, 3], "q": [0, 0, 0, 1]}))
    assert msg == m.Pose((1.0, 2.0, 3.0), (0.0, 0.0, 0.0, 1.0))


def test_float32_is_accepted() -> None:
    data = msgpack.packb(
        {"t": "pose", "p": [0.5, 1.5, 0.25], "q": [0.0, 0.0, 0.0, 1.0]}, use_single_float=True
    )
    assert decode(data) == m.Pose((0.5, 1.5, 0.25), (0.0, 0.0, 0.0, 1.0))


def test_keys_in_any_order_decode() -> None:
    data = pack({"text": "hi", "t": "chat"})
    assert decode(data) == m.Chat("hi")


def test_server_messages_are_unknown_from_clients_and_vice_versa() -> None:
    with pytest.raises(ProtocolError):
        decode(encode(m.Welcome(1, 1, "r", "guest", 30, 0, 1, 1)), Direction.CLIENT)
    with pytest.raises(ProtocolError):
        decode(encode(m.Hello(1)), Direction.SERVER)


def test_deep_nesting_is_malformed_not_a_crash() -> None:
    data = b"\x91" * 100_000 + b"\xc0"
    with pytest.raises(ProtocolError) as info:
        decode(data, max_bytes=len(data))
    assert info.value.code == ErrorCode.MALFORMED


_VALID_FRAMES = [bytes.fromhex(v["hex"]) for v in VECTORS["valid"]]


@settings(max_examples=3000, deadline=None)
@given(st.binary(max_size=256))
def test_random_bytes_only_raise_protocol_errors(data: bytes) -> None:
    _decode_or_documented_error(data, Direction.CLIENT)


def _decode_or_documented_error(data: bytes, direction: Direction) -> None:
    """Any outcome but a message or a documented error (with its code) is a decoder bug."""
    try:
        msg = decode(data, direction)
    except ProtocolError as exc:
        code = exc.code
    else:
        assert isinstance(msg, m.Message)
        assert msg.DIRECTION is direction
        return
    assert code in set(ErrorCode)


@settings(max_examples=3000, deadline=None)
@given(
    st.sampled_from(_VALID_FRAMES),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=4),
    st.integers(0, 64),
)
def test_mutated_frames_only_raise_protocol_errors(
    frame: bytes, edits: list[tuple[int, int]], cut: int
) -> None:
    data = bytearray(frame)
    for pos, byte in edits:
        data[pos % len(data)] = byte
    data = data[: max(1, len(data) - cut)]
    for direction in Direction:
        _decode_or_documented_error(bytes(data), direction)


_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats()
    | st.text(max_size=20)
    | st.binary(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=3000, deadline=None)
@given(
    st.sampled_from(sorted(m.CLIENT_MESSAGES)),
    st.dictionaries(
        st.sampled_from(
            ["p", "q", "v", "name", "text", "tick", "since", "member", "n", "client", "x"]
        ),
        _json_values,
        max_size=4,
    ),
)
def test_well_formed_maps_with_wrong_values_only_raise_protocol_errors(
    type_: str, fields: dict[str, Any]
) -> None:
    try:
        msg = decode(pack({"t": type_, **fields}))
    except ProtocolError:
        return
    # Whatever was accepted must re-encode to something that decodes to the same message.
    assert decode(encode(msg)) == msg
    for value in getattr(msg, "p", None) or ():
        assert math.isfinite(value)
