"""The listener on real audio tracks: a customer's question over a real aiortc peer on
loopback, and the tracks a browser should not send (silence, noise, a minute of talk, odd
rates)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection
from aiortc.contrib.media import MediaPlayer
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av.audio.frame import AudioFrame

from server.media.tts import resample
from server.speech import (
    AudioUnusable,
    Heard,
    ListenEvent,
    Pcm,
    SpeechListener,
    SpeechStarted,
    SphinxTranscriber,
    Transcribed,
    Transcript,
    UtteranceEnded,
)
from server.speech.vocabulary import load_bank_vocabulary
from tests.speech_audio import silence, speak, speak_16k, write_wav

DEADLINE = 60.0  # decoding on a busy two-core machine; the wait ends as soon as it is heard
QUESTION = "I want to buy shares in a bank."
KEY_WORDS = {"shares", "share", "buy"}


class Events:
    """The listener's callback, with a way to wait for a kind of event."""

    def __init__(self) -> None:
        self.seen: list[ListenEvent] = []
        self._changed = asyncio.Event()

    def __call__(self, event: ListenEvent) -> None:
        self.seen.append(event)
        self._changed.set()

    def of(self, kind: type) -> list:  # type: ignore[type-arg]
        return [e for e in self.seen if isinstance(e, kind)]

    async def until(self, kind: type, count: int = 1) -> None:
        async with asyncio.timeout(DEADLINE):
            while len(self.of(kind)) < count:
                self._changed.clear()
                await self._changed.wait()


class FramesTrack(MediaStreamTrack):
    """Plays PCM as 20 ms frames as fast as they are read, then ends: a file, not a mic."""

    kind = "audio"

    def __init__(self, pcm: Pcm, rate: int, *, channels: int = 1, fmt: str = "s16") -> None:
        super().__init__()
        self._pcm = pcm
        self._rate = rate
        self._channels = channels
        self._fmt = fmt
        self._pos = 0

    async def recv(self) -> AudioFrame:
        step = max(1, self._rate // 50)
        if self._pos >= len(self._pcm):
            self.stop()
            raise MediaStreamError
        chunk = self._pcm[self._pos : self._pos + step]
        layout = "mono" if self._channels == 1 else "stereo"
        if self._fmt == "fltp":
            planes = np.tile(chunk.astype(np.float32) / 32768.0, (self._channels, 1))
            frame = AudioFrame.from_ndarray(planes, format="fltp", layout=layout)
        else:
            packed = np.repeat(chunk, self._channels).reshape(1, -1)
            frame = AudioFrame.from_ndarray(packed, format="s16", layout=layout)
        frame.sample_rate = self._rate
        frame.pts = self._pos
        frame.time_base = Fraction(1, self._rate)
        self._pos += step
        return frame


class Echo:
    """A transcriber that says how long it was given, at once: for tests about segmentation."""

    async def transcribe(self, pcm: Pcm, sample_rate: int, language: str) -> Transcript:
        return Heard(f"{len(pcm) / sample_rate:.2f}", 1.0, language, None, "echo")


@pytest.fixture(scope="module")
def sphinx() -> SphinxTranscriber:
    return SphinxTranscriber(vocabulary=load_bank_vocabulary().words)


@pytest.fixture
async def peers() -> AsyncIterator[tuple[RTCPeerConnection, RTCPeerConnection]]:
    member = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    server = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    yield member, server
    await member.close()
    await server.close()


async def test_a_question_spoken_into_a_real_peer_is_heard_on_the_server(
    tmp_path: Path,
    peers: tuple[RTCPeerConnection, RTCPeerConnection],
    sphinx: SphinxTranscriber,
) -> None:
    member, server = peers
    pcm, rate = speak(QUESTION)
    # Quiet before and after, as a microphone has: the end of speech is heard in the silence.
    wav = write_wav(
        tmp_path / "question.wav",
        np.concatenate((silence(0.5, rate), pcm, silence(2.0, rate))),
        rate,
    )
    player = MediaPlayer(str(wav))
    assert player.audio is not None
    member.addTrack(player.audio)
    events = Events()
    listener = SpeechListener(events, sphinx)

    @server.on("track")
    def on_track(track: MediaStreamTrack) -> None:
        listener.listen(track)

    await member.setLocalDescription(await member.createOffer())
    await server.setRemoteDescription(member.localDescription)
    await server.setLocalDescription(await server.createAnswer())
    await member.setRemoteDescription(server.localDescription)
    try:
        await events.until(Transcribed)
    finally:
        await listener.stop()
        player.audio.stop()
    (onset,) = events.of(SpeechStarted)
    (ended,) = events.of(UtteranceEnded)
    (heard,) = events.of(Transcribed)
    assert events.seen.index(onset) < events.seen.index(ended) < events.seen.index(heard)
    assert ended.number == heard.number == 1
    assert not ended.cut
    # Opus at 48 kHz, resampled to 16 kHz: the utterance is the question's length or so.
    assert ended.utterance.duration_s >= len(pcm) / rate * 0.7
    assert isinstance(heard.transcript, Heard)
    assert set(heard.transcript.text.split()) & KEY_WORDS, heard.transcript.text
    assert heard.latency_s > 0


async def test_silence_gives_no_event_at_all() -> None:
    events = Events()
    listener = SpeechListener(events, Echo())
    await listener.run(FramesTrack(silence(10.0, 48_000), 48_000, channels=2))
    assert events.seen == []


async def test_noise_gives_nothing_or_words_with_low_confidence(sphinx: SphinxTranscriber) -> None:
    rng = np.random.default_rng(3)
    hiss = rng.normal(0, 2500, 48_000 * 4).astype(np.int16)
    hum = (np.sin(np.arange(48_000 * 4) * 2 * np.pi * 50 / 48_000) * 6000).astype(np.int16)
    events = Events()
    listener = SpeechListener(events, sphinx)
    await listener.run(FramesTrack(np.concatenate((hiss, hum)), 48_000))
    for transcribed in events.of(Transcribed):
        assert isinstance(transcribed.transcript, Heard)
        assert transcribed.transcript.confidence < 0.3, transcribed.transcript
    assert len(events.of(Transcribed)) == len(events.of(UtteranceEnded))


async def test_a_minute_of_talk_is_cut_at_thirty_seconds_with_the_flag() -> None:
    # Sentences back to back with no pause long enough to end an utterance.
    sentence = speak_16k("Tell me about bonds and funds and shares and deposits and tax", rate=220)
    voiced = np.flatnonzero(np.abs(sentence) > 500)
    sentence = sentence[voiced[0] : voiced[-1]]
    talk = np.tile(sentence, int(np.ceil(60 * 16_000 / len(sentence))))[: 60 * 16_000]
    events = Events()
    listener = SpeechListener(events, Echo())
    await listener.run(FramesTrack(np.concatenate((talk, silence(2.0))), 16_000))
    ended = events.of(UtteranceEnded)
    heard = events.of(Transcribed)
    assert ended[0].cut
    assert ended[0].utterance.duration_s == pytest.approx(30.0)
    assert heard[0].cut
    assert isinstance(heard[0].transcript, Heard)
    assert heard[0].transcript.text == "30.00"
    assert sum(e.utterance.duration_s for e in ended) >= 58.0
    assert len(events.of(SpeechStarted)) == len(ended) == len(heard)


@pytest.mark.parametrize(("rate", "channels", "fmt"), [(44_100, 2, "s16"), (8_000, 1, "fltp")])
async def test_other_rates_and_formats_are_resampled_and_heard(
    sphinx: SphinxTranscriber, rate: int, channels: int, fmt: str
) -> None:
    pcm, native = speak(QUESTION)
    audio = resample(pcm, native, rate)
    events = Events()
    listener = SpeechListener(events, sphinx)
    track = FramesTrack(
        np.concatenate((audio, silence(1.5, rate))), rate, channels=channels, fmt=fmt
    )
    await listener.run(track)
    (heard,) = events.of(Transcribed)
    assert isinstance(heard.transcript, Heard)
    if rate >= 16_000:  # 8 kHz has lost half the band the model was trained on
        assert set(heard.transcript.text.split()) & KEY_WORDS, heard.transcript.text


async def test_a_rate_too_low_for_speech_is_refused_clearly() -> None:
    events = Events()
    listener = SpeechListener(events, Echo())
    await listener.run(FramesTrack(speak_16k(QUESTION)[::4], 4_000))
    assert events.seen == [AudioUnusable("audio at 4000 Hz: accepted 8000..192000 Hz")]


async def test_a_failing_transcriber_and_a_failing_callback_do_not_stop_the_listener() -> None:
    class Broken:
        async def transcribe(self, pcm: Pcm, sample_rate: int, language: str) -> Transcript:
            raise RuntimeError("decoder crashed")

    seen: list[ListenEvent] = []

    def on_event(event: ListenEvent) -> None:
        seen.append(event)
        if isinstance(event, SpeechStarted):
            raise KeyError("the room's bug")

    listener = SpeechListener(on_event, Broken(), language="zh")
    question = np.concatenate((speak_16k(QUESTION), silence(1.5)))
    await listener.run(FramesTrack(np.concatenate((question, question)), 16_000))
    heard = [e for e in seen if isinstance(e, Transcribed)]
    assert [h.number for h in heard] == [1, 2]
    assert all(h.transcript.language == "zh" and not isinstance(h.transcript, Heard) for h in heard)


async def test_a_video_track_is_refused() -> None:
    class Video(MediaStreamTrack):
        kind = "video"

        async def recv(self) -> AudioFrame:
            raise MediaStreamError

    with pytest.raises(ValueError, match="video"):
        SpeechListener(Events(), Echo()).listen(Video())


class Heard16k:
    """A transcriber that says how many samples it was given, and keeps a log of the calls."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    async def transcribe(self, pcm: Pcm, sample_rate: int, language: str) -> Transcript:
        self.calls.append(len(pcm))
        return Heard(str(len(pcm)), 1.0, language, None, "count")


def loud_or_quiet(frame: bytes) -> bool:
    """A VAD for synthetic audio: a loud frame is speech."""
    return int(np.abs(np.frombuffer(frame, dtype="<i2")).max()) > 1000


def spans(*parts: tuple[bool, int]) -> Pcm:
    """16 kHz audio of loud and quiet spans (ms)."""
    return np.concatenate(
        [np.full(16 * ms, 8000 if loud else 0, dtype=np.int16) for loud, ms in parts]
    )


async def test_recognition_begun_at_the_pause_is_the_utterances_when_nothing_follows() -> None:
    events = Events()
    ears = Heard16k()
    listener = SpeechListener(events, ears, is_speech=loud_or_quiet)
    await listener.run(FramesTrack(spans((False, 300), (True, 900), (False, 1500)), 16_000))
    (ended,) = events.of(UtteranceEnded)
    (heard,) = events.of(Transcribed)
    # One decode, of the speech up to the pause, not of the whole end window after it.
    assert len(ears.calls) == 1
    assert ended.utterance.quiet_from == ears.calls[0] < len(ended.utterance.pcm)
    assert isinstance(heard.transcript, Heard)
    assert heard.transcript.text == str(ears.calls[0])
    assert (listener.ahead_used, listener.ahead_wasted) == (1, 0)


async def test_speech_after_a_pause_throws_that_decode_away() -> None:
    events = Events()
    ears = Heard16k()
    listener = SpeechListener(events, ears, is_speech=loud_or_quiet)
    audio = spans((False, 300), (True, 900), (False, 330), (True, 600), (False, 1500))
    await listener.run(FramesTrack(audio, 16_000))
    (ended,) = events.of(UtteranceEnded)
    (heard,) = events.of(Transcribed)
    assert isinstance(heard.transcript, Heard)
    # The pause between the words was begun on and dropped; the answer is from the last pause,
    # which heard both words.
    assert heard.transcript.text == str(ended.utterance.quiet_from)
    assert ended.utterance.quiet_from is not None
    assert ended.utterance.quiet_from > 16 * (900 + 330 + 600)
    assert listener.ahead_wasted == 1
    assert listener.ahead_used == 1


async def test_speech_the_room_does_not_ask_for_never_reaches_the_recogniser() -> None:
    events = Events()
    ears = Heard16k()
    listener = SpeechListener(events, ears, is_speech=loud_or_quiet, asks=lambda n: False)
    await listener.run(FramesTrack(spans((False, 300), (True, 900), (False, 1500)), 16_000))
    (heard,) = events.of(Transcribed)
    assert isinstance(heard.transcript, Heard)
    assert heard.transcript.text == ""
    assert ears.calls == []


async def test_a_verdict_that_turns_at_the_end_drops_what_was_begun() -> None:
    # Push-to-talk let go during the pause: asked at the pause, not at the end.
    verdicts = iter([True, False])
    events = Events()
    ears = Heard16k()
    listener = SpeechListener(events, ears, is_speech=loud_or_quiet, asks=lambda n: next(verdicts))
    await listener.run(FramesTrack(spans((False, 300), (True, 900), (False, 1500)), 16_000))
    (heard,) = events.of(Transcribed)
    assert isinstance(heard.transcript, Heard)
    assert heard.transcript.text == ""
    assert listener.ahead_wasted == 1
