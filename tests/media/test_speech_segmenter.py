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
    SpeechPause,
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
    assert [type(e) for e in events] == [SpeechOnset, SpeechPause, Utterance]
    onset, _, utterance = events
    assert isinstance(onset, SpeechOnset)
    assert isinstance(utterance, Utterance)
    # The onset window starts a little before the speech: the utterance keeps its first sound.
    assert 0.3 <= onset.at_s < 0.6
    assert utterance.start_s == onset.at_s
    assert not utterance.cut
    # The speech and the end window that judged it over (mostly silence, kept for context).
    assert 1.5 <= utterance.duration_s <= 1.5 + 0.6 + 0.3
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
    # The pause between the words is reported (recognition may start there), then talked over.
    assert [type(e) for e in events] == [SpeechOnset, SpeechPause, SpeechPause, Utterance]
    first, second, utterance = events[1:]
    assert isinstance(first, SpeechPause)
    assert isinstance(second, SpeechPause)
    assert isinstance(utterance, Utterance)
    assert len(first.pcm) < len(second.pcm) < len(utterance.pcm)
    assert utterance.quiet_from == len(second.pcm)  # nothing voiced after the second


def test_a_pause_reports_the_speech_so_far_and_the_utterance_says_whether_it_still_stands() -> None:
    speech = [True] * s(900)
    seg = Segmenter(Script(speech + [False] * s(1000)), SegmenterConfig(early_ms=210, end_ms=600))
    events = seg.feed(frames(s(900) + s(1000)))
    assert [type(e) for e in events] == [SpeechOnset, SpeechPause, Utterance]
    pause, utterance = events[1:]
    assert isinstance(pause, SpeechPause)
    assert isinstance(utterance, Utterance)
    # The onset window's frames, the speech after it, and the 210 ms of quiet.
    assert len(pause.pcm) == (s(900) + s(210)) * FRAME_SAMPLES
    assert np.array_equal(utterance.pcm[: len(pause.pcm)], pause.pcm)
    assert utterance.quiet_from == len(pause.pcm)
    # One voiced frame in the end window: the utterance still ends, but its pause is void.
    tail = [False] * s(300) + [True] + [False] * s(900)
    seg = Segmenter(Script(speech + tail), SegmenterConfig(early_ms=210, end_ms=600))
    events = seg.feed(frames(len(speech) + len(tail)))
    assert [type(e) for e in events][-1] is Utterance
    last = events[-1]
    assert isinstance(last, Utterance)
    pauses = [e for e in events if isinstance(e, SpeechPause)]
    assert len(pauses) == 2
    assert last.quiet_from == len(pauses[-1].pcm)  # the second pause, after the stray frame


def test_no_pauses_when_early_ms_is_zero() -> None:
    verdicts = [True] * s(900) + [False] * s(1000)
    seg = Segmenter(Script(verdicts), SegmenterConfig(early_ms=0))
    events = seg.feed(frames(len(verdicts)))
    assert [type(e) for e in events] == [SpeechOnset, Utterance]
    assert isinstance(events[1], Utterance)
    assert events[1].quiet_from is None


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
    with pytest.raises(ValueError, match="early_ms"):
        SegmenterConfig(early_ms=600, end_ms=600)
    with pytest.raises(ValueError, match="aggressiveness"):
        webrtc_vad(4)


def test_webrtc_vad_hears_nothing_in_silence_and_one_question_in_speech() -> None:
    seg = Segmenter(webrtc_vad())
    assert seg.feed(silence(5.0)) == []
    question = speak_16k("Can you tell me about bond funds?")
    events = seg.feed(np.concatenate((question, silence(1.5))))
    assert [type(e) for e in events if not isinstance(e, SpeechPause)] == [SpeechOnset, Utterance]
    onset, utterance = events[0], events[-1]
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
