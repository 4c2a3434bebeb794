"""An audio track that speaks queued clips at real time and says when each one started.

It yields 20 ms mono frames, silence between clips, paced by the wall clock like a
microphone, and is meant to be a hub source (``MediaHub.add_source``) so the speech is
encoded to Opus once for every listener. For each clip it reports the media timestamp and the
wall-clock time of the frame that carries the clip's first sample: the room puts the clip's
mouth envelope (one value per 1/30 s from that instant) on the same clock as the audio.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av.audio.frame import AudioFrame

from server.media.tts import Pcm, SpeechClip, resample

FRAME_S = 0.020
# When the reader fell this far behind (a stalled loop, a sender that started late), restart
# the clock instead of bursting the backlog out: listeners would hear it sped up or cut.
MAX_LAG_S = 0.2


@dataclass(frozen=True, slots=True)
class ClipStart:
    pts: int  # of the frame holding the clip's first sample, in time_base
    time_base: Fraction
    wall_time: float  # time.time() at which that frame was due


@dataclass(eq=False)
class Playback:
    """One queued clip: ``started`` resolves when it goes out, ``finished`` after its end."""

    clip: SpeechClip
    started: asyncio.Future[ClipStart] = field(init=False)
    finished: asyncio.Future[None] = field(init=False)
    _samples: Pcm = field(init=False, repr=False)
    _pos: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        loop = asyncio.get_running_loop()
        self.started = loop.create_future()
        self.finished = loop.create_future()

    def cancel(self) -> None:
        for fut in (self.started, self.finished):
            if not fut.done():
                fut.cancel()


class SpeechTrack(MediaStreamTrack):
    kind = "audio"

    def __init__(
        self,
        *,
        sample_rate: int = 48_000,
        on_clip_start: Callable[[Playback, ClipStart], None] | None = None,
    ) -> None:
        super().__init__()
        self.sample_rate = sample_rate
        self.time_base = Fraction(1, sample_rate)
        self._frame_samples = int(sample_rate * FRAME_S)
        self._queue: deque[Playback] = deque()
        self._on_clip_start = on_clip_start
        self._start_wall: float | None = None  # wall time of pts 0 of the current clock run
        self._pts = 0
        self.frames = 0

    @property
    def speaking(self) -> bool:
        return bool(self._queue)

    def play(self, clip: SpeechClip) -> Playback:
        """Queue ``clip`` after whatever is already queued."""
        if self.readyState != "live":
            raise MediaStreamError
        playback = Playback(clip)
        samples = clip.samples
        if clip.sample_rate != self.sample_rate:
            samples = resample(samples, clip.sample_rate, self.sample_rate)
        playback._samples = samples
        self._queue.append(playback)
        return playback

    def interrupt(self) -> None:
        """Stop talking now (the customer spoke over the expert); queued clips are dropped."""
        while self._queue:
            self._queue.popleft().cancel()

    def stop(self) -> None:
        self.interrupt()
        super().stop()

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        now = time.time()
        if self._start_wall is None:
            self._start_wall = now - self._pts / self.sample_rate
        due = self._start_wall + self._pts / self.sample_rate
        if due > now:
            await asyncio.sleep(due - now)
            if self.readyState != "live":
                raise MediaStreamError
        elif now - due > MAX_LAG_S:
            self._start_wall = now - self._pts / self.sample_rate
            due = now
        frame = self._next_frame(due)
        self._pts += self._frame_samples
        self.frames += 1
        return frame

    def _next_frame(self, due: float) -> AudioFrame:
        n = self._frame_samples
        pcm = np.zeros(n, dtype=np.int16)
        # A clip starts on a frame boundary (so its start is exactly this frame's pts) and the
        # next one on the following frame: a few ms of silence between sentences is natural.
        if self._queue:
            playback = self._queue[0]
            if playback._pos == 0 and not playback.started.done():
                start = ClipStart(self._pts, self.time_base, due)
                playback.started.set_result(start)
                if self._on_clip_start is not None:
                    self._on_clip_start(playback, start)
            chunk = playback._samples[playback._pos : playback._pos + n]
            pcm[: len(chunk)] = chunk
            playback._pos += len(chunk)
            if playback._pos >= len(playback._samples):
                self._queue.popleft()
                if not playback.finished.done():
                    playback.finished.set_result(None)
        frame = AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = self.sample_rate
        frame.pts = self._pts
        frame.time_base = self.time_base
        return frame
