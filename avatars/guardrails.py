"""Guardrails: what any brain's draft becomes before a customer sees it.

Whatever the brain returned:

* the AI label is the one for the brief's language;
* the hand-off decision and its reason are the brief's suitability verdict, never the draft's;
  on a hand-off the text is the local brain's hand-off notice, so no brain can go on to
  discuss a product the customer must hear about from a person;
* a promise of returns ("guaranteed returns", "risk-free", "稳赚", "保本保息", ...) anywhere in
  the draft replaces the whole text with the local brain's answer (the caller audits a
  replacement by comparing ``draft.text`` with the result); so does a risk class the brief's
  products do not have, or an empty draft;
* when a product is involved its risk class is named in the text (a sentence is appended if
  the draft left it out), and ``product`` and ``risk_class`` come from the brief;
* control and invisible characters go, and the text is capped at :data:`MAX_TEXT` characters;
* sources are limited to the brief's product and FAQ ids.

Promises are matched on folded text (:func:`avatars.knowledge.fold`: case, full-width forms,
traditional characters), English with any spacing or punctuation between the words, Chinese
with spaces and separator marks removed. Negated promises ("there are no guaranteed returns")
are caught too: answers must not use these phrases even to deny them.
"""

from __future__ import annotations

import re
import unicodedata

from avatars import suitability
from avatars.advice import AI_LABEL, Brief, Product, Reply, Verdict
from avatars.knowledge import fold, text_for
from avatars.local_brain import LocalBrain, risk_sentence

MAX_TEXT = 1200  # characters; a spoken answer longer than this loses the customer

# Promises of returns in English, as regular expressions over folded text. A space stands for
# any run of spaces, punctuation or nothing, so "risk-free", "risk free" and "riskfree" match.
PROMISES_EN = (
    r"guarantee[ds]? (?:an? |you |your )?(?:returns?|profits?|gains?|yields?|payouts?)",
    r"(?:returns?|profits?|gains?) (?:are |is )?guaranteed",
    r"risk free",
    r"riskless",
    r"no risk",
    r"zero risk",
    r"without (?:any )?risk",
    r"can t lose",
    r"can not lose",
    r"won t lose (?:money|capital|principal|anything)",
    r"will not lose (?:money|capital|principal|anything)",
    r"never lose (?:your )?(?:money|capital|principal)",
    r"no lose",
    r"(?:will|guaranteed to|sure to|certain to) double",
    r"double your money",
    r"sure (?:profits?|gains?|win|thing|bet)",
    r"surefire",
    r"can t go wrong",
    r"can not go wrong",
    r"100 % (?:safe|guaranteed|secure|certain)",
    r"(?:completely|totally|absolutely|perfectly) safe",
    r"(?:always|only) goes? up",
    r"can only go up",
    r"never goes? down",
    r"get rich",
    r"principal and (?:interest|returns?) (?:are |is )?guaranteed",
    r"guaranteed principal and (?:interest|returns?)",
)

# The same in Chinese (simplified; traditional is folded to it), over text without spaces.
PROMISES_ZH = (
    r"保证(?:会|有)?(?:收益|回报|盈利|获利|赚|升值|增值|不亏|翻倍|高息)",
    r"保本保息",
    r"稳赚",
    r"稳赢",
    r"稳挣",
    r"稳拿",
    r"包赚",
    r"包赢",
    r"包你赚",
    r"梗赚",
    r"实赚",
    r"必赚",
    r"必涨",
    r"必升",
    r"躺赚",
    r"(?:一定|肯定|必定|必然)(?:会|能)?(?:赚|升|涨|翻倍)",
    r"只赚不[赔亏]",
    r"只[升涨]不跌",
    r"(?:无|零|冇|毫无|没有)风险",
    r"零亏损",
    r"(?:不会|绝不|不可能)亏",
    r"翻倍",
    r"(?:绝对|百分百|百分之百|100%)(?:安全|保证)",
    r"稳定高(?:收益|回报)",
)

_GAP = r"[\W_]*"
_EN = re.compile(
    "|".join(rf"(?<![a-z0-9])(?:{p.replace(' ', _GAP)})(?![a-z0-9])" for p in PROMISES_EN)
)
_ZH = re.compile("|".join(PROMISES_ZH))
# Spaces and marks a writer can slip between Chinese characters; sentence punctuation stays,
# so words of two sentences never join into a phrase.
_SPACERS = re.compile(r"[\s·・･\-_*~]+")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})
# Control and format characters (bidi overrides, zero-width joiners) could hide a phrase from
# the matcher or garble the members' screens; newlines are kept.
_DROPPED = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
_RISK_CLASS = re.compile(r"(?<![A-Za-z0-9])R([1-5])(?![0-9])")
_SENTENCE_END = re.compile(r"[.!?。！？](?=\s|$)|[。！？]")

_FALLBACK = LocalBrain()
# Said when even the bank's own texts trip the promise check (a data edit gone wrong).
_MINIMAL = {
    "en": "I can't answer that here; a human advisor can help you with it.",
    "zh": "这个问题我无法在此回答，真人顾问可以为您解答。",
}


def clean(text: str) -> str:
    kept = "".join(ch for ch in text if ch == "\n" or unicodedata.category(ch) not in _DROPPED)
    return kept.strip()


def find_promise(text: str) -> str | None:
    """The first promise of returns in ``text``, as matched (folded), or ``None``."""
    folded = fold(clean(text)).translate(_APOSTROPHES)
    found = _EN.search(folded) or _ZH.search(_SPACERS.sub("", folded))
    return found.group(0) if found else None


def _names_risk(text: str, product: Product) -> bool:
    return any(int(m.group(1)) == product.risk for m in _RISK_CLASS.finditer(text))


def _wrong_risk_class(text: str, brief: Brief) -> bool:
    known = {p.risk for p in brief.products}
    return any(int(m.group(1)) not in known for m in _RISK_CLASS.finditer(text))


def _mentions(text: str, product: Product) -> bool:
    folded = fold(text)
    return any(fold(name) in folded for name in product.name.values())


def _cap(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    ends = [m.end() for m in _SENTENCE_END.finditer(cut)]
    # A whole last sentence reads better than a cut one, unless that throws most text away.
    if ends and ends[-1] > limit // 2:
        return cut[: ends[-1]].rstrip()
    return cut.rstrip() + "…"


def _involved(text: str, brief: Brief, subject: Product | None) -> list[Product]:
    """The subject product and any other product of the brief that ``text`` mentions."""
    if subject is None:
        return []
    return [subject, *(p for p in brief.products if p.id != subject.id and _mentions(text, p))]


def _with_risk_classes(text: str, brief: Brief, subject: Product | None) -> str:
    """``text`` capped to :data:`MAX_TEXT`, with a sentence naming the risk class of each
    involved product whose class the text does not name."""
    language = brief.language
    sep = "" if language in ("zh", "yue") else " "

    def sentences(body: str, *, all_involved: bool = False) -> list[str]:
        return [
            risk_sentence(p, language, with_name=True)
            for p in _involved(body, brief, subject)
            if all_involved or not _names_risk(body, p)
        ]

    body = _cap(text, MAX_TEXT)
    appendix = sentences(body)
    if len(sep.join([body, *appendix])) > MAX_TEXT:
        # Room for every sentence the text could need: cutting it only drops mentions.
        reserve = sep.join(["", *sentences(body, all_involved=True)])
        body = _cap(body, MAX_TEXT - len(reserve))
        appendix = sentences(body)
    return sep.join([body, *appendix])


def guard(draft: Reply, brief: Brief) -> Reply:
    """The reply a customer sees for ``draft``; see the module docstring for the rules."""
    language = brief.language
    handoff = brief.suitability.verdict is Verdict.HANDOFF
    subject = suitability.subject(brief)
    text, sources = clean(draft.text), draft.sources
    if handoff or not text or find_promise(text) or _wrong_risk_class(text, brief):
        safe = _FALLBACK.draft(brief)
        text, sources = safe.text, safe.sources
        if find_promise(text):
            text, sources = text_for(_MINIMAL, language), ()
    text = _with_risk_classes(text, brief, subject)
    allowed = {p.id for p in brief.products} | {f.id for f in brief.faqs}
    cited = [subject.id] if subject is not None else []
    cited += [s for s in sources if s in allowed]
    return Reply(
        text=text,
        sources=tuple(dict.fromkeys(cited)),
        risk_class=subject.risk if subject is not None else None,
        product=subject.id if subject is not None else None,
        handoff=handoff,
        reason=brief.suitability.reason if handoff else None,
        label=AI_LABEL.get(language, AI_LABEL["en"]),
    )
