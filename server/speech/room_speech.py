"""A room's ears: one speech listener per member the room asked to hear.

The room (``rooms/voice.py``) says whom to listen to (``Listen``/``Unlisten``); this shell
reads their microphones from the media hub (decoded frames, no second decode), runs a
:class:`~server.speech.listener.SpeechListener` on each and reports back through the room:
``speech_started`` at an onset (barge-in must not wait for words), ``speech_ended``, then
``heard`` or ``please_type``. Speech the room does not count as a question (push-to-talk up,
an advisor speaking, a muted microphone) is not transcribed at all: the room is asked
(``Room.hears``) before the recogniser sees it, at a pause and again when the utterance ends.

A listener runs while its member is wanted and its microphone is live and switched on; it
is stopped (what it had not transcribed is dropped) at a mute, a track's end, ``Unlisten``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from rooms.outputs import Listen, Output
from rooms.room import Room
from server.media.hub import FrameTap, MediaHub
from server.speech.listener import (
    AudioUnusable,
    ListenEvent,
    SpeechListener,
    SpeechStarted,
    Transcribed,
    UtteranceEnded,
)
from server.speech.results import Heard, Pcm, Transcriber, Transcript
from server.speech.segmenter import SegmenterConfig

log = logging.getLogger(__name__)


@dataclass(eq=False)
class _Ear:
    want: Listen
    listener: SpeechListener | None = None
    tap: FrameTap | None = None
    onsets: list[int] = field(default_factory=list)  # the listener's utterance n -> room id


class _Deaf:
    """No recogniser on this node: never asked (``asks`` says no), here for the type."""

    async def transcribe(self, pcm: Pcm, sample_rate: int, language: str) -> Transcript:
        return Heard("", 0.0, language, (), "")


class RoomSpeech:
    def __init__(
        self,
        room: Room,
        hub: MediaHub,
        transcriber: Transcriber | None,
        *,
        source_of: Callable[[int], str],
        dispatch: Callable[[list[Output]], None],
        config: SegmenterConfig | None = None,
    ) -> None:
        self.room = room
        self.hub = hub
        self.transcriber = transcriber
        self._source_of = source_of  # member -> its microphone's hub source id
        self._dispatch = dispatch
        self._config = config
        self._ears: dict[int, _Ear] = {}
        self._next = 0  # utterance ids, unique in this room
        self._stopping: set[asyncio.Task[None]] = set()

    def listen(self, want: Listen) -> None:
        old = self._ears.get(want.member)
        if old is not None and old.want == want:
            return
        self._detach(want.member)
        self._ears[want.member] = _Ear(want)
        self.follow(want.member)

    def unlisten(self, member: int) -> None:
        self._detach(member)

    def follow(self, member: int) -> None:
        """The member's microphone came, went, or was switched: listen while it is live and on."""
        ear = self._ears.get(member)
        if ear is None:
            return
        source_id = self._source_of(member)
        states = {s.source_id: s for s in self.hub.sources()}
        state = states.get(source_id)
        on = state is not None and state.live and state.enabled
        if on and ear.listener is None:
            self._attach(member, ear, source_id)
        elif not on and ear.listener is not None:
            self._stop(ear)

    def _attach(self, member: int, ear: _Ear, source_id: str) -> None:
        transcriber = self.transcriber
        listener: SpeechListener | None = None

        def current() -> bool:
            return self._ears.get(member) is ear and ear.listener is listener

        def on_event(event: ListenEvent) -> None:
            if current():
                self._on_event(member, ear, event)

        def asks(number: int) -> bool:
            # Asked at a pause (the onset's utterance is the newest) and at the end.
            return (
                current()
                and transcriber is not None
                and ear.want.transcribe
                and number <= len(ear.onsets)
                and self.room.hears(member, ear.onsets[number - 1])
            )

        ear.onsets = []
        ear.tap = self.hub.tap(source_id)
        listener = SpeechListener(
            on_event,
            transcriber or _Deaf(),
            language=ear.want.language,
            asks=asks,
            config=self._config,
        )
        ear.listener = listener
        listener.listen(ear.tap)

    def _on_event(self, member: int, ear: _Ear, event: ListenEvent) -> None:
        now = time.time()
        room = self.room
        if isinstance(event, SpeechStarted):
            self._next += 1
            ear.onsets.append(self._next)
            self._dispatch(room.speech_started(member, self._next, now))
        elif isinstance(event, UtteranceEnded):
            room.speech_ended(member, ear.onsets[event.number - 1], now, cut=event.cut)
        elif isinstance(event, Transcribed):
            utterance = ear.onsets[event.number - 1]
            transcript = event.transcript
            if isinstance(transcript, Heard):
                out = room.heard(
                    member,
                    utterance,
                    transcript.text,
                    transcript.confidence,
                    transcript.language,
                    now,
                    cut=event.cut,
                )
            else:
                out = room.please_type(member, utterance, transcript.language, now)
            self._dispatch(out)
        elif isinstance(event, AudioUnusable):
            log.info(
                "room %s: member %d's audio cannot be heard: %s", room.id, member, event.reason
            )
            self._dispatch(room.audio_unusable(member, event.reason, now))

    def _stop(self, ear: _Ear) -> None:
        listener, tap = ear.listener, ear.tap
        ear.listener = ear.tap = None  # its late events no longer reach the room
        if tap is not None:
            self.hub.untap(tap)
        if listener is not None:
            task = asyncio.ensure_future(listener.stop())
            self._stopping.add(task)
            task.add_done_callback(self._stopping.discard)

    def _detach(self, member: int) -> None:
        ear = self._ears.pop(member, None)
        if ear is not None:
            self._stop(ear)

    async def close(self) -> None:
        for member in list(self._ears):
            self._detach(member)
        if self._stopping:
            await asyncio.gather(*self._stopping, return_exceptions=True)
