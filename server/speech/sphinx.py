"""Offline English recognition with PocketSphinx: its PyPI wheel ships the US English acoustic
model, dictionary and language model, so nothing is downloaded at run time.

Decoding is CPU work of about real time on one core, and a decoder is not thread-safe: each
transcriber owns one decoder and one worker thread, and utterances queue for it off the event
loop. The bank's words the dictionary lacks are added at load (``server/speech/vocabulary.py``);
PocketSphinx's Python API cannot interpolate a domain language model with its general one;
instead a decoder may hold a second search with a model of the bank's own sentences
(``domain``, ``server/speech/domain_lm.py``), which hears first, the general model behind it
for doubtful utterances when ``fallback_below`` is set (docs/BENCHMARKS.md).
"""

from __future__ import annotations

import asyncio
import math
import tempfile
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pocketsphinx

from server.speech.domain_lm import build_arpa, words_of
from server.speech.results import Heard, Pcm, PleaseType, Transcript, Word, is_english
from server.speech.segmenter import SAMPLE_RATE
from server.speech.vocabulary import pronunciation

FRAMES_PER_S = 100  # PocketSphinx's feature frames
# Below this RMS (dB relative to full scale) there is nothing to hear. Digital silence sent
# to the decoder comes back as a random short word, sometimes with full confidence.
SILENCE_DBFS = -60.0
# A 'word' held longer than this is the decoder fitting a word to noise (hum, hiss), where its
# lattice posterior can still be 1.0: such a word counts as not heard.
MAX_WORD_S = 1.2
SOURCE = "pocketsphinx"
DOMAIN = "bank"  # the search with the bank's own language model


def _is_word(token: str) -> bool:
    # <s>, </s>, <sil> and fillers such as [NOISE] or ++BREATH++ are not words said.
    return not (token.startswith(("<", "[", "+")) or not token)


def _clean(token: str) -> str:
    # Alternative pronunciations come back as 'word(2)'.
    return token.split("(", 1)[0]


def _confidence(posterior: float, duration_s: float) -> float:
    if duration_s > MAX_WORD_S:
        return 0.0
    return min(1.0, max(0.0, float(posterior)))


def _dbfs(pcm: Pcm) -> float:
    if len(pcm) == 0:
        return -math.inf
    rms = float(np.sqrt(np.mean(pcm.astype(np.float64) ** 2))) / 32768.0
    return 20.0 * math.log10(rms) if rms > 0 else -math.inf


class SphinxTranscriber:
    """English only; any other language gets ``PleaseType``."""

    def __init__(
        self,
        *,
        vocabulary: Iterable[str] = (),
        fwdflat: bool = True,
        domain: Sequence[str] = (),
        fallback_below: float = 0.0,
    ) -> None:
        """``domain``: sentences of what customers say; heard first with a language model of
        them, and with the general model too when that confidence is below
        ``fallback_below`` (the more confident transcript wins)."""
        self.vocabulary = frozenset(vocabulary)
        self.domain = tuple(domain)
        self.fallback_below = fallback_below
        # The second (flat-lexicon) pass costs about half again as much and gets noticeably
        # more words right on our spoken questions: on by default.
        # Batch CMN: each utterance is normalised on its own, so one customer's room (or a
        # stretch of noise) does not colour how the next utterance is heard.
        self._options: dict[str, Any] = {"loglevel": "FATAL", "fwdflat": fwdflat, "cmn": "batch"}
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="pocketsphinx")
        self._decoder: pocketsphinx.Decoder | None = None
        self.added: tuple[str, ...] = ()  # words the dictionary lacked and we gave it
        self._general = ""  # the search of the general model, when a domain one is added

    async def load(self) -> None:
        """Build the decoder now (a second or two), rather than on the first utterance."""
        await asyncio.get_running_loop().run_in_executor(self._executor, self._load)

    def _load(self) -> pocketsphinx.Decoder:
        if self._decoder is None:
            decoder = pocketsphinx.Decoder(**self._options)
            missing = [
                (word, phones)
                for word in sorted(self.vocabulary)
                if decoder.lookup_word(word) is None and (phones := pronunciation(word)) is not None
            ]
            # The search is rebuilt once, with the last word, not after each.
            for i, (word, phones) in enumerate(missing):
                decoder.add_word(word, phones, i == len(missing) - 1)
            self.added = tuple(word for word, _ in missing)
            if self.domain:
                self._general = decoder.current_search()
                known = [w for w in _dictionary_words(decoder, self.domain)]
                with tempfile.TemporaryDirectory() as tmp:
                    path = Path(tmp) / "domain.arpa"
                    path.write_text(build_arpa(self.domain, known), encoding="utf-8")
                    decoder.add_lm_file(DOMAIN, str(path))
                decoder.activate_search(DOMAIN)
            self._decoder = decoder
        return self._decoder

    async def transcribe(self, pcm: Pcm, sample_rate: int, language: str = "en") -> Transcript:
        if not is_english(language):
            return PleaseType(language, f"no offline recogniser for {language!r}")
        if sample_rate != SAMPLE_RATE:
            raise ValueError(f"PocketSphinx's model is for {SAMPLE_RATE} Hz, not {sample_rate}")
        if _dbfs(pcm) < SILENCE_DBFS:
            return Heard("", 0.0, language, (), SOURCE)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._decode, pcm.tobytes(), language)

    def _decode(self, raw: bytes, language: str) -> Heard:
        decoder = self._load()
        if not self.domain:
            return self._pass(decoder, raw, language)
        decoder.activate_search(DOMAIN)
        heard = self._pass(decoder, raw, language)
        if heard.confidence >= self.fallback_below:
            return heard
        decoder.activate_search(self._general)
        general = self._pass(decoder, raw, language)
        return general if general.confidence > heard.confidence else heard

    def _pass(self, decoder: pocketsphinx.Decoder, raw: bytes, language: str) -> Heard:
        decoder.start_utt()
        decoder.process_raw(raw, full_utt=True)
        decoder.end_utt()
        words = tuple(
            Word(
                _clean(seg.word),
                seg.start_frame / FRAMES_PER_S,
                (seg.end_frame + 1) / FRAMES_PER_S,
                _confidence(seg.prob, (seg.end_frame + 1 - seg.start_frame) / FRAMES_PER_S),
            )
            for seg in decoder.seg()
            if _is_word(seg.word)
        )
        if not words:
            return Heard("", 0.0, language, (), SOURCE)
        # Word posteriors from the lattice: their geometric mean, so one doubtful word in
        # a short question weighs as it should.
        logs = [math.log(max(w.confidence or 0.0, 1e-6)) for w in words]
        confidence = math.exp(sum(logs) / len(logs))
        return Heard(" ".join(w.text for w in words), confidence, language, words, SOURCE)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def _dictionary_words(decoder: pocketsphinx.Decoder, sentences: Iterable[str]) -> set[str]:
    """The sentences' words the decoder can say (a model word without phones is noise)."""
    words = {w for sentence in sentences for w in words_of(sentence)}
    return {w for w in words if decoder.lookup_word(w) is not None}
