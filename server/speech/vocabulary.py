"""The bank's English words, from the product, FAQ and routing data the experts already use.

Pure: parsed JSON in, words out. The offline recogniser adds the words its dictionary or
language model lacks (``SphinxTranscriber``), so 'ETF' or 'Tencent' can be heard at all.
``pronunciation()`` gives a word the recogniser's dictionary lacks: a short one is taken to be
an acronym, said letter by letter ('E T F'); longer ones (company and product names) are in
``SPOKEN``, written in the dictionary's phone set (ARPAbet without stress marks).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parents[2] / "avatars" / "data"
_WORD = re.compile(r"[A-Za-z][A-Za-z']*")
MAX_ACRONYM = 5

LETTERS = {
    "a": "EY", "b": "B IY", "c": "S IY", "d": "D IY", "e": "IY", "f": "EH F", "g": "JH IY",
    "h": "EY CH", "i": "AY", "j": "JH EY", "k": "K EY", "l": "EH L", "m": "EH M", "n": "EH N",
    "o": "OW", "p": "P IY", "q": "K Y UW", "r": "AA R", "s": "EH S", "t": "T IY", "u": "Y UW",
    "v": "V IY", "w": "D AH B AH L Y UW", "x": "EH K S", "y": "W AY", "z": "Z IY",
}  # fmt: skip

# Words of the bank's data that are said as words, not spelled, and not in CMUdict.
SPOKEN = {
    "alibaba": "AE L IY B AA B AH",
    "baidu": "B AY D UW",
    "domicile": "D AA M AH S AY L",
    "fatca": "F AE T K AH",
    "ftse": "F UH T S IY",
    "fulfilment": "F UH L F IH L M AH N T",
    "ibond": "AY B AA N D",
    "ishares": "AY SH EH R Z",
    "koda": "K OW D AH",
    "kodas": "K OW D AH Z",
    "manulife": "M AE N Y UW L AY F",
    "meituan": "M EY T W AA N",
    "moutai": "M AW T AY",
    "multicurrency": "M AH L T IY K ER AH N S IY",
    "netease": "N EH T IY Z",
    "oeic": "OY K",
    "perp": "P ER P",
    "perps": "P ER P S",
    "pinduoduo": "P IH N D W OW D W OW",
    "sicav": "S IH K AE V",
    "sukuk": "S UW K UW K",
    "tencent": "T EH N S EH N T",
    "ucits": "Y UW S IH T S",
    "wealthroom": "W EH L TH R UW M",
    "xiaomi": "SH AW M IY",
}


@dataclass(frozen=True, slots=True)
class Vocabulary:
    words: frozenset[str]  # lower case
    phrases: tuple[str, ...]  # the texts they came from, lower case (for a domain corpus)


def _english(value: object) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        text = value.get("en")
        if isinstance(text, str):
            yield text


def _texts(products: object, faqs: object, routing: object) -> Iterable[str]:
    if isinstance(products, Mapping):
        for product in products.get("products", ()):
            if isinstance(product, Mapping):
                yield from _english(product.get("name"))
                for keyword in product.get("keywords", ()):
                    yield from _english(keyword)
    if isinstance(faqs, Mapping):
        for faq in faqs.get("faqs", ()):
            if isinstance(faq, Mapping):
                yield from _english(faq.get("question"))
                for keyword in faq.get("keywords", ()):
                    yield from _english(keyword)
    if isinstance(routing, Mapping):
        terms = routing.get("terms", {})
        if isinstance(terms, Mapping):
            for specialty, words in terms.items():
                yield specialty
                if isinstance(words, Mapping):
                    yield from (w for w in words if isinstance(w, str))


def bank_vocabulary(products: object, faqs: object, routing: object) -> Vocabulary:
    """Words of the product names and keywords, FAQ questions and routing terms."""
    words: set[str] = set()
    phrases: list[str] = []
    for text in _texts(products, faqs, routing):
        found = _WORD.findall(text.replace("-", " "))
        if not found:
            continue
        phrases.append(" ".join(w.lower() for w in found))
        words.update(w.lower() for w in found)
    return Vocabulary(frozenset(words), tuple(phrases))


def pronunciation(word: str) -> str | None:
    """Phones for a word missing from the dictionary, or None when we do not know them."""
    word = word.lower()
    if word in SPOKEN:
        return SPOKEN[word]
    if 2 <= len(word) <= MAX_ACRONYM and word.isascii() and word.isalpha():
        return " ".join(LETTERS[letter] for letter in word)
    return None


def load_bank_vocabulary(data_dir: Path = DATA_DIR) -> Vocabulary:
    def read(name: str) -> object:
        return json.loads((data_dir / name).read_text(encoding="utf-8"))

    return bank_vocabulary(read("products.json"), read("faqs.json"), read("routing.json"))
