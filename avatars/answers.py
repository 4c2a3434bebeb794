"""The local brain's answers to a dialogue's intents, from the products' structured facts.

Three languages with their own wording: English, Mandarin in simplified characters, and
written Cantonese in Hong Kong traditional characters (the bank's facts are written once in
Chinese and converted with OpenCC; the Cantonese sentences around them are Cantonese, not
converted Mandarin). Every product named carries its risk class; nothing here speaks of
returns; a hand-off is not decided here (the brief's suitability is, and the local brain
answers a hand-off before it comes here).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from avatars.advice import Brief, Complexity, Intent, Product, Verdict
from avatars.knowledge import BankProduct, Knowledge, text_for
from avatars.script import to_hk
from avatars.specialties import TITLES, Specialty

__all__ = ["compose", "local_text", "risk_words"]

# (en, zh, yue) for each sentence frame.
_T: dict[str, tuple[str, str, str]] = {
    "risk": ("Risk class R{r}.", "风险等级 R{r}。", "風險等級 R{r}。"),
    "named_risk": (
        "{name}: Risk class R{r}.",
        "{name}：风险等级 R{r}。",
        "{name}：風險等級 R{r}。",
    ),
    "lead": ("{name}: {text}", "{name}：{text}", "{name}：{text}"),
    "key_first": (
        "First, the key risk of {name}: {text}",
        "先说明{name}的主要风险：{text}",
        "首先講清楚{name}嘅主要風險：{text}",
    ),
    "fees": ("Fees and charges of {name}: {text}", "{name}的费用：{text}", "{name}嘅收費：{text}"),
    "liquidity": (
        "Getting your money out of {name}: {text} Term: {term}",
        "{name}的流动性：{text}年期：{term}",
        "{name}點樣攞返啲錢：{text}年期：{term}",
    ),
    "minimum": (
        "{name} starts from {ccy} {amount:,}; currencies: {ccys}.",
        "{name}的最低投资额为{amount:,} {ccy}，币种：{ccys}。",
        "{name}最少要{amount:,} {ccy}，貨幣：{ccys}。",
    ),
    "no_minimum": (
        "{name} has no minimum amount; currencies: {ccys}.",
        "{name}没有最低金额要求，币种：{ccys}。",
        "{name}冇最低金額要求，貨幣：{ccys}。",
    ),
    "risks": (
        "The main risks of {name}: {text}",
        "{name}的主要风险：{text}",
        "{name}嘅主要風險：{text}",
    ),
    "suits": ("{name} suits {text}", "{name}适合{text}", "{name}啱{text}"),
    "compare_head": ("Side by side:", "并列比较：", "逐個比較："),
    "compare_row": (
        "{name}, Risk class R{r}: {summary} Fees: {fees} Getting money out: {liquidity}",
        "{name}，风险等级 R{r}：{summary}费用：{fees}流动性：{liquidity}",
        "{name}，風險等級 R{r}：{summary}收費：{fees}攞返啲錢：{liquidity}",
    ),
    "compare_lowest": (
        "The lower risk class is {name}'s, R{r}.",
        "风险等级较低的是{name}（R{r}）。",
        "風險等級較低嘅係{name}（R{r}）。",
    ),
    "suits_me_head": (
        "Within your risk profile (C{c}), lowest risk first:",
        "在您的风险承受能力（C{c}）范围内，按风险由低至高：",
        "喺你嘅風險承受能力（C{c}）範圍之內，由低風險排起：",
    ),
    "suits_me_unassessed": (
        "Your risk profile has not been assessed yet, so I can only name risk class R1 products:",
        "您尚未完成风险承受能力评估，所以我只能介绍风险等级 R1 的产品：",
        "你仲未做風險承受能力評估，所以我淨係可以介紹風險等級 R1 嘅產品：",
    ),
    "suits_me_row": (
        "{name} (Risk class R{r}): {summary}",
        "{name}（风险等级 R{r}）：{summary}",
        "{name}（風險等級 R{r}）：{summary}",
    ),
    "suits_me_none": (
        "None of my products is within your risk profile.",
        "我负责的产品都不在您的风险承受能力范围内。",
        "我負責嘅產品都唔喺你嘅風險承受能力範圍之內。",
    ),
    "offer_person": (
        "This is general information, not a recommendation; a human advisor can look at your "
        "situation with you. Press “talk to a person” for one.",
        "以上只是一般资料，并非投资建议；真人顾问可以按您的情况为您分析，请按“找真人顾问”。",
        "以上只係一般資料，唔係投資建議；真人顧問可以按你嘅情況同你傾，請按「搵真人顧問」。",
    ),
    "clarify": (
        "Which one do you mean: {names}?",
        "请问您指的是哪一个：{names}？",
        "請問你指邊一個：{names}？",
    ),
    "overview": (
        "As the bank's AI {title}, I can tell you about {names}. Which would you like to hear "
        "about?",
        "我是本行的AI{title}，可以为您介绍{names}。您想了解哪一个？",
        "我係本行嘅AI{title}，可以同你介紹{names}。你想了解邊一個？",
    ),
    "no_fact": (
        "I don't have that detail for {name}; a human advisor can tell you.",
        "我没有{name}这方面的资料，真人顾问可以为您解答。",
        "我冇{name}呢方面嘅資料，真人顧問可以幫你解答。",
    ),
}
_SEP = {"en": ", ", "zh": "、", "yue": "、"}
_OR = {"en": " or ", "zh": "还是", "yue": "定係"}
_TITLE_YUE = {
    Specialty.STOCKS: "股票專家",
    Specialty.BONDS: "債券專家",
    Specialty.FUNDS: "基金專家",
    Specialty.INSURANCE: "保險專家",
    Specialty.DEPOSITS: "存款同現金管理專家",
    Specialty.FX: "外匯專家",
    Specialty.TAX: "稅務同傳承專家",
}


def _lang(language: str) -> int:
    return {"en": 0, "zh": 1, "yue": 2}.get(language, 0)


def _t(key: str, language: str, **values: object) -> str:
    return _T[key][_lang(language)].format(**values)


def local_text(texts: Mapping[str, str], language: str) -> str:
    """A data text in ``language``: Cantonese gets the Chinese text in HK characters."""
    if language == "yue" and "yue" not in texts:
        return to_hk(text_for(texts, "zh"))
    return text_for(texts, language)


def risk_words(product: Product, language: str, *, with_name: bool) -> str:
    if with_name:
        return _t("named_risk", language, name=local_text(product.name, language), r=product.risk)
    return _t("risk", language, r=product.risk)


def _bank(product: Product, knowledge: Knowledge | None) -> BankProduct | None:
    if isinstance(product, BankProduct):
        return product
    if knowledge is not None:
        return knowledge.products.get(product.id)
    return None


def _fact(product: Product, knowledge: Knowledge | None, key: str, language: str) -> str | None:
    bank = _bank(product, knowledge)
    if bank is None:
        return None
    texts: Mapping[str, str] = getattr(bank, key)
    return local_text(texts, language) if texts else None


def _names(products: list[Product], language: str) -> str:
    names = [local_text(p.name, language) for p in products]
    if len(names) <= 1:
        return "".join(names)
    return (
        _SEP[language if language in _SEP else "en"].join(names[:-1])
        + _OR.get(language, _OR["en"])
        + names[-1]
    )


def _about(product: Product, brief: Brief, knowledge: Knowledge | None) -> list[str]:
    """The answer to one product's question by the brief's intent."""
    language = brief.language
    name = local_text(product.name, language)
    intent = brief.intent or Intent.DESCRIBE
    parts: list[str] = []
    if brief.suitability.verdict is Verdict.DISCLOSE and intent is not Intent.RISKS:
        key_risk = _fact(product, knowledge, "key_risk", language) or ""
        parts.append(_t("key_first", language, name=name, text=key_risk))

    def fact(key: str, frame: str, **extra: object) -> None:
        value = _fact(product, knowledge, key, language)
        if value is None:
            parts.append(_t("no_fact", language, name=name))
        else:
            parts.append(_t(frame, language, name=name, text=value, **extra))

    if intent is Intent.FEES:
        fact("fees", "fees")
    elif intent is Intent.LIQUIDITY:
        fact("liquidity", "liquidity", term=_fact(product, knowledge, "term", language) or "-")
    elif intent is Intent.MINIMUM:
        bank = _bank(product, knowledge)
        if bank is None or not bank.currencies:
            parts.append(_t("no_fact", language, name=name))
        else:
            frame = "minimum" if bank.minimum else "no_minimum"
            ccys = _SEP[language if language in _SEP else "en"].join(bank.currencies)
            parts.append(
                _t(
                    frame,
                    language,
                    name=name,
                    amount=bank.minimum,
                    ccy=bank.minimum_currency,
                    ccys=ccys,
                )
            )
    elif intent is Intent.RISKS:
        said = _fact(product, knowledge, "key_risk", language)
        fact("risks", "risks")
        if said:
            parts.append(said)
    elif intent is Intent.SUITS:
        fact("suits", "suits")
    else:
        parts.append(_t("lead", language, name=name, text=local_text(product.summary, language)))
    parts.append(risk_words(product, language, with_name=False))
    return parts


def _compare(brief: Brief, knowledge: Knowledge | None) -> list[str]:
    language = brief.language
    parts = [_t("compare_head", language)]
    for p in brief.products:
        if p.complexity is Complexity.DISCLOSURE:
            key = _fact(p, knowledge, "key_risk", language) or ""
            parts.append(_t("key_first", language, name=local_text(p.name, language), text=key))
        parts.append(
            _t(
                "compare_row",
                language,
                name=local_text(p.name, language),
                r=p.risk,
                summary=local_text(p.summary, language),
                fees=_fact(p, knowledge, "fees", language) or "-",
                liquidity=_fact(p, knowledge, "liquidity", language) or "-",
            )
        )
    lowest = min(brief.products, key=lambda p: p.risk)
    if sum(1 for p in brief.products if p.risk == lowest.risk) == 1:
        parts.append(
            _t("compare_lowest", language, name=local_text(lowest.name, language), r=lowest.risk)
        )
    return parts


def _suits_me(brief: Brief) -> list[str]:
    language = brief.language
    risk = brief.profile.risk
    if not brief.products:
        return [_t("suits_me_none", language), _t("offer_person", language)]
    head = (
        _t("suits_me_unassessed", language)
        if risk is None
        else _t("suits_me_head", language, c=risk)
    )
    rows = [
        _t(
            "suits_me_row",
            language,
            name=local_text(p.name, language),
            r=p.risk,
            summary=local_text(p.summary, language),
        )
        for p in sorted(brief.products, key=lambda p: p.risk)
    ]
    return [head, *rows, _t("offer_person", language)]


def _shelf(brief: Brief, knowledge: Knowledge | None) -> list[Product]:
    if knowledge is None:
        # The guardrails' fallback brain has no knowledge of its own: the bank's shared one.
        from avatars.expertise import default_expertise

        knowledge = default_expertise().knowledge
    shelf = [p for p in knowledge.products.values() if p.specialty == brief.specialty]
    return sorted(shelf, key=lambda p: p.risk)


def _title(specialty: Specialty, language: str) -> str:
    en, zh = TITLES[specialty]
    return (en.lower(), zh, _TITLE_YUE[specialty])[_lang(language)]


def compose(
    brief: Brief,
    knowledge: Knowledge | None,
    faq_answers: Callable[[int], list[str]],
) -> tuple[list[str], bool]:
    """The parts of the answer to a dialogue brief (not a hand-off), and whether the FAQs it
    cites were used. ``faq_answers(n)`` gives the first ``n`` FAQ answers in the language."""
    language = brief.language
    intent = brief.intent or Intent.DESCRIBE
    if intent is Intent.SUITS_ME:
        return _suits_me(brief), False
    if intent is Intent.COMPARE and len(brief.products) >= 2:
        return _compare(brief, knowledge), False
    if brief.products:
        parts: list[str] = []
        for i, product in enumerate(brief.products[:3]):
            if i == 0:
                parts += _about(product, brief, knowledge)
            else:
                parts.append(risk_words(product, language, with_name=True))
        if intent is Intent.DESCRIBE:
            parts[-1:-1] = faq_answers(1)
            return parts, True
        return parts, False
    if brief.faqs:
        return faq_answers(2), True
    shelf = _shelf(brief, knowledge)
    names = _names(shelf, language)
    if intent is Intent.DESCRIBE:
        title = _title(brief.specialty, language)
        return [_t("overview", language, title=title, names=names)], False
    return [_t("clarify", language, names=names)], False
