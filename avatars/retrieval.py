"""Retrieval over the bank's products and FAQs: BM25 (``bm25s``) on words, with Chinese split
into words by ``jieba``.

The hand-written keyword lists (:mod:`avatars.knowledge`) name a product precisely; BM25 backs
them where a question words the topic its own way ("提前取出来会怎么样" meets the FAQ on early
withdrawal; "what does it cost to hold the balanced fund" meets its fee text). Each product is
indexed with its names, keywords, summary and facts; each FAQ with its questions, answer and
keywords, in both scripts. Text is folded to simplified characters first, so a Cantonese
question meets the same words.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

import bm25s
import jieba

from avatars.intents import fold
from avatars.knowledge import BankProduct, Knowledge
from avatars.specialties import Specialty

__all__ = ["Hit", "Retriever", "tokens"]

jieba.setLogLevel(logging.WARNING)  # its start-up notice is not an event worth logging

_EN_STOP_WORDS = (
    "a an the and or of to in on for with is are be can do does i my me you your it its "
    "what which how when who why this that there their them they we our at by from as if "
    "about tell much any some will would should could have has had get"
)
_EN_STOP = frozenset(_EN_STOP_WORDS.split(" "))
_ZH_STOP = frozenset("的了吗呢吧啊是我你您他她它们想要会有和与在嘅咗系佢啲咩点") | {"怎么"}
_LATIN = re.compile(r"[a-z0-9]+")
_HAN = re.compile(r"[\u3400-\u9fff]")


def _stem(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def tokens(text: str) -> list[str]:
    """The words BM25 compares: stemmed English words and jieba's Chinese words (and, for
    Chinese, single characters too, so a word jieba splits differently still meets)."""
    out: list[str] = []
    for piece in jieba.cut(fold(text)):
        piece = piece.strip()
        if not piece:
            continue
        if _HAN.search(piece):
            if piece not in _ZH_STOP:
                out.append(piece)
            if len(piece) > 1:
                out += [ch for ch in piece if ch not in _ZH_STOP]
        else:
            out += [_stem(w) for w in _LATIN.findall(piece) if w not in _EN_STOP]
    return out


@dataclass(frozen=True, slots=True)
class Hit:
    id: str  # a product's or an FAQ's id
    kind: str  # "product" or "faq"
    specialty: Specialty
    score: float


class Retriever:
    """A BM25 index over one :class:`Knowledge`; read-only once built."""

    def __init__(self, knowledge: Knowledge) -> None:
        self.knowledge = knowledge
        self._docs: list[tuple[str, str, Specialty]] = []
        corpus: list[list[str]] = []
        for p in knowledge.products.values():
            texts = [*p.name.values(), *p.keywords, *p.summary.values()]
            if isinstance(p, BankProduct):
                for facts in (p.key_risk, p.fees, p.liquidity, p.term, p.risks, p.suits):
                    texts += facts.values()
            self._docs.append((p.id, "product", p.specialty))
            corpus.append(tokens(" ".join(texts)))
        for f in knowledge.faqs.values():
            texts = [*f.question.values(), *f.question.values(), *f.keywords, *f.answer.values()]
            self._docs.append((f.id, "faq", f.specialty))
            corpus.append(tokens(" ".join(texts)))
        self._bm25 = bm25s.BM25()
        self._bm25.index(corpus, show_progress=False)

    def search(
        self, text: str, *, kind: str | None = None, specialties: Iterable[Specialty] = ()
    ) -> list[Hit]:
        """Products and FAQs by BM25 score, best first; only those with a score above 0,
        of ``kind`` and of ``specialties`` when given."""
        query = tokens(text)
        if not query:
            return []
        wanted = frozenset(specialties)
        scores = self._bm25.get_scores(query)
        hits = [
            Hit(doc_id, doc_kind, sp, float(score))
            for (doc_id, doc_kind, sp), score in zip(self._docs, scores, strict=True)
            if score > 0 and (kind is None or doc_kind == kind) and (not wanted or sp in wanted)
        ]
        hits.sort(key=lambda h: -h.score)
        return hits


@cache
def default_retriever() -> Retriever:
    from avatars.expertise import default_expertise

    return Retriever(default_expertise().knowledge)
