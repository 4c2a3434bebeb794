"""Voice and video through a whole room: signalling, fan-out, experts' speech and lip-sync.

A real server in this process, members as real aiortc peers (``simulator/media.py``) on
loopback, everything through the room's WebSocket signalling:

- setup: from a member's ``media`` request to its first decoded frame of a camera already
  in the room (two offers: its own m-lines, then what it receives);
- speech: from a question to the first audible audio frame of the expert's voice decoded at
  the customer, espeak-ng synthesis included; for an expert just arriving (its voice is
  negotiated while the answer is prepared) and for one already in the room;
- lip-sync: when the first open mouth (``mo`` > 0 in a state frame) and the first audible
  speech frame reach the customer; positive: the audio is later than the mouth.

    .venv/bin/python -m bench.bench_room_media [--rounds 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from protocol import messages as m
from rooms.roles import Role
from server.app import WealthroomServer
from server.config import Settings
from simulator.client import RoomClient
from simulator.media import RtcMedia
from tests.media.peers import PatternTrack

SECRET = b"bench-secret-for-room-media-0123456789abcdef"
QUESTIONS = (  # one that brings an expert, and a follow-up for the same expert
    ("Tell me about government bonds", "What are the risks of bonds?"),
    ("How risky are blue chip stocks?", "Which stocks pay dividends?"),
    ("What does term life insurance cover?", "Is insurance worth it at my age?"),
)


def _settings(tmp: Path) -> Settings:
    return Settings(
        host="127.0.0.1",
        port=0,
        demo_room=None,
        audit_path=None,
        totp_path=None,
        factor_path=None,
        recordings_dir=tmp / "recordings",
    )


async def _join(srv: WealthroomServer, room: str, role: Role, name: str, n: int) -> RoomClient:
    token = srv.tokens.mint(room=room, role=role, subject=f"{role.value}-{n}")
    return await RoomClient.join(srv.room_url(room), token, name)


async def setup_time(srv: WealthroomServer, n: int) -> float:
    room = f"setup-{n}"
    advisor = await _join(srv, room, Role.ADVISOR, "Ada", n)
    sending = RtcMedia(advisor, video=PatternTrack())
    await sending.open()
    customer = await _join(srv, room, Role.CUSTOMER, "Ann", n)
    await customer.wait_for(
        lambda c: (e := c.replica.by_member(advisor.member)) is not None and e.cam == "on"
    )
    watching = RtcMedia(customer)
    started = time.monotonic()
    await watching.open()
    cam = f"m{advisor.member}.v"
    await watching.wait_for(lambda p: p.frames(cam) >= 1, 20)
    reading = watching.readings[cam]
    assert reading.first_at is not None
    took = reading.first_at - started
    for peer in (watching, sending):
        await peer.close()
    for client in (customer, advisor):
        await client.close()
    return took


async def speech(srv: WealthroomServer, n: int) -> list[dict[str, float]]:
    """One fresh room: a question that brings the expert, then a follow-up it answers."""
    room = f"speech-{n}"
    customer = await _join(srv, room, Role.CUSTOMER, "Ann", n)
    peer = RtcMedia(customer)
    await peer.open()
    await peer.wait_for(lambda p: p.pc.connectionState == "connected", 20)
    mouths: dict[int, float] = {}

    def watch(msg: object) -> None:
        if isinstance(msg, m.Snapshot | m.Delta):
            for ent in msg.ents:
                if (ent.mo or 0) > 0 and ent.i not in mouths:
                    mouths[ent.i] = time.monotonic()

    customer.listeners.append(watch)
    first, follow_up = QUESTIONS[n % len(QUESTIONS)]
    out = [
        await _ask(customer, peer, mouths, first, arriving=True),
        await _ask(customer, peer, mouths, follow_up, arriving=False),
    ]
    await peer.close()
    await customer.close()
    return out


async def _ask(
    customer: RoomClient,
    peer: RtcMedia,
    mouths: dict[int, float],
    question: str,
    *,
    arriving: bool,
) -> dict[str, float]:
    answers = len(customer.of(m.Answer))
    for reading in peer.readings.values():
        reading.first_loud_at = None
    mouths.clear()
    asked = time.monotonic()
    await customer.send(m.Ask(question))
    await customer.wait_for(lambda c: len(c.of(m.Answer)) > answers, 20)
    expert = customer.of(m.Answer)[-1].e
    if expert is None:
        raise RuntimeError(f"no expert answered {question!r}")
    voice = f"e{expert}.a"
    await peer.wait_for(
        lambda p: voice in p.readings and p.readings[voice].first_loud_at is not None, 30
    )
    heard = peer.readings[voice].first_loud_at
    assert heard is not None
    await customer.wait_for(lambda c: expert in mouths, 10)
    await _quiet(peer, voice)
    return {
        "arriving": float(arriving),
        "speech_ms": (heard - asked) * 1000,
        "lip_offset_ms": (heard - mouths[expert]) * 1000,
    }


async def _quiet(peer: RtcMedia, voice: str) -> None:
    """Until the expert has stopped talking: 25 frames (half a second) with no sound."""
    reading = peer.readings[voice]
    mark = (reading.frames, reading.loud)

    def silent_for_a_while(p: RtcMedia) -> bool:
        nonlocal mark
        r = p.readings[voice]
        if r.loud != mark[1]:
            mark = (r.frames, r.loud)
        return r.frames - mark[0] >= 25

    await peer.wait_for(silent_for_a_while, 120)


async def run(rounds: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        async with WealthroomServer(_settings(Path(tmp)), secret=SECRET) as srv:
            setups = [await setup_time(srv, i) for i in range(rounds)]
            speeches: list[dict[str, float]] = []
            for i in range(rounds):
                speeches += await speech(srv, i)
    arriving = [s["speech_ms"] for s in speeches if s["arriving"]]
    present = [s["speech_ms"] for s in speeches if not s["arriving"]]
    offsets = [s["lip_offset_ms"] for s in speeches]
    return {
        "setup_ms": [round(s * 1000, 1) for s in setups],
        "speech_arriving_ms": [round(v, 1) for v in arriving],
        "speech_present_ms": [round(v, 1) for v in present],
        "lip_offset_ms": [round(v, 1) for v in offsets],
    }


def _line(name: str, values: list[float], target: str) -> str:
    return (
        f"{name:<44} median {statistics.median(values):7.1f}  max {max(values):7.1f}"
        f"  (n={len(values)}; {target})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = asyncio.run(run(args.rounds))
    print(_line("setup: media -> first decoded frame, ms", result["setup_ms"], "target < 1000"))
    print(
        _line(
            "speech, expert arriving: ask -> heard, ms",
            result["speech_arriving_ms"],
            "target < 500",
        )
    )
    print(
        _line(
            "speech, expert present: ask -> heard, ms",
            result["speech_present_ms"],
            "target < 500",
        )
    )
    print(_line("lip-sync: audio after mouth, ms", result["lip_offset_ms"], "under 125: unnoticed"))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
