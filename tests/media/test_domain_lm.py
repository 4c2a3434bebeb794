"""The bank's language model: built from the tuning data only, a proper ARPA model that
PocketSphinx loads, and it hears the bank's words."""

from __future__ import annotations

import json
import math

import numpy as np

from server.speech.domain_lm import build_arpa, domain_sentences
from server.speech.results import Heard
from server.speech.sphinx import SphinxTranscriber
from server.speech.vocabulary import DATA_DIR, load_bank_vocabulary
from tests.speech_audio import silence, speak_16k


def test_the_held_out_questions_stay_out_of_the_model() -> None:
    rows = [
        json.loads(line)
        for line in (DATA_DIR / "routing_eval.jsonl").read_text(encoding="utf-8").splitlines()
        if line
    ]
    held = {r["q"] for r in rows if r.get("split") == "holdout"}
    dialogues = [
        json.loads(line)
        for line in (DATA_DIR / "dialogues.jsonl").read_text(encoding="utf-8").splitlines()
        if line
    ]
    held |= {t["q"] for d in dialogues if d["split"] == "holdout" for t in d["turns"]}
    tuning = {r["q"] for r in rows if r.get("split") != "holdout"}
    tuning |= {t["q"] for d in dialogues if d["split"] == "tune" for t in d["turns"]}
    sentences = set(domain_sentences())
    assert sentences
    # Short turns ("And funds?") are in both sets; those the tuning set lacks never come in.
    assert not sentences & (held - tuning)


def test_unigrams_are_a_distribution_and_back_off_is_there() -> None:
    arpa = build_arpa(["tell me about bonds", "tell me about funds", "what are the fees"])
    section = arpa.split("\\1-grams:")[1].split("\\2-grams:")[0]
    probs = [float(line.split("\t")[0]) for line in section.strip().splitlines()]
    total = sum(10**p for p in probs if p > -99)
    assert math.isclose(total, 1.0, rel_tol=1e-3)
    assert "ngram 3=" in arpa
    assert "tell me about" in arpa


async def test_the_recogniser_hears_with_it() -> None:
    words = load_bank_vocabulary().words
    transcriber = SphinxTranscriber(vocabulary=words, domain=domain_sentences())
    try:
        pcm = np.concatenate(
            (silence(0.3), speak_16k("Tell me about government bonds."), silence(0.3))
        )
        heard = await transcriber.transcribe(pcm, 16_000, "en")
    finally:
        transcriber.close()
    assert isinstance(heard, Heard)
    assert heard.text == "tell me about government bonds"
    assert heard.confidence > 0.5
