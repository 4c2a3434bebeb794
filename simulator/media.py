"""A member's media from Python: a real aiortc peer answering the server's offers.

Used by the tests, the benchmarks and the simulator's thin-client bots. It speaks the
signalling of ``protocol/SPEC.md`` ("Voice, video and recording") over a :class:`RoomClient`:
``media`` out, each ``rtc_offer`` answered with ``rtc_answer``; its own tracks (microphone,
camera) go on the server's recvonly m-lines; every track the server sends is read, and
counted per source, by one task each.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
from aiortc import (
    RTCConfiguration,
    RTCDataChannel,
    RTCIceServer,
    RTCIceTransportPolicy,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, MediaStreamTrack
from av.audio.frame import AudioFrame
from av.frame import Frame

from protocol import messages as m
from protocol.pose_frame import PoseFrame
from simulator.client import RoomClient

POSE_N_WRAP = 2**32  # the pose counter on the data channel wraps here (SPEC.md)


@dataclass(frozen=True, slots=True)
class TrackStats:
    source: str  # the source as the server named it (m7.a, e40.a, view)
    kind: str  # "audio" or "video"
    frames: int
    bytes: int  # decoded size: samples or pixels, for the report
    first_frame_s: float | None  # from open() to the first decoded frame
    freezes: int  # gaps over 500 ms between frames
    loud_frames: int  # audio frames with sound in them (not silence)
    longest_gap_s: float = 0.0  # the longest wait between two frames
    last_frame_s: float | None = None  # from open() to the newest decoded frame


def _configuration(client: RoomClient, relay_only: bool) -> RTCConfiguration:
    """The ICE servers the server handed this member (``ice_servers``, sent on connecting);
    ``relay_only``: reach the server through TURN alone, as a member behind a strict NAT."""
    given = client.of(m.IceServers)
    servers = [
        RTCIceServer(urls=s.urls, username=s.username, credential=s.credential)
        for s in (given[-1].servers if given else [])
    ]
    policy = RTCIceTransportPolicy.RELAY if relay_only else RTCIceTransportPolicy.ALL
    return RTCConfiguration(iceServers=servers or None, iceTransportPolicy=policy)


@dataclass(eq=False)
class _Reading:
    source: str
    kind: str
    frames: int = 0
    size: int = 0
    first_at: float | None = None
    last_at: float | None = None
    freezes: int = 0
    loud: int = 0
    first_loud_at: float | None = None
    last_loud_at: float | None = None
    quiet_run: int = 0  # frames since the last loud one
    longest_gap: float = 0.0
    sizes: set[tuple[int, int]] = field(default_factory=set)


class RtcMedia:
    """One member's media session, negotiated over its room link."""

    def __init__(
        self,
        client: RoomClient,
        *,
        audio: MediaStreamTrack | None = None,
        video: MediaStreamTrack | None = None,
        view: str = "3d",
        dc: bool = False,
        quality: str | None = None,
        relay_only: bool = False,
    ) -> None:
        self.client = client
        self.audio, self.video = audio, video
        self.view, self.dc, self.quality = view, dc, quality
        self.pc = RTCPeerConnection(_configuration(client, relay_only))
        self.channel: RTCDataChannel | None = None
        self.readings: dict[str, _Reading] = {}
        self.offers = 0
        self.answered = 0  # the newest offer number answered
        self.opened_at = 0.0
        self.poses_sent = 0  # poses sent on the data channel
        # Called with (source, kind, monotonic time) for every decoded frame: freeze timing.
        self.on_frame: Callable[[str, str, float], None] | None = None
        self._pose_n = 0
        self._mids: dict[str, str] = {}  # mid -> source
        self._readers: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None
        self._offers: asyncio.Queue[m.RtcOffer] = asyncio.Queue()
        self._changed = asyncio.Condition()
        self._notifying: asyncio.Task[None] | None = None
        self.pc.on("track", self._on_track)
        self.pc.on("datachannel", self._on_channel)
        self.pc.on("connectionstatechange", self._poke)

    @property
    def send(self) -> list[str]:
        return [k for k, t in (("audio", self.audio), ("video", self.video)) if t is not None]

    async def open(self) -> None:
        self.opened_at = time.monotonic()
        self.client.listeners.append(self._on_message)
        self._task = asyncio.get_running_loop().create_task(self._answer_offers())
        await self.client.send(m.StartMedia(self.send, self.view, self.dc or None, self.quality))

    def _on_message(self, msg: object) -> None:
        if isinstance(msg, m.RtcOffer):
            self._offers.put_nowait(msg)

    async def _answer_offers(self) -> None:
        while True:
            offer = await self._offers.get()
            if offer.n > self.answered:
                await self.answer(offer)

    async def answer(self, offer: m.RtcOffer) -> None:
        self.offers += 1
        for offered in offer.tracks:
            self._mids[offered.mid] = offered.src
        await self.pc.setRemoteDescription(RTCSessionDescription(offer.sdp, "offer"))
        senders = {s.track for s in self.pc.getSenders() if s.track is not None}
        for mine in (self.audio, self.video):
            if mine is not None and mine not in senders:
                self.pc.addTrack(mine)  # lands on the server's recvonly m-line of its kind
        answer = await self.pc.createAnswer()
        await self.pc.setLocalDescription(answer)
        self.answered = offer.n
        await self.client.send(m.RtcAnswer(offer.n, self.pc.localDescription.sdp))
        self._poke()

    def _on_track(self, track: MediaStreamTrack) -> None:
        transceiver = next(
            (t for t in self.pc.getTransceivers() if t.receiver.track is track), None
        )
        mid = transceiver.mid if transceiver is not None else None
        source = self._mids.get(mid or "", f"mid:{mid}")
        reading = _Reading(source, track.kind)
        self.readings[source] = reading
        task = asyncio.get_running_loop().create_task(self._read(track, reading))
        self._readers.add(task)
        task.add_done_callback(self._readers.discard)

    def _on_channel(self, channel: RTCDataChannel) -> None:
        self.channel = channel
        channel.on("open", self._poke)
        self._poke()

    def _poke(self) -> None:
        # Called from aiortc's callbacks and the readers, outside the condition's lock: the
        # waiters are woken from a task of its own, one at a time however many pokes come.
        if self._notifying is None or self._notifying.done():
            self._notifying = asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _read(self, track: MediaStreamTrack, reading: _Reading) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                assert isinstance(frame, Frame)
                now = time.monotonic()
                if reading.last_at is not None:
                    gap = now - reading.last_at
                    reading.longest_gap = max(reading.longest_gap, gap)
                    if gap > 0.5:
                        reading.freezes += 1
                if reading.first_at is None:
                    reading.first_at = now
                reading.last_at = now
                reading.frames += 1
                if self.on_frame is not None:
                    self.on_frame(reading.source, reading.kind, now)
                if isinstance(frame, AudioFrame):
                    samples = np.abs(frame.to_ndarray())
                    reading.size += samples.size
                    if samples.size and int(samples.max()) > 300:
                        reading.loud += 1
                        reading.quiet_run = 0
                        reading.last_loud_at = now
                        if reading.first_loud_at is None:
                            reading.first_loud_at = now
                    else:
                        reading.quiet_run += 1
                else:
                    reading.size += frame.width * frame.height  # type: ignore[attr-defined]
                    reading.sizes.add((frame.width, frame.height))  # type: ignore[attr-defined]
                self._poke()

    async def wait_for(self, predicate: Callable[[RtcMedia], bool], timeout: float = 15.0) -> None:
        """Wait until ``predicate(self)`` holds (frames arrived, a source appeared...)."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: predicate(self))

    def frames(self, source: str) -> int:
        reading = self.readings.get(source)
        return reading.frames if reading is not None else 0

    def stats(self) -> list[TrackStats]:
        return [
            TrackStats(
                r.source,
                r.kind,
                r.frames,
                r.size,
                None if r.first_at is None else r.first_at - self.opened_at,
                r.freezes,
                r.loud,
                r.longest_gap,
                None if r.last_at is None else r.last_at - self.opened_at,
            )
            for r in self.readings.values()
        ]

    @property
    def channel_open(self) -> bool:
        return self.channel is not None and self.channel.readyState == "open"

    def send_pose(self, pose: PoseFrame) -> bool:
        """Send ``pose`` on the data channel with the next ``n``; False if it is not open."""
        channel = self.channel
        if channel is None or channel.readyState != "open":
            return False
        self._pose_n = (self._pose_n + 1) % POSE_N_WRAP
        channel.send(replace(pose, n=self._pose_n).encode())
        self.poses_sent += 1
        return True

    async def close(self) -> None:
        with contextlib.suppress(ValueError):
            self.client.listeners.remove(self._on_message)
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.pc.close()
        for task in list(self._readers):
            task.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)


class SyntheticMicrophone(AudioStreamTrack):
    """A member's microphone for bots: a soft two-tone hum, 20 ms frames at real time.

    Loud enough to count as sound at the receiving end (:attr:`TrackStats.loud_frames`), and
    paced by the event loop's clock so that it sends what a real microphone would.
    """

    RATE = 48_000
    SAMPLES = 960  # 20 ms

    def __init__(self, pitch_hz: float = 220.0) -> None:
        super().__init__()
        self.pitch_hz = pitch_hz
        self.sent = 0
        self._t0: float | None = None

    async def recv(self) -> AudioFrame:
        loop = asyncio.get_running_loop()
        if self._t0 is None:
            self._t0 = loop.time()
        else:
            due = self._t0 + self.sent * self.SAMPLES / self.RATE
            await asyncio.sleep(max(0.0, due - loop.time()))
        t = (np.arange(self.SAMPLES) + self.sent * self.SAMPLES) / self.RATE
        wave = np.sin(2 * math.pi * self.pitch_hz * t) + 0.5 * np.sin(
            3 * math.pi * self.pitch_hz * t
        )
        pcm = (4000 * wave).astype(np.int16).reshape(1, -1)
        frame = AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = self.RATE
        frame.pts = self.sent * self.SAMPLES
        frame.time_base = fractions.Fraction(1, self.RATE)
        self.sent += 1
        return frame
