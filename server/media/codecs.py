"""The hub's shared encoders: VP8 for video, Opus for audio, producing whole encoded frames.

aiortc's RTCRtpSender only packetises what a track's ``recv()`` returns when it is an
``av.Packet`` (``Encoder.pack``), so these encoders must produce exactly what aiortc's own
VP8 and Opus packers expect: one VP8 frame per packet, one 20 ms Opus frame per packet, with
``pts`` and ``time_base`` set. The negotiated codec must therefore be VP8 or Opus
(``server.media.rtc`` sets the transceivers' codec preferences).
"""

from __future__ import annotations

import multiprocessing
import time
from dataclasses import dataclass
from fractions import Fraction

import av
from av.audio.frame import AudioFrame
from av.audio.resampler import AudioResampler
from av.video.codeccontext import VideoCodecContext
from av.video.frame import PictureType, VideoFrame

VIDEO_CLOCK = 90_000
VIDEO_TIME_BASE = Fraction(1, VIDEO_CLOCK)
AUDIO_RATE = 48_000
AUDIO_TIME_BASE = Fraction(1, AUDIO_RATE)
AUDIO_FRAME_SAMPLES = 960  # 20 ms, the ptime every WebRTC endpoint expects for Opus

VIDEO_MIME = "video/VP8"
AUDIO_MIME = "audio/opus"


@dataclass(frozen=True, slots=True)
class Quality:
    """One encoding of a source: every viewer at this level shares its encoder."""

    name: str
    bitrate: int  # bits per second
    max_height: int | None = None  # video: scaled down to fit, never up; None keeps the size


@dataclass(frozen=True, slots=True)
class Encoded:
    data: bytes
    pts: int  # in time_base; the source's clock, rebased per viewer by the hub
    time_base: Fraction
    keyframe: bool
    duration: int  # nominal, in time_base; used to keep a viewer's clock moving on a re-anchor


def _to_clock(pts: int, time_base: Fraction, to: Fraction) -> int:
    return int(pts * time_base / to)


def _even(n: int) -> int:
    return max(2, n - n % 2)


class VideoEncoder:
    """VP8 for one (source, quality). Runs in a worker thread; one frame at a time."""

    def __init__(self, quality: Quality, *, frame_rate: int = 30) -> None:
        self.quality = quality
        self._frame_rate = frame_rate
        self._ctx: VideoCodecContext | None = None
        self._size = (0, 0)
        self._last_pts: int | None = None
        self._started = time.monotonic()

    def _target_size(self, width: int, height: int) -> tuple[int, int]:
        limit = self.quality.max_height
        if limit is None or height <= limit:
            return _even(width), _even(height)
        return _even(round(width * limit / height)), _even(limit)

    def _open(self, width: int, height: int) -> VideoCodecContext:
        ctx = av.CodecContext.create("libvpx", "w")
        assert isinstance(ctx, VideoCodecContext)
        ctx.width = width
        ctx.height = height
        ctx.pix_fmt = "yuv420p"
        ctx.time_base = VIDEO_TIME_BASE
        ctx.framerate = Fraction(self._frame_rate)
        ctx.bit_rate = self.quality.bitrate
        # Keyframes come from viewers' requests (joins, PLI, overflow), not from a schedule:
        # every keyframe costs all viewers of this level bandwidth at once.
        ctx.gop_size = 3000
        ctx.qmin = 2
        ctx.qmax = 56
        rate = str(self.quality.bitrate)
        # Real-time constant-bitrate VP8, the same speed and rate-control trade-off as aiortc's
        # own encoder, so the hub changes how often we encode, not how each encode costs.
        ctx.options = {
            "deadline": "realtime",
            "cpu-used": "-6",
            "lag-in-frames": "0",
            "bufsize": rate,
            "minrate": rate,
            "maxrate": rate,
            "undershoot-pct": "100",
            "overshoot-pct": "15",
            "static-thresh": "1",
            "noise-sensitivity": "4",
            "partitions": "0",
        }
        pixels = width * height
        ctx.thread_count = 2 if pixels > 640 * 480 and multiprocessing.cpu_count() >= 3 else 1
        self._size = (width, height)
        return ctx

    def _pts(self, frame: VideoFrame) -> int:
        if frame.pts is not None and frame.time_base is not None:
            pts = _to_clock(frame.pts, Fraction(frame.time_base), VIDEO_TIME_BASE)
        else:
            pts = int((time.monotonic() - self._started) * VIDEO_CLOCK)
        if self._last_pts is not None and pts <= self._last_pts:
            pts = self._last_pts + VIDEO_CLOCK // self._frame_rate  # libvpx needs rising pts
        self._last_pts = pts
        return pts

    def encode(self, frame: VideoFrame, force_keyframe: bool) -> list[Encoded]:
        width, height = self._target_size(frame.width, frame.height)
        if self._ctx is None or self._size != (width, height):
            self._ctx = self._open(width, height)
        pts = self._pts(frame)
        if (frame.width, frame.height) != (width, height) or frame.format.name != "yuv420p":
            frame = frame.reformat(width=width, height=height, format="yuv420p")
        # The frame object is shared by every quality of the source (and, for a decoded remote
        # track, carries the sender's picture type): set both fields on every encode.
        frame.pts = pts
        frame.time_base = VIDEO_TIME_BASE
        frame.pict_type = PictureType.I if force_keyframe else PictureType.NONE
        duration = VIDEO_CLOCK // self._frame_rate
        return [
            Encoded(
                bytes(p), pts if p.pts is None else p.pts, VIDEO_TIME_BASE, p.is_keyframe, duration
            )
            for p in self._ctx.encode(frame)
        ]


class AudioEncoder:
    """Opus, mono, 48 kHz, 20 ms frames, for one (source, quality)."""

    def __init__(self, quality: Quality) -> None:
        self.quality = quality
        ctx = av.CodecContext.create("libopus", "w")
        ctx.sample_rate = AUDIO_RATE
        ctx.layout = "mono"
        ctx.format = "s16"
        ctx.bit_rate = quality.bitrate
        ctx.time_base = AUDIO_TIME_BASE
        ctx.options = {"application": "voip"}
        self._ctx = ctx
        self._resampler = AudioResampler(
            format="s16", layout="mono", rate=AUDIO_RATE, frame_size=AUDIO_FRAME_SAMPLES
        )
        self._next_pts: int | None = None

    def encode(self, frame: AudioFrame) -> list[Encoded]:
        if frame.pts is None:
            # A source without timestamps: continue our own clock in the source's rate.
            frame.time_base = Fraction(1, frame.sample_rate)
            frame.pts = 0 if self._next_pts is None else self._next_pts
        out: list[Encoded] = []
        for chunk in self._resampler.resample(frame):
            for p in self._ctx.encode(chunk):
                if p.pts is None or p.time_base is None:
                    continue
                pts = _to_clock(p.pts, Fraction(p.time_base), AUDIO_TIME_BASE)
                out.append(Encoded(bytes(p), pts, AUDIO_TIME_BASE, True, AUDIO_FRAME_SAMPLES))
        self._next_pts = frame.pts + frame.samples
        return out


def silence_like(frame: AudioFrame) -> AudioFrame:
    """A frame of zeros with the same shape and clock as ``frame``."""
    quiet = AudioFrame(format=frame.format.name, layout=frame.layout.name, samples=frame.samples)
    for plane in quiet.planes:
        plane.update(bytes(plane.buffer_size))
    quiet.sample_rate = frame.sample_rate
    quiet.pts = frame.pts
    quiet.time_base = frame.time_base
    return quiet
