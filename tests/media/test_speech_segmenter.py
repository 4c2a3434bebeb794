"""The utterance segmenter: pure, driven by a scripted VAD and by WebRTC's real one."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from server.speech.results import Pcm
from server.speech.segmenter import (
    FRAME_MS,
    FRAME_SAMPLES,
    SAMPLE_RATE,
    Segmenter,
    SegmenterConfig,
    SpeechOnset,
    Utterance,
)
from server.speech.vad import webrtc_vad
from tests.speech_audio import silence, speak_16k


class Script:
    """A VAD that answers from a list of verdicts, one per frame."""

    def __init__(self, verdicts: list[bool]) -> None:
        self._verdicts: Iterator[bool] = iter(verdicts)

    def __call__(self, frame: bytes) -> bool:
        assert len(frame) == 2 * FRAME_SAMPLES
        return next(self._verdicts)


def frames(n: int) -> Pcm:
    return np.ones(n * FRAME_SAMPLES, dtype=np.int16)


def s(ms: int) -> int:
    return ms // FRAME_MS


def test_speech_gives_an_onset_then_the_utterance_at_its_end() -> None:
    verdicts = [False] * s(600) + [True] * s(1500) + [False] * s(1200)
    seg = Segmenter(Script(verdicts))
    events = seg.feed(frames(len(verdicts)))
    assert [type(e) for e in events] == [SpeechOnset, Utterance]
    onset, utterance = events
    assert isinstance(onset, SpeechOnset)
    assert isinstance(utterance, Utterance)
    # The onset window starts a little before the speech: the utterance keeps its first sound.
    assert 0.3 <= onset.at_s < 0.6
    assert utterance.start_s == onset.at_s
    assert not utterance.cut
    # The speech and the end window that judged it over (mostly silence, kept for context).
    assert 1.5 <= utterance.duration_s <= 1.5 + 0.75 + 0.3
    assert utterance.end_s == pytest.approx(utterance.start_s + utterance.duration_s)
    assert seg.flush() == []


def test_onset_is_reported_before_the_utterance_ends() -> None:
    seg = Segmenter(Script([True] * s(2000)))
    first = seg.feed(frames(s(300)))
    assert [type(e) for e in first] == [SpeechOnset]
    assert seg.speaking
    assert seg.feed(frames(s(1500))) == []


def test_a_click_and_a_pause_between_words_neither_start_nor_split() -> None:
    click = [True] * 4 + [False] * s(1000)
    words = [True] * s(900) + [False] * s(450) + [True] * s(900) + [False] * s(1500)
    seg = Segmenter(Script(click + words))
    events = seg.feed(frames(len(click) + len(words)))
    assert [type(e) for e in events] == [SpeechOnset, Utterance]


def test_sixty_seconds_of_speech_is_cut_at_thirty_and_goes_on() -> None:
    n = s(61_000)
    seg = Segmenter(Script([True] * n))
    pcm = frames(n)
    events = []
    for start in range(0, len(pcm), 7_777):  # chunks that do not line up with frames
        events += seg.feed(pcm[start : start + 7_777])
    events += seg.flush()
    utterances = [e for e in events if isinstance(e, Utterance)]
    assert [type(e) for e in events] == [SpeechOnset, Utterance] * 3
    assert utterances[0].cut
    assert utterances[0].duration_s == pytest.approx(30.0)
    assert utterances[1].cut
    assert not utterances[2].cut  # what was left when the stream ended
    assert utterances[1].start_s == pytest.approx(30.0)
    assert sum(u.duration_s for u in utterances) == pytest.approx(n * FRAME_MS / 1000)  # all kept


def test_bad_input_and_config_are_refused() -> None:
    seg = Segmenter(Script([]))
    with pytest.raises(ValueError, match="mono int16"):
        seg.feed(np.zeros(480, dtype=np.float32))
    with pytest.raises(ValueError, match="mono int16"):
        seg.feed(np.zeros((480, 2), dtype=np.int16))
    with pytest.raises(ValueError, match="at least one"):
        SegmenterConfig(onset_ms=10)
    with pytest.raises(ValueError, match="longer than the onset"):
        SegmenterConfig(max_utterance_s=0.2)
    with pytest.raises(ValueError, match="aggressiveness"):
        webrtc_vad(4)


def test_webrtc_vad_hears_nothing_in_silence_and_one_question_in_speech() -> None:
    seg = Segmenter(webrtc_vad())
    assert seg.feed(silence(5.0)) == []
    question = speak_16k("Can you tell me about bond funds?")
    events = seg.feed(np.concatenate((question, silence(1.5))))
    assert [type(e) for e in events] == [SpeechOnset, Utterance]
    onset, utterance = events
    assert isinstance(onset, SpeechOnset)
    assert isinstance(utterance, Utterance)
    assert 4.95 <= onset.at_s <= 5.5  # within a frame of where the speech begins
    assert utterance.duration_s >= len(question) / SAMPLE_RATE * 0.7
    assert not utterance.cut


def test_webrtc_vad_takes_a_quiet_room_for_silence() -> None:
    # Loud hum or hiss does pass WebRTC's VAD as speech; the recogniser then hears no words
    # or has low confidence (tests/media/test_speech_sphinx.py), and the room decides.
    hiss = np.random.default_rng(7).normal(0, 300, SAMPLE_RATE * 5).astype(np.int16)
    seg = Segmenter(webrtc_vad())
    assert seg.feed(hiss) + seg.flush() == []
