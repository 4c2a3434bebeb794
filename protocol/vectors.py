"""Shared test vectors: frames and what they mean, written to ``vectors.json``.

Every implementation of the protocol (this package, the JavaScript client) is tested against
the JSON file: valid vectors must decode to ``wire`` and encode back to the same bytes; invalid
ones must be refused with ``code``. Regenerate after a deliberate protocol change with
``python -m protocol.vectors`` and review the diff.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from protocol import messages as m
from protocol import rule_vectors
from protocol.codec import encode, pack, to_wire
from protocol.codes import ErrorCode
from protocol.limits import MAX_CHAT_CHARS, MAX_FRAME_BYTES, MAX_QUESTION_CHARS, MAX_SDP_CHARS
from protocol.pose import AvatarPose, HandMode, Part
from protocol.quantise import pack_quat

PATH = Path(__file__).with_name("vectors.json")

_ANN = AvatarPose(Part((0, 1200, 1100), pack_quat((0.0, 1.0, 0.0, 0.0)))).pack()
_BO = AvatarPose(
    Part((-1250, 1600, -1100), pack_quat((0.0, 0.0, 0.0, 1.0))),
    HandMode.CONTROLLERS,
    Part((-1500, 1100, -900), pack_quat((0.0, 0.0, 0.0, 1.0))),
    Part((-1000, 1100, -900), pack_quat((0.0, 0.0, 0.0, 1.0))),
).pack()
_BO_MOVED = AvatarPose(Part((-1200, 1605, -1100), 123456789)).pack()
# The look an avatar has until restyled (avatars.appearance.DEFAULT_LOOK), spelled out because
# the wire layer imports nothing above it; tests/protocol/test_codec.py checks that the two agree.
DEFAULT_LOOK = m.Look(
    body="average",
    height=170,
    skin="#c99a7a",
    hair="short",
    hair_color="#2b1d14",
    top="#1f3a5f",
    bottom="#2d2d2d",
    accent="#c8a951",
    face="oval",
)
_BO_LOOK = ("broad", 182, "#8d5524", "short", "#111111", "#222b3a", "#3a3a3a", "#9b1b30", "square")

_BRIEF = m.AdvisorBrief(
    "risk class above the customer's profile",
    [
        m.BriefTurn("Tell me about the balanced fund", "funds", "Balanced Fund: Risk class R3."),
        m.BriefTurn("佢嘅收費係幾多？", "funds", "管理費每年1.2%。", True),
        m.BriefTurn("What about the Asia equity fund?", "funds", ""),
    ],
    [
        m.BriefProduct("fund-balanced", "Balanced Fund", "funds", 3),
        m.BriefProduct("fund-equity-asia", "Asia Equity Fund", "funds", 4),
    ],
    [
        m.BriefDecision("funds", "ok", "within the customer's risk profile", "fund-balanced"),
        m.BriefDecision("funds", "handoff", "risk class above the profile", "fund-equity-asia"),
    ],
)

VALID: list[tuple[str, m.Message]] = [
    ("hello", m.Hello(1, "web/1.0")),
    ("hello-minimal", m.Hello(1)),
    ("join", m.Join("Wang Li")),
    ("join-resume", m.Join("王丽", since=42)),
    ("pose", m.Pose((0.5, 1.6, -1.25), (0.0, 0.38268343236509, 0.0, 0.923879532511287))),
    (
        "pose-vr-hands",
        m.Pose(
            (0.5, 1.6, -1.25),
            (0.0, 0.38268343236509, 0.0, 0.923879532511287),
            2,
            (0.25, 1.25, -1.5, 0.0, 0.0, 0.0, 1.0),
            (0.75, 1.25, -1.5, 0.0, 0.0, 0.0, 1.0),
        ),
    ),
    ("look", m.Restyle(m.Look(hair="bob", top="#7a1f3d"))),
    ("sit", m.Sit("seat-customer")),
    ("stand", m.Stand()),
    (
        "join-with-look",
        m.Join("Li Na", look=m.Look(body="slim", height=165, skin="#e0b899", hair="long")),
    ),
    ("ack", m.Ack(1234)),
    ("chat", m.Chat("Could you explain this bond fund? 这只债券基金的风险等级是多少？")),
    ("remove", m.Remove(7)),
    ("leave", m.Leave()),
    ("ping", m.Ping(4294967295)),
    (
        "welcome",
        m.Welcome(1, 3, "demo", "customer", 30, 17, MAX_FRAME_BYTES, 120),
    ),
    (
        "welcome-layout",
        m.Welcome(1, 3, "seminar-7", "guest", 30, 0, MAX_FRAME_BYTES, 120, "seminar_room"),
    ),
    (
        "snapshot",
        m.Snapshot(
            90,
            [
                m.Ent(1, "avatar", 1, "Ann", "customer", DEFAULT_LOOK, "seat-customer", _ANN),
                m.Ent(2, "avatar", 2, "Bo", "advisor", m.Look(*_BO_LOOK), "", _BO),
            ],
        ),
    ),
    ("delta", m.Delta(91, 88, [m.Ent(2, x=_BO_MOVED)], [5, 6])),
    ("delta-restyle-and-sit", m.Delta(93, 92, [m.Ent(2, a=m.Look(*_BO_LOOK), s="advisor-spot")])),
    ("delta-empty", m.Delta(92, 91)),
    ("chat-posted", m.ChatPosted(18, 3, "Ann", "hello", 1795430000123)),
    ("joined", m.Joined(19, 4, "Bo", "advisor", 1795430000456)),
    ("left", m.Left(20, 4, "left", 1795430000789)),
    ("pong", m.Pong(9)),
    ("ask", m.Ask("我想比较债券基金和养老保险", lang="zh", gender="female")),
    ("ask-minimal", m.Ask("What about my bonds?")),
    ("summon", m.Summon("bonds", lang="yue", persona="bonds-wong")),
    ("dismiss", m.Dismiss(12)),
    ("dismiss-all", m.Dismiss(0)),
    ("help", m.Help()),
    ("present", m.Present("Your allocation", ["Bonds", "Equities"], [62.5, 37.5])),
    ("unpresent", m.Unpresent("screen-main")),
    ("verify", m.Verify("492039")),
    ("portfolio", m.ViewPortfolio()),
    ("interest", m.ConfirmInterest("fund-global-bond")),
    ("presence", m.SetPresence("busy")),
    ("accept", m.Accept("demo-1795430000123-1")),
    ("decline", m.Decline("appt-5f0c2a9e41b7d308")),
    ("offer", m.Offer(1795435200000, 1795437000000)),
    ("book", m.Book("5f0c2a9e41b7d308")),
    ("cancel", m.Cancel("5f0c2a9e41b7d308")),
    ("move-to-slot", m.Move("5f0c2a9e41b7d308", to="9a1e77c04d2b6f15")),
    ("move-to-time", m.Move("5f0c2a9e41b7d308", start=1795438800000)),
    (
        "snapshot-expert-and-screen",
        m.Snapshot(
            120,
            [
                m.Ent(
                    7,
                    "expert",
                    None,
                    "黄嘉欣",
                    "expert",
                    DEFAULT_LOOK,
                    None,
                    _ANN,
                    "bonds-wong",
                    "bonds",
                    "arriving",
                    "AI生成",
                ),
                m.Ent(
                    8, "screen", None, "Your allocation", "screen", None, None, _ANN, c="chart-1"
                ),
            ],
        ),
    ),
    ("delta-expert-leaving", m.Delta(121, 120, [m.Ent(7, e="leaving")])),
    ("asked", m.Asked(21, 3, "Ann", "What about my bonds?", ["bonds"], 1795430001000)),
    (
        "expert-arrived",
        m.ExpertCame(
            22,
            7,
            "arrived",
            "bonds-wong",
            "黄嘉欣",
            "bonds",
            "yue",
            "Hong Kong Cantonese",
            "female",
            38,
            "AI生成",
            1795430001010,
        ),
    ),
    (
        "answer",
        m.Answer(
            23,
            "Government bonds carry risk class R2.",
            "AI-generated",
            "en",
            ["bond-gov-5y"],
            False,
            21,
            1795430001050,
            7,
            "bonds",
            2,
            "bond-gov-5y",
        ),
    ),
    (
        "answer-handoff",
        m.Answer(
            24,
            "A human advisor will explain this product.",
            "AI-generated",
            "en",
            [],
            True,
            21,
            1795430001060,
            7,
            "stocks",
            5,
            "note-accumulator",
            "complex product: a human advisor explains it",
        ),
    ),
    (
        "handoff-coming",
        m.Handoff(
            25,
            "demo-1795430000123-1",
            "coming",
            "an advisor accepted",
            1795430002000,
            "stocks",
            "Ms Chan",
            60,
        ),
    ),
    (
        "presented",
        m.Presented(
            26,
            "screen-main",
            "chart-1",
            "Your allocation",
            ["Bonds", "Equities"],
            [62.5, 37.5],
            4,
            1795430003000,
        ),
    ),
    ("verified", m.Verified(1795430300000)),
    (
        "holdings",
        m.Holdings(
            [m.Holding("fund-global-bond", "Global Bond Fund", "funds", 2, 125000.5, "HKD")], 3
        ),
    ),
    ("console", m.ConsoleWelcome("Ms Chan", "available", ["bonds", "stocks"], ["en", "zh"])),
    (
        "pages",
        m.Pages(
            [
                m.PageInfo(
                    "demo-1795430000123-1",
                    "demo",
                    "stocks",
                    "en",
                    "complex product: a human advisor explains it",
                    1795430000123,
                    "Ann",
                    3,
                    "note-accumulator",
                )
            ]
        ),
    ),
    (
        "pages-briefed",
        m.Pages(
            [
                m.PageInfo(
                    "demo-1795430000123-2",
                    "demo",
                    "funds",
                    "yue",
                    "risk class above the customer's profile",
                    1795430000123,
                    "Ann",
                    2,
                    "fund-equity-asia",
                    _BRIEF,
                )
            ]
        ),
    ),
    (
        "pages-appointment-first",
        m.Pages(
            [
                m.PageInfo(
                    "appt-9a1e77c04d2b6f15",
                    "ann-room",
                    "",
                    "en",
                    "booked appointment",
                    1795438800000,
                    "Ann Lee",
                    first=True,
                )
            ]
        ),
    ),
    ("briefing", m.Briefing("demo-1795430000123-2", _BRIEF)),
    ("heard-asked", m.Heard("what are the fees of the asia equity fund", 0.82, "en", "asked")),
    ("heard-confirm", m.Heard("what is the bond yield", 0.31, "en", "confirm")),
    ("heard-type", m.Heard("", 0.0, "yue", "type")),
    (
        "handoff-arrived-read",
        m.Handoff(
            26,
            "demo-1795430000123-2",
            "arrived",
            "your advisor is here",
            1795430062000,
            "funds",
            "Ms Chan",
            read=True,
        ),
    ),
    (
        "accepted",
        m.Accepted(
            "demo-1795430000123-1",
            "demo",
            "eyJhbGciOiJIUzI1NiJ9.e30.c2ln",
            "wss://bank.example/ws/demo",
        ),
    ),
    (
        "slots-console",
        m.Slots(
            [
                m.SlotInfo("5f0c2a9e41b7d308", 1795435200000, 1795437000000, "Ms Chan", "free"),
                m.SlotInfo(
                    "9a1e77c04d2b6f15",
                    1795438800000,
                    1795440600000,
                    "Ms Chan",
                    "booked",
                    "Ann Lee",
                    "ann-room",
                ),
            ]
        ),
    ),
    ("slots-empty", m.Slots([])),
    (
        "appointment",
        m.Appointment(
            "9a1e77c04d2b6f15",
            "ann-room",
            1795438800000,
            1795440600000,
            "Ms Chan",
            "eyJhbGciOiJIUzI1NiJ9.e30.c2ln",
            "wss://bank.example/ws/ann-room",
        ),
    ),
    (
        "delta-media",
        m.Delta(41, 40, [m.Ent(2, mic="off", cam="on"), m.Ent(40, mo=9), m.Ent(3, mic="")], []),
    ),
    ("media-start", m.StartMedia(["audio", "video"], "3d", True)),
    ("media-thin", m.StartMedia(["audio"], "thin")),
    ("media-low-video", m.StartMedia(["audio"], "3d", None, "low")),
    ("media-stop", m.StartMedia([], "none")),
    ("rtc-answer", m.RtcAnswer(1, "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n")),
    (
        "ice",
        m.IceCandidate(1, "candidate:1 1 udp 2122260223 192.0.2.7 54400 typ host", "0", 0),
    ),
    ("ice-end", m.IceCandidate(1, "")),
    ("mute-mic", m.Mute(mic="off")),
    ("camera-on", m.Mute(cam="on")),
    ("record-on", m.Record(True)),
    ("notice-seen", m.NoticeSeen("rec-demo-1795430000")),
    ("voice-ptt", m.Voice("ptt")),
    ("voice-off", m.Voice("off")),
    ("ptt-down", m.PushToTalk(True)),
    ("ptt-up", m.PushToTalk(False)),
    (
        "rtc-offer",
        m.RtcOffer(
            2,
            "v=0\r\no=- 2 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n",
            [m.OfferedTrack("2", "m7.a", 12), m.OfferedTrack("3", "e40.a", 40)],
        ),
    ),
    (
        "ice-servers",
        m.IceServers(
            [
                m.IceServer(["stun:turn.bank.example:3478"]),
                m.IceServer(
                    ["turn:turn.bank.example:3478?transport=udp"],
                    "1795433600:cust-4711",
                    "q0Jx8m7mV3Tn2mQ1b6Hk5W2cY0E=",
                ),
            ],
            1795433600000,
        ),
    ),
    (
        "recording-on",
        m.Recording(
            77,
            True,
            "rec-demo-1795430000",
            3,
            "This conversation is being recorded for regulatory purposes.",
            2555,
            1795430000123,
        ),
    ),
    ("invite", m.Invite(uses=2, ttl=86400)),
    ("invite-minimal", m.Invite()),
    ("revoke", m.Revoke("inv-3fa85f64a1b2")),
    (
        "invitation-open",
        m.Invitation(
            "inv-3fa85f64a1b2",
            "open",
            2,
            1795516400000,
            "https://bank.example/room.html#room=demo&invite=eyJhbGciOiJIUzI1NiJ9.e30.c2ln",
            '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><path d="M0 0h4"/></svg>',
        ),
    ),
    ("invitation-revoked", m.Invitation("inv-3fa85f64a1b2", "revoked", 2, 1795516400000)),
    ("notice-guest", m.Notice("guest", "You are a guest in a private banking session.")),
    ("error", m.Error(int(ErrorCode.FORBIDDEN), "a guest may not remove_member", "remove")),
    (
        "error-fatal",
        m.Error(int(ErrorCode.RATE_LIMITED), "too many messages; slow down", None, True),
    ),
]


def _invalid() -> list[tuple[str, str, bytes, ErrorCode]]:
    ok_chat = encode(m.Chat("hi"))
    return [
        ("garbage", "client", b"\xc1\xff\x00garbage", ErrorCode.MALFORMED),
        ("truncated", "client", ok_chat[:-1], ErrorCode.MALFORMED),
        ("trailing-bytes", "client", ok_chat + b"\x00", ErrorCode.MALFORMED),
        ("empty", "client", b"", ErrorCode.MALFORMED),
        ("not-a-map", "client", pack(["chat", "hi"]), ErrorCode.MALFORMED),
        ("int-map-key", "client", pack({"t": "chat", 1: "x"}), ErrorCode.MALFORMED),
        ("invalid-utf8", "client", b"\x82\xa1t\xa4chat\xa4text\xa2\xff\xfe", ErrorCode.MALFORMED),
        ("ext-type", "client", b"\x82\xa1t\xa4chat\xa4text\xd4\x05\x00", ErrorCode.MALFORMED),
        ("no-type", "client", pack({"text": "hi"}), ErrorCode.MISSING_FIELD),
        ("type-not-string", "client", pack({"t": 3}), ErrorCode.WRONG_TYPE),
        ("unknown-type", "client", pack({"t": "teleport"}), ErrorCode.UNKNOWN_TYPE),
        ("server-type-from-client", "client", encode(m.Pong(1)), ErrorCode.UNKNOWN_TYPE),
        (
            "unknown-field",
            "client",
            pack({"t": "chat", "text": "hi", "x": 1}),
            ErrorCode.UNKNOWN_FIELD,
        ),
        ("missing-field", "client", pack({"t": "chat"}), ErrorCode.MISSING_FIELD),
        (
            "offer-time-as-text",
            "client",
            pack({"t": "offer", "start": "2026-12-07T09:00", "end": 1795437000000}),
            ErrorCode.WRONG_TYPE,
        ),
        (
            "offer-negative-time",
            "client",
            pack({"t": "offer", "start": -1, "end": 1795437000000}),
            ErrorCode.BAD_VALUE,
        ),
        (
            "move-time-past-2-53",
            "client",
            pack({"t": "move", "slot": "a", "start": 2**53}),
            ErrorCode.BAD_VALUE,
        ),
        ("book-empty-slot", "client", pack({"t": "book", "slot": ""}), ErrorCode.BAD_VALUE),
        ("wrong-type-str", "client", pack({"t": "chat", "text": 5}), ErrorCode.WRONG_TYPE),
        (
            "wrong-type-bool-as-int",
            "client",
            pack({"t": "ack", "tick": True}),
            ErrorCode.WRONG_TYPE,
        ),
        (
            "wrong-type-bin-as-str",
            "client",
            pack({"t": "chat", "text": b"hi"}),
            ErrorCode.WRONG_TYPE,
        ),
        ("negative-tick", "client", pack({"t": "ack", "tick": -1}), ErrorCode.BAD_VALUE),
        (
            "pose-nan",
            "client",
            pack({"t": "pose", "p": [math.nan, 0.0, 0.0], "q": [0.0, 0.0, 0.0, 1.0]}),
            ErrorCode.BAD_VALUE,
        ),
        (
            "pose-inf",
            "client",
            pack({"t": "pose", "p": [0.0, math.inf, 0.0], "q": [0.0, 0.0, 0.0, 1.0]}),
            ErrorCode.BAD_VALUE,
        ),
        (
            "pose-short-vector",
            "client",
            pack({"t": "pose", "p": [0.0, 0.0], "q": [0.0, 0.0, 0.0, 1.0]}),
            ErrorCode.BAD_VALUE,
        ),
        (
            "pose-out-of-range",
            "client",
            pack({"t": "pose", "p": [5000.0, 0.0, 0.0], "q": [0.0, 0.0, 0.0, 1.0]}),
            ErrorCode.BAD_VALUE,
        ),
        (
            "chat-too-long",
            "client",
            pack({"t": "chat", "text": "x" * (MAX_CHAT_CHARS + 1)}),
            ErrorCode.TOO_LONG,
        ),
        ("chat-empty", "client", pack({"t": "chat", "text": ""}), ErrorCode.BAD_VALUE),
        (
            "look-unknown-field",
            "client",
            pack({"t": "look", "look": {"cape": "#ffffff"}}),
            ErrorCode.UNKNOWN_FIELD,
        ),
        (
            "look-bad-colour",
            "client",
            pack({"t": "look", "look": {"top": "red"}}),
            ErrorCode.BAD_VALUE,
        ),
        (
            "look-bad-hairstyle",
            "client",
            pack({"t": "look", "look": {"hair": "mohawk"}}),
            ErrorCode.BAD_VALUE,
        ),
        ("look-not-a-map", "client", pack({"t": "look", "look": "smart"}), ErrorCode.WRONG_TYPE),
        ("join-name-too-long", "client", pack({"t": "join", "name": "n" * 65}), ErrorCode.TOO_LONG),
        (
            "pose-hand-short",
            "client",
            pack(
                {
                    "t": "pose",
                    "p": [0.0, 1.6, 0.0],
                    "q": [0.0, 0.0, 0.0, 1.0],
                    "hm": 1,
                    "lh": [0.0, 1.0, 0.0],
                    "rh": [0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0],
                }
            ),
            ErrorCode.BAD_VALUE,
        ),
        (
            "pose-bad-hand-mode",
            "client",
            pack({"t": "pose", "p": [0.0, 1.6, 0.0], "q": [0.0, 0.0, 0.0, 1.0], "hm": 7}),
            ErrorCode.BAD_VALUE,
        ),
        (
            "ent-pose-wrong-size",
            "server",
            pack(
                {
                    "t": "delta",
                    "tick": 2,
                    "base": 1,
                    "ents": [{"i": 1, "x": b"\x00" * 5}],
                    "gone": [],
                }
            ),
            ErrorCode.BAD_VALUE,
        ),
        ("server-unknown-type", "server", pack({"t": "hello", "v": 1}), ErrorCode.UNKNOWN_TYPE),
        ("ask-empty", "client", pack({"t": "ask", "text": ""}), ErrorCode.BAD_VALUE),
        (
            "ask-too-long",
            "client",
            pack({"t": "ask", "text": "x" * (MAX_QUESTION_CHARS + 1)}),
            ErrorCode.TOO_LONG,
        ),
        (
            "ask-bad-language",
            "client",
            pack({"t": "ask", "text": "hi", "lang": "fr"}),
            ErrorCode.BAD_VALUE,
        ),
        (
            "summon-unknown-specialty",
            "client",
            pack({"t": "summon", "sp": "crypto"}),
            ErrorCode.BAD_VALUE,
        ),
        ("dismiss-negative", "client", pack({"t": "dismiss", "expert": -1}), ErrorCode.BAD_VALUE),
        (
            "present-nan",
            "client",
            pack({"t": "present", "title": "x", "labels": ["a"], "values": [math.nan]}),
            ErrorCode.BAD_VALUE,
        ),
        (
            "present-too-many-items",
            "client",
            pack({"t": "present", "title": "x", "labels": ["a"] * 13, "values": [1.0] * 13}),
            ErrorCode.TOO_LONG,
        ),
        ("verify-short-code", "client", pack({"t": "verify", "code": "123"}), ErrorCode.BAD_VALUE),
        ("verify-int-code", "client", pack({"t": "verify", "code": 123456}), ErrorCode.WRONG_TYPE),
        (
            "presence-unknown",
            "client",
            pack({"t": "presence", "state": "asleep"}),
            ErrorCode.BAD_VALUE,
        ),
        ("answer-from-client", "client", encode(m.Verified(1)), ErrorCode.UNKNOWN_TYPE),
        (
            "media-unknown-kind",
            "client",
            pack({"t": "media", "send": ["hologram"]}),
            ErrorCode.BAD_VALUE,
        ),
        (
            "media-unknown-view",
            "client",
            pack({"t": "media", "send": [], "view": "4d"}),
            ErrorCode.BAD_VALUE,
        ),
        (
            "rtc-answer-too-long",
            "client",
            pack({"t": "rtc_answer", "n": 1, "sdp": "a" * (MAX_SDP_CHARS + 1)}),
            ErrorCode.TOO_LONG,
        ),
        ("rtc-answer-no-sdp", "client", pack({"t": "rtc_answer", "n": 1}), ErrorCode.MISSING_FIELD),
        (
            "ice-candidate-not-string",
            "client",
            pack({"t": "ice", "n": 1, "cand": 5}),
            ErrorCode.WRONG_TYPE,
        ),
        ("mute-unknown-state", "client", pack({"t": "mute", "mic": "maybe"}), ErrorCode.BAD_VALUE),
        ("voice-unknown-mode", "client", pack({"t": "voice", "mode": "loud"}), ErrorCode.BAD_VALUE),
        ("ptt-not-bool", "client", pack({"t": "ptt", "on": 1}), ErrorCode.WRONG_TYPE),
        (
            "heard-from-client",
            "client",
            encode(m.Heard("hi", 0.5, "en", "asked")),
            ErrorCode.UNKNOWN_TYPE,
        ),
        (
            "media-unknown-quality",
            "client",
            pack({"t": "media", "send": [], "q": "ultra"}),
            ErrorCode.BAD_VALUE,
        ),
        ("record-not-bool", "client", pack({"t": "record", "on": 1}), ErrorCode.WRONG_TYPE),
        ("invite-no-uses", "client", pack({"t": "invite", "uses": 0}), ErrorCode.BAD_VALUE),
        ("invite-too-long", "client", pack({"t": "invite", "ttl": 8 * 86400}), ErrorCode.BAD_VALUE),
        ("revoke-empty-id", "client", pack({"t": "revoke", "id": ""}), ErrorCode.BAD_VALUE),
        ("offer-from-client", "client", pack({"t": "rtc_offer", "n": 1}), ErrorCode.UNKNOWN_TYPE),
    ]


def jsonable(value: Any) -> Any:
    """JSON has no binary type: msgpack ``bin`` values become ``{"bin": "<hex>"}``."""
    if isinstance(value, bytes):
        return {"bin": value.hex()}
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def build() -> dict[str, Any]:
    valid = [
        {
            "name": name,
            "direction": msg.DIRECTION.value,
            "hex": encode(msg).hex(),
            "wire": jsonable(to_wire(msg)),
            # JSON cannot tell 1.0 from 1: where this is true, an encoder must write the
            # float fields (pose, chart values, holdings) as float64 to reproduce the bytes exactly.
            "float64_fields": isinstance(msg, m.Pose | m.Present | m.Presented | m.Holdings),
        }
        for name, msg in VALID
    ]
    invalid = [
        {"name": name, "direction": d, "hex": data.hex(), "code": int(code), "error": code.name}
        for name, d, data, code in _invalid()
    ]
    return {
        "about": "Wealthroom protocol v1 test vectors; see protocol/SPEC.md. Generated by "
        "`python -m protocol.vectors`; hex is the exact frame payload.",
        "version": 1,
        "valid": valid,
        "invalid": invalid,
        # The rules single frames do not show (see protocol/rule_vectors.py).
        "accepted": rule_vectors.accepted(),
        "precedence": rule_vectors.precedence(),
        "positions": rule_vectors.positions(),
        "rotations": rule_vectors.rotations(),
        "sessions": rule_vectors.sessions(),
        "pose_frames": rule_vectors.pose_frames(),
        "layouts": rule_vectors.layouts(),
    }


def main() -> None:
    PATH.write_text(json.dumps(build(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {PATH}")


if __name__ == "__main__":
    main()
