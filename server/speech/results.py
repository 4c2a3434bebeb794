"""What a recogniser returns: words heard, or a plain request to type instead.

Pure dataclasses. A recogniser that cannot serve a language, or whose service is down, answers
``PleaseType`` rather than raising or staying silent, so the room always has something to say.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

Pcm = npt.NDArray[np.int16]  # mono


@dataclass(frozen=True, slots=True)
class Word:
    text: str
    start_s: float  # from the start of the utterance
    end_s: float
    confidence: float | None = None


@dataclass(frozen=True, slots=True)
class Heard:
    text: str  # empty: the recogniser heard sound but no words
    confidence: float  # 0..1, the recogniser's own scale; compare only within one source
    language: str
    words: tuple[Word, ...] | None = None
    source: str = ""  # which recogniser answered: "pocketsphinx", "endpoint"


@dataclass(frozen=True, slots=True)
class PleaseType:
    """Nothing could transcribe this language now: ask the customer to type."""

    language: str
    reason: str


Transcript = Heard | PleaseType


class Transcriber(Protocol):
    """PCM in, a transcript out; never raises for an unavailable service or language."""

    async def transcribe(self, pcm: Pcm, sample_rate: int, language: str) -> Transcript: ...


def is_english(language: str) -> bool:
    return language.lower() == "en" or language.lower().startswith("en-")
