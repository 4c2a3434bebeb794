"""Vectors for the rules of SPEC.md that single frames do not show, written into ``vectors.json``.

- ``accepted``: frames an encoder would not write (float32, an integer for a float, keys in
  another order, wider integer formats, a repeated key) that a decoder must still read, and
  what they read as.
- ``precedence``: frames that break several rules at once, and the one code they get.
- ``positions``: metres to the packed pose's millimetres, ties included.
- ``rotations``: packed rotations and the quaternions they decode to.
- ``sessions``: scripts of frames sent in each phase of a session, with what comes back.
- ``layouts``: which layout a room gets from the token's ``layout`` claim, the room as it
  lives (``live``, ``None`` for a room not open nor stored) and the server's default; and the
  claims refused, with their close.

Every implementation reads the same file: the Python tests run sessions against a room, the
JavaScript tests check that every frame in them is one its codec accepts and every answer one
it knows, and both decode the frames, positions and rotations above.
"""

from __future__ import annotations

import math
import struct
from typing import Any

from protocol import messages as m
from protocol.codec import encode, pack
from protocol.codes import CloseCode, ErrorCode
from protocol.limits import MAX_FRAME_BYTES
from protocol.pose import I16, AvatarPose, HandMode, Part
from protocol.quantise import POS_SCALE, pack_quat, unpack_quat

Json = dict[str, Any]

# The deepest nesting of arrays and maps a decoder reads, the message's own map included.
MAX_NESTING = 1024


def _nested_chat(containers: int) -> bytes:
    """A chat whose text is ``containers`` one-element arrays deep: a wrong type, or too deep."""
    return b"\x82\xa1t\xa4chat\xa4text" + b"\x91" * containers + b"\xa1x"


def accepted() -> list[Json]:
    f32 = b"\x83\xa1t\xa4pose\xa1p\x93" + b"".join(
        b"\xca" + struct.pack(">f", v) for v in (0.5, 1.5, 0.25)
    )
    f32 += b"\xa1q\x94\x00\x00\x00\x01"
    cases: list[tuple[str, str, bytes, Json]] = [
        (
            "float32-and-integers-as-floats",
            "floats may be float32, float64 or integers",
            f32,
            {"t": "pose", "p": [0.5, 1.5, 0.25], "q": [0.0, 0.0, 0.0, 1.0]},
        ),
        (
            "keys-in-any-order",
            "decoders accept keys in any order",
            pack({"text": "hi", "t": "chat"}),
            {"t": "chat", "text": "hi"},
        ),
        (
            "wider-integer-format",
            "decoders accept any integer format that holds the value",
            b"\x82\xa1t\xa3ack\xa4tick\xce\x00\x00\x00\x07",
            {"t": "ack", "tick": 7},
        ),
        (
            "str8-for-a-short-string",
            "decoders accept any string format that holds the value",
            b"\x82\xa1t\xa4chat\xa4text\xd9\x02hi",
            {"t": "chat", "text": "hi"},
        ),
        (
            "repeated-key-last-wins",
            "a key repeated in one map: the last occurrence counts",
            b"\x83\xa1t\xa4chat\xa4text\x05\xa4text\xa2hi",
            {"t": "chat", "text": "hi"},
        ),
    ]
    return [
        {"name": name, "rule": rule, "direction": "client", "hex": data.hex(), "wire": wire}
        for name, rule, data, wire in cases
    ]


def _precedence_cases() -> list[tuple[str, str, bytes | str, int, ErrorCode]]:
    q = [0.0, 0.0, 0.0, 1.0]
    return [
        ("text-before-all", "a text frame", '{"t": "teleport"}', 1, ErrorCode.TEXT_FRAME),
        (
            "size-before-msgpack",
            "size is checked before the bytes are parsed",
            b"\xc1",
            MAX_FRAME_BYTES + 1,
            ErrorCode.FRAME_TOO_LARGE,
        ),
        (
            "msgpack-before-type",
            "trailing bytes after an unknown type",
            pack({"t": "teleport"}) + b"\x00",
            1,
            ErrorCode.MALFORMED,
        ),
        (
            "nesting-past-the-limit",
            "one array deeper than the limit",
            _nested_chat(MAX_NESTING),
            1,
            ErrorCode.MALFORMED,
        ),
        (
            "nesting-at-the-limit",
            "as deep as the limit: read, then the schema refuses it",
            _nested_chat(MAX_NESTING - 1),
            1,
            ErrorCode.WRONG_TYPE,
        ),
        ("map-before-type", "not a map", pack(["teleport"]), 1, ErrorCode.MALFORMED),
        ("missing-t", "no t, with unknown fields", pack({"x": 1}), 1, ErrorCode.MISSING_FIELD),
        ("t-not-a-string", "t not a string", pack({"t": 1, "x": 1}), 1, ErrorCode.WRONG_TYPE),
        (
            "unknown-type-before-fields",
            "unknown type with unknown fields",
            pack({"t": "teleport", "x": 1}),
            1,
            ErrorCode.UNKNOWN_TYPE,
        ),
        (
            "unknown-field-before-missing",
            "an unknown field and a missing one",
            pack({"t": "chat", "x": 1}),
            1,
            ErrorCode.UNKNOWN_FIELD,
        ),
        (
            "unknown-field-before-wrong-type",
            "an unknown field after a field of the wrong type",
            pack({"t": "chat", "text": 5, "x": 1}),
            1,
            ErrorCode.UNKNOWN_FIELD,
        ),
        (
            "fields-in-table-order-missing",
            "p (first in the table) missing, q of the wrong type",
            pack({"t": "pose", "q": 5}),
            1,
            ErrorCode.MISSING_FIELD,
        ),
        (
            "fields-in-table-order-wrong-type",
            "p (first) of the wrong type, q missing",
            pack({"t": "pose", "p": 5}),
            1,
            ErrorCode.WRONG_TYPE,
        ),
        (
            "fields-in-table-order-value",
            "name (first) empty, since of the wrong type",
            pack({"t": "join", "name": "", "since": "x"}),
            1,
            ErrorCode.BAD_VALUE,
        ),
        (
            "nested-unknown-field-when-reached",
            "name (first) of the wrong type, look (later) with an unknown field",
            pack({"t": "join", "name": 5, "look": {"cape": 1}}),
            1,
            ErrorCode.WRONG_TYPE,
        ),
        (
            "length-before-items",
            "a fixed-length array of the wrong length holding strings",
            pack({"t": "pose", "p": ["a", "b"], "q": q}),
            1,
            ErrorCode.BAD_VALUE,
        ),
        (
            "too-long-before-items",
            "an array over its limit holding empty strings",
            pack({"t": "present", "title": "x", "labels": [""] * 13, "values": []}),
            1,
            ErrorCode.TOO_LONG,
        ),
        (
            "items-in-order",
            "a string, then a NaN, in a float array",
            pack({"t": "present", "title": "x", "labels": ["a", "b"], "values": ["x", math.nan]}),
            1,
            ErrorCode.WRONG_TYPE,
        ),
        (
            "nil-is-wrong-type",
            "nil for an optional field",
            pack({"t": "hello", "v": 1, "client": None}),
            1,
            ErrorCode.WRONG_TYPE,
        ),
        (
            "float-for-int",
            "a whole float where an int is declared",
            b"\x82\xa1t\xa3ack\xa4tick\xcb" + struct.pack(">d", 1.0),
            1,
            ErrorCode.WRONG_TYPE,
        ),
        (
            "too-short-string-is-bad-value",
            "a string under its minimum length",
            pack({"t": "verify", "code": "12345"}),
            1,
            ErrorCode.BAD_VALUE,
        ),
        (
            "too-long-string",
            "a string over its maximum length (code points)",
            pack({"t": "verify", "code": "1" * 9}),
            1,
            ErrorCode.TOO_LONG,
        ),
        (
            "fixed-array-too-long-is-bad-value",
            "a fixed-length array with one element too many",
            pack({"t": "pose", "p": [0.0, 0.0, 0.0, 0.0], "q": q}),
            1,
            ErrorCode.BAD_VALUE,
        ),
        (
            "bin-wrong-size-is-bad-value",
            "a packed pose of 32 bytes",
            pack(
                {"t": "delta", "tick": 2, "base": 1, "ents": [{"i": 1, "x": bytes(32)}], "gone": []}
            ),
            1,
            ErrorCode.BAD_VALUE,
        ),
    ]


def precedence() -> list[Json]:
    out = []
    for name, rule, data, repeat, code in _precedence_cases():
        direction = "server" if name.startswith("bin-") else "client"
        entry: Json = {"name": name, "rule": rule, "direction": direction}
        if isinstance(data, str):
            entry["text"] = data
        else:
            entry["hex"] = data.hex()
            if repeat > 1:
                entry["repeat"] = repeat
        entry |= {"code": int(code), "error": code.name}
        out.append(entry)
    return out


# Metres as a client sends them -> millimetres in the packed pose: round(p * 1000), the
# product taken in binary64, ties to even.
_POSITIONS: tuple[float, ...] = (
    0.0,
    0.0004,
    0.0005,
    0.0015,
    0.0025,
    -0.0005,
    -0.0015,
    -0.0025,
    1.0005,
    2.0005,
)
_POSITIONS += (0.1234567, -1.2, 32.7675, 32.7685, -32.7685, 999.9995)


def positions() -> list[Json]:
    out = []
    for metres in _POSITIONS:
        mm = round(metres * 1000)
        out.append({"m": metres, "mm": mm, "packed": max(-I16, min(I16, mm))})
    return out


_ROTATIONS: tuple[int, ...] = (
    0,
    1 << 30,
    2 << 30,
    3 << 30,
    0x1FF7FDFF,
    (3 << 30) | 0x1FF7FDFF,
    0xFFFFFFFF,
)
_ROTATIONS += (123456789, 0x3FF, (1 << 30) | (1022 << 20) | (511 << 10) | 511)


def rotations() -> list[Json]:
    return [{"packed": p, "q": list(unpack_quat(p))} for p in _ROTATIONS]


# --- sessions -----------------------------------------------------------------------------


def _err(code: ErrorCode, *, fatal: bool = False) -> str:
    return f"{'fatal' if fatal else 'error'}:{code.name}"


def _close(code: CloseCode) -> str:
    return f"close:{code.name}"


def _step(frame: m.Message | bytes, replies: list[str], **extra: Any) -> Json:
    data = encode(frame) if isinstance(frame, m.Message) else frame
    return {"send": data.hex(), "replies": replies, **extra}


GARBAGE = b"\xc1"
NOT_JOINED = _err(ErrorCode.NOT_JOINED)
ALREADY = _err(ErrorCode.ALREADY_DONE)
_POSE = m.Pose((0.0, 1.2, 1.1), (0.0, 0.0, 0.0, 1.0))


def sessions() -> list[Json]:
    hello, join = m.Hello(1), m.Join("Ann")
    return [
        {
            "name": "before-hello",
            "rule": "before hello: hello, ping and leave; anything else is NOT_JOINED",
            "members": ["customer"],
            "steps": [
                _step(m.Ping(1), ["pong"]),
                _step(join, [NOT_JOINED]),
                _step(m.Ack(0), [NOT_JOINED]),
                _step(_POSE, [NOT_JOINED]),
                _step(m.Chat("hi"), [NOT_JOINED]),
                _step(m.Verify("123456"), [NOT_JOINED]),
                _step(m.StartMedia(["audio"]), [NOT_JOINED]),
                _step(m.Accept("p1"), [_err(ErrorCode.WRONG_ENDPOINT)]),
                _step(m.Book("s1"), [_err(ErrorCode.WRONG_ENDPOINT)]),
                _step(m.Decline("p1"), [_err(ErrorCode.WRONG_ENDPOINT)]),
                _step(m.Offer(1795435200000, 1795437000000), [_err(ErrorCode.WRONG_ENDPOINT)]),
                _step(pack({"t": "chat"}), [_err(ErrorCode.MISSING_FIELD)]),
                _step(m.Hello(2), [_err(ErrorCode.UNSUPPORTED_VERSION)]),
                _step(hello, ["welcome"]),
            ],
        },
        {
            "name": "before-join",
            "rule": "after welcome: join, ping and leave; hello again is ALREADY_DONE",
            "members": ["customer"],
            "steps": [
                _step(hello, ["welcome"]),
                _step(hello, [ALREADY]),
                _step(m.Chat("hi"), [NOT_JOINED]),
                _step(m.Ping(2), ["pong"]),
                _step(join, ["joined"]),
                _step(join, [ALREADY]),
                _step(hello, [ALREADY]),
                _step(m.Chat("hi"), ["chat"]),
            ],
        },
        {
            "name": "leaving",
            "rule": "leave is answered by close 1000; frames after a close are read and dropped",
            "members": ["guest"],
            "steps": [
                _step(hello, ["welcome"]),
                _step(m.Leave(), [_close(CloseCode.NORMAL)]),
                _step(m.Ping(3), [], dropped=True),
                _step(GARBAGE, [], dropped=True),
            ],
        },
        {
            "name": "leave-before-hello",
            "rule": "leave is allowed in every phase",
            "members": ["guest"],
            "steps": [_step(m.Leave(), [_close(CloseCode.NORMAL)])],
        },
        {
            "name": "observer-unannounced",
            "rule": "an observer gets no joined: nobody does, itself included; others get no left",
            "members": ["customer", "observer"],
            "steps": [
                _step(hello, ["welcome"], member=0),
                _step(join, ["joined"], member=0),
                _step(hello, ["welcome"], member=1),
                _step(m.Join("Olga"), [], member=1, others=[]),
                _step(m.Chat("hi"), ["chat"], member=0, others=["chat"]),
                _step(_POSE, [_err(ErrorCode.FORBIDDEN)], member=1),
                _step(m.Leave(), [_close(CloseCode.NORMAL)], member=1, others=[]),
            ],
        },
        {
            "name": "phase-before-permission",
            "rule": "phase is checked before permission, decoding before both",
            "members": ["guest"],
            "steps": [
                _step(m.Remove(1), [NOT_JOINED]),
                _step(pack({"t": "remove", "member": 0}), [_err(ErrorCode.BAD_VALUE)]),
                _step(hello, ["welcome"]),
                _step(join, ["joined"]),
                _step(m.Remove(1), [_err(ErrorCode.FORBIDDEN)]),
            ],
        },
        {
            "name": "strikes",
            "rule": "20 strikes; the 21st error in a burst is fatal and closes 4400",
            "members": ["customer"],
            "steps": [
                _step(GARBAGE, [_err(ErrorCode.MALFORMED)], repeat=20),
                _step(
                    GARBAGE,
                    [_err(ErrorCode.MALFORMED, fatal=True), _close(CloseCode.TOO_MANY_ERRORS)],
                ),
            ],
        },
        {
            "name": "strikes-refill",
            "rule": "strikes come back at one a second, continuously",
            "members": ["customer"],
            "steps": [
                _step(GARBAGE, [_err(ErrorCode.MALFORMED)], repeat=20),
                _step(GARBAGE, [_err(ErrorCode.MALFORMED)], wait=2.5),
                _step(GARBAGE, [_err(ErrorCode.MALFORMED)]),
                _step(
                    GARBAGE,
                    [_err(ErrorCode.MALFORMED, fatal=True), _close(CloseCode.TOO_MANY_ERRORS)],
                ),
            ],
        },
        {
            "name": "rate-before-decoding",
            "rule": "240 frames at once pass; past them every frame is dropped unread, costing a "
            "strike, with one RATE_LIMITED a second; out of strikes, close 4429",
            "members": ["customer"],
            "steps": [
                _step(m.Ping(1), ["pong"], repeat=240),
                _step(GARBAGE, [_err(ErrorCode.RATE_LIMITED)]),
                _step(GARBAGE, [], repeat=19),
                _step(
                    m.Ping(1),
                    [_err(ErrorCode.RATE_LIMITED, fatal=True), _close(CloseCode.RATE_LIMITED)],
                ),
            ],
        },
        {
            "name": "totp-lockout",
            "rule": "four wrong codes: NOT_VERIFIED; the fifth: LOCKED_OUT; then LOCKED_OUT "
            "unchecked for 15 minutes; no strike for any of them",
            "members": ["customer"],
            "steps": [
                _step(hello, ["welcome"]),
                _step(join, ["joined"]),
                _step(m.ViewPortfolio(), [_err(ErrorCode.STEP_UP_REQUIRED)]),
                *[
                    _step(m.Verify("000000"), [_err(ErrorCode.NOT_VERIFIED)], verdict=False)
                    for _ in range(4)
                ],
                _step(m.Verify("000000"), [_err(ErrorCode.LOCKED_OUT)], verdict=False),
                _step(m.Verify("123456"), [_err(ErrorCode.LOCKED_OUT)]),
                _step(m.ViewPortfolio(), [_err(ErrorCode.LOCKED_OUT)]),
                _step(m.Verify("123456"), [_err(ErrorCode.LOCKED_OUT)], wait=899.0),
                _step(m.Verify("123456"), ["verified"], wait=1.0, verdict=True),
            ],
        },
        _pose_frame_session(),
    ]


def _map_pose(pose: m.Pose) -> bytes:
    return encode(pose)


_Q0 = (0.0, 0.0, 0.0, 1.0)
_YAW45 = (0.0, 0.38268343236509, 0.0, 0.923879532511287)
_ODD_Q = (0.5, -0.5, 0.5, 0.5)  # four equal magnitudes: the closest-levels refinement
# Map-form poses whose quantisation is the binary frame's record (ties of position rounding
# and the closest-levels rule included), so that each implementation's quantiser is checked.
_FRAME_POSES: list[tuple[str, m.Pose]] = [
    ("head-only", m.Pose((0.5, 1.6, -1.25), _YAW45)),
    ("head-only-n", m.Pose((0.0025, 1.0005, -0.0005), _Q0, n=7)),
    (
        "vr-controllers-ack",
        m.Pose(
            (-1.25, 1.6, -1.1),
            _YAW45,
            1,
            (-1.5, 1.1, -0.9, 0.0, 0.0, 0.0, 1.0),
            (-1.0, 1.1, -0.9, *_ODD_Q),
            ack=42,
        ),
    ),
    (
        "tracked-hands-n-ack",
        m.Pose(
            (2.0005, 1.2, 3.0),
            (0.1, 0.2, 0.3, 0.9),
            2,
            (1.8, 1.0, 2.7, 0.0, 0.7071067811865476, 0.0, 0.7071067811865476),
            (2.3, 0.9, 2.8, 0.5, 0.5, 0.5, 0.5),
            ack=4294967295,
            n=4294967295,
        ),
    ),
]


def _quantised(pose: m.Pose) -> bytes:
    """The packed record of a map-form pose by SPEC.md's rules (millimetres rounded half to
    even, smallest three); tests/protocol/test_pose_frame.py checks the server's quantiser
    gives the same bytes, so the wire layer needs none of the layers above it."""

    def part(pos: tuple[float, ...], rot: tuple[float, ...]) -> Part:
        x, y, z = (round(c * POS_SCALE) for c in pos)
        qx, qy, qz, qw = rot
        return Part((x, y, z), pack_quat((qx, qy, qz, qw)))

    head = part(pose.p, pose.q)
    if not pose.hm or pose.lh is None or pose.rh is None:
        return AvatarPose(head).pack()
    left, right = part(pose.lh[:3], pose.lh[3:]), part(pose.rh[:3], pose.rh[3:])
    return AvatarPose(head, HandMode(pose.hm), left, right).pack()


def pose_frames() -> Json:
    """Binary pose frames (SPEC.md, "Binary pose"): valid ones with the map-form pose they
    quantise from, and malformed ones with the code they get (and, where the map form has the
    same fault, the map-form frame that gets that code)."""
    from protocol.pose_frame import PoseFrame

    valid = []
    for name, pose in _FRAME_POSES:
        packed = _quantised(pose)
        frame = PoseFrame(packed, pose.n, pose.ack)
        valid.append(
            {
                "name": name,
                "hex": frame.encode().hex(),
                "packed": packed.hex(),
                "n": pose.n,
                "ack": pose.ack,
                "map": _map_pose(pose).hex(),
            }
        )
    head = struct.pack("<hhhI", 0, 1600, 0, 0xC0000000 | (511 << 20) | (511 << 10) | 511)
    hand_l = struct.pack("<hhhI", -300, 1200, 0, 0xC0000000 | (511 << 20) | (511 << 10) | 511)
    hand_r = struct.pack("<hhhI", 300, 1200, 0, 0xC0000000 | (511 << 20) | (511 << 10) | 511)
    hands = head + hand_l + hand_r
    tag = bytes((0x50,))
    ok = _map_pose(m.Pose((0.0, 1.6, 0.0), _Q0))

    def mp(**fields: Any) -> bytes:
        return pack({"t": "pose", "p": [0.0, 1.6, 0.0], "q": list(_Q0), **fields})

    lvl = struct.pack("<hhhI", 0, 1600, 0, (3 << 30) | (1023 << 20) | (511 << 10) | 511)
    unit = struct.pack("<hhhI", 0, 1600, 0, (3 << 30) | (1022 << 20) | (1022 << 10) | 1022)
    low = struct.pack("<hhhI", -32768, 1600, 0, (3 << 30) | (511 << 20) | (511 << 10) | 511)
    invalid: list[tuple[str, bytes, ErrorCode, bytes | None]] = [
        ("tag-only", tag, ErrorCode.MALFORMED, ok[:1]),
        ("short-head", tag + b"\x00" + head[:9], ErrorCode.MALFORMED, ok[:-3]),
        ("short-hands", tag + b"\x01" + hands[:20], ErrorCode.MALFORMED, ok[:-3]),
        ("long", tag + b"\x00" + head + b"\x00", ErrorCode.MALFORMED, ok + b"\x00"),
        ("n-missing", tag + b"\x04" + head, ErrorCode.MALFORMED, ok[:-1]),
        ("reserved-flags", tag + b"\x10" + head, ErrorCode.MALFORMED, None),
        ("hand-mode-3", tag + b"\x03" + hands, ErrorCode.BAD_VALUE, mp(hm=3)),
        ("level-1023", tag + b"\x00" + lvl, ErrorCode.BAD_VALUE, None),
        ("not-a-unit-rotation", tag + b"\x00" + unit, ErrorCode.BAD_VALUE, None),
        ("position-i16-min", tag + b"\x00" + low, ErrorCode.BAD_VALUE, mp(p=[5000.0, 0.0, 0.0])),
    ]
    return {
        "tag": 0x50,
        "valid": valid,
        "invalid": [
            {
                "name": name,
                "hex": data.hex(),
                "code": int(code),
                "error": code.name,
                "map": twin.hex() if twin is not None else None,
            }
            for name, data, code, twin in invalid
        ],
    }


def _pose_frame_session() -> Json:
    ident = 0xC0000000 | (511 << 20) | (511 << 10) | 511  # the identity: w left out, zeros
    head = struct.pack("<hhhI", 0, 1600, 0, ident)

    def frame(flags: int, *parts: bytes, tail: bytes = b"") -> bytes:
        return bytes((0x50, flags)) + b"".join(parts) + tail

    near = struct.pack("<hhhI", -300, 1200, 0, ident)
    far = struct.pack("<hhhI", 1300, 1600, 0, ident)
    hand = [0.0, 0.0, 0.0, 1.0]
    return {
        "name": "binary-pose",
        "rule": "a binary pose gets the codes the map form gets, in the same order",
        "members": ["customer"],
        "steps": [
            _step(frame(0, head), [NOT_JOINED]),
            _step(_POSE, [NOT_JOINED]),
            _step(m.Hello(1), ["welcome"]),
            _step(m.Join("Ann"), ["joined"]),
            _step(frame(1, head, near, near), []),
            _step(frame(1, head, far, near), [_err(ErrorCode.BAD_VALUE)], judged="room"),
            _step(
                m.Pose(
                    (0.0, 1.6, 0.0),
                    (0.0, 0.0, 0.0, 1.0),
                    1,
                    (1.3, 1.6, 0.0, *hand),
                    (-0.3, 1.2, 0.0, *hand),
                ),
                [_err(ErrorCode.BAD_VALUE)],
                judged="room",
            ),
            _step(
                frame(0x08, head, tail=struct.pack("<I", 999_999)),
                [_err(ErrorCode.BAD_VALUE)],
                judged="room",
            ),
            _step(
                m.Pose((0.0, 1.6, 0.0), (0.0, 0.0, 0.0, 1.0), ack=999_999),
                [_err(ErrorCode.BAD_VALUE)],
                judged="room",
            ),
            _step(frame(0x04, head, tail=struct.pack("<I", 3)), []),
            _step(frame(0x00, head[:5]), [_err(ErrorCode.MALFORMED)]),
            _step(frame(0x03, head, near, near), [_err(ErrorCode.BAD_VALUE)]),
        ],
    }


# --- room layouts ---------------------------------------------------------------------------


def _layout_case(
    name: str, rule: str, live: str | None, claim: str | None, outcome: str | CloseCode
) -> Json:
    case: Json = {"name": name, "rule": rule, "default": "private_room"}
    case |= {"live": live, "claim": claim}
    if isinstance(outcome, CloseCode):
        return case | {"close": outcome.name, "code": int(outcome)}
    return case | {"welcome": outcome}


def layouts() -> list[Json]:
    opened, kept = "a new room takes the claim", "a live room keeps its layout"
    return [
        _layout_case("new-claimed", opened, None, "seminar_room", "seminar_room"),
        _layout_case("new-unclaimed", "else the server's default", None, None, "private_room"),
        _layout_case("live-unclaimed", kept, "branch_lobby", None, "branch_lobby"),
        _layout_case("live-same-claim", kept, "branch_lobby", "branch_lobby", "branch_lobby"),
        _layout_case(
            "live-other-claim",
            "a claim for another layout is refused",
            "branch_lobby",
            "private_room",
            CloseCode.LAYOUT_MISMATCH,
        ),
        _layout_case(
            "unknown-claim",
            "a layout the server does not ship makes the token invalid",
            None,
            "ballroom",
            CloseCode.TOKEN_INVALID,
        ),
    ]
