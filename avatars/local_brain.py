"""The local brain: answers from the bank's own texts, with no model and no network.

Deterministic and fast (well under a millisecond), so it is both the default brain and the
fallback whenever another brain fails or is overruled by the guardrails. What it says:

* a product it may discuss (OK): the product's summary and risk class, then the best FAQ answer;
* a product that needs disclosure (DISCLOSE): the product's key risk first, then the same;
* a hand-off (HANDOFF): that a human advisor will take over and why, and the product's risk
  class, nothing more about the product;
* no product: the best FAQ answers, or, with none, what this expert can help with.

Other products the question names get their risk class named too (at most
:data:`MAX_PRODUCTS` in all). A question taken alone (``brief.intent`` is ``None``) is answered
so, and Cantonese with the Chinese texts; a dialogue's question is answered by its intent
(:mod:`avatars.answers`), Cantonese in written Cantonese with HK characters.
"""

from __future__ import annotations

from avatars import answers, suitability
from avatars.advice import AI_LABEL, Brief, Faq, Intent, Product, Reply, Verdict
from avatars.knowledge import BankProduct, Knowledge, text_for
from avatars.script import to_hk
from avatars.specialties import TITLES, Specialty

MAX_PRODUCTS = 3  # products one answer names; more would read as a list, not an answer
MAX_FAQ_ANSWERS = 2

# What each expert can help with, for a question that matched nothing.
_HELP: dict[Specialty, tuple[str, str]] = {
    Specialty.STOCKS: (
        "how share trading works, what it costs, its risks, and the bank's share products",
        "股票交易的方式、费用和风险，以及本行的股票产品",
    ),
    Specialty.BONDS: (
        "how bonds work, interest rates and credit ratings, and the bank's bond products",
        "债券的运作、利率与信用评级，以及本行的债券产品",
    ),
    Specialty.FUNDS: (
        "how funds work, their fees and distributions, and the bank's funds",
        "基金的运作、费用与派息，以及本行的基金",
    ),
    Specialty.INSURANCE: (
        "life and critical illness cover, annuities, and cancelling a policy",
        "人寿与危疾保障、年金，以及保单的冷静期",
    ),
    Specialty.DEPOSITS: (
        "savings and time deposits, interest, and deposit protection",
        "储蓄与定期存款、利息，以及存款保障",
    ),
    Specialty.FX: (
        "currency exchange, exchange rates and currency risk",
        "外币兑换、汇率与汇率风险",
    ),
    Specialty.TAX: (
        "tax deductions, tax residency, wills and estate planning",
        "扣税、税务居民身份、遗嘱与遗产规划",
    ),
}

# The suitability reasons as a customer reads them.
_REASONS: dict[str, tuple[str, str]] = {
    suitability.COMPLEX: (
        "it is a complex product, which a human advisor explains",
        "这是复杂产品，须由真人顾问讲解",
    ),
    suitability.NOT_ASSESSED: (
        "your risk profile has not been assessed yet",
        "您尚未完成风险承受能力评估",
    ),
    suitability.ABOVE_PROFILE: (
        "its risk class is above your risk profile",
        "产品的风险等级高于您的风险承受能力",
    ),
}
_OTHER_REASON = ("this question needs a human advisor", "这个问题需要真人顾问处理")

# For a product record without its own key risk (built outside the bank's data).
_GENERIC_KEY_RISK = {
    "en": "Its value can go down as well as up, and you may get back less than you put in.",
    "zh": "产品价值可升可跌，您取回的金额可能少于投入。",
}


def _chinese(language: str) -> bool:
    return language in ("zh", "yue")


def _pick(pair: tuple[str, str], language: str) -> str:
    return pair[1] if _chinese(language) else pair[0]


def _join(parts: list[str], language: str) -> str:
    return ("" if _chinese(language) else " ").join(p.strip() for p in parts if p.strip())


def risk_sentence(product: Product, language: str, *, with_name: bool) -> str:
    """ "Risk class R3." naming the product when asked; the guardrails append the same."""
    name = text_for(product.name, language)
    if _chinese(language):
        return f"{name}：风险等级 R{product.risk}。" if with_name else f"风险等级 R{product.risk}。"
    return f"{name}: Risk class R{product.risk}." if with_name else f"Risk class R{product.risk}."


def key_risk(product: Product, language: str, knowledge: Knowledge | None = None) -> str:
    """The product's key risk: its own, else the bank's for the same id, else a general one."""
    if not isinstance(product, BankProduct) and knowledge is not None:
        product = knowledge.products.get(product.id, product)
    if isinstance(product, BankProduct):
        return text_for(product.key_risk, language)
    return text_for(_GENERIC_KEY_RISK, language)


def _about(
    product: Product, verdict: Verdict, language: str, knowledge: Knowledge | None
) -> list[str]:
    name = text_for(product.name, language)
    summary = text_for(product.summary, language)
    risk = risk_sentence(product, language, with_name=False)
    if verdict is Verdict.DISCLOSE:
        first = (
            f"先说明{name}的主要风险：{key_risk(product, language, knowledge)}"
            if _chinese(language)
            else f"First, the key risk of {name}: {key_risk(product, language, knowledge)}"
        )
        return [first, summary, risk]
    lead = f"{name}：{summary}" if _chinese(language) else f"{name}: {summary}"
    return [lead, risk]


def _handoff(brief: Brief, product: Product | None) -> list[str]:
    language = brief.language
    reason = _pick(_REASONS.get(brief.suitability.reason, _OTHER_REASON), language)
    if _chinese(language):
        parts = [f"这个问题将由真人顾问接手，原因：{reason}。"]
    else:
        parts = [f"A human advisor will take over this question, because {reason}."]
    if product is not None:
        name = text_for(product.name, language)
        parts.append(
            f"{name}的风险等级为 R{product.risk}，顾问会与您详细说明。"
            if _chinese(language)
            else f"{name} is risk class R{product.risk}; the advisor will go through it with you."
        )
    return parts


def _help(specialty: Specialty, language: str) -> str:
    title_en, title_zh = TITLES[specialty]
    topics = _pick(_HELP[specialty], language)
    if _chinese(language):
        return (
            f"我是本行的AI{title_zh}，可以为您介绍{topics}。"
            "如需针对您个人情况的建议，请找真人顾问。"
        )
    return (
        f"I'm the bank's AI {title_en.lower()}. I can help with {topics}. "
        "For advice on your own situation, ask for a human advisor."
    )


def _faq_answers(faqs: tuple[Faq, ...], language: str, limit: int) -> list[str]:
    return [text_for(f.answer, language) for f in faqs[:limit]]


class LocalBrain:
    """A :class:`avatars.advice.Brain` answering from the brief alone. ``knowledge`` is
    consulted only for the key risk of a product record that does not carry its own."""

    def __init__(self, knowledge: Knowledge | None = None) -> None:
        self._knowledge = knowledge

    def draft(self, brief: Brief) -> Reply:
        language = brief.language
        verdict = brief.suitability.verdict
        primary = suitability.subject(brief)
        # The product the verdict is about comes first, then the others by how well they match.
        products: list[Product] = []
        if primary is not None:
            rest = [p for p in brief.products if p.id != primary.id]
            products = [primary, *rest[: MAX_PRODUCTS - 1]]
        others = [risk_sentence(p, language, with_name=True) for p in products[1:]]
        faqs: tuple[Faq, ...] = ()
        if verdict is Verdict.HANDOFF:
            parts = [*_handoff(brief, primary), *others]
        elif brief.intent is not None:
            # A dialogue's question: answered by its intent, from the products' facts.
            parts, used = answers.compose(
                brief, self._knowledge, lambda n: _faq_answers(brief.faqs, language, n)
            )
            faqs = brief.faqs[:MAX_FAQ_ANSWERS] if used else ()
            products = list(brief.products[:MAX_PRODUCTS]) if primary is not None else []
            if brief.intent in (Intent.COMPARE, Intent.SUITS_ME):
                products = list(brief.products)
        elif primary is not None:
            faqs = brief.faqs[:1]
            parts = [
                *_about(primary, verdict, language, self._knowledge),
                *_faq_answers(faqs, language, 1),
                *others,
            ]
        elif brief.faqs:
            faqs = brief.faqs[:MAX_FAQ_ANSWERS]
            parts = _faq_answers(faqs, language, MAX_FAQ_ANSWERS)
        else:
            parts = [_help(brief.specialty, language)]
        text = _join(parts, language)
        if brief.intent is not None and language == "yue":
            # Dialogue answers to Cantonese speakers are in HK characters throughout.
            text = to_hk(text)
        return Reply(
            text=text,
            sources=tuple(p.id for p in products) + tuple(f.id for f in faqs),
            risk_class=primary.risk if primary else None,
            product=primary.id if primary else None,
            handoff=verdict is Verdict.HANDOFF,
            reason=brief.suitability.reason if verdict is Verdict.HANDOFF else None,
            label=AI_LABEL.get(language, AI_LABEL["en"]),
        )

    async def answer(self, brief: Brief) -> Reply:
        return self.draft(brief)
