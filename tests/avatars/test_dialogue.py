"""Dialogues: follow-ups, pronouns, topic switches, intents in three languages, suitability."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from avatars.advice import Intent, Reply, Verdict
from avatars.dialogue import (
    CONCIERGE,
    CORE_PANEL,
    SUITS_ME_PANEL,
    Dialogue,
    DialogueState,
    Plan,
    Resolution,
    clarify_reply,
    default_dialogue,
    dump_state,
    load_state,
)
from avatars.guardrails import find_promise, guard
from avatars.knowledge import DATA_DIR, Knowledge, KnowledgeDataError
from avatars.local_brain import LocalBrain
from avatars.script import to_hk, to_simplified
from avatars.specialties import Specialty

DIALOGUE: Dialogue = default_dialogue()
KNOWLEDGE = DIALOGUE.knowledge
BRAIN = LocalBrain(KNOWLEDGE)


def _ask(
    state: DialogueState, text: str, risk: int | None = 4, language: str | None = None
) -> tuple[Plan, list[Reply]]:
    plan = DIALOGUE.plan(state, text, risk=risk, language=language)
    replies = [guard(BRAIN.draft(b), b) for b in DIALOGUE.briefs(plan)]
    return plan, replies


def _talk(*questions: str, risk: int | None = 4) -> list[tuple[Plan, list[Reply]]]:
    state = DialogueState()
    out = []
    for q in questions:
        plan, replies = _ask(state, q, risk)
        state = plan.state.answered(" ".join(r.text for r in replies))
        out.append((plan, replies))
    return out


def _traditional_only(text: str) -> bool:
    return to_hk(text) == text and to_simplified(text) != text


# --- follow-ups, pronouns, topic switches -------------------------------------------------


@pytest.mark.parametrize(
    ("opening", "follow_up", "intent"),
    [
        ("Tell me about the balanced fund", "And what are the fees?", Intent.FEES),
        ("介绍一下平衡基金", "那费用呢？", Intent.FEES),
        ("講下平衡基金", "咁收費呢？", Intent.FEES),
        ("Tell me about the balanced fund", "Can I get my money out early?", Intent.LIQUIDITY),
        ("介绍一下平衡基金", "提前取出来会怎么样？", Intent.LIQUIDITY),
    ],
)
def test_a_follow_up_without_a_topic_goes_to_the_expert_and_product_in_focus(
    opening: str, follow_up: str, intent: Intent
) -> None:
    (first, _), (plan, (reply,)) = _talk(opening, follow_up)
    assert first.specialties == (Specialty.FUNDS,)
    assert plan.specialties == (Specialty.FUNDS,)
    assert plan.products == ("global-balanced-fund",)
    assert plan.intent is intent
    assert plan.resolution is Resolution.FOLLOW_UP
    fund = KNOWLEDGE.product("global-balanced-fund")
    key = "fees" if intent is Intent.FEES else "liquidity"
    facts = getattr(fund, key)
    language = (
        "en" if follow_up.isascii() else ("zh" if "费" in follow_up or "提" in follow_up else "yue")
    )
    expected = facts["en"] if language == "en" else facts["zh"]
    assert (to_hk(expected) if language == "yue" else expected) in reply.text
    assert "R3" in reply.text


def test_the_same_follow_up_asked_alone_gets_the_concierges_question() -> None:
    plan, replies = _ask(DialogueState(), "And what are the fees?")
    assert plan.assignments == ()
    assert replies == []
    assert plan.resolution is Resolution.CLARIFY
    assert plan.state.turns[-1].answerers == (CONCIERGE,)
    assert "Which product" in clarify_reply("en").text
    assert _traditional_only(clarify_reply("yue").text)


@pytest.mark.parametrize(
    ("opening", "pronoun_question"),
    [
        ("What is the money market fund?", "Is it risky?"),
        ("货币基金是什么？", "那个有什么风险？"),
        ("貨幣基金係咩嚟㗎？", "佢有咩風險？"),
        ("貨幣基金係咩嚟㗎？", "呢個風險大唔大？"),
    ],
)
def test_pronouns_resolve_to_the_product_in_focus(opening: str, pronoun_question: str) -> None:
    _, (plan, (reply,)) = _talk(opening, pronoun_question)
    assert plan.resolution is Resolution.PRONOUN
    assert plan.products == ("hkd-money-market-fund",)
    assert plan.intent is Intent.RISKS
    assert "R1" in reply.text


@pytest.mark.parametrize(
    ("switch", "language"), [("and stocks?", "en"), ("那股票呢", "zh"), ("咁股票呢？", "yue")]
)
def test_a_topic_word_switches_the_topic(switch: str, language: str) -> None:
    opening = {
        "en": "Tell me about the time deposit",
        "zh": "定期存款是什么",
        "yue": "講下定期存款",
    }
    _, (plan, (reply,)) = _talk(opening[language], switch)
    assert plan.specialties == (Specialty.STOCKS,)
    assert plan.resolution is Resolution.SWITCH
    assert plan.state.focus_specialty is Specialty.STOCKS
    assert plan.state.focus_products == ()
    # A broad question gets the shelf, not "I'm the bank's AI stock expert, I can help with".
    shares = KNOWLEDGE.product("hk-blue-chip-shares").name
    name = shares["en"] if language == "en" else shares["zh"]
    assert (to_hk(name) if language == "yue" else name) in reply.text


def test_a_pronoun_with_a_topic_word_keeps_the_product_in_focus() -> None:
    _, (plan, _) = _talk("Tell me about the balanced fund", "What are the fund's fees?")
    assert plan.products == ("global-balanced-fund",)
    assert plan.intent is Intent.FEES


# --- intents in each language --------------------------------------------------------------

_QUESTIONS = {
    Intent.DESCRIBE: ("Tell me about US Treasuries", "美国国债是什么？", "講下美國國債"),
    Intent.FEES: (
        "What are the fees of US Treasuries?",
        "美国国债的费用是多少？",
        "美國國債收幾多費用？",
    ),
    Intent.RISKS: (
        "What are the risks of US Treasuries?",
        "美国国债有什么风险？",
        "美國國債有咩風險？",
    ),
    Intent.LIQUIDITY: (
        "Can I sell US Treasuries early?",
        "美国国债可以提前卖出吗？",
        "美國國債可唔可以提早賣出？",
    ),
    Intent.MINIMUM: (
        "What's the minimum for US Treasuries?",
        "美国国债最低要多少？",
        "美國國債最少要幾多？",
    ),
    Intent.SUITS: (
        "Who is US Treasuries suitable for?",
        "美国国债适合什么人？",
        "美國國債啱咩人？",
    ),
}
_FACT_FIELD = {
    Intent.DESCRIBE: "summary",
    Intent.FEES: "fees",
    Intent.RISKS: "risks",
    Intent.LIQUIDITY: "liquidity",
    Intent.SUITS: "suits",
}


@pytest.mark.parametrize("intent", list(_QUESTIONS))
@pytest.mark.parametrize("language", ["en", "zh", "yue"])
def test_each_intent_is_answered_from_the_products_facts(intent: Intent, language: str) -> None:
    text = _QUESTIONS[intent][("en", "zh", "yue").index(language)]
    plan, (reply,) = _ask(DialogueState(), text, risk=3)
    assert plan.intent is intent
    assert plan.language == language
    assert plan.products == ("us-treasuries",)
    treasuries = KNOWLEDGE.product("us-treasuries")
    if intent is Intent.MINIMUM:
        assert "1,000" in reply.text
        assert "USD" in reply.text
    else:
        facts = getattr(treasuries, _FACT_FIELD[intent])
        fact = facts["en"] if language == "en" else facts["zh"]
        assert (to_hk(fact) if language == "yue" else fact) in reply.text
    phrase = {"en": "Risk class R2", "zh": "风险等级 R2", "yue": "風險等級 R2"}[language]
    assert phrase in reply.text
    assert reply.label == {"en": "AI-generated", "zh": "AI生成", "yue": "AI生成"}[language]
    if language == "yue":
        assert _traditional_only(reply.text), reply.text
    assert find_promise(reply.text) is None


def test_a_cantonese_persona_answers_in_written_cantonese() -> None:
    # A Mandarin question answered by a Cantonese-speaking expert: the room asks in "yue".
    _, (plan, (reply,)) = _talk("平衡基金是什么", "收费呢？")
    plan, (reply,) = _ask(plan.state, "它适合什么人？", language="yue")
    assert plan.language == "yue"
    assert reply.text.startswith("Wealthroom環球均衡基金啱")
    assert _traditional_only(reply.text)


@pytest.mark.parametrize(
    ("question", "language"),
    [
        ("Compare the balanced fund with the equity fund", "en"),
        ("比较一下平衡基金和股票基金", "zh"),
        ("平衡基金同股票基金有咩分別？", "yue"),
    ],
)
def test_compare_puts_the_products_side_by_side_with_their_risk_classes(
    question: str, language: str
) -> None:
    plan, (reply,) = _ask(DialogueState(), question, risk=4)
    assert plan.intent is Intent.COMPARE
    assert plan.products == ("global-balanced-fund", "global-equity-fund")
    assert plan.specialties == (Specialty.FUNDS,)
    assert not reply.handoff
    for fund in ("global-balanced-fund", "global-equity-fund"):
        product = KNOWLEDGE.product(fund)
        name = product.name["en" if language == "en" else "zh"]
        assert (to_hk(name) if language == "yue" else name) in reply.text
        assert f"R{product.risk}" in reply.text
    lower = {"en": "The lower risk class is", "zh": "风险等级较低的是", "yue": "風險等級較低嘅係"}
    assert lower[language] in reply.text


def test_compare_with_it_completes_the_pair_from_the_focus() -> None:
    _, (plan, (reply,)) = _talk(
        "Tell me about the balanced fund", "Compare it with the equity fund"
    )
    assert plan.products == ("global-balanced-fund", "global-equity-fund")
    assert "R3" in reply.text
    assert "R4" in reply.text


def test_compare_with_a_product_above_the_profile_hands_off() -> None:
    plan, (reply,) = _ask(DialogueState(), "Compare the balanced fund with the equity fund", risk=3)
    (brief,) = DIALOGUE.briefs(plan)
    assert brief.suitability.verdict is Verdict.HANDOFF
    assert reply.handoff is True
    assert reply.product == "global-equity-fund"


# --- what suits me ------------------------------------------------------------------------


@pytest.mark.parametrize("risk", [2, 3, 5])
def test_sixty_and_steady_reaches_the_conservative_panel_with_suitable_products(risk: int) -> None:
    plan, replies = _ask(DialogueState(), "我60岁了，想买点稳健的理财", risk=risk)
    assert plan.intent is Intent.SUITS_ME
    assert plan.specialties == SUITS_ME_PANEL
    assert plan.state.profile.age == 60
    for assignment, reply in zip(plan.assignments, replies, strict=True):
        products = [KNOWLEDGE.product(p) for p in assignment.products]
        assert products, assignment
        risks = [p.risk for p in products]
        assert risks == sorted(risks)
        assert max(risks) <= 2
        assert not reply.handoff
        assert "真人顾问" in reply.text  # the offer of a person
        for product in products:
            assert f"风险等级 R{product.risk}" in reply.text


def test_what_suits_an_unassessed_customer_is_risk_class_one_only() -> None:
    plan, replies = _ask(DialogueState(), "I'm 60 and want something steady. What suits me?", None)
    assert plan.specialties == (Specialty.DEPOSITS, Specialty.FUNDS)  # bonds have no R1
    assert all(KNOWLEDGE.product(p).risk == 1 for p in plan.products)
    assert all("not been assessed" in r.text for r in replies)


def test_what_suits_me_in_cantonese() -> None:
    plan, replies = _ask(DialogueState(), "我退休咗，有咩低風險嘅啱我？", risk=3)
    assert plan.intent is Intent.SUITS_ME
    assert plan.language == "yue"
    assert all(_traditional_only(r.text) for r in replies)
    assert all("真人顧問" in r.text for r in replies)


def test_what_suits_me_within_a_named_topic_stays_on_that_shelf() -> None:
    plan, _ = _ask(DialogueState(), "Which funds suit me?", risk=3)
    assert plan.specialties == (Specialty.FUNDS,)
    assert [KNOWLEDGE.product(p).risk for p in plan.products] == [1, 2, 3]


# --- guarantees and state -------------------------------------------------------------------


def test_a_complex_product_in_a_dialogue_still_hands_off() -> None:
    _, (plan, (reply,)) = _talk("Tell me about the bond fund", "What about accumulators?", risk=5)
    assert plan.specialties == (Specialty.STOCKS,)
    assert reply.handoff is True
    assert reply.product == "equity-accumulator"


@pytest.mark.parametrize("language", ["en", "zh", "yue"])
@pytest.mark.parametrize(
    "intent",
    [Intent.DESCRIBE, Intent.FEES, Intent.RISKS, Intent.LIQUIDITY, Intent.MINIMUM, Intent.SUITS],
)
def test_every_product_answers_every_intent_with_its_risk_class_and_no_promise(
    intent: Intent, language: str
) -> None:
    for product in KNOWLEDGE.products.values():
        state = DialogueState(focus_specialty=product.specialty, focus_products=(product.id,))
        plan = DIALOGUE.plan(
            state, _QUESTIONS[intent][0].replace("US Treasuries", "it"), risk=5, language=language
        )
        assert plan.products == (product.id,), (product.id, intent)
        (brief,) = DIALOGUE.briefs(plan)
        draft = BRAIN.draft(brief)
        reply = guard(draft, brief)
        assert reply.text == draft.text, product.id  # nothing for the guardrails to fix
        assert f"R{product.risk}" in reply.text
        assert find_promise(reply.text) is None, (product.id, reply.text)


def test_the_state_records_turns_answers_interruptions_and_history() -> None:
    (_p1, r1), (p2, _) = _talk("Tell me about the time deposit", "And the fees?")
    state = p2.state.interrupted()
    first, second = state.turns
    assert (first.answerers, first.products, first.intent) == (
        ("deposits",),
        ("time-deposit",),
        Intent.DESCRIBE,
    )
    assert first.answer == r1[0].text
    assert not first.interrupted
    assert second.interrupted
    assert second.intent is Intent.FEES
    history = state.history()
    assert history[-1].answer.endswith("[interrupted]")
    assert state.recent() == (Specialty.DEPOSITS,)
    assert DialogueState().interrupted() == DialogueState()


def test_a_question_taken_alone_is_answered_as_before_dialogues() -> None:
    plan, _ = _ask(DialogueState(), "美國國債", risk=3, language="yue")
    brief = DIALOGUE.brief(plan, plan.assignments[0])
    legacy = BRAIN.draft(
        type(brief)(
            **{**{f: getattr(brief, f) for f in brief.__slots__}, "intent": None, "history": ()}
        )
    )
    assert "风险等级 R2" in legacy.text  # the old path is unchanged


def test_retrieval_finds_the_faq_for_a_cantonese_wording() -> None:
    hits = DIALOGUE.retriever.search("定期存款可以提早攞返啲錢嗎", kind="faq")
    assert hits[0].id == "faq-deposits-early"


def test_product_facts_are_checked(tmp_path: Path) -> None:
    data = json.loads((DATA_DIR / "products.json").read_text(encoding="utf-8"))
    data["products"][0]["minimum"] = {"amount": 1, "currency": "hkd"}
    (tmp_path / "products.json").write_text(json.dumps(data), encoding="utf-8")
    (tmp_path / "faqs.json").write_text(
        (DATA_DIR / "faqs.json").read_text(encoding="utf-8"), encoding="utf-8"
    )
    with pytest.raises(KnowledgeDataError, match="minimum: currency"):
        Knowledge.load(tmp_path)


def test_the_guardrails_fallback_names_the_shelf_too() -> None:
    plan, _ = _ask(DialogueState(), "And stocks?", risk=3)
    (brief,) = DIALOGUE.briefs(plan)
    assert brief.products == ()
    assert brief.faqs == ()
    bare = LocalBrain().draft(brief)  # the guardrails' own fallback has no knowledge passed
    assert bare.text == BRAIN.draft(brief).text
    assert KNOWLEDGE.product("hk-blue-chip-shares").name["en"] in bare.text


def test_comparing_two_shelves_without_products_brings_both_experts() -> None:
    plan = DIALOGUE.plan(
        DialogueState(), "Compare my bond fund with a pension insurance plan", risk=4
    )
    assert set(plan.specialties) == {Specialty.FUNDS, Specialty.INSURANCE}
    assert plan.intent is Intent.DESCRIBE


def test_all_of_you_means_the_experts_standing_in_the_room_else_the_core_panel() -> None:
    alone = DIALOGUE.plan(DialogueState(), "I want to talk to all of you", risk=3)
    assert alone.specialties == CORE_PANEL
    present = (Specialty.FX, Specialty.TAX)
    with_them = DIALOGUE.plan(
        DialogueState(), "I want to talk to all of you", risk=3, present=present
    )
    assert with_them.specialties == present


def test_a_late_answer_is_recorded_on_its_own_turn_and_the_state_survives_a_dump() -> None:
    state = DialogueState()
    for text in ("Tell me about the balanced fund", "And stocks?"):
        state = DIALOGUE.plan(state, text, risk=3).state
    state = state.answered("stocks answer").answered("fund answer", back=1).interrupted()
    assert [t.answer for t in state.turns] == ["fund answer", "stocks answer"]
    assert state.answered("nowhere", back=2) == state
    saved = json.loads(json.dumps(dump_state(state)))
    assert load_state(saved) == state
