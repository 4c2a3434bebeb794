"""Speech in: a member's microphone track to onsets, utterances and transcripts.

    SpeechListener(on_event, transcriber).listen(track)
        -> SpeechStarted, UtteranceEnded, Transcribed(transcript), AudioUnusable

``Transcript`` is ``Heard`` (text, confidence, language, words) or ``PleaseType``. The pure
parts (``segmenter``, ``results``, ``vocabulary``) do no I/O; the rest is the shell.
"""

from __future__ import annotations

from server.speech.endpoint import EndpointTranscriber
from server.speech.errors import AudioRefused, EndpointFailed, ListenError
from server.speech.listener import (
    AudioUnusable,
    ListenEvent,
    OnEvent,
    SpeechListener,
    SpeechStarted,
    Transcribed,
    UtteranceEnded,
)
from server.speech.results import Heard, Pcm, PleaseType, Transcriber, Transcript, Word
from server.speech.segmenter import Segmenter, SegmenterConfig, SpeechOnset, Utterance
from server.speech.setup import make_transcriber
from server.speech.sphinx import SphinxTranscriber

__all__ = [
    "AudioRefused",
    "AudioUnusable",
    "EndpointFailed",
    "EndpointTranscriber",
    "Heard",
    "ListenError",
    "ListenEvent",
    "OnEvent",
    "Pcm",
    "PleaseType",
    "Segmenter",
    "SegmenterConfig",
    "SpeechListener",
    "SpeechOnset",
    "SpeechStarted",
    "SphinxTranscriber",
    "Transcribed",
    "Transcriber",
    "Transcript",
    "Utterance",
    "UtteranceEnded",
    "Word",
    "make_transcriber",
]
