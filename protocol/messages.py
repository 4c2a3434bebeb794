"""The v1 message catalogue. Each class is one message; its ``FIELDS`` are the spec.

Field names are the wire keys (short on purpose: they are sent thousands of times a second).
Client-to-server and server-to-client catalogues are separate: a type that exists in one
direction is unknown in the other, which keeps a client from sending server-only frames.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import Any, ClassVar

from protocol import limits
from protocol.schema import Bool, Bytes, Colour, Field, Float, Int, ListOf, OneOf, Str, Struct, Vec

U32 = Int(0, limits.UINT32_MAX)
U53 = Int(0, 2**53 - 1)  # the largest integer JavaScript holds exactly
MEMBER_ID = Int(1, limits.UINT32_MAX)


class Direction(Enum):
    CLIENT = "client"  # client -> server
    SERVER = "server"  # server -> client


class Message:
    """Base of every message: ``TYPE`` is the value of the ``t`` key."""

    TYPE: ClassVar[str]
    DIRECTION: ClassVar[Direction]
    SCHEMA: ClassVar[Struct]
    RELIABLE: ClassVar[bool] = False


CLIENT_MESSAGES: dict[str, type[Message]] = {}
SERVER_MESSAGES: dict[str, type[Message]] = {}


def _message(type_: str, direction: Direction, *fields: Field, reliable: bool = False) -> Any:
    def register(cls: type[Message]) -> type[Message]:
        cls.TYPE = type_
        cls.DIRECTION = direction
        cls.RELIABLE = reliable
        cls.SCHEMA = Struct(type_, cls, tuple(fields))
        table = CLIENT_MESSAGES if direction is Direction.CLIENT else SERVER_MESSAGES
        assert type_ not in table, type_
        table[type_] = cls
        return cls

    return register


# --- nested records -------------------------------------------------------------------------

BODIES = frozenset({"slim", "average", "broad"})


class Specialty(StrEnum):
    """The bank's specialties by their wire names, one digital expert persona family each.

    The one list of them: ``avatars.specialties`` adds what a customer reads next to each.
    """

    STOCKS = "stocks"
    BONDS = "bonds"
    FUNDS = "funds"
    INSURANCE = "insurance"
    DEPOSITS = "deposits"  # deposits and cash management
    FX = "fx"  # foreign exchange
    TAX = "tax"  # tax and estate planning


SPECIALTIES = frozenset(s.value for s in Specialty)
LANGUAGES = frozenset({"en", "zh", "yue"})
GENDERS = frozenset({"female", "male"})
EXPERT_STATES = frozenset({"arriving", "present", "leaving"})
ADVISOR_STATES = frozenset({"available", "busy", "away"})
HANDOFF_STATES = frozenset({"paging", "coming", "arrived", "unavailable", "cancelled"})
VERDICTS = frozenset({"ok", "disclose", "handoff"})
HAIRSTYLES = frozenset({"none", "short", "bob", "long", "bun", "curly", "ponytail"})
FACES = frozenset({"oval", "round", "square", "heart", "long"})
MEDIA_KINDS = frozenset({"audio", "video"})
# 3d: the client draws the room and gets every member's audio and video and the experts'
# voices; video: as 3d, plus each expert drawn by the server as a video (flat clients);
# thin: one video of the room drawn from the member's viewpoint, and all audio; none: stop.
MEDIA_VIEWS = frozenset({"3d", "video", "thin", "none"})
DEVICE_STATES = frozenset({"on", "off"})
VOICE_MODES = frozenset({"off", "ptt", "free"})
HEARD_STATES = frozenset({"asked", "confirm", "type", "cut", "none"})
INVITE_STATES = frozenset({"open", "revoked"})
NOTICE_KINDS = frozenset({"guest"})
VIDEO_QUALITIES = frozenset({"high", "low"})
MOUTH_LEVELS = 15
SLOT_STATES = frozenset({"free", "booked", "honoured"})


@dataclass(frozen=True, slots=True)
class Look:
    """How an avatar looks. Every field has a default; a client sends only what it changes."""

    body: str | None = None
    height: int | None = None
    skin: str | None = None
    hair: str | None = None
    hair_color: str | None = None
    top: str | None = None
    bottom: str | None = None
    accent: str | None = None
    face: str | None = None


LOOK = Struct(
    "look",
    Look,
    (
        Field("body", OneOf(BODIES), False, "build"),
        Field("height", Int(140, 210), False, "height, centimetres"),
        Field("skin", Colour(), False, "skin tone"),
        Field("hair", OneOf(HAIRSTYLES), False, "hairstyle"),
        Field("hair_color", Colour(), False),
        Field("top", Colour(), False, "outfit: jacket or top"),
        Field("bottom", Colour(), False, "outfit: trousers or skirt"),
        Field("accent", Colour(), False, "outfit: tie, scarf or pocket square"),
        Field("face", OneOf(FACES), False, "face shape"),
    ),
)


@dataclass(frozen=True, slots=True)
class Ent:
    """One entity's replicated state. Absent fields did not change since the delta's base."""

    i: int
    k: str | None = None
    m: int | None = None
    n: str | None = None
    r: str | None = None
    a: Look | None = None
    s: str | None = None
    x: bytes | None = None
    p: str | None = None
    sp: str | None = None
    e: str | None = None
    l: str | None = None  # noqa: E741  (the wire key)
    c: str | None = None
    mic: str | None = None
    cam: str | None = None
    mo: int | None = None


ENT = Struct(
    "ent",
    Ent,
    (
        Field("i", U32, doc="entity id, never reused within a room"),
        Field("k", Str(16, 1), False, "kind: avatar, expert or screen"),
        Field("m", MEMBER_ID, False, "owning member id"),
        Field("n", Str(limits.MAX_NAME_CHARS), False, "display name"),
        Field("r", Str(16, 1), False, "owner's role"),
        Field("a", LOOK, False, "appearance, complete (defaults filled in)"),
        Field("s", Str(limits.MAX_SEAT_CHARS), False, "seat id, empty when standing"),
        Field("x", Bytes(11, 31), False, "packed pose: head and hands (see Packed pose)"),
        Field("p", Str(limits.MAX_ID_CHARS, 1), False, "expert: persona id"),
        Field("sp", OneOf(SPECIALTIES), False, "expert: specialty"),
        Field("e", OneOf(EXPERT_STATES), False, "expert: arriving, present or leaving (animate)"),
        Field("l", Str(limits.MAX_LABEL_CHARS, 1), False, "AI label shown on the avatar"),
        Field("c", Str(limits.MAX_ID_CHARS), False, "screen: id of the content shown, empty: none"),
        Field("mic", OneOf(DEVICE_STATES | {""}), False, "microphone on/off; empty: none"),
        Field("cam", OneOf(DEVICE_STATES | {""}), False, "camera on/off; empty: none"),
        Field("mo", Int(0, MOUTH_LEVELS), False, "expert: mouth opening while speaking, 0 closed"),
    ),
)


# --- client -> server -----------------------------------------------------------------------

C = Direction.CLIENT
S = Direction.SERVER


@_message(
    "hello",
    C,
    Field("v", Int(1, 65535), doc="protocol major version the client speaks"),
    Field("client", Str(limits.MAX_CLIENT_CHARS), False, "client name/version, for logs"),
)
@dataclass(frozen=True, slots=True)
class Hello(Message):
    v: int
    client: str | None = None


@_message(
    "join",
    C,
    Field("name", Str(limits.MAX_NAME_CHARS, 1), doc="display name above the avatar"),
    Field("since", U53, False, "last reliable seq seen; missed ones are replayed"),
    Field("look", LOOK, False, "appearance; omitted fields take defaults"),
)
@dataclass(frozen=True, slots=True)
class Join(Message):
    name: str
    since: int | None = None
    look: Look | None = None


_COORD = Float(-limits.MAX_COORD_M, limits.MAX_COORD_M)
_QC = Float(-1.01, 1.01)
_HAND = Vec(_COORD, 7)


@_message(
    "pose",
    C,
    Field("p", Vec(_COORD, 3), doc="head (or body) position, metres, Y up"),
    Field("q", Vec(_QC, 4), doc="head rotation quaternion x, y, z, w"),
    Field("hm", Int(0, 2), False, "hand mode: 0 none, 1 controllers, 2 tracked hands"),
    Field("lh", _HAND, False, "left hand x, y, z, qx, qy, qz, qw (required when hm > 0)"),
    Field("rh", _HAND, False, "right hand, as lh"),
    Field("ack", U53, False, "same as an ack message; saves a frame for moving members"),
    Field("n", U32, False, "sender's pose counter: on the data channel, older poses are dropped"),
)
@dataclass(frozen=True, slots=True)
class Pose(Message):
    p: tuple[float, float, float]
    q: tuple[float, float, float, float]
    hm: int | None = None
    lh: tuple[float, ...] | None = None
    rh: tuple[float, ...] | None = None
    ack: int | None = None
    n: int | None = None


@_message("look", C, Field("look", LOOK, doc="the fields to change"))
@dataclass(frozen=True, slots=True)
class Restyle(Message):
    look: Look


@_message("sit", C, Field("seat", Str(limits.MAX_SEAT_CHARS, 1), doc="seat id from the layout"))
@dataclass(frozen=True, slots=True)
class Sit(Message):
    seat: str


@_message("stand", C)
@dataclass(frozen=True, slots=True)
class Stand(Message):
    pass


@_message("ack", C, Field("tick", U53, doc="newest state tick the client has applied"))
@dataclass(frozen=True, slots=True)
class Ack(Message):
    tick: int


@_message("chat", C, Field("text", Str(limits.MAX_CHAT_CHARS, 1)))
@dataclass(frozen=True, slots=True)
class Chat(Message):
    text: str


@_message("remove", C, Field("member", MEMBER_ID, doc="member to remove from the room"))
@dataclass(frozen=True, slots=True)
class Remove(Message):
    member: int


@_message("leave", C)
@dataclass(frozen=True, slots=True)
class Leave(Message):
    pass


@_message("ping", C, Field("n", U32, doc="nonce echoed in pong"))
@dataclass(frozen=True, slots=True)
class Ping(Message):
    n: int


# --- client -> server: experts, advisors, the wall screen --------------------------------------


@_message(
    "ask",
    C,
    Field("text", Str(limits.MAX_QUESTION_CHARS, 1), doc="the question, any language"),
    Field("lang", OneOf(LANGUAGES), False, "preferred expert language (else the question's)"),
    Field("gender", OneOf(GENDERS), False, "preferred expert gender"),
    Field("persona", Str(limits.MAX_ID_CHARS, 1), False, "a particular persona, if it fits"),
)
@dataclass(frozen=True, slots=True)
class Ask(Message):
    text: str
    lang: str | None = None
    gender: str | None = None
    persona: str | None = None


@_message(
    "summon",
    C,
    Field("sp", OneOf(SPECIALTIES), doc="specialty of the expert to bring in"),
    Field("lang", OneOf(LANGUAGES), False, "preferred language"),
    Field("gender", OneOf(GENDERS), False, "preferred gender"),
    Field("persona", Str(limits.MAX_ID_CHARS, 1), False, "a particular persona"),
)
@dataclass(frozen=True, slots=True)
class Summon(Message):
    sp: str
    lang: str | None = None
    gender: str | None = None
    persona: str | None = None


@_message("dismiss", C, Field("expert", U32, doc="expert entity id; 0 dismisses every expert"))
@dataclass(frozen=True, slots=True)
class Dismiss(Message):
    expert: int


@_message("help", C)
@dataclass(frozen=True, slots=True)
class Help(Message):
    """The one-touch "talk to a person" button."""


@_message(
    "present",
    C,
    Field("title", Str(limits.MAX_TITLE_CHARS, 1)),
    Field("labels", ListOf(Str(limits.MAX_TITLE_CHARS, 1), limits.MAX_CHART_ITEMS)),
    Field("values", ListOf(Float(0.0, 1e15), limits.MAX_CHART_ITEMS), doc="one per label"),
    Field("screen", Str(limits.MAX_ID_CHARS, 1), False, "screen id; default the room's first"),
)
@dataclass(frozen=True, slots=True)
class Present(Message):
    """An allocation chart on a wall screen, drawn the same by every client and the server."""

    title: str
    labels: list[str]
    values: list[float]
    screen: str | None = None


@_message("unpresent", C, Field("screen", Str(limits.MAX_ID_CHARS, 1), False))
@dataclass(frozen=True, slots=True)
class Unpresent(Message):
    screen: str | None = None


# --- client -> server: sensitive actions, behind a second factor -------------------------------


@_message("verify", C, Field("code", Str(8, 6), doc="the 6-8 digit code from the authenticator"))
@dataclass(frozen=True, slots=True)
class Verify(Message):
    code: str


@_message("portfolio", C)
@dataclass(frozen=True, slots=True)
class ViewPortfolio(Message):
    """Show me my holdings (needs a recent ``verify``)."""


@_message("interest", C, Field("product", Str(limits.MAX_ID_CHARS, 1), doc="product id"))
@dataclass(frozen=True, slots=True)
class ConfirmInterest(Message):
    """I want this product: an advisor follows up (needs a recent ``verify``)."""

    product: str


# --- client -> server: the advisor console (endpoint /console) ---------------------------------


@_message("presence", C, Field("state", OneOf(ADVISOR_STATES)))
@dataclass(frozen=True, slots=True)
class SetPresence(Message):
    state: str


@_message("accept", C, Field("page", Str(limits.MAX_ID_CHARS, 1), doc="id of the page to take"))
@dataclass(frozen=True, slots=True)
class Accept(Message):
    page: str


@_message(
    "decline",
    C,
    Field("page", Str(limits.MAX_ID_CHARS, 1), doc="a page offered to you first: pass it on"),
)
@dataclass(frozen=True, slots=True)
class Decline(Message):
    page: str


# --- client -> server: appointments (endpoints /console and /book) ----------------------------


@_message(
    "offer",
    C,
    Field("start", U53, doc="the slot's start, Unix milliseconds (UTC)"),
    Field("end", U53, doc="the slot's end, Unix milliseconds (UTC)"),
)
@dataclass(frozen=True, slots=True)
class Offer(Message):
    """An advisor publishes a free slot (console only)."""

    start: int
    end: int


@_message("book", C, Field("slot", Str(limits.MAX_ID_CHARS, 1), doc="id of a free slot"))
@dataclass(frozen=True, slots=True)
class Book(Message):
    """A customer books a free slot (/book only)."""

    slot: str


@_message("cancel", C, Field("slot", Str(limits.MAX_ID_CHARS, 1)))
@dataclass(frozen=True, slots=True)
class Cancel(Message):
    """A customer cancels their booking (the slot is free again); an advisor withdraws their
    slot (and the booking in it)."""

    slot: str


@_message(
    "move",
    C,
    Field("slot", Str(limits.MAX_ID_CHARS, 1)),
    Field("to", Str(limits.MAX_ID_CHARS, 1), False, "customer: the free slot to move to"),
    Field("start", U53, False, "advisor: the slot's new start, Unix ms (UTC); length kept"),
)
@dataclass(frozen=True, slots=True)
class Move(Message):
    """Reschedule: a customer moves their booking to another free slot; an advisor moves their
    slot (with its booking) to another time."""

    slot: str
    to: str | None = None
    start: int | None = None


# --- client -> server: media (voice, video, recording) ---------------------------------------


@_message(
    "media",
    C,
    Field("send", ListOf(OneOf(MEDIA_KINDS), 2), doc="what the member sends: audio, video"),
    Field("view", OneOf(MEDIA_VIEWS), False, "what the member receives (default 3d)"),
    Field("dc", Bool(), False, "open the unreliable pose data channel (always on for thin)"),
    Field("q", OneOf(VIDEO_QUALITIES), False, "video received: high (default) or low (weak links)"),
)
@dataclass(frozen=True, slots=True)
class StartMedia(Message):
    send: list[str]
    view: str | None = None
    dc: bool | None = None
    q: str | None = None


@_message(
    "rtc_answer",
    C,
    Field("n", U32, doc="number of the offer this answers"),
    Field("sdp", Str(limits.MAX_SDP_CHARS, 1)),
)
@dataclass(frozen=True, slots=True)
class RtcAnswer(Message):
    n: int
    sdp: str


@_message(
    "ice",
    C,
    Field("n", U32, doc="number of the offer the candidate belongs to"),
    Field("cand", Str(limits.MAX_ICE_CHARS), doc="candidate line; empty: no more candidates"),
    Field("mid", Str(16), False, "media id the candidate is for"),
    Field("idx", Int(0, 255), False, "m-line index, when there is no mid"),
)
@dataclass(frozen=True, slots=True)
class IceCandidate(Message):
    n: int
    cand: str
    mid: str | None = None
    idx: int | None = None


@_message(
    "mute",
    C,
    Field("mic", OneOf(DEVICE_STATES), False, "microphone on or off"),
    Field("cam", OneOf(DEVICE_STATES), False, "camera on or off"),
)
@dataclass(frozen=True, slots=True)
class Mute(Message):
    mic: str | None = None
    cam: str | None = None


@_message(
    "voice",
    C,
    Field("mode", OneOf(VOICE_MODES), doc="off (default), ptt (push-to-talk), free (hands-free)"),
)
@dataclass(frozen=True, slots=True)
class Voice(Message):
    """How the member's microphone asks the experts (see SPEC.md, Speech in)."""

    mode: str


@_message("ptt", C, Field("on", Bool(), doc="the talk button or trigger is held (true) or not"))
@dataclass(frozen=True, slots=True)
class PushToTalk(Message):
    on: bool


@_message("record", C, Field("on", Bool(), doc="start (true) or stop (false) recording"))
@dataclass(frozen=True, slots=True)
class Record(Message):
    on: bool


@_message("seen", C, Field("rec", Str(limits.MAX_ID_CHARS, 1), doc="recording id of the notice"))
@dataclass(frozen=True, slots=True)
class NoticeSeen(Message):
    rec: str


# --- client -> server: guests ----------------------------------------------------------------


@_message(
    "invite",
    C,
    Field("uses", Int(1, limits.MAX_INVITE_USES), False, "how many times the link admits (1)"),
    Field("ttl", Int(60, limits.MAX_INVITE_S), False, "seconds the link stays good (86400)"),
)
@dataclass(frozen=True, slots=True)
class Invite(Message):
    """Mint a guest link for this room (customer or advisor)."""

    uses: int | None = None
    ttl: int | None = None


@_message("revoke", C, Field("id", Str(limits.MAX_ID_CHARS, 1), doc="the invitation's id"))
@dataclass(frozen=True, slots=True)
class Revoke(Message):
    """The invitation's link admits nobody from now on."""

    id: str


# --- server -> client -----------------------------------------------------------------------


@_message(
    "welcome",
    S,
    Field("v", Int(1, 65535)),
    Field("member", MEMBER_ID, doc="this connection's member id"),
    Field("room", Str(limits.MAX_ROOM_ID_CHARS, 1)),
    Field("role", Str(16, 1)),
    Field("tick_hz", Int(1, 240)),
    Field("seq", U53, doc="newest reliable seq in the room"),
    Field("max_frame", U32, doc="largest frame the server accepts, bytes"),
    Field("rate", U32, doc="messages per second allowed, sustained"),
    Field("layout", Str(limits.MAX_ID_CHARS, 1), False, "the room's layout (scenes/layouts)"),
)
@dataclass(frozen=True, slots=True)
class Welcome(Message):
    v: int
    member: int
    room: str
    role: str
    tick_hz: int
    seq: int
    max_frame: int
    rate: int
    layout: str | None = None


@_message(
    "snapshot",
    S,
    Field("tick", U53),
    Field("ents", ListOf(ENT, limits.MAX_ENTITIES), doc="every entity, complete"),
)
@dataclass(frozen=True, slots=True)
class Snapshot(Message):
    tick: int
    ents: list[Ent] = field(default_factory=list)


@_message(
    "delta",
    S,
    Field("tick", U53),
    Field("base", U53, doc="acknowledged tick this delta applies to"),
    Field("ents", ListOf(ENT, limits.MAX_ENTITIES), doc="entities added or changed since base"),
    Field("gone", ListOf(U32, limits.MAX_ENTITIES), doc="entity ids removed since base"),
)
@dataclass(frozen=True, slots=True)
class Delta(Message):
    tick: int
    base: int
    ents: list[Ent] = field(default_factory=list)
    gone: list[int] = field(default_factory=list)


@_message(
    "chat",
    S,
    Field("seq", U53),
    Field("by", MEMBER_ID),
    Field("name", Str(limits.MAX_NAME_CHARS)),
    Field("text", Str(limits.MAX_CHAT_CHARS, 1)),
    Field("at", U53, doc="server time, Unix milliseconds"),
    reliable=True,
)
@dataclass(frozen=True, slots=True)
class ChatPosted(Message):
    seq: int
    by: int
    name: str
    text: str
    at: int


@_message(
    "joined",
    S,
    Field("seq", U53),
    Field("member", MEMBER_ID),
    Field("name", Str(limits.MAX_NAME_CHARS)),
    Field("role", Str(16, 1)),
    Field("at", U53),
    reliable=True,
)
@dataclass(frozen=True, slots=True)
class Joined(Message):
    seq: int
    member: int
    name: str
    role: str
    at: int


@_message(
    "left",
    S,
    Field("seq", U53),
    Field("member", MEMBER_ID),
    Field("reason", Str(limits.MAX_REASON_CHARS)),
    Field("at", U53),
    reliable=True,
)
@dataclass(frozen=True, slots=True)
class Left(Message):
    seq: int
    member: int
    reason: str
    at: int


@_message("pong", S, Field("n", U32))
@dataclass(frozen=True, slots=True)
class Pong(Message):
    n: int


@_message(
    "error",
    S,
    Field("code", Int(0, 65535), doc="ErrorCode"),
    Field("msg", Str(limits.MAX_ERROR_CHARS), doc="human-readable, safe to show"),
    Field("ref", Str(16), False, "type of the message that caused it, when known"),
    Field("fatal", Bool(), False, "true when a close follows"),
)
@dataclass(frozen=True, slots=True)
class Error(Message):
    code: int
    msg: str
    ref: str | None = None
    fatal: bool | None = None


@_message(
    "asked",
    S,
    Field("seq", U53),
    Field("by", MEMBER_ID),
    Field("name", Str(limits.MAX_NAME_CHARS)),
    Field("text", Str(limits.MAX_QUESTION_CHARS, 1)),
    Field("sp", ListOf(OneOf(SPECIALTIES), 7), doc="specialties the question was routed to"),
    Field("at", U53),
    reliable=True,
)
@dataclass(frozen=True, slots=True)
class Asked(Message):
    seq: int
    by: int
    name: str
    text: str
    sp: list[str]
    at: int


@_message(
    "expert",
    S,
    Field("seq", U53),
    Field("e", U32, doc="the expert's entity id"),
    Field("st", OneOf(frozenset({"arrived", "left"}))),
    Field("p", Str(limits.MAX_ID_CHARS, 1), doc="persona id"),
    Field("name", Str(limits.MAX_NAME_CHARS)),
    Field("sp", OneOf(SPECIALTIES)),
    Field("lang", OneOf(LANGUAGES)),
    Field("dialect", Str(limits.MAX_TITLE_CHARS)),
    Field("gender", OneOf(GENDERS)),
    Field("age", Int(18, 99)),
    Field("label", Str(limits.MAX_LABEL_CHARS, 1), doc="AI label: show it with the expert"),
    Field("why", Str(limits.MAX_REASON_CHARS), False, "why it left: dismissed, idle, room full"),
    Field("at", U53),
    reliable=True,
)
@dataclass(frozen=True, slots=True)
class ExpertCame(Message):
    seq: int
    e: int
    st: str
    p: str
    name: str
    sp: str
    lang: str
    dialect: str
    gender: str
    age: int
    label: str
    at: int
    why: str | None = None


@_message(
    "answer",
    S,
    Field("seq", U53),
    Field("text", Str(limits.MAX_ANSWER_CHARS, 1)),
    Field("label", Str(limits.MAX_LABEL_CHARS, 1), doc="AI label: always shown with the text"),
    Field("lang", OneOf(LANGUAGES)),
    Field("src", ListOf(Str(limits.MAX_ID_CHARS, 1), 16), doc="product and FAQ ids"),
    Field("handoff", Bool(), doc="a human advisor takes over this topic"),
    Field("q", U53, doc="seq of the question answered"),
    Field("at", U53),
    Field("e", U32, False, "the answering expert's entity id; absent: the room's concierge"),
    Field("sp", OneOf(SPECIALTIES), False),
    Field("risk", Int(1, 5), False, "risk class R1-R5 of the product discussed"),
    Field("product", Str(limits.MAX_ID_CHARS, 1), False),
    Field("why", Str(limits.MAX_REASON_CHARS), False, "why a human takes over"),
    reliable=True,
)
@dataclass(frozen=True, slots=True)
class Answer(Message):
    seq: int
    text: str
    label: str
    lang: str
    src: list[str]
    handoff: bool
    q: int
    at: int
    e: int | None = None
    sp: str | None = None
    risk: int | None = None
    product: str | None = None
    why: str | None = None


@_message(
    "handoff",
    S,
    Field("seq", U53),
    Field("page", Str(limits.MAX_ID_CHARS, 1)),
    Field("st", OneOf(HANDOFF_STATES)),
    Field("why", Str(limits.MAX_REASON_CHARS)),
    Field("at", U53),
    Field("sp", OneOf(SPECIALTIES), False, "skill asked for; absent for a general request"),
    Field("advisor", Str(limits.MAX_NAME_CHARS), False, "who is coming"),
    Field("eta", U32, False, "expected arrival, seconds"),
    Field("read", Bool(), False, "arrived: the advisor was given the conversation so far"),
    reliable=True,
)
@dataclass(frozen=True, slots=True)
class Handoff(Message):
    seq: int
    page: str
    st: str
    why: str
    at: int
    sp: str | None = None
    advisor: str | None = None
    eta: int | None = None
    read: bool | None = None


@_message(
    "presented",
    S,
    Field("seq", U53),
    Field("screen", Str(limits.MAX_ID_CHARS, 1)),
    Field("c", Str(limits.MAX_ID_CHARS), doc="content id, as in the screen entity; empty: cleared"),
    Field("title", Str(limits.MAX_TITLE_CHARS)),
    Field("labels", ListOf(Str(limits.MAX_TITLE_CHARS, 1), limits.MAX_CHART_ITEMS)),
    Field("values", ListOf(Float(0.0, 1e15), limits.MAX_CHART_ITEMS)),
    Field("by", MEMBER_ID),
    Field("at", U53),
    reliable=True,
)
@dataclass(frozen=True, slots=True)
class Presented(Message):
    seq: int
    screen: str
    c: str
    title: str
    labels: list[str]
    values: list[float]
    by: int
    at: int


@_message(
    "verified",
    S,
    Field("until", U53, doc="sensitive actions allowed until then, Unix milliseconds"),
)
@dataclass(frozen=True, slots=True)
class Verified(Message):
    until: int


@dataclass(frozen=True, slots=True)
class Holding:
    product: str
    name: str
    sp: str
    risk: int
    value: float
    ccy: str


HOLDING = Struct(
    "holding",
    Holding,
    (
        Field("product", Str(limits.MAX_ID_CHARS, 1), doc="product id, as interest names it"),
        Field("name", Str(limits.MAX_TITLE_CHARS), doc="product name to show"),
        Field("sp", OneOf(SPECIALTIES), doc="the specialty the product belongs to"),
        Field("risk", Int(1, 5), doc="risk class R1-R5"),
        Field("value", Float(0.0, 1e15), doc="market value, in ccy"),
        Field("ccy", Str(3, 3), doc="ISO 4217 currency"),
    ),
)


@_message(
    "holdings",
    S,
    Field("items", ListOf(HOLDING, limits.MAX_HOLDINGS)),
    Field("risk", Int(1, 5), False, "the customer's risk profile C1-C5"),
)
@dataclass(frozen=True, slots=True)
class Holdings(Message):
    """The customer's portfolio, sent to them alone."""

    items: list[Holding] = field(default_factory=list)
    risk: int | None = None


# --- server -> client: the advisor console ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class BriefTurn:
    q: str
    by: str
    a: str
    cut: bool | None = None


BRIEF_TURN = Struct(
    "brief_turn",
    BriefTurn,
    (
        Field("q", Str(limits.MAX_BRIEF_TEXT_CHARS, 1), doc="the question, shortened"),
        Field("by", Str(limits.MAX_REASON_CHARS), doc="who answered: specialties or concierge"),
        Field("a", Str(limits.MAX_BRIEF_TEXT_CHARS), doc="the answer, shortened; empty: none yet"),
        Field("cut", Bool(), False, "the answer was interrupted before the customer heard it all"),
    ),
)


@dataclass(frozen=True, slots=True)
class BriefProduct:
    id: str
    name: str
    sp: str
    risk: int


BRIEF_PRODUCT = Struct(
    "brief_product",
    BriefProduct,
    (
        Field("id", Str(limits.MAX_ID_CHARS, 1)),
        Field("name", Str(limits.MAX_TITLE_CHARS)),
        Field("sp", OneOf(SPECIALTIES)),
        Field("risk", Int(1, 5), doc="risk class R1-R5"),
    ),
)


@dataclass(frozen=True, slots=True)
class BriefDecision:
    sp: str
    verdict: str
    why: str
    product: str | None = None


BRIEF_DECISION = Struct(
    "brief_decision",
    BriefDecision,
    (
        Field("sp", OneOf(SPECIALTIES)),
        Field("verdict", OneOf(VERDICTS), doc="suitability: ok, disclose or handoff"),
        Field("why", Str(limits.MAX_REASON_CHARS)),
        Field("product", Str(limits.MAX_ID_CHARS, 1), False),
    ),
)


@dataclass(frozen=True, slots=True)
class AdvisorBrief:
    """What an advisor reads before walking in: for the advisor's eyes only."""

    why: str
    turns: list[BriefTurn] = field(default_factory=list)
    products: list[BriefProduct] = field(default_factory=list)
    decisions: list[BriefDecision] = field(default_factory=list)


BRIEFING = Struct(
    "brief",
    AdvisorBrief,
    (
        Field("why", Str(limits.MAX_REASON_CHARS), doc="why a person was called"),
        Field("turns", ListOf(BRIEF_TURN, limits.MAX_BRIEF_TURNS), doc="last turns, oldest first"),
        Field("products", ListOf(BRIEF_PRODUCT, limits.MAX_BRIEF_ITEMS), doc="products discussed"),
        Field(
            "decisions",
            ListOf(BRIEF_DECISION, limits.MAX_BRIEF_ITEMS),
            doc="suitability decisions, oldest first",
        ),
    ),
)


@dataclass(frozen=True, slots=True)
class PageInfo:
    id: str
    room: str
    sp: str
    lang: str
    why: str
    at: int
    customer: str
    risk: int | None = None
    product: str | None = None
    brief: AdvisorBrief | None = None
    first: bool | None = None


PAGE = Struct(
    "page",
    PageInfo,
    (
        Field("id", Str(limits.MAX_ID_CHARS, 1)),
        Field("room", Str(limits.MAX_ROOM_ID_CHARS, 1)),
        Field("sp", Str(16), doc="specialty asked for; empty: any"),
        Field("lang", OneOf(LANGUAGES)),
        Field("why", Str(limits.MAX_REASON_CHARS)),
        Field("at", U53, doc="raised, Unix milliseconds"),
        Field("customer", Str(limits.MAX_NAME_CHARS), doc="customer's display name"),
        Field("risk", Int(1, 5), False, "customer's risk profile C1-C5"),
        Field("product", Str(limits.MAX_ID_CHARS, 1), False),
        Field("brief", BRIEFING, False, "the conversation so far, for the advisor"),
        Field(
            "first",
            Bool(),
            False,
            "true: offered to you first (your booking); `decline` passes it on",
        ),
    ),
)


@_message(
    "console",
    S,
    Field("name", Str(limits.MAX_NAME_CHARS)),
    Field("state", OneOf(ADVISOR_STATES)),
    Field("skills", ListOf(OneOf(SPECIALTIES), 7)),
    Field("langs", ListOf(OneOf(LANGUAGES), 3)),
)
@dataclass(frozen=True, slots=True)
class ConsoleWelcome(Message):
    name: str
    state: str
    skills: list[str]
    langs: list[str]


@_message(
    "pages", S, Field("pages", ListOf(PAGE, limits.MAX_PAGES), doc="open pages, oldest first")
)
@dataclass(frozen=True, slots=True)
class Pages(Message):
    pages: list[PageInfo] = field(default_factory=list)


@_message(
    "accepted",
    S,
    Field("page", Str(limits.MAX_ID_CHARS, 1)),
    Field("room", Str(limits.MAX_ROOM_ID_CHARS, 1)),
    Field("token", Str(4096, 1), doc="room token for this advisor, short-lived"),
    Field("url", Str(512, 1), doc="WebSocket URL of the room"),
)
@dataclass(frozen=True, slots=True)
class Accepted(Message):
    page: str
    room: str
    token: str
    url: str


@dataclass(frozen=True, slots=True)
class SlotInfo:
    id: str
    start: int
    end: int
    adv: str
    st: str
    customer: str | None = None
    room: str | None = None


SLOT = Struct(
    "slot",
    SlotInfo,
    (
        Field("id", Str(limits.MAX_ID_CHARS, 1)),
        Field("start", U53, doc="Unix milliseconds (UTC); shown in the viewer's time zone"),
        Field("end", U53, doc="Unix milliseconds (UTC)"),
        Field("adv", Str(limits.MAX_NAME_CHARS), doc="the advisor's display name"),
        Field("st", OneOf(SLOT_STATES), doc="free, booked (for a customer: by them), honoured"),
        Field("customer", Str(limits.MAX_NAME_CHARS), False, "who booked it (advisor's view)"),
        Field("room", Str(limits.MAX_ROOM_ID_CHARS, 1), False, "the room it opens"),
    ),
)


@_message(
    "slots",
    S,
    Field(
        "slots",
        ListOf(SLOT, limits.MAX_SLOTS),
        doc="console: the advisor's own slots; /book: free slots and the customer's bookings;"
        " by start",
    ),
)
@dataclass(frozen=True, slots=True)
class Slots(Message):
    slots: list[SlotInfo] = field(default_factory=list)


@_message(
    "appointment",
    S,
    Field("slot", Str(limits.MAX_ID_CHARS, 1)),
    Field("room", Str(limits.MAX_ROOM_ID_CHARS, 1)),
    Field("start", U53, doc="Unix milliseconds (UTC)"),
    Field("end", U53, doc="Unix milliseconds (UTC)"),
    Field("adv", Str(limits.MAX_NAME_CHARS), doc="the booked advisor's display name"),
    Field("token", Str(4096, 1), False, "/book: a room token for the customer, short-lived"),
    Field("url", Str(512, 1), False, "/book: WebSocket URL of the room"),
)
@dataclass(frozen=True, slots=True)
class Appointment(Message):
    """The reminder: the customer's appointment is now and its room is open."""

    slot: str
    room: str
    start: int
    end: int
    adv: str
    token: str | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class OfferedTrack:
    mid: str
    src: str
    ent: int | None = None


OFFERED_TRACK = Struct(
    "track",
    OfferedTrack,
    (
        Field("mid", Str(16, 1), doc="the m-line's media id"),
        Field(
            "src", Str(limits.MAX_ID_CHARS, 1), doc="source: m<member>.a/.v, e<entity>.a/.v, view"
        ),
        Field("ent", U32, False, "the entity it belongs to: the member's avatar or the expert"),
    ),
)


@_message(
    "rtc_offer",
    S,
    Field("n", U32, doc="offer number; answer and ICE candidates quote it"),
    Field("sdp", Str(limits.MAX_SDP_CHARS, 1)),
    Field("tracks", ListOf(OFFERED_TRACK, 64), doc="what each server-to-member m-line carries"),
)
@dataclass(frozen=True, slots=True)
class RtcOffer(Message):
    n: int
    sdp: str
    tracks: list[OfferedTrack] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class IceServer:
    urls: list[str]
    username: str | None = None
    credential: str | None = None


ICE_SERVER = Struct(
    "ice_server",
    IceServer,
    (
        Field("urls", ListOf(Str(limits.MAX_ICE_CHARS, 1), 8), doc="stun:, turn: or turns: URLs"),
        Field("username", Str(limits.MAX_ICE_CHARS), False, "TURN: time-limited user name"),
        Field("credential", Str(limits.MAX_ICE_CHARS), False, "TURN: its password"),
    ),
)


@_message(
    "ice_servers",
    S,
    Field("servers", ListOf(ICE_SERVER, 8), doc="give them to the RTCPeerConnection"),
    Field("until", U53, doc="the TURN credentials expire then, Unix milliseconds"),
)
@dataclass(frozen=True, slots=True)
class IceServers(Message):
    servers: list[IceServer]
    until: int


@_message(
    "recording",
    S,
    Field("seq", U53),
    Field("on", Bool()),
    Field("rec", Str(limits.MAX_ID_CHARS, 1), doc="recording id; acknowledge with seen"),
    Field("by", MEMBER_ID),
    Field("notice", Str(limits.MAX_NOTICE_CHARS), doc="the consent notice to show (on)"),
    Field("days", Int(0, 36500), doc="how long the recording is kept, days"),
    Field("at", U53),
    reliable=True,
)
@dataclass(frozen=True, slots=True)
class Recording(Message):
    seq: int
    on: bool
    rec: str
    by: int
    notice: str
    days: int
    at: int


@_message(
    "heard",
    S,
    Field("text", Str(limits.MAX_QUESTION_CHARS), doc="what was heard (empty for type, none)"),
    Field("conf", Float(0.0, 1.0), doc="the recogniser's confidence, 0..1"),
    Field("lang", OneOf(LANGUAGES), doc="the language it listened for"),
    Field("st", OneOf(HEARD_STATES), doc="asked, confirm, type, cut or none"),
)
@dataclass(frozen=True, slots=True)
class Heard(Message):
    """What the server heard from this member's microphone, to the speaker alone."""

    text: str
    conf: float
    lang: str
    st: str


@_message(
    "briefing",
    S,
    Field("page", Str(limits.MAX_ID_CHARS, 1), doc="the page the advisor answered"),
    Field("brief", BRIEFING),
)
@dataclass(frozen=True, slots=True)
class Briefing(Message):
    """The conversation so far, sent in the room to the arriving advisor alone."""

    page: str
    brief: AdvisorBrief


@_message(
    "invitation",
    S,
    Field("id", Str(limits.MAX_ID_CHARS, 1), doc="the invitation's id (revoke names it)"),
    Field("st", OneOf(INVITE_STATES), doc="open or revoked"),
    Field("uses", Int(1, limits.MAX_INVITE_USES), doc="how many times the link admits"),
    Field("exp", U53, doc="the link is good until then, Unix milliseconds"),
    Field("url", Str(limits.MAX_URL_CHARS), False, "open: the link to give the guest"),
    Field("qr", Str(limits.MAX_QR_CHARS), False, "open: the link as a QR code, SVG"),
)
@dataclass(frozen=True, slots=True)
class Invitation(Message):
    """An invitation the member made (or revoked), to that member alone."""

    id: str
    st: str
    uses: int
    exp: int
    url: str | None = None
    qr: str | None = None


@_message(
    "notice",
    S,
    Field("kind", OneOf(NOTICE_KINDS), doc="guest: what a guest agrees to by staying"),
    Field("text", Str(limits.MAX_NOTICE_CHARS, 1), doc="the notice to show"),
)
@dataclass(frozen=True, slots=True)
class Notice(Message):
    """A notice for this member alone (a guest's consent notice on arrival)."""

    kind: str
    text: str


ClientMessage = (
    Hello
    | Join
    | Pose
    | Restyle
    | Sit
    | Stand
    | Ack
    | Chat
    | Remove
    | Leave
    | Ping
    | Ask
    | Summon
    | Dismiss
    | Help
    | Present
    | Unpresent
    | SetPresence
    | Accept
    | Decline
    | Verify
    | ViewPortfolio
    | ConfirmInterest
    | StartMedia
    | RtcAnswer
    | IceCandidate
    | Mute
    | Record
    | NoticeSeen
    | Voice
    | PushToTalk
    | Invite
    | Revoke
    | Offer
    | Book
    | Cancel
    | Move
)
ServerMessage = (
    Welcome
    | Snapshot
    | Delta
    | ChatPosted
    | Joined
    | Left
    | Pong
    | Error
    | Asked
    | ExpertCame
    | Answer
    | Handoff
    | Presented
    | Verified
    | Holdings
    | ConsoleWelcome
    | Pages
    | Accepted
    | RtcOffer
    | IceServers
    | Recording
    | Briefing
    | Heard
    | Invitation
    | Notice
    | Slots
    | Appointment
)
