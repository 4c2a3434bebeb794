"""The v1 message catalogue. Each class is one message; its ``FIELDS`` are the spec.

Field names are the wire keys (short on purpose: they are sent thousands of times a second).
Client-to-server and server-to-client catalogues are separate: a type that exists in one
direction is unknown in the other, which keeps a client from sending server-only frames.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
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
HAIRSTYLES = frozenset({"none", "short", "bob", "long", "bun", "curly", "ponytail"})


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


ENT = Struct(
    "ent",
    Ent,
    (
        Field("i", U32, doc="entity id, never reused within a room"),
        Field("k", Str(16, 1), False, "kind: avatar"),
        Field("m", MEMBER_ID, False, "owning member id"),
        Field("n", Str(limits.MAX_NAME_CHARS), False, "display name"),
        Field("r", Str(16, 1), False, "owner's role"),
        Field("a", LOOK, False, "appearance, complete (defaults filled in)"),
        Field("s", Str(limits.MAX_SEAT_CHARS), False, "seat id, empty when standing"),
        Field("x", Bytes(11, 31), False, "packed pose: head and hands (see Packed pose)"),
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
)
@dataclass(frozen=True, slots=True)
class Pose(Message):
    p: tuple[float, float, float]
    q: tuple[float, float, float, float]
    hm: int | None = None
    lh: tuple[float, ...] | None = None
    rh: tuple[float, ...] | None = None
    ack: int | None = None


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


ClientMessage = Hello | Join | Pose | Restyle | Sit | Stand | Ack | Chat | Remove | Leave | Ping
ServerMessage = Welcome | Snapshot | Delta | ChatPosted | Joined | Left | Pong | Error
