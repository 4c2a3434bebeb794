"""Transcription by an OpenAI-compatible endpoint (``POST /v1/audio/transcriptions``), for
Mandarin, Cantonese and better English than the offline recogniser.

The endpoint is never trusted to be there: down, slower than ``timeout_s``, a 5xx, or an answer
that is not the documented JSON all count as failed, and then English goes to the offline
recogniser and any other language gets ``PleaseType``. Nothing is raised to the caller and
nothing is silently dropped. A 4xx is our mistake (bad model name, bad key), not the
endpoint's mood, and is handled the same way so the customer is never left waiting.
"""

from __future__ import annotations

import json
import math
from typing import Any

import httpx

from server.speech.errors import EndpointFailed
from server.speech.results import Heard, Pcm, PleaseType, Transcriber, Transcript, Word, is_english
from server.speech.wav import to_wav

PATH = "/v1/audio/transcriptions"
SOURCE = "endpoint"
# Confidence when the endpoint sends plain ``json`` (text only): it said something, and we
# cannot tell how sure it was.
UNRATED = 0.8


def _number(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise EndpointFailed(f"{name} is not a number")
    return float(value)


def parse_transcription(body: bytes, language: str) -> Heard:
    """The endpoint's ``json`` or ``verbose_json`` body; anything else is ``EndpointFailed``."""
    try:
        data: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise EndpointFailed("the endpoint's answer is not JSON") from exc
    if not isinstance(data, dict) or not isinstance(data.get("text"), str):
        raise EndpointFailed("the endpoint's answer has no text")
    text = data["text"].strip()
    # verbose_json names the language in full ('english', 'chinese', and Cantonese as
    # 'chinese' too): keep the code we asked for, which the room understands.
    confidence = UNRATED
    segments = data.get("segments")
    if isinstance(segments, list) and segments:
        # Whisper's avg_logprob per segment, and how likely the segment held no speech.
        logprobs = [_number(s.get("avg_logprob"), "avg_logprob") for s in segments if _is(s)]
        silence = [
            _number(s.get("no_speech_prob", 0.0), "no_speech_prob") for s in segments if _is(s)
        ]
        if logprobs:
            confidence = math.exp(sum(logprobs) / len(logprobs)) * (
                1.0 - sum(silence) / len(silence)
            )
    words: tuple[Word, ...] | None = None
    raw_words = data.get("words")
    if isinstance(raw_words, list):
        words = tuple(
            Word(
                str(w.get("word", "")).strip(),
                _number(w.get("start"), "start"),
                _number(w.get("end"), "end"),
            )
            for w in raw_words
            if _is(w)
        )
    if not text:
        confidence = 0.0
    return Heard(text, min(1.0, max(0.0, confidence)), language, words, SOURCE)


def _is(value: object) -> bool:
    return isinstance(value, dict)


class EndpointTranscriber:
    def __init__(
        self,
        url: str,
        *,
        model: str = "whisper-1",
        api_key: str | None = None,
        timeout_s: float = 8.0,
        offline_english: Transcriber | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/") + PATH
        self.model = model
        self.offline_english = offline_english
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s), headers=headers, transport=transport
        )
        self.failures = 0  # how often the endpoint let us down, for metrics and tests

    async def transcribe(self, pcm: Pcm, sample_rate: int, language: str) -> Transcript:
        try:
            return await self._ask(pcm, sample_rate, language)
        except EndpointFailed as exc:
            self.failures += 1
            if is_english(language) and self.offline_english is not None:
                return await self.offline_english.transcribe(pcm, sample_rate, language)
            return PleaseType(language, str(exc))

    async def _ask(self, pcm: Pcm, sample_rate: int, language: str) -> Heard:
        files = {"file": ("speech.wav", to_wav(pcm, sample_rate), "audio/wav")}
        data = {"model": self.model, "language": language, "response_format": "verbose_json"}
        try:
            response = await self._client.post(self.url, data=data, files=files)
        except httpx.TimeoutException as exc:
            raise EndpointFailed("the transcription endpoint timed out") from exc
        except httpx.HTTPError as exc:
            raise EndpointFailed(f"the transcription endpoint is unreachable: {exc!r}") from exc
        if response.status_code != 200:
            raise EndpointFailed(f"the transcription endpoint answered {response.status_code}")
        return parse_transcription(response.content, language)

    async def aclose(self) -> None:
        await self._client.aclose()
