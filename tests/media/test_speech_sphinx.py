"""Offline English recognition: espeak-ng speaks banking questions, PocketSphinx hears them.

Recognition of synthetic speech is rough (bench/bench_speech.py has the word error rate), so
these check the words a question turns on, not the exact text.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from server.speech.results import Heard, PleaseType
from server.speech.sphinx import SphinxTranscriber
from server.speech.vocabulary import (
    LETTERS,
    SPOKEN,
    bank_vocabulary,
    load_bank_vocabulary,
    pronunciation,
)
from tests.speech_audio import silence, speak_16k


@pytest.fixture(scope="module")
def sphinx() -> Iterator[SphinxTranscriber]:
    # One decoder for the module: loading it takes a few seconds. Its worker thread does not
    # belong to any event loop, so each test's loop can use it.
    transcriber = SphinxTranscriber(vocabulary=load_bank_vocabulary().words)
    yield transcriber
    transcriber.close()


@pytest.mark.parametrize(
    ("question", "any_of"),
    [
        ("Can you tell me about bond funds?", {"bond", "bonds", "fund", "funds"}),
        ("I want to buy shares in a bank.", {"shares", "share", "buy"}),
        ("Is it a good time to sell my stocks?", {"good", "time", "sell", "stocks"}),
    ],
)
async def test_english_questions_are_heard_with_their_key_words(
    sphinx: SphinxTranscriber, question: str, any_of: set[str]
) -> None:
    heard = await sphinx.transcribe(speak_16k(question), 16_000, "en")
    assert isinstance(heard, Heard)
    assert heard.language == "en"
    assert heard.source == "pocketsphinx"
    assert set(heard.text.split()) & any_of, heard.text
    assert heard.words is not None
    assert [w.text for w in heard.words] == heard.text.split()
    assert all(0 <= w.start_s < w.end_s for w in heard.words)
    assert 0.0 < heard.confidence <= 1.0


async def test_silence_and_noise_are_few_words_with_lower_confidence_than_speech(
    sphinx: SphinxTranscriber,
) -> None:
    # The VAD keeps silence and quiet noise from the recogniser; this is what it makes of
    # what gets through anyway.
    speech = await sphinx.transcribe(speak_16k("I want to buy shares in a bank."), 16_000, "en")
    assert isinstance(speech, Heard)
    hum = (np.sin(np.arange(16_000 * 3) * 2 * np.pi * 50 / 16_000) * 3000).astype(np.int16)
    for audio in (silence(2.0), hum):
        heard = await sphinx.transcribe(audio, 16_000, "en")
        assert isinstance(heard, Heard)
        assert len(heard.text.split()) <= 2, heard.text
        assert heard.confidence < speech.confidence, (heard, speech.confidence)


async def test_other_languages_are_asked_to_type_and_other_rates_refused(
    sphinx: SphinxTranscriber,
) -> None:
    answer = await sphinx.transcribe(silence(1.0), 16_000, "zh")
    assert isinstance(answer, PleaseType)
    assert answer.language == "zh"
    with pytest.raises(ValueError, match="16000 Hz"):
        await sphinx.transcribe(silence(1.0, 48_000), 48_000, "en")


async def test_the_bank_words_the_dictionary_lacked_were_added(sphinx: SphinxTranscriber) -> None:
    assert {"etf", "hkd", "tencent", "ucits"} <= set(sphinx.added)
    assert "bond" not in sphinx.added  # already known


def test_vocabulary_comes_from_products_faqs_and_routing_terms() -> None:
    vocab = bank_vocabulary(
        {"products": [{"name": {"en": "Blue-chip shares", "zh": "蓝筹"}, "keywords": ["ETF"]}]},
        {"faqs": [{"question": {"en": "Is a UCITS fund safe?"}, "keywords": []}]},
        {"terms": {"fx": {"forex": 1, "外汇": 1}}},
    )
    assert vocab.words == {"blue", "chip", "shares", "etf", "is", "a", "ucits", "fund", "safe"} | {
        "fx",
        "forex",
    }
    assert pronunciation("etf") == "IY T IY EH F"
    assert pronunciation("tencent") == SPOKEN["tencent"]
    assert pronunciation("supercalifragilistic") is None
    assert set(LETTERS) == set("abcdefghijklmnopqrstuvwxyz")
