"""Asking by voice, end to end: from the end of the customer's speech to the expert's first
audible reply at the customer, and from a barge-in to the expert falling silent.

A real server in this process (offline recogniser, local brain, espeak-ng voices), the
customer a real aiortc peer on loopback whose microphone plays espeak-ng speech in real time
(``tests/media/peers.py`` ``SpeakingMicrophone``), hands-free. Each round is a fresh room: a
spoken question that brings an expert, then, while it answers, the customer speaks over it.

The end of speech is the last voiced sample of the question (espeak-ng's clips end in about
350 ms of quiet, which a customer's pause also is). Where the time goes, per question (all on
one clock): *text* from the end of speech to the room being handed the transcript (the
segmenter's end window, and the recognition that began at a pause inside it or at its end;
*decode* is that recognition's own time, *decode done* when it finished), *room + brain*
(routing, the local brain, the guardrails: from text to the speech request), *TTS* of the
first part said (espeak-ng), *to the ear* (waiting for the voice's sender, RTP, jitter buffer,
decoding at the customer).

Two configurations alternate round by round in one run, so their figures share a window:
``now`` (the defaults: end window ``SegmenterConfig.end_ms``, recognition begun at a pause,
an answer said first sentence first) and ``before`` (a 750 ms end window, recognition at the
end, an answer synthesised whole).

Barge-in: from the server's speech onset (the segmenter needs ``onset_ms`` of speech to call
it) to the last audible expert frame at the customer; and from the first sample of the
customer's speech, which adds that onset window.

    .venv/bin/python -m bench.bench_voice [--rounds 8] [--json out.json]

``--rounds`` per configuration.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from protocol import messages as m
from rooms.outputs import Hush, Output
from rooms.roles import Role
from rooms.room import Room
from server.app import WealthroomServer
from server.config import Settings
from server.media import room_media
from server.media.tts import SpeechClip, speaking_parts
from server.speech.results import Pcm, Transcriber, Transcript
from server.speech.segmenter import SegmenterConfig
from simulator.client import RoomClient
from simulator.media import RtcMedia
from tests.media.peers import SpeakingMicrophone
from tests.speech_audio import silence, speak_16k

SECRET = b"bench-secret-for-voice-0123456789abcdef-0123"
QUESTIONS = (
    "Tell me about government bonds.",
    "I want to buy shares in a bank.",
    "How does life insurance work?",
    "Tell me about your funds.",
)
DEADLINE = 90.0
VOICED = 300  # |sample| above this is speech, for where the question's speech ends


@dataclass(frozen=True)
class Variant:
    name: str
    segmenter: SegmenterConfig
    parts: Callable[[str], list[str]]


VARIANTS = (
    Variant("now", SegmenterConfig(), speaking_parts),
    Variant("before", SegmenterConfig(end_ms=750, early_ms=0), lambda text: [text]),
)


class Marks:
    """When each stage of the newest question began and ended (monotonic seconds)."""

    def __init__(self) -> None:
        self.recognised: list[tuple[float, float]] = []
        self.synthesised: list[tuple[float, float]] = []
        self.hushed: list[float] = []
        self.onsets: list[float] = []
        self.heard: list[float] = []  # when the room was handed a transcript


class TimedTranscriber:
    def __init__(self, inner: Transcriber, marks: Marks) -> None:
        self.inner, self.marks = inner, marks

    async def transcribe(self, pcm: Pcm, sample_rate: int, language: str) -> Transcript:
        began = time.monotonic()
        try:
            return await self.inner.transcribe(pcm, sample_rate, language)
        finally:
            self.marks.recognised.append((began, time.monotonic()))


class TimedSpeaker:
    def __init__(self, inner: Any, marks: Marks) -> None:
        self.inner, self.marks = inner, marks

    async def synthesize(self, text: str, voice: str, *, rate: int, pitch: int) -> SpeechClip:
        began = time.monotonic()
        try:
            clip: SpeechClip = await self.inner.synthesize(text, voice, rate=rate, pitch=pitch)
            return clip
        finally:
            self.marks.synthesised.append((began, time.monotonic()))


def _watch_onsets(marks: Marks) -> None:
    started = Room.speech_started

    def speech_started(self: Room, member_id: int, utterance: int, now: float) -> list[Output]:
        marks.onsets.append(time.monotonic())
        out = started(self, member_id, utterance, now)
        if any(isinstance(o, Hush) for o in out):
            marks.hushed.append(time.monotonic())
        return out

    Room.speech_started = speech_started  # type: ignore[method-assign]
    heard = Room.heard

    def heard_at(self: Room, *args: Any, **kwargs: Any) -> list[Output]:
        marks.heard.append(time.monotonic())
        return heard(self, *args, **kwargs)

    Room.heard = heard_at  # type: ignore[method-assign]


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


async def _round(srv: WealthroomServer, marks: Marks, n: int, variant: Variant) -> dict[str, Any]:
    node = srv.media
    assert node is not None
    node.settings = replace(node.settings, segmenter=variant.segmenter)
    setattr(room_media, "speaking_parts", variant.parts)  # noqa: B010 (the module global it reads)
    room = f"voice-{variant.name}-{n}"
    token = srv.tokens.mint(room=room, role=Role.CUSTOMER, subject=f"customer-{n}")
    customer = await RoomClient.join(srv.room_url(room), token, "Ann")
    mic = SpeakingMicrophone()
    peer = RtcMedia(customer, audio=mic)
    await peer.open()
    await peer.wait_for(lambda p: p.pc.connectionState == "connected", DEADLINE)
    await customer.send(m.Voice("free"))
    question = QUESTIONS[n % len(QUESTIONS)]
    marks.recognised.clear()
    marks.synthesised.clear()
    marks.heard.clear()
    clip = np.concatenate((speak_16k(question), silence(0.1)))
    trailing_s = (len(clip) - 1 - int(np.flatnonzero(np.abs(clip) > VOICED)[-1])) / 16_000
    mic.say(clip)
    await mic.said.wait()
    await customer.wait_for(lambda c: bool(c.of(m.Heard)), DEADLINE)
    heard = customer.of(m.Heard)[-1]
    result: dict[str, Any] = {
        "variant": variant.name,
        "question": question,
        "heard": heard.text,
        "st": heard.st,
    }
    if heard.st != "asked":
        await peer.close()
        await customer.close()
        return result
    await customer.wait_for(lambda c: bool(c.of(m.Answer)), DEADLINE)
    expert = customer.of(m.Answer)[-1].e
    if expert is None:  # the concierge answered: nobody to hear
        result["concierge"] = True
        await peer.close()
        await customer.close()
        return result
    voice = f"e{expert}.a"
    await peer.wait_for(
        lambda p: voice in p.readings and p.readings[voice].first_loud_at is not None, DEADLINE
    )
    ear = peer.readings[voice].first_loud_at
    assert ear is not None
    assert mic.ended_at is not None
    end = mic.ended_at - trailing_s
    tts_start, tts_end = marks.synthesised[0]
    # The transcript the room used: the last decode done before the room heard it (one begun
    # at a pause that speech went on after is thrown away), which may have ended before the
    # end window did.
    given = marks.heard[0]
    began, used = max((b, e) for b, e in marks.recognised if e <= given)
    result |= {
        "reply_ms": (ear - end) * 1000,
        "reply_from_clip_end_ms": (ear - mic.ended_at) * 1000,
        "text_ms": (given - end) * 1000,
        "decode_ms": (used - began) * 1000,
        "decode_done_ms": (used - end) * 1000,
        "room_brain_ms": (tts_start - given) * 1000,
        "tts_ms": (tts_end - tts_start) * 1000,
        "to_ear_ms": (ear - tts_end) * 1000,
        "decodes": sum(1 for b, _ in marks.recognised if b <= used),
    }
    # Barge-in, a second into the answer.
    await peer.wait_for(lambda p: p.readings[voice].loud >= 50, DEADLINE)
    marks.hushed.clear()
    marks.onsets.clear()
    mic.say(speak_16k("stop please"))
    await peer.wait_for(lambda p: p.readings[voice].quiet_run >= 50, DEADLINE)
    last = peer.readings[voice].last_loud_at
    spoke = mic.began_at
    if marks.hushed and last is not None and spoke is not None:
        result["bargein_onset_ms"] = max(0.0, last - marks.hushed[0]) * 1000
        result["bargein_speech_ms"] = max(0.0, last - spoke) * 1000
    await peer.close()
    await customer.close()
    return result


async def run(rounds: int) -> dict[str, Any]:
    marks = Marks()
    _watch_onsets(marks)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        async with WealthroomServer(_settings(Path(tmp)), secret=SECRET) as srv:
            node = srv.media
            assert node is not None
            assert node.transcriber is not None
            assert node.speaker is not None
            load = getattr(node.transcriber, "load", None)
            if load is not None:
                await load()  # the decoder is built before the server serves, not per question
            node.transcriber = TimedTranscriber(node.transcriber, marks)
            node.speaker = TimedSpeaker(node.speaker, marks)
            for n in range(rounds):
                # Which goes first swaps every round: neither always follows the other.
                order = VARIANTS if n % 2 == 0 else VARIANTS[::-1]
                for variant in order:
                    rows.append(await _round(srv, marks, n, variant))
    return {"rounds": rows}


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


KEYS = (
    "reply_ms",
    "reply_from_clip_end_ms",
    "text_ms",
    "decode_ms",
    "decode_done_ms",
    "room_brain_ms",
    "tts_ms",
    "to_ear_ms",
    "decodes",
    "bargein_onset_ms",
    "bargein_speech_ms",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=8, help="per configuration")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = asyncio.run(run(args.rounds))
    rows = result["rounds"]
    for variant in VARIANTS:
        mine = [r for r in rows if r["variant"] == variant.name]
        asked = [r for r in mine if "reply_ms" in r]
        print(f"== {variant.name}: questions heard as asked and answered by an expert ", end="")
        print(f"{len(asked)}/{len(mine)}")
        for key in KEYS:
            values = [r[key] for r in mine if key in r]
            if values:
                print(
                    f"{key:<24} p50 {statistics.median(values):7.1f}  p95 {_pct(values, 0.95):7.1f}"
                    f"  (n={len(values)})"
                )
    now, before = (
        [r["reply_ms"] for r in rows if r["variant"] == v.name and "reply_ms" in r]
        for v in VARIANTS
    )
    if now and before:
        ratio = statistics.median(now) / statistics.median(before)
        print(f"reply p50, now / before: {ratio:.2f}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
