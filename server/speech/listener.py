"""Listens to one member's microphone track and reports what it hears.

The I/O shell around the pure segmenter: frames come from an aiortc track, are brought to
16 kHz mono, segmented, and each finished utterance is transcribed off the loop while the
track keeps being read (a slow recogniser must never stall the audio, or onsets would come
late). Events go to one callback, in the order they happen for speech (onset, then its
utterance) and as soon as ready for transcripts, which name their utterance.

Recognition starts at a pause (``SpeechPause``), not at the end: the end window is mostly
quiet, so when the utterance ends with nothing voiced after the pause, the transcript begun
there is the utterance's, and the customer waits for the rest of the decode only, not all
of it. The recogniser hears speech only when ``asks`` says the utterance is one to write
down, asked at the pause and again at the end (its verdict may change in between).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av.audio.frame import AudioFrame

from server.speech.audio import ToSpeechRate
from server.speech.errors import AudioRefused
from server.speech.results import Heard, Pcm, PleaseType, Transcriber, Transcript
from server.speech.segmenter import (
    IsSpeech,
    Segmenter,
    SegmenterConfig,
    SegmentEvent,
    SpeechOnset,
    SpeechPause,
    Utterance,
)
from server.speech.vad import webrtc_vad

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    """Someone began to speak: enough for barge-in, nothing transcribed yet."""

    at_s: float  # stream time: seconds of audio received before the onset


@dataclass(frozen=True, slots=True)
class UtteranceEnded:
    number: int  # 1, 2, ... per listener; the Transcribed event names it
    utterance: Utterance = field(repr=False)

    @property
    def cut(self) -> bool:
        return self.utterance.cut


@dataclass(frozen=True, slots=True)
class Transcribed:
    number: int
    transcript: Transcript
    cut: bool  # the utterance hit the length limit: this is only its first part
    latency_s: float  # from the end of the utterance to the text


@dataclass(frozen=True, slots=True)
class AudioUnusable:
    """The track's audio cannot be heard (its reason); the listener has stopped."""

    reason: str


ListenEvent = SpeechStarted | UtteranceEnded | Transcribed | AudioUnusable
OnEvent = Callable[[ListenEvent], None]
Asks = Callable[[int], bool]  # utterance number -> transcribe it?


@dataclass(eq=False)
class _Ahead:
    """A transcription begun at a pause of the utterance under way."""

    samples: int  # of the utterance's pcm it hears
    language: str
    task: asyncio.Future[Transcript]


class SpeechListener:
    def __init__(
        self,
        on_event: OnEvent,
        transcriber: Transcriber,
        *,
        language: str = "en",
        config: SegmenterConfig | None = None,
        is_speech: IsSpeech | None = None,
        asks: Asks | None = None,
    ) -> None:
        """``asks``: whether to transcribe utterance n (default: every one); one not asked
        for comes back as nothing heard without reaching the recogniser."""
        self.on_event = on_event
        self.transcriber = transcriber
        self._asks = asks or (lambda number: True)
        self._ahead: _Ahead | None = None
        self.ahead_used = 0  # utterances whose transcript was begun at a pause
        self.ahead_wasted = 0  # pauses decoded and then talked over
        self.language = language  # may change between utterances (the customer's choice)
        self._segmenter = Segmenter(is_speech or webrtc_vad(), config)
        self._convert = ToSpeechRate()
        self._task: asyncio.Task[None] | None = None
        self._pending: set[asyncio.Task[None]] = set()
        self._count = 0

    def listen(self, track: MediaStreamTrack) -> None:
        """Start reading ``track`` in a task; ``stop()`` or the track's end finishes it."""
        if self._task is not None:
            raise RuntimeError("already listening")
        if track.kind != "audio":
            raise ValueError(f"a {track.kind} track has no speech")
        self._task = asyncio.create_task(self.run(track), name="speech-listener")

    async def run(self, track: MediaStreamTrack) -> None:
        """Read ``track`` to its end, then wait for the transcripts still being made."""
        try:
            while True:
                try:
                    frame = await track.recv()
                except MediaStreamError:
                    break
                if not isinstance(frame, AudioFrame):
                    self._emit(AudioUnusable("the track sends no audio frames"))
                    return
                try:
                    pcm = self._convert.convert(frame)
                except AudioRefused as exc:
                    self._emit(AudioUnusable(str(exc)))
                    return
                for event in self._segmenter.feed(pcm):
                    self._handle(event)
            for event in self._segmenter.flush():
                self._handle(event)
        finally:
            if self._pending:
                await asyncio.gather(*self._pending, return_exceptions=True)

    async def stop(self) -> None:
        """Stop reading; transcripts already under way are dropped."""
        self._drop_ahead()
        for task in (self._task, *self._pending):
            if task is not None:
                task.cancel()
        for task in (self._task, *self._pending):
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def finished(self) -> None:
        """The track ended and every transcript is out."""
        if self._task is not None:
            await self._task

    def _handle(self, event: SegmentEvent) -> None:
        if isinstance(event, SpeechOnset):
            self._emit(SpeechStarted(event.at_s))
            return
        number = self._count + 1
        if isinstance(event, SpeechPause):
            self._drop_ahead()  # talked over: the speech went on after that pause
            if self._asks(number):
                begun = asyncio.ensure_future(self._recognise(event.pcm, event.sample_rate))
                self._ahead = _Ahead(len(event.pcm), self.language, begun)
            return
        self._count = number
        self._emit(UtteranceEnded(number, event))
        ahead, self._ahead = self._ahead, None
        made: asyncio.Future[Transcript]
        if not self._asks(number):
            made = asyncio.get_running_loop().create_future()
            made.set_result(Heard("", 0.0, self.language, (), ""))
        elif (
            ahead is not None
            and ahead.samples == event.quiet_from
            and ahead.language == self.language
        ):
            self.ahead_used += 1
            made, ahead = ahead.task, None
        else:
            made = asyncio.ensure_future(self._recognise(event.pcm, event.sample_rate))
        if ahead is not None:
            self._waste(ahead)
        task = asyncio.create_task(self._report(number, event.cut, made))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    def _drop_ahead(self) -> None:
        if self._ahead is not None:
            self._waste(self._ahead)
            self._ahead = None

    def _waste(self, ahead: _Ahead) -> None:
        # Cancelling drops a decode still queued for the recogniser's thread; one already
        # running finishes there and its result is ignored.
        self.ahead_wasted += 1
        ahead.task.cancel()

    async def _recognise(self, pcm: Pcm, sample_rate: int) -> Transcript:
        language = self.language
        try:
            return await self.transcriber.transcribe(pcm, sample_rate, language)
        except asyncio.CancelledError:
            raise
        except Exception:  # a recogniser's bug still gets the customer an answer
            log.exception("transcriber failed")
            return PleaseType(language, "the recogniser failed")

    async def _report(self, number: int, cut: bool, made: asyncio.Future[Transcript]) -> None:
        ended = time.perf_counter()
        transcript = await made
        self._emit(Transcribed(number, transcript, cut, time.perf_counter() - ended))

    def _emit(self, event: ListenEvent) -> None:
        try:
            self.on_event(event)
        except Exception:  # the room's bug must not stop us hearing the next question
            log.exception("speech event handler failed on %r", event)
