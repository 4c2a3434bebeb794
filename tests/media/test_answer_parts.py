"""An answer is said first sentence first; a barge-in while the rest is still being
synthesised keeps the rest unsaid. The room's real media shell (``RoomMedia``) with a speaker
that makes each part when the test lets it."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import numpy as np

from protocol import messages as m
from rooms.outputs import Hush, Output, Speak
from rooms.roles import Role
from server.media.room_media import MediaNode, RoomMedia
from server.media.tts import SpeechClip, mouth_envelope
from tests.harness import Harness

ANSWER = "The balanced fund holds shares and bonds in equal parts. Its risk class is R3."


class GatedSpeaker:
    """Makes a second of tone per part, each when the test releases it."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.release: list[asyncio.Event] = []
        self.changed = asyncio.Event()

    async def synthesize(self, text: str, voice: str, *, rate: int, pitch: int) -> SpeechClip:
        self.asked.append(text)
        gate = asyncio.Event()
        self.release.append(gate)
        self.changed.set()
        await gate.wait()
        samples = (np.sin(np.arange(16_000) * 0.1) * 8000).astype(np.int16)
        return SpeechClip(samples, 16_000, mouth_envelope(samples, 16_000), text, voice)

    async def asked_for(self, count: int) -> None:
        async with asyncio.timeout(10):
            while len(self.asked) < count:
                self.changed.clear()
                await self.changed.wait()


def _spoken_answer(h: Harness) -> Speak:
    """Ask as a member with media, so the room voices its expert; the Speak it asks for."""
    ann = h.join(Role.CUSTOMER, "Ann", risk=3)
    h.send(ann, m.StartMedia(["audio"], "3d"))
    h.answer_at_once = False
    h.send(ann, m.Ask("Tell me about the balanced fund"))
    out: list[Output] = []
    for consult in h.consults:
        out += h.answer(consult)
    (speak,) = [o for o in out if isinstance(o, Speak)]
    return speak


async def test_a_hush_while_the_rest_is_made_keeps_it_unsaid() -> None:
    h = Harness()
    asked = _spoken_answer(h)
    speaker = GatedSpeaker()
    node = MediaNode(speaker=speaker)
    chores: list[asyncio.Task[None]] = []

    def chore(coro: Coroutine[Any, Any, None], name: str) -> None:
        chores.append(asyncio.ensure_future(coro))

    def ignore(*_: Any) -> None:
        pass

    media = RoomMedia(node, h.room, send=ignore, dispatch=ignore, chore=chore, on_datagram=ignore)
    try:
        media.handle(Speak(asked.entity, asked.persona, ANSWER, "en"))
        await speaker.asked_for(1)
        assert speaker.asked == ["The balanced fund holds shares and bonds in equal parts."]
        speaker.release[0].set()
        await speaker.asked_for(2)  # the first part is said; the rest is being made
        assert speaker.asked[1] == "Its risk class is R3."
        voice = media._voices[asked.entity]
        assert voice.speaking  # the first part is queued on the expert's voice
        media.handle(Hush(asked.entity))
        speaker.release[1].set()
        await asyncio.gather(*chores)
        assert not voice.speaking  # the hush dropped the first part and the rest never came
    finally:
        await media.close()
        await node.close()
