"""The room's ears on the media hub: a microphone whose audio cannot be heard (a sample rate
no recogniser takes) gets its member asked to type, and listening follows mute and unlisten."""

from __future__ import annotations

import asyncio
import fractions

import numpy as np
from aiortc.mediastreams import MediaStreamTrack
from av.audio.frame import AudioFrame

from protocol import messages as m
from rooms.outputs import Listen, Output
from rooms.roles import Role
from server.media.hub import MediaHub
from server.speech.room_speech import RoomSpeech
from server.speech.sphinx import SphinxTranscriber
from tests.harness import Harness


class SteadyTone(MediaStreamTrack):
    """A tone at ``rate`` Hz in 20 ms frames, paced by the loop so the test stays cheap."""

    kind = "audio"

    def __init__(self, rate: int) -> None:
        super().__init__()
        self.rate = rate
        self.sent = 0

    async def recv(self) -> AudioFrame:
        await asyncio.sleep(0.02)
        n = max(1, self.rate // 50)
        t = (np.arange(n) + self.sent * n) / self.rate
        pcm = (8000 * np.sin(2 * np.pi * 200 * t)).astype(np.int16).reshape(1, -1)
        frame = AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = self.rate
        frame.pts = self.sent * n
        frame.time_base = fractions.Fraction(1, self.rate)
        self.sent += 1
        return frame


async def test_a_microphone_at_a_rate_nobody_hears_asks_its_member_to_type(
    hub: MediaHub,
) -> None:
    h = Harness()
    ann = h.join(Role.CUSTOMER, "Ann")
    h.send(ann, m.StartMedia(["audio"], "3d"))
    h.send(ann, m.Voice("free"))
    told = asyncio.Event()

    def dispatch(outputs: list[Output]) -> None:
        h.deliver(outputs)
        told.set()

    speech = RoomSpeech(
        h.room, hub, SphinxTranscriber(), source_of=lambda mb: f"r1/m{mb}.a", dispatch=dispatch
    )
    hub.add_source(f"r1/m{ann}.a", SteadyTone(4_000))
    speech.listen(Listen(ann, "en"))
    async with asyncio.timeout(10):
        await told.wait()
    (heard,) = h.inbox[ann].of(m.Heard)
    assert heard.st == "type"
    assert h.actions("voice.unusable")
    await speech.close()


async def test_listening_stops_at_a_mute_and_at_unlisten(hub: MediaHub) -> None:
    h = Harness()
    ann = h.join(Role.CUSTOMER, "Ann")
    speech = RoomSpeech(
        h.room,
        hub,
        None,
        source_of=lambda mb: f"r1/m{mb}.a",
        dispatch=lambda out: (h.deliver(out), None)[1],
    )
    source = f"r1/m{ann}.a"
    hub.add_source(source, SteadyTone(48_000))
    speech.listen(Listen(ann, "en"))
    (tap,) = hub._sources[source].taps
    hub.set_enabled(source, False)
    speech.follow(ann)
    assert tap._ended
    assert not hub._sources[source].taps
    hub.set_enabled(source, True)
    speech.follow(ann)
    (again,) = hub._sources[source].taps
    speech.unlisten(ann)
    assert again._ended
    assert not hub._sources[source].taps
    await speech.close()
