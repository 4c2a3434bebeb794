"""Stand-ins for a member's media, with real aiortc peers: a camera, a microphone, and a member
who publishes, watches and counts what it receives (decoded frames, loud audio, keyframes on
the wire). Shared by the media tests and the media benchmark."""

from __future__ import annotations

import asyncio
import fractions
import math
import re
from typing import Any

import numpy as np
from aiortc import (
    AudioStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    VideoStreamTrack,
)
from aiortc.codecs.vpx import VpxPayloadDescriptor
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtp import RtpPacket
from av.audio.frame import AudioFrame
from av.video.frame import VideoFrame

from server.media.hub import MediaHub, ViewerTrack
from server.media.pulse import Pulse
from server.media.rtc import attach_viewer
from server.speech.results import Pcm

DEADLINE = 10.0  # generous: two shared cores, other suites running beside this one
W, H = 160, 120


class PatternTrack(VideoStreamTrack):
    """A moving bar on a picture (small unless asked), 30 fps, counting what it produced."""

    def __init__(self, width: int = W, height: int = H) -> None:
        super().__init__()
        self.width, self.height = width, height
        self.produced = 0
        self.pulse = Pulse()

    async def recv(self) -> VideoFrame:
        pts, time_base = await self.next_timestamp()
        w, h = self.width, self.height
        image = np.full((h * 3 // 2, w), 16, dtype=np.uint8)
        x = (self.produced * 4) % (w - 16)
        image[:h, x : x + 16] = 235
        frame = VideoFrame.from_ndarray(image, format="yuv420p")
        frame.pts = pts
        frame.time_base = time_base
        self.produced += 1
        self.pulse.fire()
        return frame


class ToneTrack(AudioStreamTrack):
    """440 Hz at 48 kHz, 20 ms frames at real time."""

    def __init__(self) -> None:
        super().__init__()
        self.produced = 0
        self.pulse = Pulse()
        self._begin = 0.0

    async def recv(self) -> AudioFrame:
        rate, n = 48_000, 960
        if self.produced:
            await asyncio.sleep(max(0.0, self._begin + self.produced * 0.02 - loop_now()))
        else:
            self._begin = loop_now()
        t = (np.arange(n) + self.produced * n) / rate
        pcm = (8000 * np.sin(2 * math.pi * 440 * t)).astype(np.int16)
        frame = AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = rate
        frame.pts = self.produced * n
        frame.time_base = fractions.Fraction(1, rate)
        self.produced += 1
        self.pulse.fire()
        return frame


class SpeakingMicrophone(AudioStreamTrack):
    """A member's microphone at real time (20 ms frames, 48 kHz): quiet until ``say`` queues
    speech (16 kHz PCM), which it then plays; ``said`` is set when the last of it has gone.
    ``noise`` adds a floor of white noise, as a room has."""

    RATE = 48_000
    SAMPLES = 960

    def __init__(self, noise: int = 0) -> None:
        super().__init__()
        self.sent = 0
        self.noise = noise
        self._queue = np.zeros(0, dtype=np.int16)
        self._t0: float | None = None
        self._rng = np.random.default_rng(7)
        self.said = asyncio.Event()
        self.began_at: float | None = None  # loop time the newest speech began to play
        self.ended_at: float | None = None  # and ended

    def say(self, pcm16k: Pcm) -> None:
        self._queue = np.concatenate((self._queue, np.repeat(pcm16k, 3)))  # 16 -> 48 kHz
        self.said.clear()
        self.began_at = self.ended_at = None

    async def recv(self) -> AudioFrame:
        loop = asyncio.get_running_loop()
        if self._t0 is None:
            self._t0 = loop.time()
        else:
            due = self._t0 + self.sent * self.SAMPLES / self.RATE
            await asyncio.sleep(max(0.0, due - loop.time()))
        n = self.SAMPLES
        chunk = np.zeros(n, dtype=np.int16)
        if len(self._queue):
            if self.began_at is None:
                self.began_at = loop.time()
            part = self._queue[:n]
            chunk[: len(part)] = part
            self._queue = self._queue[n:]
            if not len(self._queue):
                self.ended_at = loop.time() + len(part) / self.RATE
                self.said.set()
        if self.noise:
            noise = self._rng.normal(0, self.noise, n)
            chunk = np.clip(chunk + noise, -32768, 32767).astype(np.int16)
        frame = AudioFrame.from_ndarray(chunk.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = self.RATE
        frame.pts = self.sent * n
        frame.time_base = fractions.Fraction(1, self.RATE)
        self.sent += 1
        return frame


def loop_now() -> float:
    return asyncio.get_running_loop().time()


def vp8_keyframe(payload: bytes) -> bool:
    descriptor, data = VpxPayloadDescriptor.parse(payload)
    # VP8 frame tag: bit 0 of the first byte of a frame is 0 for a keyframe (RFC 6386 9.1).
    return bool(descriptor.partition_start) and descriptor.partition_id == 0 and not data[0] & 1


class Member:
    """One browser stand-in: its own peer connection and the server's peer for it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.server = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.senders: dict[str, RTCRtpSender] = {}
        self.video_frames = 0
        self.audio_frames = 0
        self.loud_frames = 0
        self.quiet_run = 0  # consecutive silent audio frames, latest first
        self.keyframes = 0  # VP8 keyframes seen on the wire
        self.first_frame_was_key: bool | None = None
        self.pulse = Pulse()
        self.remote: dict[str, MediaStreamTrack] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._vp8_pt: int | None = None

        @self.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            self._tasks.append(asyncio.ensure_future(self._consume(track)))

        @self.server.on("track")
        def on_ingest(track: MediaStreamTrack) -> None:
            self.remote[track.kind] = track

    def watch(self, hub: MediaHub, source_id: str) -> ViewerTrack:
        track = hub.subscribe(source_id, self.name)
        self.senders[source_id] = attach_viewer(self.server, track)
        return track

    async def connect(self) -> None:
        """The server offers what it sends; the member answers."""
        await self.server.setLocalDescription(await self.server.createOffer())
        await self.pc.setRemoteDescription(self.server.localDescription)
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        await self.server.setRemoteDescription(self.pc.localDescription)
        self._negotiated()

    async def offer_to_server(self) -> None:
        """The member offers to receive; the server answers with what it sends."""
        await self.pc.setLocalDescription(await self.pc.createOffer())
        await self.server.setRemoteDescription(self.pc.localDescription)
        await self.server.setLocalDescription(await self.server.createAnswer())
        await self.pc.setRemoteDescription(self.server.localDescription)
        self._negotiated()

    def _negotiated(self) -> None:
        match = re.search(r"a=rtpmap:(\d+) VP8/90000", self.pc.remoteDescription.sdp)
        self._vp8_pt = int(match.group(1)) if match else None
        for transceiver in self.pc.getTransceivers():
            if transceiver.kind == "video":
                self._spy_keyframes(transceiver.receiver)

    async def publish(self, *tracks: MediaStreamTrack) -> None:
        """The member offers its camera and microphone; the server answers and receives."""
        for track in tracks:
            self.pc.addTransceiver(track, direction="sendonly")
        await self.pc.setLocalDescription(await self.pc.createOffer())
        await self.server.setRemoteDescription(self.pc.localDescription)
        await self.server.setLocalDescription(await self.server.createAnswer())
        await self.pc.setRemoteDescription(self.server.localDescription)

    def _spy_keyframes(self, receiver: Any) -> None:
        # Observation only: count keyframes in the RTP the member receives, since libvpx's
        # decoder does not flag keyframes on its output frames.
        original = receiver._handle_rtp_packet

        async def handle(packet: RtpPacket, arrival_time_ms: int) -> None:
            if packet.payload_type == self._vp8_pt and packet.payload:
                if vp8_keyframe(packet.payload):
                    self.keyframes += 1
                    if self.first_frame_was_key is None:
                        self.first_frame_was_key = True
                elif self.first_frame_was_key is None:
                    self.first_frame_was_key = False
                self.pulse.fire()
            await original(packet, arrival_time_ms=arrival_time_ms)

        receiver._handle_rtp_packet = handle

    async def _consume(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await track.recv()
                if isinstance(frame, AudioFrame):
                    self.audio_frames += 1
                    pcm = frame.to_ndarray().astype(np.float64)
                    rms = float(np.sqrt(np.mean(pcm**2)))
                    if rms > 300:
                        self.loud_frames += 1
                        self.quiet_run = 0
                    else:
                        self.quiet_run += 1
                else:
                    self.video_frames += 1
                self.pulse.fire()
        except MediaStreamError:
            pass

    async def close(self) -> None:
        await self.server.close()
        await self.pc.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
