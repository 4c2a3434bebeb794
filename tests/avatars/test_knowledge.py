"""The bank's product knowledge: the data, its checks, and matching questions to it."""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from avatars.advice import Complexity
from avatars.errors import AvatarDataError
from avatars.knowledge import (
    DATA_DIR,
    FAQS_FILE,
    MAX_FAQS,
    PRODUCTS_FILE,
    BankProduct,
    Knowledge,
    KnowledgeDataError,
    UnknownProduct,
    fold,
)
from avatars.specialties import Specialty


def _data(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA_DIR / name).read_text(encoding="utf-8"))
    return data


def _folder(tmp_path: Path, name: str, data: dict[str, Any]) -> Path:
    """A data folder with the bank's files, ``name`` replaced by ``data``."""
    for other in (PRODUCTS_FILE, FAQS_FILE):
        shutil.copy(DATA_DIR / other, tmp_path / other)
    (tmp_path / name).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return tmp_path


# --- the bank's data ---------------------------------------------------------------------------


def test_the_data_says_it_is_illustrative() -> None:
    for name in (PRODUCTS_FILE, FAQS_FILE):
        assert "Wealthroom demo bank" in _data(name)["notice"]


def test_every_specialty_has_products_and_faqs(knowledge: Knowledge) -> None:
    products = Counter(p.specialty for p in knowledge.products.values())
    faqs = Counter(f.specialty for f in knowledge.faqs.values())
    for specialty in Specialty:
        assert products[specialty] >= 4, specialty
        assert faqs[specialty] >= 3, specialty


def test_every_text_is_in_english_and_chinese(knowledge: Knowledge) -> None:
    for p in knowledge.products.values():
        for texts in (p.name, p.summary, p.key_risk):
            assert {"en", "zh"} <= set(texts), p.id
        assert any(not fold(k).isascii() for k in p.keywords), p.id
        assert any(fold(k).isascii() for k in p.keywords), p.id
    for f in knowledge.faqs.values():
        assert {"en", "zh"} <= set(f.question), f.id
        assert {"en", "zh"} <= set(f.answer), f.id


def test_risk_classes_are_spread_and_fit_the_kind_of_product(knowledge: Knowledge) -> None:
    assert {p.risk for p in knowledge.products.values()} == {1, 2, 3, 4, 5}
    p = knowledge.product
    assert p("time-deposit").risk == 1
    assert p("us-treasuries").risk == 2
    assert p("global-ig-bond-fund").risk in (2, 3)
    assert p("global-equity-fund").risk == 4
    assert p("equity-accumulator").risk == 5
    complex_ = {x.id for x in knowledge.products.values() if x.complexity is Complexity.COMPLEX}
    assert {
        "equity-accumulator",
        "equity-linked-note",
        "fx-option",
        "investment-linked-assurance",
        "family-trust",
        "structured-deposit",
    } <= complex_
    assert p("whole-life-participating").complexity is Complexity.DISCLOSURE
    assert p("deferred-annuity").complexity is Complexity.DISCLOSURE


def test_products_carry_their_key_risk(knowledge: Knowledge) -> None:
    product = knowledge.product("high-yield-bonds")
    assert isinstance(product, BankProduct)
    assert "default" in product.key_risk["en"].lower()


def test_unknown_product(knowledge: Knowledge) -> None:
    with pytest.raises(UnknownProduct, match="no product 'nothing'"):
        knowledge.product("nothing")


# --- matching ----------------------------------------------------------------------------------


def _ids(items: tuple[Any, ...]) -> list[str]:
    return [i.id for i in items]


@pytest.mark.parametrize(
    ("text", "specialty", "expected"),
    [
        ("Tell me about accumulators", Specialty.STOCKS, "equity-accumulator"),
        ("我想了解累计期权", Specialty.STOCKS, "equity-accumulator"),
        ("我想了解累計期權", Specialty.STOCKS, "equity-accumulator"),  # traditional
        ("Should I buy US Treasuries?", Specialty.BONDS, "us-treasuries"),
        ("美国国债现在怎么样", Specialty.BONDS, "us-treasuries"),
        ("How about a structred deposit?", Specialty.DEPOSITS, "structured-deposit"),  # typo
        ("外幣定存有什麼風險", Specialty.DEPOSITS, "foreign-currency-deposit"),
        ("GLOBAL EQUITY FUND", Specialty.FUNDS, "global-equity-fund"),
        ("ｅｔｆ", Specialty.FUNDS, "global-equity-fund"),  # full-width letters
        ("what is an investment-linked policy", Specialty.INSURANCE, "investment-linked-assurance"),
        ("投连险值得买吗", Specialty.INSURANCE, "investment-linked-assurance"),
        ("I want to set up a family trust", Specialty.TAX, "family-trust"),
        ("双币投资", Specialty.FX, "dual-currency-investment"),
        ("恒指成分股", Specialty.STOCKS, "hk-blue-chip-shares"),
    ],
)
def test_find_products_in_both_languages(
    knowledge: Knowledge, text: str, specialty: Specialty, expected: str
) -> None:
    assert _ids(knowledge.find_products(text, specialty))[0] == expected


def test_every_product_is_found_by_its_own_name(knowledge: Knowledge) -> None:
    for product in knowledge.products.values():
        for language in ("en", "zh"):
            found = knowledge.find_products(product.name[language], product.specialty)
            assert found, (product.id, language)
            assert found[0].id == product.id, (product.id, language)


def test_general_questions_name_no_product(knowledge: Knowledge) -> None:
    for text in ("What are bonds?", "什么是基金？", "Will this go up?", "Buy a share of Tencent"):
        assert knowledge.find_products(text, None) == ()


def test_each_expert_finds_its_own_products_and_none_finds_all(knowledge: Knowledge) -> None:
    text = "time deposit or a bond fund"
    assert _ids(knowledge.find_products(text, Specialty.FUNDS)) == ["global-ig-bond-fund"]
    assert _ids(knowledge.find_products(text, Specialty.DEPOSITS)) == ["time-deposit"]
    assert _ids(knowledge.find_products(text, Specialty.TAX)) == []
    assert set(_ids(knowledge.find_products(text, None))) == {"time-deposit", "global-ig-bond-fund"}


def test_the_more_specific_keyword_ranks_first(knowledge: Knowledge) -> None:
    found = _ids(knowledge.find_products("ETFs or leveraged ETFs?", Specialty.FUNDS))
    assert found[:2] == ["leveraged-inverse-products", "global-equity-fund"]


def test_find_faqs(knowledge: Knowledge) -> None:
    assert (
        _ids(knowledge.find_faqs("What is a bond?", Specialty.BONDS, "en"))[0] == "faq-bonds-what"
    )
    assert _ids(knowledge.find_faqs("存款受保障吗", Specialty.DEPOSITS, "zh"))[0] == (
        "faq-deposits-protection"
    )
    assert _ids(knowledge.find_faqs("香港有遺產稅嗎", Specialty.TAX, "yue"))[0] == (
        "faq-tax-estate-duty"
    )
    # Worded like the FAQ's own question, with no keyword in it.
    assert _ids(knowledge.find_faqs("How do I choose a fund", Specialty.FUNDS, "en"))[0] == (
        "faq-funds-choose"
    )
    assert knowledge.find_faqs("What is a bond?", Specialty.FX, "en") == ()
    assert len(knowledge.find_faqs("fund fees distribution choose", Specialty.FUNDS, "en")) <= (
        MAX_FAQS
    )


def test_fold() -> None:
    assert fold("穩賺 ＡＢＣ") == "稳赚 abc"


# --- validation --------------------------------------------------------------------------------


def _broken_product(change: Any) -> dict[str, Any]:
    data = _data(PRODUCTS_FILE)
    change(data["products"][0])
    return data


BAD_PRODUCTS = [
    (lambda p: p.pop("key_risk"), "missing field 'key_risk'"),
    (lambda p: p.update(price=1), "unknown field 'price'"),
    (lambda p: p.update(risk="R6"), "risk: 'R6' is not a risk class"),
    (lambda p: p.update(risk=3), "risk: 3 is not a risk class"),
    (lambda p: p.update(complexity="easy"), "complexity: 'easy' is not one of"),
    (lambda p: p.update(specialty="crypto"), "specialty: 'crypto'"),
    (lambda p: p["name"].pop("zh"), "name: missing language 'zh'"),
    (lambda p: p["summary"].update(en=" "), "summary.en: expected non-empty text"),
    (lambda p: p["summary"].update(en="x" * 700), "summary.en: 700 characters"),
    (lambda p: p.update(keywords=[]), "keywords: expected a non-empty list"),
    (lambda p: p.update(keywords=["ok", 3]), "keywords[1]: expected non-empty text"),
    (lambda p: p.update(keywords=["--"]), "keywords[0]: '--' has no letters"),
]


@pytest.mark.parametrize(("change", "message"), BAD_PRODUCTS)
def test_a_bad_product_names_file_product_and_field(
    tmp_path: Path, change: Any, message: str
) -> None:
    folder = _folder(tmp_path, PRODUCTS_FILE, _broken_product(change))
    with pytest.raises(KnowledgeDataError) as caught:
        Knowledge.load(folder)
    assert str(caught.value).startswith("products.json: product 'hk-blue-chip-shares': ")
    assert message in str(caught.value)
    assert isinstance(caught.value, AvatarDataError)


def test_a_bad_faq_names_file_faq_and_field(tmp_path: Path) -> None:
    data = _data(FAQS_FILE)
    data["faqs"][2]["answer"].pop("en")
    with pytest.raises(
        KnowledgeDataError,
        match=re.escape("faqs.json: faq 'faq-stocks-risk': answer: missing language 'en'"),
    ):
        Knowledge.load(_folder(tmp_path, FAQS_FILE, data))


def test_ids_are_unique_across_products_and_faqs(tmp_path: Path) -> None:
    data = _data(FAQS_FILE)
    data["faqs"][0]["id"] = "time-deposit"
    with pytest.raises(KnowledgeDataError, match="duplicate id 'time-deposit'"):
        Knowledge.load(_folder(tmp_path, FAQS_FILE, data))


def test_every_specialty_needs_products_and_faqs(tmp_path: Path) -> None:
    data = _data(FAQS_FILE)
    data["faqs"] = [f for f in data["faqs"] if f["specialty"] != "fx"]
    with pytest.raises(KnowledgeDataError, match="specialty 'fx'"):
        Knowledge.load(_folder(tmp_path, FAQS_FILE, data))


def test_a_file_that_is_not_json_or_missing_is_refused(tmp_path: Path) -> None:
    folder = _folder(tmp_path, PRODUCTS_FILE, {})
    (folder / PRODUCTS_FILE).write_text("{", encoding="utf-8")
    with pytest.raises(KnowledgeDataError, match=r"products\.json: not JSON"):
        Knowledge.load(folder)
    (folder / PRODUCTS_FILE).unlink()
    with pytest.raises(KnowledgeDataError, match="no such file"):
        Knowledge.load(folder)
