"""The local brain: answers from the bank's own texts, in the customer's language."""

from __future__ import annotations

import time

from avatars.advice import AI_LABEL, Brief, Complexity, Product, Profile, Suitability, Verdict
from avatars.knowledge import Knowledge
from avatars.local_brain import LocalBrain
from avatars.specialties import Specialty
from tests.bank import brief as _brief

BRAIN = LocalBrain()


def test_a_product_it_may_discuss_in_english(knowledge: Knowledge) -> None:
    brief = _brief("US treasuries?", Specialty.BONDS, 3, "en")
    reply = BRAIN.draft(brief)
    product = knowledge.product("us-treasuries")
    assert reply.text.startswith(f"{product.name['en']}: {product.summary['en']}")
    assert "Risk class R2." in reply.text
    assert (reply.product, reply.risk_class, reply.handoff, reply.reason) == (
        "us-treasuries",
        2,
        False,
        None,
    )
    assert reply.sources[0] == "us-treasuries"
    assert reply.label == AI_LABEL["en"]


def test_chinese_and_cantonese_are_answered_in_chinese(knowledge: Knowledge) -> None:
    product = knowledge.product("us-treasuries")
    for language in ("zh", "yue"):
        reply = BRAIN.draft(_brief("美國國債", Specialty.BONDS, 3, language))
        assert product.summary["zh"] in reply.text
        assert "风险等级 R2" in reply.text
        assert reply.label == AI_LABEL[language]


def test_disclosure_says_the_key_risk_first(knowledge: Knowledge) -> None:
    product = knowledge.product("high-yield-bonds")
    for language in ("en", "zh"):
        reply = BRAIN.draft(_brief(product.name[language], Specialty.BONDS, 5, language))
        key_risk = product.key_risk[language]
        lead = "First, the key risk of" if language == "en" else "先说明"
        assert reply.text.startswith(
            f"{lead}{' ' if language == 'en' else ''}{product.name[language]}"
        )
        assert reply.text.index(key_risk) < reply.text.index(product.summary[language])


def test_disclosure_of_a_product_without_a_key_risk_says_a_general_one() -> None:
    product = Product(
        "p",
        Specialty.FUNDS,
        {"en": "Plan", "zh": "计划"},
        2,
        Complexity.DISCLOSURE,
        {"en": "A plan.", "zh": "一个计划。"},
        ("plan",),
    )
    brief = Brief(
        "plan",
        Specialty.FUNDS,
        "en",
        Profile(3),
        (product,),
        (),
        Suitability(Verdict.DISCLOSE, "needs disclosure"),
    )
    text = BRAIN.draft(brief).text
    assert text.startswith("First, the key risk of Plan: Its value can go down")
    assert "Risk class R2" in text


def test_a_handoff_says_a_person_takes_over_and_why_and_no_more(knowledge: Knowledge) -> None:
    product = knowledge.product("equity-accumulator")
    en = BRAIN.draft(_brief("accumulator", Specialty.STOCKS, 5, "en"))
    assert en.text.startswith("A human advisor will take over this question, because it is a")
    assert "complex product" in en.text
    assert "risk class R5" in en.text
    assert product.summary["en"] not in en.text
    assert (en.handoff, en.reason) == (True, "complex product: a human advisor explains it")
    zh = BRAIN.draft(_brief("累计期权", Specialty.STOCKS, 5, "zh"))
    assert "真人顾问" in zh.text
    assert "风险等级为 R5" in zh.text
    assert product.summary["zh"] not in zh.text
    unassessed = BRAIN.draft(_brief("US shares", Specialty.STOCKS, None, "en"))
    assert "risk profile has not been assessed" in unassessed.text
    above = BRAIN.draft(_brief("US shares", Specialty.STOCKS, 2, "en"))
    assert "above your risk profile" in above.text


def test_the_product_that_caused_a_handoff_is_the_one_named() -> None:
    brief = _brief("savings account or structured deposit", Specialty.DEPOSITS, 5, "en")
    reply = BRAIN.draft(brief)
    assert reply.product == "structured-deposit"
    assert "Structured deposit is risk class R3" in reply.text
    assert "Savings account: Risk class R1." in reply.text


def test_no_product_answers_from_the_faqs() -> None:
    brief = _brief("What is a bond?", Specialty.BONDS, None, "en")
    reply = BRAIN.draft(brief)
    assert reply.text.startswith(brief.faqs[0].answer["en"])
    assert reply.sources[0] == "faq-bonds-what"
    assert (reply.product, reply.risk_class, reply.handoff) == (None, None, False)


def test_nothing_matched_says_what_it_can_help_with() -> None:
    en = BRAIN.draft(_brief("hello there", Specialty.FX, None, "en"))
    assert "foreign exchange expert" in en.text
    assert "exchange rates" in en.text
    assert en.sources == ()
    zh = BRAIN.draft(_brief("你好", Specialty.TAX, None, "zh"))
    assert "税务与传承专家" in zh.text


async def test_answer_is_the_draft() -> None:
    brief = _brief("time deposit", Specialty.DEPOSITS, 1, "en")
    assert await BRAIN.answer(brief) == BRAIN.draft(brief) == BRAIN.draft(brief)


def test_it_answers_in_well_under_a_millisecond() -> None:
    briefs = [
        _brief(q, sp, 3, lang)
        for q, sp, lang in [
            ("US treasuries", Specialty.BONDS, "en"),
            ("高收益债", Specialty.BONDS, "zh"),
            ("accumulator", Specialty.STOCKS, "en"),
            ("What is a fund?", Specialty.FUNDS, "en"),
        ]
    ]
    rounds = 500
    start = time.perf_counter()
    for _ in range(rounds):
        for brief in briefs:
            BRAIN.draft(brief)
    per_answer = (time.perf_counter() - start) / (rounds * len(briefs))
    assert per_answer < 1e-3


def test_with_the_banks_knowledge_a_plain_product_record_gets_its_key_risk(
    knowledge: Knowledge,
) -> None:
    bank = knowledge.product("high-yield-bonds")
    plain = Product(
        bank.id, bank.specialty, bank.name, bank.risk, bank.complexity, bank.summary, bank.keywords
    )
    brief = Brief(
        "high yield",
        Specialty.BONDS,
        "en",
        Profile(5),
        (plain,),
        (),
        Suitability(Verdict.DISCLOSE, "needs disclosure"),
    )
    assert bank.key_risk["en"] in LocalBrain(knowledge).draft(brief).text
    assert bank.key_risk["en"] not in LocalBrain().draft(brief).text
