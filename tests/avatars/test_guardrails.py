"""Guardrails: whatever a brain drafts, the customer sees a labelled, suitable, promise-free
answer that names the product's risk class."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from avatars.advice import (
    AI_LABEL,
    Brief,
    Complexity,
    Product,
    Profile,
    Reply,
    Suitability,
    Verdict,
)
from avatars.guardrails import MAX_TEXT, find_promise, guard
from avatars.local_brain import LocalBrain
from avatars.personas import Personas
from avatars.specialties import Specialty
from tests.bank import KNOWLEDGE
from tests.bank import brief as _brief

BRAIN = LocalBrain()


def _draft(text: str, **changes: object) -> Reply:
    base = Reply(text, (), None, None, False, None, "")
    return replace(base, **changes)  # type: ignore[arg-type]


def _names_risk_class(text: str, risk: int) -> bool:
    return re.search(rf"(?<![A-Za-z0-9])R{risk}(?![0-9])", text) is not None


TREASURIES = _brief("US treasuries", Specialty.BONDS, 3)
ACCUMULATOR = _brief("accumulator", Specialty.STOCKS, 5)


# --- label and hand-off ------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "zh", "yue"])
def test_the_ai_label_is_always_set(language: str) -> None:
    brief = _brief("US treasuries", Specialty.BONDS, 3, language)
    for label in ("", "Human advisor", AI_LABEL["en"]):
        reply = guard(_draft("Risk class R2 applies.", label=label), brief)
        assert reply.label == AI_LABEL[language]


def test_a_draft_cannot_talk_past_a_handoff() -> None:
    draft = _draft(
        "No need for an advisor: the accumulator is simple, Risk class R5. Buy it daily.",
        handoff=False,
        reason=None,
        sources=("equity-accumulator",),
    )
    reply = guard(draft, ACCUMULATOR)
    assert reply.handoff is True
    assert reply.reason == ACCUMULATOR.suitability.reason
    assert reply.text == BRAIN.draft(ACCUMULATOR).text
    assert "Buy it" not in reply.text


def test_a_draft_cannot_invent_a_handoff_either() -> None:
    reply = guard(_draft("R2. Let me get a person.", handoff=True, reason="bored"), TREASURIES)
    assert (reply.handoff, reply.reason) == (False, None)


# --- promises ----------------------------------------------------------------------------------

PROMISES = [
    "This fund offers guaranteed returns.",
    "GUARANTEED   RETURNS on every note",
    "a guaranteed-return plan",
    "Guaranteed profits!",
    "It is risk-free.",
    "It is risk free.",
    "It is RiskFree.",
    "It is risk\u2011free.",  # non-breaking hyphen
    "You can't lose with this.",
    "You can\u2019t lose with this.",
    "You cannot lose.",
    "Your money will double in five years.",
    "It's a sure profit.",
    "There are no guaranteed returns, but...",  # denied promises are still refused
    "guaranteed\u200breturns",  # a zero-width space
    "这是保证收益的产品。",
    "保 证 收 益",
    "保證收益",
    "稳赚不赔",
    "穩賺",
    "无风险",
    "零風險",
    "冇風險",
    "保本保息",
    "一定赚钱",
    "包赚",
    "肯定会涨",
    "１００％安全",
]


@pytest.mark.parametrize("promise", PROMISES)
def test_a_promise_replaces_the_whole_text_with_the_safe_answer(promise: str) -> None:
    for brief in (TREASURIES, _brief("美国国债", Specialty.BONDS, 3, "zh")):
        draft = _draft(f"US Treasury bonds are Risk class R2. {promise} Call us.")
        reply = guard(draft, brief)
        assert reply.text == guard(BRAIN.draft(brief), brief).text
        assert find_promise(reply.text) is None
        assert "Call us" not in reply.text


@pytest.mark.parametrize(
    "text",
    [
        "Prices can go down as well as up.",
        "We measure profits after fees.",
        "The bonds are guaranteed by the government against default only.",
        "Significant losses are possible.",
        "保本型产品也有风险等级。",
        "收益会波动。",
    ],
)
def test_ordinary_sentences_are_not_promises(text: str) -> None:
    assert find_promise(text) is None


def test_when_even_the_banks_text_promises_a_minimal_answer_is_given() -> None:
    bad = Product(
        "bad",
        Specialty.FUNDS,
        {"en": "Bad fund", "zh": "坏基金"},
        2,
        Complexity.SIMPLE,
        {"en": "A risk-free fund.", "zh": "稳赚的基金。"},
        ("bad",),
    )
    ok = Suitability(Verdict.OK, "within the customer's risk profile")
    brief = Brief("bad fund", Specialty.FUNDS, "en", Profile(3), (bad,), (), ok)
    reply = guard(_draft("Guaranteed returns!"), brief)
    assert find_promise(reply.text) is None
    assert reply.text.startswith("I can't answer that here")
    assert reply.text.endswith("Bad fund: Risk class R2.")


# --- risk class, product, sources, length ------------------------------------------------------


def test_a_missing_risk_class_is_appended() -> None:
    reply = guard(_draft("US Treasury bonds are issued by the US government."), TREASURIES)
    assert reply.text == (
        "US Treasury bonds are issued by the US government. US Treasury bonds: Risk class R2."
    )
    zh = _brief("美国国债", Specialty.BONDS, 3, "zh")
    assert guard(_draft("美国国债由美国政府发行。"), zh).text.endswith("美国国债：风险等级 R2。")


def test_a_named_risk_class_is_left_as_it_is() -> None:
    text = "US Treasury bonds, Risk class R2, are issued by the US government."
    assert guard(_draft(text), TREASURIES).text == text


def test_a_wrong_risk_class_gets_the_safe_answer() -> None:
    reply = guard(_draft("US Treasury bonds are Risk class R1."), TREASURIES)
    assert reply.text == BRAIN.draft(TREASURIES).text


def test_product_and_risk_class_come_from_the_brief() -> None:
    draft = _draft("R2.", product="equity-accumulator", risk_class=5)
    reply = guard(draft, TREASURIES)
    assert (reply.product, reply.risk_class) == ("us-treasuries", 2)
    general = guard(
        _draft("Bonds are loans.", product="x", risk_class=3), _brief("bond", Specialty.BONDS, 5)
    )
    assert (general.product, general.risk_class) == (None, None)


def test_sources_are_limited_to_the_brief() -> None:
    brief = _brief("What is a bond? US treasuries", Specialty.BONDS, 3)
    draft = _draft("R2.", sources=("made-up", "faq-bonds-what", "time-deposit", "us-treasuries"))
    assert guard(draft, brief).sources == ("us-treasuries", "faq-bonds-what")


def test_text_is_capped_and_still_names_the_risk_class() -> None:
    long = "US Treasury bonds pay a coupon. " * 200
    reply = guard(_draft(long), TREASURIES)
    assert len(reply.text) <= MAX_TEXT
    assert reply.text.endswith("US Treasury bonds: Risk class R2.")
    no_stops = "x" * 5000
    assert len(guard(_draft(no_stops), TREASURIES).text) <= MAX_TEXT


def test_invisible_characters_are_removed_and_empty_drafts_replaced() -> None:
    reply = guard(_draft("\u202eUS Treasury bonds\u200b: R2.\x07"), TREASURIES)
    assert reply.text == "US Treasury bonds: R2."
    assert guard(_draft("  \u200b "), TREASURIES).text == BRAIN.draft(TREASURIES).text


@settings(max_examples=300, deadline=None)
@given(
    st.text(max_size=1500),
    st.sampled_from(["", "guaranteed returns", "稳赚", "risk free", "零风险"]),
    st.sampled_from([TREASURIES, ACCUMULATOR, _brief("高收益债", Specialty.BONDS, 5, "zh")]),
)
def test_any_draft_comes_out_safe(text: str, promise: str, brief: Brief) -> None:
    reply = guard(_draft(text + promise), brief)
    assert find_promise(reply.text) is None
    assert len(reply.text) <= MAX_TEXT
    assert reply.label == AI_LABEL[brief.language]
    assert reply.handoff is (brief.suitability.verdict is Verdict.HANDOFF)
    assert brief.products
    assert _names_risk_class(reply.text, brief.products[0].risk)


# --- over the whole data set -------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "zh", "yue"])
def test_every_product_answered_names_its_risk_class_and_promises_nothing(language: str) -> None:
    phrase = {"en": "Risk class R", "zh": "风险等级", "yue": "风险等级"}[language]
    for product in KNOWLEDGE.products.values():
        name = product.name["en" if language == "en" else "zh"]
        for risk in (None, 1, 3, 5):
            brief = _brief(name, product.specialty, risk, language)
            assert brief.products[0].id == product.id
            draft = BRAIN.draft(brief)
            reply = guard(draft, brief)
            assert reply.text == draft.text, product.id  # the local brain needs no correcting
            assert _names_risk_class(reply.text, product.risk), (product.id, reply.text)
            assert phrase in reply.text or "risk class R" in reply.text, product.id
            assert find_promise(reply.text) is None, (product.id, find_promise(reply.text))


def test_no_text_in_the_data_promises_anything() -> None:
    texts: list[str] = []
    for p in KNOWLEDGE.products.values():
        texts += [*p.name.values(), *p.summary.values(), *p.key_risk.values()]
    for f in KNOWLEDGE.faqs.values():
        texts += [*f.question.values(), *f.answer.values()]
    for persona in Personas.load().all:
        texts += persona.greeting.values()
    assert [t for t in texts if find_promise(t)] == []
