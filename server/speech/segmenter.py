"""Utterances from a stream of 16 kHz mono PCM: a speech onset, then the utterance at its end.

Pure: samples go in with ``feed()``, events come out; the voice-activity decision is a function
of one 30 ms frame passed in (``webrtc_vad`` in production, anything in tests), and time is the
number of samples fed, never a clock. Onset and end use the smoothing of the py-webrtcvad
example: a window of recent frames must be mostly voiced to start and mostly unvoiced to end,
so a cough or a pause between words does neither. Onset is its own event, sent as soon as
speech starts, so the room can stop an expert who is talking (barge-in) long before the
utterance is transcribed.

A pause (``early_ms`` of quiet, short of the end window) is reported too, with the speech so
far: the recogniser can start on it while the end window is still being judged, and if the
utterance ends with nothing voiced after the pause, its transcript is the one for the
utterance. A pause between words is then a decode thrown away, never a word lost.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from server.speech.results import Pcm

SAMPLE_RATE = 16_000
FRAME_MS = 30  # webrtcvad takes 10, 20 or 30 ms frames
FRAME_SAMPLES = SAMPLE_RATE * FRAME_MS // 1000

IsSpeech = Callable[[bytes], bool]  # one frame of FRAME_SAMPLES int16, little-endian


@dataclass(frozen=True, slots=True)
class SegmenterConfig:
    onset_ms: int = 300  # window judged for the onset ...
    onset_ratio: float = 0.8  # ... which must be this voiced
    end_ms: int = 600  # window judged for the end: a pause between words is shorter ...
    end_ratio: float = 0.9  # ... and this unvoiced
    early_ms: int = 210  # this much quiet is a pause worth recognising ahead (0: never)
    max_utterance_s: float = 30.0  # longer speech is cut here and goes on as a new utterance

    def __post_init__(self) -> None:
        if self.onset_ms < FRAME_MS or self.end_ms < FRAME_MS:
            raise ValueError(f"windows must be at least one {FRAME_MS} ms frame")
        if not (0 < self.onset_ratio <= 1 and 0 < self.end_ratio <= 1):
            raise ValueError("ratios must be in (0, 1]")
        if self.max_utterance_s * 1000 <= self.onset_ms:
            raise ValueError("max_utterance_s must be longer than the onset window")
        if self.early_ms and not FRAME_MS <= self.early_ms < self.end_ms:
            raise ValueError("early_ms must be 0 or from one frame to below end_ms")


@dataclass(frozen=True, slots=True)
class SpeechOnset:
    at_s: float  # stream time of the first frame of the onset window


@dataclass(frozen=True, slots=True, eq=False)
class SpeechPause:
    """Quiet for ``early_ms`` within an utterance that may be ending."""

    pcm: Pcm = field(repr=False)  # the utterance so far, up to the pause's quiet frames
    start_s: float
    sample_rate: int = SAMPLE_RATE


@dataclass(frozen=True, slots=True, eq=False)
class Utterance:
    pcm: Pcm = field(repr=False)  # 16 kHz mono, from the onset window to the end window
    start_s: float
    end_s: float
    cut: bool  # True: still speaking at max_utterance_s, the rest follows as another one
    sample_rate: int = SAMPLE_RATE
    # Samples of pcm up to the last SpeechPause when nothing was voiced after it: that
    # pause's pcm is this utterance but for quiet. None: no such pause.
    quiet_from: int | None = None

    @property
    def duration_s(self) -> float:
        return len(self.pcm) / self.sample_rate


SegmentEvent = SpeechOnset | SpeechPause | Utterance


class Segmenter:
    def __init__(self, is_speech: IsSpeech, config: SegmenterConfig | None = None) -> None:
        self.config = config or SegmenterConfig()
        self._is_speech = is_speech
        self._onset_frames = self.config.onset_ms // FRAME_MS
        self._end_frames = self.config.end_ms // FRAME_MS
        self._early_frames = self.config.early_ms // FRAME_MS
        self._max_frames = int(self.config.max_utterance_s * 1000) // FRAME_MS
        self._pending = np.zeros(0, dtype=np.int16)  # less than one frame, carried over
        self._frame_index = 0  # frames judged so far: the stream clock
        # Not speaking: the onset window (frames and their verdicts).
        self._window: deque[tuple[Pcm, bool]] = deque(maxlen=self._onset_frames)
        # Speaking: the utterance so far and the verdicts of its last end_ms.
        self._speaking = False
        self._start_frame = 0
        self._frames: list[Pcm] = []
        self._recent: deque[bool] = deque(maxlen=self._end_frames)
        self._quiet = 0  # unvoiced frames in a row
        self._paused_at: int | None = None  # frames of the utterance at the standing pause

    @property
    def speaking(self) -> bool:
        return self._speaking

    @property
    def stream_s(self) -> float:
        return self._frame_index * FRAME_MS / 1000

    def feed(self, pcm: Pcm) -> list[SegmentEvent]:
        """Samples at 16 kHz mono, any length; the events they complete, in order."""
        if pcm.dtype != np.int16 or pcm.ndim != 1:
            raise ValueError("expected mono int16 samples")
        samples = np.concatenate((self._pending, pcm)) if len(self._pending) else pcm
        whole = len(samples) // FRAME_SAMPLES * FRAME_SAMPLES
        self._pending = samples[whole:].copy()
        events: list[SegmentEvent] = []
        for i in range(0, whole, FRAME_SAMPLES):
            frame = samples[i : i + FRAME_SAMPLES]
            event = self._frame(frame, self._is_speech(frame.astype("<i2").tobytes()))
            if event is not None:
                events.extend(event)
        return events

    def flush(self) -> list[SegmentEvent]:
        """The stream ended: an utterance in progress ends here, not cut."""
        self._pending = np.zeros(0, dtype=np.int16)
        if not self._speaking:
            self._window.clear()
            return []
        return [self._finish(cut=False)]

    def _frame(self, frame: Pcm, voiced: bool) -> list[SegmentEvent] | None:
        self._frame_index += 1
        if not self._speaking:
            self._window.append((frame, voiced))
            heard = sum(1 for _, v in self._window if v)
            if len(self._window) < self._onset_frames:
                return None
            if heard < self.config.onset_ratio * self._onset_frames:
                return None
            self._speaking = True
            self._start_frame = self._frame_index - len(self._window)
            self._frames = [f for f, _ in self._window]
            self._recent.clear()
            self._recent.extend(v for _, v in self._window)
            self._window.clear()
            self._quiet, self._paused_at = 0, None
            return [SpeechOnset(self._start_frame * FRAME_MS / 1000)]
        self._frames.append(frame)
        self._recent.append(voiced)
        if len(self._frames) >= self._max_frames:
            return [self._finish(cut=True)]
        silent = sum(1 for v in self._recent if not v)
        if len(self._recent) == self._end_frames and silent >= (
            self.config.end_ratio * self._end_frames
        ):
            return [self._finish(cut=False)]
        if voiced:
            self._quiet, self._paused_at = 0, None
            return None
        self._quiet += 1
        if self._quiet == self._early_frames:
            self._paused_at = len(self._frames)
            start = self._start_frame * FRAME_MS / 1000
            return [SpeechPause(np.concatenate(self._frames), start)]
        return None

    def _finish(self, *, cut: bool) -> Utterance:
        pcm = np.concatenate(self._frames) if self._frames else np.zeros(0, dtype=np.int16)
        start = self._start_frame * FRAME_MS / 1000
        quiet_from = None if self._paused_at is None else self._paused_at * FRAME_SAMPLES
        utterance = Utterance(
            pcm, start, start + len(pcm) / SAMPLE_RATE, cut, quiet_from=quiet_from
        )
        self._speaking = False
        self._frames = []
        self._recent.clear()
        self._quiet, self._paused_at = 0, None
        return utterance
