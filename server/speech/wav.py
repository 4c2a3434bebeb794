"""Mono 16-bit PCM as a WAV file, for the transcription endpoint's upload."""

from __future__ import annotations

import io
import wave

from server.speech.results import Pcm


def to_wav(pcm: Pcm, sample_rate: int) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm.astype("<i2").tobytes())
    return buffer.getvalue()
