"""Speech: espeak-ng in a subprocess, the mouth envelope, and the speech track over a real peer.

Needs Debian's espeak-ng (scripts/system-packages installs it).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from server.media.hub import MediaHub
from server.media.speech_track import ClipStart, Playback, SpeechTrack
from server.media.tts import (
    ENVELOPE_HZ,
    EspeakSpeaker,
    Pcm,
    SpeechClip,
    SpeechError,
    mouth_envelope,
    parse_wav,
    speaking_parts,
)
from tests.media.peers import DEADLINE, Member

SAMPLES = {
    "en": "Good morning. Your portfolio grew four percent this quarter.",
    "cmn": "早上好，您的投资组合本季度增长了百分之四。",
    "yue": "早晨，你嘅投資組合今季升咗百分之四。",
}


@pytest.fixture
def speaker() -> EspeakSpeaker:
    if not EspeakSpeaker.available():
        pytest.fail("espeak-ng is not installed: run scripts/system-packages")
    return EspeakSpeaker()


def _rms_db(samples: Pcm) -> float:
    rms = float(np.sqrt(np.mean((samples.astype(np.float64) / 32768.0) ** 2)))
    return 20 * math.log10(max(rms, 1e-9))


@pytest.mark.parametrize("voice", sorted(SAMPLES))
async def test_espeak_speaks_english_mandarin_and_cantonese(
    speaker: EspeakSpeaker, voice: str
) -> None:
    clip = await speaker.synthesize(SAMPLES[voice], voice, rate=170, pitch=45)
    assert clip.sample_rate == 48_000
    assert clip.samples.dtype == np.int16
    assert clip.samples.ndim == 1
    assert 1.0 < clip.duration_s < 15.0
    assert _rms_db(clip.samples) > -35.0  # speech, not silence

    env = clip.envelope
    assert len(env) == math.ceil(len(clip.samples) / (48_000 // ENVELOPE_HZ))
    assert env.dtype == np.float32
    assert float(env.min()) >= 0.0
    assert float(env.max()) <= 1.0
    assert float(env.max()) > 0.5  # the mouth opens ...
    assert float(np.mean(env < 0.05)) > 0.02  # ... and closes (pauses, the end)


async def test_rate_changes_the_speed(speaker: EspeakSpeaker) -> None:
    slow = await speaker.synthesize(SAMPLES["en"], "en", rate=120, pitch=50)
    fast = await speaker.synthesize(SAMPLES["en"], "en", rate=300, pitch=50)
    assert fast.duration_s < 0.7 * slow.duration_s


async def test_option_and_shell_lookalikes_are_spoken_as_text(
    speaker: EspeakSpeaker, tmp_path: Path
) -> None:
    target = tmp_path / "x"
    word = await speaker.synthesize("help", "en", rate=175, pitch=50)
    for text in ("--help; rm -rf /", f"-w {target}", "$(touch {target}) `touch {target}`"):
        clip = await speaker.synthesize(text, "en", rate=175, pitch=50)
        # A WAV came back (not a usage text) and it is longer than the word alone: the whole
        # string was read out.
        assert clip.duration_s > word.duration_s + 0.3, text
        assert _rms_db(clip.samples) > -35.0
    assert not target.exists()


@pytest.mark.parametrize(
    ("voice", "rate", "pitch"),
    [("-w/tmp/x", 175, 50), ("en; rm", 175, 50), ("", 175, 50), ("en", 5000, 50), ("en", 175, -1)],
)
async def test_arguments_are_checked_before_the_command_line(
    speaker: EspeakSpeaker, voice: str, rate: int, pitch: int
) -> None:
    with pytest.raises(ValueError, match=r"voice|rate|pitch"):
        await speaker.synthesize("hello", voice, rate=rate, pitch=pitch)


async def test_engine_errors_are_reported(speaker: EspeakSpeaker) -> None:
    with pytest.raises(SpeechError, match="voice"):
        await speaker.synthesize("hello", "xx-nosuchvoice", rate=175, pitch=50)
    with pytest.raises(ValueError, match="nothing to say"):
        await speaker.synthesize(" \x00\x07 ", "en", rate=175, pitch=50)
    missing = EspeakSpeaker("espeak-ng-not-installed-here")
    with pytest.raises(SpeechError, match="not installed"):
        await missing.synthesize("hello", "en", rate=175, pitch=50)


def test_envelope_follows_loudness() -> None:
    rate = 48_000
    t = np.arange(rate) / rate
    loud = (12000 * np.sin(2 * np.pi * 200 * t)).astype(np.int16)
    quiet = np.zeros(rate // 2, dtype=np.int16)
    env = mouth_envelope(np.concatenate([quiet, loud, quiet[:100]]), rate)
    assert len(env) == math.ceil((rate + rate // 2 + 100) / (rate // ENVELOPE_HZ))
    assert np.all(env[:15] == 0.0)
    assert np.all(env[16:44] > 0.9)
    assert len(mouth_envelope(np.zeros(0, dtype=np.int16), rate)) == 0


def test_wav_with_streaming_placeholder_sizes() -> None:
    pcm = (np.arange(100, dtype=np.int16) * 10).tobytes()
    header = b"RIFF\xff\xff\xff\x7fWAVEfmt " + bytes.fromhex(
        "10000000010001002256000044ac00000200 1000"
    )
    data = header + b"data\x00\xf0\xff\x7f" + pcm + b"\x01"  # odd trailing byte: cut
    samples, rate = parse_wav(data)
    assert rate == 22050
    assert len(samples) == 100
    assert samples[5] == 50
    with pytest.raises(SpeechError):
        parse_wav(b"Usage: espeak-ng [options] [words]")


async def test_speech_track_plays_through_the_hub_to_a_real_peer(
    speaker: EspeakSpeaker, members: Callable[[str], Member]
) -> None:
    clip = await speaker.synthesize(SAMPLES["en"], "en", rate=200, pitch=50)
    starts: list[ClipStart] = []
    track = SpeechTrack(on_clip_start=lambda _p, s: starts.append(s))
    hub = MediaHub()
    try:
        hub.add_source("expert:ada:voice", track)
        listener = members("listener")
        listener.watch(hub, "expert:ada:voice")
        await listener.connect()
        await listener.pulse.until(lambda: listener.audio_frames >= 10)
        assert listener.loud_frames == 0  # silence before anything is said

        playback = track.play(clip)
        start = await asyncio.wait_for(playback.started, DEADLINE)
        assert starts == [start]
        assert start.pts % 960 == 0
        assert start.time_base.denominator == 48_000
        await listener.pulse.until(lambda: listener.loud_frames >= 25)
        assert hub.stats()["expert:ada:voice"].encodes <= track.frames
    finally:
        await hub.close()


async def test_speech_track_timing_and_queue() -> None:
    rate = 48_000
    tone = (8000 * np.sin(2 * np.pi * 300 * np.arange(rate // 10) / rate)).astype(np.int16)
    clip = SpeechClip(tone, rate, mouth_envelope(tone, rate))
    slow_clip = SpeechClip(tone[::2].copy(), rate // 2, mouth_envelope(tone[::2].copy(), rate // 2))
    track = SpeechTrack()
    silent = await track.recv()
    assert not silent.to_ndarray().any()
    assert silent.samples == 960

    first: Playback = track.play(clip)  # 100 ms: five frames
    second = track.play(slow_clip)  # another rate: resampled on the way in
    began = asyncio.get_running_loop().time()
    frames = [await track.recv() for _ in range(12)]
    took = asyncio.get_running_loop().time() - began
    one = first.started.result()
    two = second.started.result()
    assert one.pts == frames[0].pts == 960
    assert two.pts == frames[5].pts  # starts on the frame after the first clip ends
    assert first.finished.done()
    assert second.finished.done()
    assert frames[0].to_ndarray().any()
    assert not frames[11].to_ndarray().any()
    # Real time: twelve 20 ms frames take about 240 ms.
    assert 0.2 < took < 0.6
    assert two.wall_time - one.wall_time == pytest.approx(0.1, abs=0.03)

    third = track.play(clip)
    track.interrupt()
    assert third.started.cancelled()
    track.stop()


def test_an_answer_is_said_first_sentence_first() -> None:
    answer = (
        "Government bonds pay a fixed coupon twice a year. They are risk class R1. "
        "I am an AI assistant."
    )
    assert speaking_parts(answer) == [
        "Government bonds pay a fixed coupon twice a year.",
        "They are risk class R1. I am an AI assistant.",
    ]
    # A short greeting goes with what follows; one sentence stays whole.
    assert speaking_parts("Hello. Government bonds pay a coupon. Twice a year.") == [
        "Hello. Government bonds pay a coupon.",
        "Twice a year.",
    ]
    assert speaking_parts("Government bonds pay a fixed coupon twice a year.") == [
        "Government bonds pay a fixed coupon twice a year."
    ]
    # Chinese sentence marks need no space after them; a decimal point is no sentence end.
    zh = "政府債券每年派息兩次，息率固定為百分之三點五。風險級別為R1。我是人工智能助理。"
    assert speaking_parts(zh) == [
        "政府債券每年派息兩次，息率固定為百分之三點五。",
        "風險級別為R1。我是人工智能助理。",
    ]
    assert speaking_parts("The fund returned 3.5% last year, after fees of 1.2% a year.") == [
        "The fund returned 3.5% last year, after fees of 1.2% a year."
    ]
