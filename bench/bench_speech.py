"""Offline speech recognition: word error rate on spoken banking questions, with and without
the bank's vocabulary, and the latency from the end of an utterance to its text.

The questions are the English lines of ``avatars/data/routing_eval.jsonl`` without digits or
symbols (whose spoken form is ambiguous: '500', 'S&P'), the held-out ones first. espeak-ng
speaks each with a voice other than the one the tests were tuned on (``en-us+klatt``), taking
turns among ``--voices``. Each clip, with silence around it as a microphone would have, goes
through the WebRTC VAD segmenter and every utterance it yields is transcribed; the texts of one
question are joined. WER is ``jiwer``'s over the whole set (lower case, punctuation removed).
Latency is the time ``transcribe()`` takes for an utterance: what the customer waits after the
segmenter has decided the utterance is over (which itself takes ``SegmenterConfig.end_ms`` of
quiet).

    .venv/bin/python -m bench.bench_speech [--questions 40] [--voices en-us+klatt2,en-us+klatt5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import re
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import jiwer
import numpy as np

from avatars.routing import Router
from server.speech.domain_lm import domain_sentences
from server.speech.results import Heard, Pcm
from server.speech.segmenter import SAMPLE_RATE, Segmenter, SegmenterConfig, Utterance
from server.speech.sphinx import SphinxTranscriber
from server.speech.vad import webrtc_vad
from server.speech.vocabulary import load_bank_vocabulary
from tests.speech_audio import TEST_RATE, TEST_VOICE, silence, speak_16k

EVAL = Path(__file__).resolve().parents[1] / "avatars" / "data" / "routing_eval.jsonl"
_UNSPOKEN = re.compile(r"[0-9&%$£€¥/]")


@dataclass
class Run:
    name: str
    hypotheses: list[str]
    latencies: list[float]
    cpu: list[float]  # process CPU seconds per utterance: what a busy machine does not change
    audio_s: float


def questions(count: int) -> list[tuple[str, bool]]:
    rows = [json.loads(line) for line in EVAL.read_text(encoding="utf-8").splitlines() if line]
    english = [r for r in rows if r["lang"] == "en" and not _UNSPOKEN.search(r["q"])]
    english.sort(key=lambda r: r.get("split") != "holdout")  # held-out first, order kept
    return [(r["q"], r.get("split") == "holdout") for r in english[:count]]


def normalise(text: str) -> str:
    text = text.lower().replace("-", " ")
    return " ".join(re.findall(r"[a-z']+", text))


def utterances(pcm: Pcm) -> list[Utterance]:
    segmenter = Segmenter(webrtc_vad(), SegmenterConfig())
    events = segmenter.feed(np.concatenate((silence(0.5), pcm, silence(1.5))))
    events += segmenter.flush()
    return [e for e in events if isinstance(e, Utterance)]


async def run(name: str, transcriber: SphinxTranscriber, clips: list[Pcm]) -> Run:
    hypotheses: list[str] = []
    latencies: list[float] = []
    cpu: list[float] = []
    audio = 0.0
    for clip in clips:
        texts = []
        for utterance in utterances(clip):
            audio += utterance.duration_s
            started, started_cpu = time.perf_counter(), time.process_time()
            heard = await transcriber.transcribe(utterance.pcm, SAMPLE_RATE, "en")
            latencies.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
            if isinstance(heard, Heard) and heard.text:
                texts.append(heard.text)
        hypotheses.append(normalise(" ".join(texts)))
    return Run(name, hypotheses, latencies, cpu, audio)


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=40)
    parser.add_argument("--voices", default="en-us+klatt2,en-us+klatt5")
    args = parser.parse_args()
    voices = args.voices.split(",")
    if TEST_VOICE in voices:
        parser.error(f"{TEST_VOICE} is the voice the tests were tuned on: measure on others")
    chosen = questions(args.questions)
    references = [normalise(q) for q, _ in chosen]
    clips = [speak_16k(q, voices[i % len(voices)], TEST_RATE) for i, (q, _) in enumerate(chosen)]
    vocabulary = load_bank_vocabulary()
    plain = SphinxTranscriber()
    biased = SphinxTranscriber(vocabulary=vocabulary.words)
    domain = SphinxTranscriber(vocabulary=vocabulary.words, domain=domain_sentences())
    fallback = SphinxTranscriber(
        vocabulary=vocabulary.words, domain=domain_sentences(), fallback_below=0.5
    )
    for t in (plain, biased, domain, fallback):
        await t.load()  # loading the model is not part of any utterance's wait
    runs = [
        await run("general model", plain, clips),
        await run("+ bank words", biased, clips),
        await run("bank language model", domain, clips),
        await run("bank model, general below 0.5", fallback, clips),
    ]
    held = [i for i, (_, h) in enumerate(chosen) if h]
    print(
        f"pocketsphinx {version('pocketsphinx')}, jiwer {version('jiwer')}, webrtcvad-wheels "
        f"{version('webrtcvad-wheels')}, Python {platform.python_version()}; "
        f"{len(chosen)} questions ({len(held)} held out), "
        f"voices {', '.join(voices)} at {TEST_RATE} wpm; "
        f"{len(biased.added)} bank words added to the dictionary"
    )
    print(
        "| recogniser | WER all | WER held-out | latency p50 | p95 | CPU p50 | p95 "
        "| CPU per audio second |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in runs:
        wer_all = jiwer.wer(references, r.hypotheses)
        wer_held = jiwer.wer([references[i] for i in held], [r.hypotheses[i] for i in held])
        rtf = sum(r.cpu) / r.audio_s
        print(
            f"| {r.name} | {wer_all:.1%} | {wer_held:.1%} | {percentile(r.latencies, 50):.2f} s"
            f" | {percentile(r.latencies, 95):.2f} s | {percentile(r.cpu, 50):.2f} s"
            f" | {percentile(r.cpu, 95):.2f} s | {rtf:.2f} |"
        )
    count = len(runs[0].latencies)
    print(f"utterances: {count}, mean {runs[0].audio_s / count:.1f} s")
    changed = [i for i in range(len(chosen)) if runs[0].hypotheses[i] != runs[1].hypotheses[i]]
    print(f"questions whose text the bank words changed: {len(changed)}")
    for i in changed[:5]:
        print(f"  ref:   {references[i]}")
        print(f"  plain: {runs[0].hypotheses[i]}")
        print(f"  bank:  {runs[1].hypotheses[i]}")
    for i in range(3):
        print(f"  e.g. ref: {references[i]}\n       hyp: {runs[1].hypotheses[i]}")
    held_routing = [chosen[i][0] for i in held]
    router = Router()
    print("routing on the held-out questions (specialties and 'everyone' exactly as expected):")
    print(f"  from text: {_routed(router, held_routing, held_routing)}/{len(held)}")
    for r in runs:
        hyps = [r.hypotheses[i] for i in held]
        print(f"  from speech, {r.name}: {_routed(router, held_routing, hyps)}/{len(held)}")
    for t in (plain, biased, domain, fallback):
        t.close()


def _routed(router: Router, asked: list[str], texts: list[str]) -> int:
    expected = {
        (row := json.loads(line))["q"]: row
        for line in EVAL.read_text(encoding="utf-8").splitlines()
        if line
    }
    right = 0
    for question, text in zip(asked, texts, strict=True):
        got = router.route(text)
        want = expected[question]
        right += frozenset(s.value for s in got.specialties) == frozenset(want["expect"]) and (
            got.everyone == want["everyone"]
        )
    return right


if __name__ == "__main__":
    asyncio.run(main())
