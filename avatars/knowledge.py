"""The bank's product knowledge: products and FAQs as data the bank edits, and matching a
question to them.

``data/products.json`` and ``data/faqs.json`` are read once and checked strictly: an error names
the file, the record and the field. Matching works on folded text (:func:`fold`): Chinese
keywords match as substrings (Chinese has no spaces to split on), English keywords match whole
words after a crude plural fold, and long English keywords also match with a typo or two
(rapidfuzz). Product keywords must be specific to the product: a generic word such as "bond"
would name every bond product in a general question, and the strictest of them would decide.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from rapidfuzz import fuzz, process

from avatars.advice import LANGUAGES, Complexity, Faq, Product
from avatars.errors import AvatarDataError
from avatars.specialties import Specialty

DATA_DIR = Path(__file__).parent / "data"
PRODUCTS_FILE = "products.json"
FAQS_FILE = "faqs.json"

# Every text a customer may be answered with must exist in both scripts the room renders.
REQUIRED_LANGUAGES = ("en", "zh")
MAX_TEXT = 600  # characters in one summary, answer or key risk: answers are spoken aloud
MAX_FAQS = 3  # FAQs handed to a brain: more would crowd the answer
_ID = re.compile(r"[a-z0-9][a-z0-9-]{1,63}")
_RISK = re.compile(r"R([1-5])")
_CURRENCY = re.compile(r"[A-Z]{3}")


class KnowledgeDataError(AvatarDataError):
    """``products.json`` or ``faqs.json`` is missing or invalid."""


class UnknownProduct(KeyError):
    """No product has that id."""

    def __str__(self) -> str:
        # KeyError shows its argument's repr; the message reads better as it is.
        return str(self.args[0]) if self.args else "unknown product"


@dataclass(frozen=True, slots=True)
class BankProduct(Product):
    """A product as the bank's data describes it: the shared record plus its key risk, the
    sentence said first when the product needs disclosure, and the facts a customer asks
    about next (fees, getting the money out, minimum and currency, term, main risks, who it
    suits). All illustrative, like the rest of the demo bank's data."""

    key_risk: dict[str, str]
    minimum: int = 0  # the smallest amount to start with, in ``minimum_currency``
    minimum_currency: str = "HKD"
    currencies: tuple[str, ...] = ()
    fees: dict[str, str] = field(default_factory=dict)
    liquidity: dict[str, str] = field(default_factory=dict)  # selling, redeeming, early exit
    term: dict[str, str] = field(default_factory=dict)
    risks: dict[str, str] = field(default_factory=dict)
    suits: dict[str, str] = field(default_factory=dict)


# --- folding -----------------------------------------------------------------------------------

# Cantonese customers (and brains answering them) write traditional characters; the data and
# the phrase lists are simplified. Pairs of traditional then simplified characters of finance
# talk, not all of Chinese: a full converter would be a dependency for a handful of words.
_PAIRS = (
    "債债險险匯汇資资產产額额幣币證证託托遺遗稅税劃划儲储積积壽寿終终與与連连結结構构雙双貨货"
    "權权個个當当價价標标準准庫库國国際际級级類类動动態态關关購购買买賣卖虧亏賺赚說说會会嗎吗"
    "點点讓让錢钱銀银穩稳無无風风淨净現现幫帮計计傳传業业務务屬属學学兒儿內内擁拥對对歐欧紐纽"
    "華华萬万億亿換换餘余戶户開开頭头隨随時时還还轉转賬账帳帐單单獨独檔档優优選选擇择負负貸贷"
    "費费給给從从經经變变問问題题應应該该為为們们這这裡里麼么滬沪聯联繫系滙汇號号碼码紅红興兴"
    "實实獲获將将條条規规範范報报養养職职階阶層层總总數数據据維维護护決决斷断長长張张陳陈劉刘"
    "黃黄葉叶鄭郑廣广東东龍龙灣湾臺台鐘钟頓顿處处體体驗验擔担聽听讀读寫写認认識识網网絡络導导"
    "師师顧顾復复雜杂幾几週周歲岁齡龄衝冲擊击盤盘漲涨鎖锁約约議议營营運运團团隊队評评賠赔損损"
    "恆恒錄录繳缴繼继囑嘱財财納纳鎊镑圓圆兌兑遠远寶宝強强醫医療疗藍蓝籌筹鈔钞貼贴環环場场種种"
    "減减後后償偿續续確确贏赢絕绝樂乐習习覺觉愛爱員员區区質质齊齐備备擬拟線线綫线夠够發发門门"
    "監监稱称預预參参歸归義义簽签屆届錯错誤误訂订"
)
_TO_SIMPLIFIED = str.maketrans(_PAIRS[0::2], _PAIRS[1::2])


def fold(text: str) -> str:
    """``text`` as matching sees it: NFKC (full-width letters and digits become ASCII),
    case-folded, and the common traditional characters written simplified."""
    return unicodedata.normalize("NFKC", text).casefold().translate(_TO_SIMPLIFIED)


def _is_cjk(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"


def has_cjk(text: str) -> bool:
    return any(_is_cjk(ch) for ch in text)


_WORD = re.compile(r"[a-z0-9]+")


def _stem(word: str) -> str:
    # Enough to meet "bonds"/"bond" and "annuities"/"annuity"; both sides are stemmed alike,
    # so an imperfect stem still matches itself.
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def words(text: str) -> tuple[str, ...]:
    """The stemmed English words (and numbers) of already folded ``text``."""
    return tuple(_stem(w) for w in _WORD.findall(text))


# --- matching ----------------------------------------------------------------------------------

_FUZZY_MIN_CHARS = 6  # shorter words differ by one letter too often ("fund"/"find")
_FUZZY_CUTOFF = 88.0
_FUZZY_WEIGHT = 0.6
_NAME_WEIGHT = 1.5
_QUESTION_CUTOFF = 75.0  # a question worded almost like an FAQ's own question


@dataclass(frozen=True, slots=True)
class _Key:
    text: str  # folded; Chinese without spaces, English as stemmed words joined by spaces
    size: int  # English: words in it; Chinese: 0
    weight: float


def _keys(names: Iterable[str], keywords: Iterable[str]) -> tuple[_Key, ...]:
    out: dict[str, _Key] = {}
    for raw, weight in [(n, _NAME_WEIGHT) for n in names] + [(k, 1.0) for k in keywords]:
        folded = fold(raw)
        if has_cjk(folded):
            text = "".join(folded.split())
            key = _Key(text, 0, weight * len(text) * 2)  # a Chinese character says a lot
        else:
            stems = words(folded)
            if not stems:
                continue
            text = " ".join(stems)
            key = _Key(text, len(stems), weight * len(text))
        if text not in out or out[text].weight < key.weight:
            out[text] = key
    return tuple(out.values())


class _Question:
    """A question folded once, with its word n-grams, for matching against many keys."""

    def __init__(self, text: str) -> None:
        self.folded = fold(text)
        self.compact = "".join(self.folded.split())
        self.stems = words(self.folded)
        self._grams: dict[int, list[str]] = {}

    def grams(self, n: int) -> list[str]:
        if n not in self._grams:
            s = self.stems
            self._grams[n] = [" ".join(s[i : i + n]) for i in range(len(s) - n + 1)]
        return self._grams[n]

    def score(self, keys: Sequence[_Key]) -> float:
        total = 0.0
        for key in keys:
            if key.size == 0:
                if key.text in self.compact:
                    total += key.weight
                continue
            grams = self.grams(key.size)
            if not grams:
                continue
            if key.text in grams:
                total += key.weight
            elif len(key.text) >= _FUZZY_MIN_CHARS:
                best = process.extractOne(
                    key.text, grams, scorer=fuzz.ratio, score_cutoff=_FUZZY_CUTOFF
                )
                if best is not None:
                    total += key.weight * _FUZZY_WEIGHT * best[1] / 100.0
        return total


# --- reading the data files --------------------------------------------------------------------


def read_data(path: Path, list_key: str, error: type[AvatarDataError]) -> list[object]:
    """The records under ``list_key`` in the JSON file at ``path`` (see :func:`parse_data`)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot read: {exc}") from None
    return parse_data(text, path.name, list_key, error)


def parse_data(text: str, name: str, list_key: str, error: type[AvatarDataError]) -> list[object]:
    """The records under ``list_key`` in ``text``, the JSON file ``name``, which may also carry
    a ``notice`` and nothing else."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(f"{name}: not JSON: line {exc.lineno}: {exc.msg}") from None
    if type(raw) is not dict:
        raise error(f"{name}: expected an object with {list_key!r}")
    unknown = sorted(set(raw) - {"notice", list_key})
    if unknown:
        raise error(f"{name}: unknown field {unknown[0]!r}", at=(unknown[0],))
    if "notice" in raw and (type(raw["notice"]) is not str or not raw["notice"].strip()):
        raise error(f"{name}: notice: expected text", at=("notice",))
    items = raw.get(list_key)
    if type(items) is not list:
        raise error(f"{name}: {list_key}: expected a list", at=(list_key,))
    return items


_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def field_path(where: str) -> tuple[str | int, ...]:
    """``"name.en"`` or ``"keywords[2]"`` as the keys and indices it names."""
    return tuple(int(index) if index else key for key, index in _STEP.findall(where))


class DataRecord:
    """One record of a data file, read field by field; every error names where it is."""

    def __init__(
        self,
        raw: object,
        where: str,
        error: type[AvatarDataError],
        at: tuple[str | int, ...] = (),
    ) -> None:
        if type(raw) is not dict:
            raise error(f"{where}: expected an object", at=at)
        self.raw: dict[str, object] = raw
        self.where = where
        self.at = at  # the record's place in its file, for the line an error names
        self._error = error

    def fail(self, key: str, problem: str) -> NoReturn:
        raise self._error(f"{self.where}: {key}: {problem}", at=self.at + field_path(key))

    def fields(self, required: Iterable[str], optional: Iterable[str] = ()) -> None:
        required = tuple(required)
        allowed = set(required) | set(optional)
        for key in self.raw:
            if key not in allowed:
                raise self._error(f"{self.where}: unknown field {key!r}", at=(*self.at, key))
        for key in required:
            if key not in self.raw:
                raise self._error(f"{self.where}: missing field {key!r}", at=self.at)

    def identifier(self, key: str = "id") -> str:
        value = self.raw.get(key)
        if type(value) is not str or not _ID.fullmatch(value):
            self.fail(key, "expected lowercase letters, digits and hyphens, 2 to 64 of them")
        return value

    def text(self, key: str, max_len: int = MAX_TEXT) -> str:
        return self._text(self.raw.get(key), key, max_len)

    def _text(self, value: object, key: str, max_len: int) -> str:
        if type(value) is not str or not value.strip():
            self.fail(key, "expected non-empty text")
        if len(value) > max_len:
            self.fail(key, f"{len(value)} characters, at most {max_len}")
        return value

    def integer(self, key: str, lo: int, hi: int) -> int:
        value = self.raw.get(key)
        # bool is an int in Python; in a data file true is never a number.
        if type(value) is not int:
            self.fail(key, "expected a whole number")
        if not lo <= value <= hi:
            self.fail(key, f"{value} outside [{lo}, {hi}]")
        return value

    def choice(self, key: str, options: Iterable[str]) -> str:
        value = self.raw.get(key)
        allowed = sorted(options)
        if type(value) is not str or value not in allowed:
            self.fail(key, f"{value!r} is not one of {allowed}")
        return value

    def texts(
        self, key: str, required: Sequence[str] = REQUIRED_LANGUAGES, max_len: int = MAX_TEXT
    ) -> dict[str, str]:
        """A language -> text map with at least ``required`` languages, no others than
        :data:`avatars.advice.LANGUAGES`."""
        value = self.raw.get(key)
        if type(value) is not dict:
            self.fail(key, "expected an object of language -> text")
        for lang in value:
            if lang not in LANGUAGES:
                self.fail(key, f"unknown language {lang!r}, expected one of {list(LANGUAGES)}")
        for lang in required:
            if lang not in value:
                self.fail(key, f"missing language {lang!r}")
        return {lang: self._text(text, f"{key}.{lang}", max_len) for lang, text in value.items()}

    def keywords(self, key: str = "keywords") -> tuple[str, ...]:
        value = self.raw.get(key)
        if type(value) is not list or not value:
            self.fail(key, "expected a non-empty list of words")
        out = tuple(self._text(v, f"{key}[{i}]", 60) for i, v in enumerate(value))
        for i, word in enumerate(out):
            folded = fold(word)
            if not has_cjk(folded) and not words(folded):
                self.fail(f"{key}[{i}]", f"{word!r} has no letters or digits to match")
        return out


def _specialty(record: DataRecord) -> Specialty:
    return Specialty(record.choice("specialty", (s.value for s in Specialty)))


def _parse_products(text: str, name: str) -> tuple[BankProduct, ...]:
    products: list[BankProduct] = []
    for i, raw in enumerate(parse_data(text, name, "products", KnowledgeDataError)):
        at = ("products", i)
        record = DataRecord(raw, f"{name}: product #{i + 1}", KnowledgeDataError, at)
        record.where = f"{name}: product {record.identifier()!r}"
        record.fields(
            ("id", "specialty", "risk", "complexity", "name", "summary", "key_risk", "keywords"),
            _FACTS,
        )
        risk = record.raw["risk"]
        match = _RISK.fullmatch(risk) if type(risk) is str else None
        if match is None:
            record.fail("risk", f"{risk!r} is not a risk class R1 to R5")
        products.append(
            BankProduct(
                id=record.identifier(),
                specialty=_specialty(record),
                name=record.texts("name", max_len=80),
                risk=int(match.group(1)),
                complexity=Complexity(record.choice("complexity", (c.value for c in Complexity))),
                summary=record.texts("summary"),
                keywords=record.keywords(),
                key_risk=record.texts("key_risk"),
                **_facts(record),
            )
        )
    return tuple(products)


# Optional per product: a product without them answers those questions with "ask a person".
_FACTS = ("minimum", "currencies", "fees", "liquidity", "term", "risks", "suits")


def _facts(record: DataRecord) -> dict[str, Any]:
    out: dict[str, Any] = {
        key: record.texts(key)
        for key in ("fees", "liquidity", "term", "risks", "suits")
        if key in record.raw
    }
    if "minimum" in record.raw:
        at = (*record.at, "minimum")
        minimum = DataRecord(record.raw["minimum"], f"{record.where}: minimum", record._error, at)
        minimum.fields(("amount", "currency"))
        out["minimum"] = minimum.integer("amount", 0, 10**9)
        out["minimum_currency"] = _currency(minimum, minimum.raw["currency"], "currency")
    if "currencies" in record.raw:
        value = record.raw["currencies"]
        if type(value) is not list or not value:
            record.fail("currencies", "expected a non-empty list of currency codes")
        out["currencies"] = tuple(
            _currency(record, c, f"currencies[{i}]") for i, c in enumerate(value)
        )
    return out


def _currency(record: DataRecord, value: object, key: str) -> str:
    if type(value) is not str or not _CURRENCY.fullmatch(value):
        record.fail(key, f"{value!r} is not a three-letter currency code")
    return value


def _parse_faqs(text: str, name: str) -> tuple[Faq, ...]:
    faqs: list[Faq] = []
    for i, raw in enumerate(parse_data(text, name, "faqs", KnowledgeDataError)):
        record = DataRecord(raw, f"{name}: faq #{i + 1}", KnowledgeDataError, ("faqs", i))
        record.where = f"{name}: faq {record.identifier()!r}"
        record.fields(("id", "specialty", "question", "answer", "keywords"))
        faqs.append(
            Faq(
                id=record.identifier(),
                specialty=_specialty(record),
                question=record.texts("question", max_len=200),
                answer=record.texts("answer"),
                keywords=record.keywords(),
            )
        )
    return tuple(faqs)


def text_for(texts: Mapping[str, str], language: str) -> str:
    """The text in ``language``; Cantonese falls back to the Chinese text, anything else to
    English (every data text has both)."""
    if language in texts:
        return texts[language]
    if language == "yue" and "zh" in texts:
        return texts["zh"]
    return texts["en"]


class Knowledge:
    """The products and FAQs, read-only once loaded; shared by every room."""

    def __init__(self, products: Sequence[BankProduct], faqs: Sequence[Faq]) -> None:
        seen: set[str] = set()
        for item_id in [p.id for p in products] + [f.id for f in faqs]:
            # Answers cite product and FAQ ids side by side, so they share one namespace.
            if item_id in seen:
                raise KnowledgeDataError(f"duplicate id {item_id!r} among products and FAQs")
            seen.add(item_id)
        # By id, in the data files' order (which breaks ties in matching).
        self.products: dict[str, BankProduct] = {p.id: p for p in products}
        self.faqs: dict[str, Faq] = {f.id: f for f in faqs}
        self._product_keys = {p.id: _keys(p.name.values(), p.keywords) for p in products}
        self._faq_keys = {f.id: _keys((), f.keywords) for f in faqs}

    @classmethod
    def load(cls, path_dir: Path | None = None) -> Knowledge:
        """Read ``products.json`` and ``faqs.json`` from ``path_dir`` (default: the package's
        data directory). Raises :class:`KnowledgeDataError` naming file, record and field."""
        folder = DATA_DIR if path_dir is None else path_dir
        for name in (PRODUCTS_FILE, FAQS_FILE):
            if not (folder / name).is_file():
                raise KnowledgeDataError(f"{folder / name}: no such file")
        return cls.parse(
            (folder / PRODUCTS_FILE).read_text(encoding="utf-8"),
            (folder / FAQS_FILE).read_text(encoding="utf-8"),
        )

    @classmethod
    def parse(cls, products_text: str, faqs_text: str) -> Knowledge:
        """The knowledge in the texts of ``products.json`` and ``faqs.json``, checked."""
        products = _parse_products(products_text, PRODUCTS_FILE)
        faqs = _parse_faqs(faqs_text, FAQS_FILE)
        # Answers cite product and FAQ ids side by side, so they share one namespace.
        seen: set[str] = set()
        for name, key, ids in (
            (PRODUCTS_FILE, "products", [p.id for p in products]),
            (FAQS_FILE, "faqs", [f.id for f in faqs]),
        ):
            for i, item_id in enumerate(ids):
                if item_id in seen:
                    raise KnowledgeDataError(
                        f"{name}: id: duplicate id {item_id!r} among products and FAQs",
                        at=(key, i, "id"),
                    )
                seen.add(item_id)
        knowledge = cls(products, faqs)
        missing = [
            s.value
            for s in Specialty
            if not any(p.specialty == s for p in knowledge.products.values())
            or not any(f.specialty == s for f in knowledge.faqs.values())
        ]
        if missing:
            raise KnowledgeDataError(
                f"{PRODUCTS_FILE}: no products here, or no FAQs in {FAQS_FILE}, for specialty "
                f"{missing[0]!r}"
            )
        return knowledge

    def product(self, product_id: str) -> BankProduct:
        try:
            return self.products[product_id]
        except KeyError:
            raise UnknownProduct(f"no product {product_id!r}") from None

    def find_products(self, text: str, specialty: Specialty | None) -> tuple[BankProduct, ...]:
        """Products of ``specialty`` (of any, with ``None``) that ``text`` names, best first.

        Each expert judges its own shelf: when a question goes to several experts, the one
        whose product it names decides on it, and the others do not repeat its hand-off.
        """
        question = _Question(text)
        scored = []
        for index, product in enumerate(self.products.values()):
            if specialty is not None and product.specialty != specialty:
                continue
            score = question.score(self._product_keys[product.id])
            if score > 0:
                scored.append((-score, index, product))
        scored.sort(key=lambda t: t[:2])
        return tuple(t[2] for t in scored)

    def find_faqs(self, text: str, specialty: Specialty, language: str) -> tuple[Faq, ...]:
        """At most :data:`MAX_FAQS` FAQs of ``specialty`` that match ``text``, best first; an
        FAQ whose own question (in ``language``) is worded much like ``text`` also matches."""
        question = _Question(text)
        scored = []
        for index, faq in enumerate(self.faqs.values()):
            if faq.specialty != specialty:
                continue
            score = question.score(self._faq_keys[faq.id])
            own = fold(text_for(faq.question, language))
            similarity = fuzz.QRatio(question.folded, own)
            if similarity >= _QUESTION_CUTOFF:
                score += similarity / 10.0
            if score > 0:
                scored.append((-score, index, faq))
        scored.sort(key=lambda t: t[:2])
        return tuple(t[2] for t in scored[:MAX_FAQS])
