"""Spoken test audio: espeak-ng renders text, brought to the recogniser's 16 kHz mono.

PocketSphinx hears espeak-ng's Klatt voices far better than its default voice (the default's
buzzy source fools the acoustic model), so tests use a Klatt variant; the benchmark measures
on other variants than the one used here.
"""

from __future__ import annotations

import io
import subprocess
import wave
from pathlib import Path

import numpy as np

from server.media.tts import parse_wav, resample
from server.speech.results import Pcm
from server.speech.segmenter import SAMPLE_RATE

TEST_VOICE = "en-us+klatt"
TEST_RATE = 160  # words per minute; PocketSphinx hears the Klatt voice best near this


def speak(text: str, voice: str = TEST_VOICE, rate: int = TEST_RATE) -> tuple[Pcm, int]:
    """espeak-ng's own output: mono int16 at its native rate (22 050 Hz)."""
    result = subprocess.run(
        ["espeak-ng", "--stdout", "-b", "1", "-v", voice, "-s", str(rate), text],
        capture_output=True,
        check=True,
        timeout=30,
    )
    return parse_wav(result.stdout)


def speak_16k(text: str, voice: str = TEST_VOICE, rate: int = TEST_RATE) -> Pcm:
    pcm, native = speak(text, voice, rate)
    return resample(pcm, native, SAMPLE_RATE)


def silence(seconds: float, rate: int = SAMPLE_RATE) -> Pcm:
    return np.zeros(int(seconds * rate), dtype=np.int16)


def write_wav(path: Path, pcm: Pcm, rate: int, channels: int = 1) -> Path:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.astype("<i2").tobytes())
    path.write_bytes(buffer.getvalue())
    return path
