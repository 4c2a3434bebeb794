"""Speech from a sound file, heard as a member's microphone is: the same resampling, voice
activity segmenter and recogniser, for ``run_server.py ask --audio`` and the benchmarks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
from av.audio.frame import AudioFrame

from server.speech.audio import ToSpeechRate
from server.speech.results import Transcriber, Transcript
from server.speech.segmenter import Segmenter, SegmenterConfig, Utterance
from server.speech.vad import webrtc_vad


@dataclass(frozen=True, slots=True)
class FileUtterance:
    utterance: Utterance
    transcript: Transcript


def utterances_of(path: Path, config: SegmenterConfig | None = None) -> list[Utterance]:
    """The utterances in the file's first audio stream (any format and rate FFmpeg reads)."""
    segmenter = Segmenter(webrtc_vad(), config)
    convert = ToSpeechRate()
    found: list[Utterance] = []
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            assert isinstance(frame, AudioFrame)
            found += [e for e in segmenter.feed(convert.convert(frame)) if isinstance(e, Utterance)]
    found += [e for e in segmenter.flush() if isinstance(e, Utterance)]
    return found


async def hear_file(
    path: Path, transcriber: Transcriber, language: str = "en"
) -> list[FileUtterance]:
    """Each utterance in the file with its transcript, in order."""
    return [
        FileUtterance(u, await transcriber.transcribe(u.pcm, u.sample_rate, language))
        for u in utterances_of(path)
    ]
