"""Frames for fuzzing: random bytes, mutations of the shared vectors, and well-formed maps with
ill-formed values. Deterministic for a given seed, so a finding can be replayed."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from typing import Any

import msgpack

from protocol.vectors import PATH

_VALID = [bytes.fromhex(v["hex"]) for v in __import__("json").loads(PATH.read_text())["valid"]]
_TYPES = ["hello", "join", "pose", "look", "sit", "stand", "ack", "chat", "remove", "leave", "ping"]
_KEYS = ["t", "v", "name", "since", "look", "p", "q", "hm", "lh", "rh", "ack", "seat", "tick"]
_KEYS += ["text", "member", "n", "client", "body", "top", "hair", "x", ""]


def _value(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if roll < 0.12:
        return rng.choice([0, 1, -1, 2**31, 2**53, 2**63 - 1, -(2**63), 2**64 - 1])
    if roll < 0.24:
        return rng.choice([0.0, -0.0, 1.5, math.nan, math.inf, -math.inf, 1e308, 5e-324])
    if roll < 0.36:
        return "".join(chr(rng.randrange(0x10FFFF) or 32) for _ in range(rng.randrange(8)))
    if roll < 0.44:
        return rng.choice(["#ffffff", "#12345", "bob", "seat-customer", "x" * 2000, ""])
    if roll < 0.52:
        return rng.randbytes(rng.randrange(40))
    if roll < 0.58:
        return rng.choice([None, True, False])
    if roll < 0.8 and depth < 3:
        return [_value(rng, depth + 1) for _ in range(rng.randrange(8))]
    if depth < 3:
        return {rng.choice(_KEYS): _value(rng, depth + 1) for _ in range(rng.randrange(5))}
    return rng.random()


def _structured(rng: random.Random) -> bytes:
    frame: dict[str, Any] = {"t": rng.choice(_TYPES)}
    for _ in range(rng.randrange(5)):
        frame[rng.choice(_KEYS)] = _value(rng)
    try:
        data: bytes = msgpack.packb(frame, use_bin_type=True)
    except (OverflowError, ValueError):
        data = b"\xc1"
    return data


def _mutated(rng: random.Random) -> bytes:
    data = bytearray(rng.choice(_VALID))
    for _ in range(rng.randint(1, 4)):
        op = rng.random()
        pos = rng.randrange(len(data) + 1)
        if op < 0.4 and data:
            data[pos % len(data)] = rng.randrange(256)
        elif op < 0.6:
            data[pos:pos] = rng.randbytes(rng.randint(1, 8))
        elif op < 0.8:
            del data[pos : pos + rng.randint(1, 8)]
        else:
            data += rng.choice(_VALID)  # two messages in one frame
    return bytes(data)


def frames(seed: int, count: int) -> Iterator[bytes]:
    rng = random.Random(seed)
    for _ in range(count):
        roll = rng.random()
        if roll < 0.3:
            yield rng.randbytes(rng.randrange(64))
        elif roll < 0.65:
            yield _mutated(rng)
        else:
            yield _structured(rng)
