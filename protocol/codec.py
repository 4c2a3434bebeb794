"""Strict msgpack codec: one message per binary frame, a map whose ``t`` key names its type.

``decode`` either returns a fully validated message or raises a :class:`ProtocolError`
subclass; ``encode`` writes keys in declaration order so that every implementation produces
the same bytes for the same message (the shared vectors check this).
"""

from __future__ import annotations

from typing import Any, NoReturn

import msgpack

from protocol.errors import (
    FrameTooLarge,
    MalformedFrame,
    MissingField,
    ProtocolError,
    TextFrame,
    UnknownMessageType,
    WrongFieldType,
)
from protocol.limits import MAX_FRAME_BYTES
from protocol.messages import (
    CLIENT_MESSAGES,
    LOOK,
    SERVER_MESSAGES,
    Direction,
    Ent,
    Look,
    Message,
)
from protocol.schema import ListOf, Struct, Vec

TYPE_KEY = "t"


def _reject_ext(code: int, data: bytes) -> NoReturn:
    raise MalformedFrame(f"msgpack extension type {code} is not allowed")


def unpack(data: bytes | bytearray | memoryview | str, *, max_bytes: int = MAX_FRAME_BYTES) -> Any:
    """Parse one frame into plain msgpack values, enforcing the frame rules but no schema."""
    if isinstance(data, str):
        raise TextFrame("text frames are not accepted; send one binary msgpack frame")
    if len(data) > max_bytes:
        raise FrameTooLarge(f"frame of {len(data)} bytes, at most {max_bytes}")
    if not data:
        raise MalformedFrame("empty frame")
    try:
        return msgpack.unpackb(
            data,
            raw=False,
            strict_map_key=True,
            use_list=True,
            ext_hook=_reject_ext,
            timestamp=0,
        )
    except msgpack.ExtraData as exc:
        raise MalformedFrame("trailing bytes after the message") from exc
    except (ValueError, msgpack.UnpackException) as exc:
        # Covers truncation, invalid UTF-8, reserved bytes, non-string map keys, deep nesting.
        raise MalformedFrame("not a valid msgpack message") from exc


def decode(
    data: bytes | bytearray | memoryview | str,
    direction: Direction = Direction.CLIENT,
    *,
    max_bytes: int = MAX_FRAME_BYTES,
) -> Any:
    """Decode and validate one frame sent in ``direction``. Raises ``ProtocolError``."""
    obj = unpack(data, max_bytes=max_bytes)
    if type(obj) is not dict:
        raise MalformedFrame("a message must be a msgpack map")
    if TYPE_KEY not in obj:
        raise MissingField("missing field 't' (message type)")
    type_ = obj[TYPE_KEY]
    if type(type_) is not str:
        raise WrongFieldType("field 't' must be a string")
    table = CLIENT_MESSAGES if direction is Direction.CLIENT else SERVER_MESSAGES
    cls = table.get(type_)
    if cls is None:
        shown = type_[:32]
        raise UnknownMessageType(f"unknown message type {shown!r}")
    try:
        return cls.SCHEMA.check_map(obj, type_, skip=TYPE_KEY)
    except ProtocolError as exc:
        # Tag the error with the message type so the error frame can name it.
        exc.msg_type = exc.msg_type or type_
        raise


def to_wire(message: Message) -> dict[str, Any]:
    """The msgpack map for ``message``; optional fields that are ``None`` are left out."""
    out: dict[str, Any] = {TYPE_KEY: message.TYPE}
    for f in message.SCHEMA.fields:
        value = getattr(message, f.key)
        if value is None:
            continue
        if isinstance(f.kind, ListOf) and value and isinstance(value[0], Ent):
            value = [ent_to_wire(e) for e in value]
        elif isinstance(f.kind, ListOf) and isinstance(f.kind.item, Struct):
            value = [struct_to_wire(f.kind.item, v) for v in value]
        elif isinstance(value, Look):
            value = look_to_wire(value)
        elif isinstance(f.kind, Struct):
            value = struct_to_wire(f.kind, value)
        elif isinstance(f.kind, Vec):
            value = list(value)
        out[f.key] = value
    return out


def struct_to_wire(struct: Struct, record: Any) -> dict[str, Any]:
    """A nested record as a map; fields that are ``None`` are left out, records within records
    become maps too."""
    out: dict[str, Any] = {}
    for f in struct.fields:
        value = getattr(record, f.key)
        if value is None:
            continue
        if isinstance(f.kind, Struct):
            value = struct_to_wire(f.kind, value)
        elif isinstance(f.kind, ListOf) and isinstance(f.kind.item, Struct):
            value = [struct_to_wire(f.kind.item, v) for v in value]
        out[f.key] = value
    return out


def ent_to_wire(ent: Ent) -> dict[str, Any]:
    out: dict[str, Any] = {"i": ent.i}
    if ent.k is not None:
        out["k"] = ent.k
    if ent.m is not None:
        out["m"] = ent.m
    if ent.n is not None:
        out["n"] = ent.n
    if ent.r is not None:
        out["r"] = ent.r
    if ent.a is not None:
        out["a"] = look_to_wire(ent.a)
    if ent.s is not None:
        out["s"] = ent.s
    if ent.x is not None:
        out["x"] = ent.x
    # Fields only experts and screens carry: one check for the common (avatar) case.
    if ent.p is not None or ent.e is not None or ent.c is not None or ent.l is not None:
        for key in ("p", "sp", "e", "l", "c"):
            if (v := getattr(ent, key)) is not None:
                out[key] = v
    if ent.mic is not None or ent.cam is not None or ent.mo is not None:
        for key in ("mic", "cam", "mo"):
            if (v := getattr(ent, key)) is not None:
                out[key] = v
    return out


def look_to_wire(look: Look) -> dict[str, Any]:
    return {f.key: v for f in LOOK.fields if (v := getattr(look, f.key)) is not None}


def pack(obj: Any) -> bytes:
    """msgpack with the settings every frame uses (binary type on, float64 for floats)."""
    data: bytes = msgpack.packb(obj, use_bin_type=True)
    return data


def encode(message: Message) -> bytes:
    return pack(to_wire(message))
