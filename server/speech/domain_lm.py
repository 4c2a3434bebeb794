"""A small trigram language model of the bank's own sentences, in ARPA form for PocketSphinx.

Pure: sentences in, ARPA text out. The general English model that ships with PocketSphinx
spreads its probability over all of English, so a customer's "bond yield" competes with
"bonn yelled"; a model of what customers of this bank say (product names, FAQ questions,
routing terms, the dialogue set's tuning questions) puts it where the questions are. The
corpus is a few thousand words, so the model is built when the recogniser loads, in
milliseconds, and stays in step with the bank's data.

Smoothing is absolute discounting with back-off (Ney, Essen and Kneser 1994), the standard
for a corpus this small: each seen n-gram gives up ``DISCOUNT`` of a count to the lower
order, unseen words share what the unigrams set aside. No library of the ones on PyPI that
write ARPA is both kept up and free of a compiled toolkit (KenLM's ``lmplz``, the CMU
toolkit), and the arithmetic is a screenful.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path

from server.speech.vocabulary import DATA_DIR, load_bank_vocabulary

DISCOUNT = 0.5
ORDER = 3
BOS, EOS = "<s>", "</s>"
_WORD = re.compile(r"[a-z][a-z']*")
_UNSPOKEN = re.compile(r"[0-9&%$£€¥/]")
# Everyday words a question is made of, so that a sentence outside the corpus still has a
# path through the model (each alone, as unigrams).
GLUE = (
    "i you we my me it is are was do does did can could would should will what which who how "
    "when where why the a an of to in on for with and or but not no yes about tell me please "
    "want need like know think buy sell invest money much many more less than this that these "
    "those there here if so any some all your our their have has had be been get give take "
    "make pay put keep hold good bad best better risk risks safe fee fees cost costs return "
    "returns year years month months old young retire retirement children family stop thank"
)


def domain_sentences(data_dir: Path = DATA_DIR) -> list[str]:
    """The bank's English texts a customer might say: product and FAQ wording, routing
    terms, and the tuning questions of the routing and dialogue sets (never the held-out
    ones, on which recognition is measured)."""
    sentences = list(load_bank_vocabulary(data_dir).phrases)
    for line in (data_dir / "routing_eval.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line) if line.strip() else None
        if row and row.get("lang") == "en" and row.get("split") != "holdout":
            sentences.append(row["q"])
    for line in (data_dir / "dialogues.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line) if line.strip() else None
        if row and row.get("lang") == "en" and row.get("split") == "tune":
            sentences += [turn["q"] for turn in row.get("turns", ())]
    return sentences


def words_of(sentence: str) -> list[str]:
    if _UNSPOKEN.search(sentence):
        return []  # '500', 'S&P': how they are said is anyone's guess
    return _WORD.findall(sentence.lower().replace("-", " "))


def build_arpa(sentences: Iterable[str], known: Iterable[str] = ()) -> str:
    """A trigram ARPA model of ``sentences`` (only words in ``known``, if given, are kept;
    a sentence with another word is cut there). ``known``'s other words get unigram mass."""
    keep = frozenset(known)
    counts: list[Counter[tuple[str, ...]]] = [Counter() for _ in range(ORDER)]
    for sentence in sentences:
        for run in _runs(words_of(sentence), keep):
            tokens = [BOS, *run, EOS]
            for n in range(1, ORDER + 1):
                for i in range(len(tokens) - n + 1):
                    gram = tuple(tokens[i : i + n])
                    if gram != (BOS,):
                        counts[n - 1][gram] += 1
    for word in GLUE.split():
        if not keep or word in keep:
            counts[0][(word,)] += 1
    return _arpa(counts)


def _runs(words: list[str], keep: frozenset[str]) -> Iterable[list[str]]:
    run: list[str] = []
    for word in words:
        if keep and word not in keep:
            if run:
                yield run
            run = []
        else:
            run.append(word)
    if run:
        yield run


def _arpa(counts: list[Counter[tuple[str, ...]]]) -> str:
    unigrams = counts[0]
    total = sum(unigrams.values())
    # Unigrams: discounted, the mass set aside spread evenly over every word (no zero).
    spare = DISCOUNT * len(unigrams) / total
    prob: dict[tuple[str, ...], float] = {
        g: (c - DISCOUNT) / total + spare / len(unigrams) for g, c in unigrams.items()
    }
    prob[(BOS,)] = 0.0
    backoff: dict[tuple[str, ...], float] = {}
    for n in range(2, ORDER + 1):
        by_context: dict[tuple[str, ...], dict[str, int]] = defaultdict(dict)
        for gram, c in counts[n - 1].items():
            by_context[gram[:-1]][gram[-1]] = c
        for context, followers in by_context.items():
            seen = sum(followers.values())
            for word, c in followers.items():
                prob[(*context, word)] = (c - DISCOUNT) / seen
            left = DISCOUNT * len(followers) / seen
            lower = sum(_p(prob, backoff, (*context[1:], w)) for w in followers)
            backoff[context] = left / max(1e-9, 1.0 - lower)
    lines = ["\\data\\"]
    grams = [sorted(g for g in prob if len(g) == n) for n in range(1, ORDER + 1)]
    lines += [f"ngram {n}={len(g)}" for n, g in enumerate(grams, 1)]
    for n, listed in enumerate(grams, 1):
        lines += ["", f"\\{n}-grams:"]
        for gram in listed:
            p = -99.0 if gram == (BOS,) else math.log10(prob[gram])
            row = f"{p:.4f}\t{' '.join(gram)}"
            if n < ORDER:
                row += f"\t{math.log10(backoff.get(gram, 1.0)):.4f}"
            lines.append(row)
    lines += ["", "\\end\\", ""]
    return "\n".join(lines)


def _p(
    prob: dict[tuple[str, ...], float], backoff: dict[tuple[str, ...], float], gram: tuple[str, ...]
) -> float:
    """The model's probability of ``gram``'s last word after the rest, backing off."""
    if gram in prob:
        return prob[gram]
    if len(gram) == 1:
        return 0.0
    return backoff.get(gram[:-1], 1.0) * _p(prob, backoff, gram[1:])
