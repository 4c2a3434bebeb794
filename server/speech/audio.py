"""Audio frames of any rate, layout and sample format to the recogniser's 16 kHz mono int16.

A browser's Opus track decodes to 48 kHz stereo; other tracks (a file, a test) may be anything
FFmpeg can resample. Rates outside ``RATES`` are refused: below 8 kHz there is no speech band
left to hear, and above 192 kHz the track is more likely broken than hi-fi.
"""

from __future__ import annotations

import numpy as np
from av.audio.frame import AudioFrame
from av.audio.resampler import AudioResampler

from server.speech.errors import AudioRefused
from server.speech.results import Pcm
from server.speech.segmenter import SAMPLE_RATE

RATES = (8_000, 192_000)


class ToSpeechRate:
    """Streaming resampler: keeps FFmpeg's filter state across frames, rebuilt on a change."""

    def __init__(self, rate: int = SAMPLE_RATE) -> None:
        self.rate = rate
        self._source: tuple[str, str, int] | None = None
        self._resampler: AudioResampler | None = None

    def convert(self, frame: AudioFrame) -> Pcm:
        rate = int(frame.sample_rate or 0)
        if not RATES[0] <= rate <= RATES[1]:
            raise AudioRefused(f"audio at {rate} Hz: accepted {RATES[0]}..{RATES[1]} Hz")
        channels = len(frame.layout.channels)
        if channels < 1:
            raise AudioRefused("audio without channels")
        source = (frame.format.name, frame.layout.name, rate)
        if source != self._source or self._resampler is None:
            self._source = source
            self._resampler = AudioResampler(format="s16", layout="mono", rate=self.rate)
        # FFmpeg checks each frame against the first; a frame without pts is fine.
        out = [f.to_ndarray().reshape(-1) for f in self._resampler.resample(frame)]
        if not out:
            return np.zeros(0, dtype=np.int16)
        return np.concatenate(out).astype(np.int16, copy=False)
