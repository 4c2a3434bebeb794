"""Speech synthesis for the digital experts: PCM plus a mouth-open envelope for the avatar.

``EspeakSpeaker`` runs Debian's ``espeak-ng`` (installed by ``scripts/system-packages``). The
text goes to the child's stdin, never onto its command line and never through a shell, so a
text that looks like an option or a command is spoken like any other. Voice, rate and pitch
are checked before they reach the command line.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
import shutil
import struct
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt
from av.audio.frame import AudioFrame
from av.audio.resampler import AudioResampler

from server.errors import MediaError

SAMPLE_RATE = 48_000
ENVELOPE_HZ = 30  # one mouth value per rendered frame at the avatars' 30 Hz tick
# Mouth fully closed at or below FLOOR, fully open at or above CEIL (dB relative to full
# scale, RMS over a 1/30 s window). A fixed scale, not per-clip normalisation, so a quiet
# aside looks quieter than an emphatic sentence.
ENVELOPE_FLOOR_DB = -48.0
ENVELOPE_CEIL_DB = -12.0

RATE_RANGE = (80, 450)  # espeak-ng words per minute
PITCH_RANGE = (0, 99)
_VOICE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,40}(\+[A-Za-z0-9_-]{1,20})?")
# C0 controls other than tab/newline, DEL, C1 controls: nothing speakable, and espeak-ng
# reads some of them as its own control codes.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# The end of a sentence: Latin marks before a space, Chinese full-width marks anywhere.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[。！？])\s*")
# A first sentence shorter than this is said with the next: a clip per "Hello." costs a
# process start and a gap for no gain. A Chinese character is a syllable, about three
# letters' worth of speech, and counts three.
MIN_FIRST_CHARS = 24
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")

Pcm = npt.NDArray[np.int16]
Envelope = npt.NDArray[np.float32]


class SpeechError(MediaError):
    """Synthesis failed (missing engine, bad voice, engine error or timeout)."""


@dataclass(frozen=True, slots=True)
class SpeechClip:
    samples: Pcm  # mono
    sample_rate: int
    envelope: Envelope  # mouth openness 0..1, one value per 1/ENVELOPE_HZ s from the start
    text: str = ""
    voice: str = ""

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate


class Speaker(Protocol):
    async def synthesize(self, text: str, voice: str, *, rate: int, pitch: int) -> SpeechClip: ...


def mouth_envelope(samples: Pcm, sample_rate: int, hz: int = ENVELOPE_HZ) -> Envelope:
    """RMS per 1/hz s window mapped from dBFS to 0..1; the last partial window counts."""
    window = max(1, sample_rate // hz)
    count = math.ceil(len(samples) / window)
    if count == 0:
        return np.zeros(0, dtype=np.float32)
    padded = np.zeros(count * window, dtype=np.float64)
    padded[: len(samples)] = samples.astype(np.float64) / 32768.0
    rms = np.sqrt(np.mean(padded.reshape(count, window) ** 2, axis=1))
    db = 20.0 * np.log10(np.maximum(rms, 1e-9))
    scaled = (db - ENVELOPE_FLOOR_DB) / (ENVELOPE_CEIL_DB - ENVELOPE_FLOOR_DB)
    envelope: Envelope = np.clip(scaled, 0.0, 1.0).astype(np.float32)
    return envelope


def resample(samples: Pcm, from_rate: int, to_rate: int) -> Pcm:
    """Mono int16 from one rate to another (FFmpeg's resampler, not linear interpolation)."""
    if from_rate == to_rate or len(samples) == 0:
        return samples
    frame = AudioFrame.from_ndarray(
        np.ascontiguousarray(samples.reshape(1, -1)), format="s16", layout="mono"
    )
    frame.sample_rate = from_rate
    resampler = AudioResampler(format="s16", layout="mono", rate=to_rate)
    chunks = [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
    chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    if not chunks:
        return np.zeros(0, dtype=np.int16)
    return np.concatenate(chunks).astype(np.int16, copy=False)


def parse_wav(data: bytes) -> tuple[Pcm, int]:
    """16-bit PCM WAV to mono samples and rate.

    espeak-ng writing to a pipe cannot seek back to fill in the sizes, so its RIFF and data
    sizes are placeholders (0x7ffff000 and the like): the data chunk runs to the end of input.
    """
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise SpeechError("the engine did not produce a WAV stream")
    pos = 12
    channels = rate = bits = 0
    while pos + 8 <= len(data):
        chunk, size = struct.unpack_from("<4sI", data, pos)
        body = pos + 8
        if chunk == b"fmt ":
            fmt, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", data, body)
            if fmt != 1 or bits != 16 or channels < 1 or rate <= 0:
                raise SpeechError(f"unsupported WAV format {fmt}, {bits} bits, {channels} ch")
        elif chunk == b"data":
            if not rate:
                raise SpeechError("WAV data before its format")
            end = min(len(data), body + size)
            end -= (end - body) % (2 * channels)
            pcm = np.frombuffer(data[body:end], dtype="<i2").astype(np.int16)
            if channels > 1:
                pcm = pcm.reshape(-1, channels).mean(axis=1).astype(np.int16)
            return pcm, rate
        pos = body + size + (size & 1)
    raise SpeechError("WAV stream without data")


def clean_text(text: str, max_chars: int) -> str:
    text = _CONTROL.sub(" ", text).strip()
    if not text:
        raise ValueError("nothing to say")
    if len(text) > max_chars:
        raise ValueError(f"text longer than {max_chars} characters")
    return text


def speaking_parts(text: str) -> list[str]:
    """``text`` as the first sentence and the rest: the first is synthesised and heard while
    the rest is being made, so the wait for the first word is that of one sentence."""
    for match in _SENTENCE_END.finditer(text):
        head, tail = text[: match.start()].strip(), text[match.end() :].strip()
        if len(head) + 2 * len(_CJK.findall(head)) >= MIN_FIRST_CHARS and tail:
            return [head, tail]
    return [text]


class EspeakSpeaker:
    """``espeak-ng --stdout`` in a subprocess, at most ``max_concurrent`` at a time."""

    def __init__(
        self,
        executable: str = "espeak-ng",
        *,
        sample_rate: int = SAMPLE_RATE,
        timeout_s: float = 15.0,
        max_chars: int = 2000,
        max_concurrent: int = 2,
    ) -> None:
        self.executable = executable
        self.sample_rate = sample_rate
        self.timeout_s = timeout_s
        self.max_chars = max_chars
        self._slots = asyncio.Semaphore(max_concurrent)

    @staticmethod
    def available(executable: str = "espeak-ng") -> bool:
        return shutil.which(executable) is not None

    def command(self, voice: str, *, rate: int, pitch: int) -> list[str]:
        if not _VOICE.fullmatch(voice):
            raise ValueError(f"not a voice name: {voice!r}")
        if not RATE_RANGE[0] <= rate <= RATE_RANGE[1]:
            raise ValueError(f"rate {rate} outside {RATE_RANGE}")
        if not PITCH_RANGE[0] <= pitch <= PITCH_RANGE[1]:
            raise ValueError(f"pitch {pitch} outside {PITCH_RANGE}")
        # -b 1: the text on stdin is UTF-8. Without -m, markup (SSML) is not interpreted.
        return [
            self.executable,
            "--stdout",
            "--stdin",
            "-b",
            "1",
            "-v",
            voice,
            "-s",
            str(rate),
            "-p",
            str(pitch),
        ]

    async def synthesize(
        self, text: str, voice: str, *, rate: int = 175, pitch: int = 50
    ) -> SpeechClip:
        args = self.command(voice, rate=rate, pitch=pitch)
        text = clean_text(text, self.max_chars)
        async with self._slots:
            wav = await self._run(args, text.encode("utf-8") + b"\n")
        pcm, native_rate = parse_wav(wav)
        samples = await asyncio.to_thread(resample, pcm, native_rate, self.sample_rate)
        return SpeechClip(
            samples, self.sample_rate, mouth_envelope(samples, self.sample_rate), text, voice
        )

    async def _run(self, args: list[str], stdin: bytes) -> bytes:
        try:
            proc = await asyncio.create_subprocess_exec(
                *args,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except FileNotFoundError:
            raise SpeechError(
                f"{self.executable} is not installed (scripts/system-packages)"
            ) from None
        try:
            out, err = await asyncio.wait_for(proc.communicate(stdin), self.timeout_s)
        except TimeoutError:
            raise SpeechError(f"{self.executable} took longer than {self.timeout_s} s") from None
        finally:
            if proc.returncode is None:  # timed out or cancelled: do not leave it running
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        if proc.returncode != 0:
            message = err.decode("utf-8", "replace").strip()[:200]
            raise SpeechError(f"{self.executable} exited with {proc.returncode}: {message}")
        return out
