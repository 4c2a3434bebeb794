"""The transcription endpoint client against a real local HTTP server speaking the API.

The server (``http.server`` in a thread, on a loopback port 0) answers as each test tells it:
a verbose_json transcription, a 500, garbage, or nothing until the client gives up. English
then goes to the offline recogniser (a stand-in here that says who answered), and Mandarin or
Cantonese gets ``PleaseType``; nothing raises.
"""

from __future__ import annotations

import email.parser
import email.policy
import io
import json
import socket
import threading
import wave
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from server.speech.endpoint import EndpointTranscriber, parse_transcription
from server.speech.errors import EndpointFailed
from server.speech.results import Heard, Pcm, PleaseType, Transcript
from server.speech.setup import make_transcriber
from server.speech.sphinx import SphinxTranscriber
from tests.conftest import make_settings

VERBOSE = {
    "task": "transcribe",
    "language": "chinese",
    "duration": 1.2,
    "text": " 我想买基金 ",
    "segments": [{"id": 0, "avg_logprob": -0.2, "no_speech_prob": 0.1, "text": "我想买基金"}],
    "words": [
        {"word": "我想", "start": 0.0, "end": 0.5},
        {"word": "买基金", "start": 0.5, "end": 1.1},
    ],
}


@dataclass
class Asr:
    """What the fake endpoint does next, and what it was sent."""

    mode: str = "ok"
    requests: list[dict[str, object]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    url: str = ""


def _handler(asr: Asr) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                b"Content-Type: " + self.headers["Content-Type"].encode() + b"\r\n\r\n" + body
            )
            parts: dict[str, object] = {
                str(part.get_param("name", header="content-disposition")): part.get_payload(
                    decode=True
                )
                for part in message.iter_parts()
            }
            asr.requests.append(
                {"path": self.path, "auth": self.headers.get("Authorization"), **parts}
            )
            if asr.mode == "slow":
                asr.release.wait(10)  # until the test is over: the client must give up first
                return
            status, payload = {
                "ok": (200, json.dumps(VERBOSE).encode()),
                "plain": (200, b'{"text": "what about bond funds"}'),
                "500": (500, b'{"error": "overloaded"}'),
                "garbage": (200, b"<html>not json</html>"),
                "no-text": (200, b'{"segments": []}'),
                "bad-number": (200, b'{"text": "hi", "segments": [{"avg_logprob": "x"}]}'),
            }[asr.mode]
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler


@pytest.fixture
def asr() -> Iterator[Asr]:
    state = Asr()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    state.release.set()
    server.shutdown()
    server.server_close()
    thread.join(5)


class OfflineEnglish:
    """The offline recogniser's place: says it answered, so the test sees the fallback."""

    def __init__(self) -> None:
        self.calls = 0

    async def transcribe(self, pcm: Pcm, sample_rate: int, language: str) -> Transcript:
        self.calls += 1
        return Heard("offline words", 0.5, language, None, "offline")


def speech() -> Pcm:
    pcm: Pcm = (np.sin(np.arange(16_000) * 0.05) * 8000).astype(np.int16)
    return pcm


async def test_a_transcription_is_sent_as_wav_and_read_from_verbose_json(asr: Asr) -> None:
    offline = OfflineEnglish()
    client = EndpointTranscriber(
        asr.url, model="whisper-large-v3", api_key="k", offline_english=offline
    )
    try:
        heard = await client.transcribe(speech(), 16_000, "zh")
    finally:
        await client.aclose()
    assert isinstance(heard, Heard)
    assert heard.text == "我想买基金"
    assert heard.language == "zh"
    assert heard.source == "endpoint"
    assert heard.confidence == pytest.approx(np.exp(-0.2) * 0.9)
    assert heard.words is not None
    assert [w.text for w in heard.words] == ["我想", "买基金"]
    assert offline.calls == 0
    (request,) = asr.requests
    assert request["path"] == "/v1/audio/transcriptions"
    assert request["auth"] == "Bearer k"
    assert request["model"] == b"whisper-large-v3"
    assert request["language"] == b"zh"
    assert request["response_format"] == b"verbose_json"
    audio = request["file"]
    assert isinstance(audio, bytes)
    with wave.open(io.BytesIO(audio)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 16_000)
        sent = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    assert np.array_equal(sent, speech())


async def test_plain_json_is_heard_with_the_unrated_confidence(asr: Asr) -> None:
    asr.mode = "plain"
    client = EndpointTranscriber(asr.url)
    try:
        heard = await client.transcribe(speech(), 16_000, "en")
    finally:
        await client.aclose()
    assert isinstance(heard, Heard)
    assert heard.text == "what about bond funds"
    assert heard.words is None
    assert 0 < heard.confidence < 1


@pytest.mark.parametrize("mode", ["slow", "500", "garbage", "no-text", "bad-number", "dead"])
@pytest.mark.parametrize("language", ["en", "zh", "yue"])
async def test_a_failing_endpoint_falls_back_to_offline_english_or_asks_to_type(
    asr: Asr, mode: str, language: str
) -> None:
    url = asr.url
    if mode == "dead":
        with socket.socket() as closed:  # a port nothing listens on any more
            closed.bind(("127.0.0.1", 0))
            url = f"http://127.0.0.1:{closed.getsockname()[1]}"
    else:
        asr.mode = mode
    offline = OfflineEnglish()
    client = EndpointTranscriber(url, timeout_s=0.3, offline_english=offline)
    try:
        answer = await client.transcribe(speech(), 16_000, language)
    finally:
        await client.aclose()
    assert client.failures == 1
    if language == "en":
        assert answer == Heard("offline words", 0.5, "en", None, "offline")
        assert offline.calls == 1
    else:
        assert isinstance(answer, PleaseType)
        assert answer.language == language
        assert answer.reason
        assert offline.calls == 0
    if mode != "dead":
        assert len(asr.requests) == 1


async def test_without_an_offline_recogniser_english_is_asked_to_type_too(asr: Asr) -> None:
    asr.mode = "500"
    client = EndpointTranscriber(asr.url)
    try:
        answer = await client.transcribe(speech(), 16_000, "en")
    finally:
        await client.aclose()
    assert answer == PleaseType("en", "the transcription endpoint answered 500")


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"[]",
        b'{"text": 3}',
        b"\xff\xfe",
        b'{"text": "x", "words": [{"word": "x", "start": null}]}',
    ],
)
def test_answers_that_are_not_the_api_are_refused(body: bytes) -> None:
    with pytest.raises(EndpointFailed):
        parse_transcription(body, "en")


def test_an_empty_text_is_heard_as_nothing() -> None:
    heard = parse_transcription(b'{"text": "  "}', "yue")
    assert heard == Heard("", 0.0, "yue", None, "endpoint")


async def test_settings_choose_the_endpoint_with_offline_english_behind_it() -> None:
    offline_only = make_transcriber(make_settings())
    assert isinstance(offline_only, SphinxTranscriber)
    offline_only.close()
    both = make_transcriber(
        make_settings(asr_url="http://127.0.0.1:9/", asr_api_key="", asr_timeout_s=2.5)
    )
    assert isinstance(both, EndpointTranscriber)
    assert both.url == "http://127.0.0.1:9/v1/audio/transcriptions"
    assert isinstance(both.offline_english, SphinxTranscriber)
    assert "tencent" in both.offline_english.vocabulary
    await both.aclose()
    both.offline_english.close()
