"""What a question asks, from cue words in English, Mandarin and Cantonese.

Cues are matched on text folded to simplified characters and lower case (a Cantonese question
in traditional characters meets the same cues). The first intent in :data:`ORDER` whose cue
appears wins: "compare the fees of A and B" is a comparison, "which fund suits me, and its
fees?" is about the customer. A question with no cue is ``None``: the dialogue decides whether
it describes a product or follows the topic in focus.
"""

from __future__ import annotations

import re
import unicodedata

from avatars.advice import Intent
from avatars.script import to_simplified

__all__ = [
    "CUES",
    "ORDER",
    "age",
    "conservative",
    "detect",
    "fold",
    "is_follow_up",
    "pronoun",
    "without_cues",
]

# English cues match on word boundaries; Chinese cues as substrings.
CUES: dict[Intent, tuple[str, ...]] = {
    Intent.COMPARE: (
        "compare",
        "comparison",
        "versus",
        "vs",
        "difference between",
        "differences between",
        "which is better",
        "which one is better",
        "side by side",
        "比较",
        "对比",
        "区别",
        "咩分别",
        "有分别",
        "什么分别",
        "差别",
        "哪个好",
        "边个好",
        "比起",
        "比一比",
        "有咩唔同",
        "有什么不同",
        "有何不同",
    ),
    Intent.SUITS_ME: (
        "suit me",
        "suits me",
        "suitable for me",
        "right for me",
        "good for me",
        "for someone like me",
        "what should i buy",
        "what should i invest",
        "recommend",
        "what do you suggest",
        "i'm retired",
        "i am retired",
        "retiring",
        "conservative",
        "low risk",
        "low-risk",
        "something safe",
        "something steady",
        "steady income",
        "i am 60",
        "i'm 60",
        "适合我",
        "合适我",
        "推荐",
        "稳健",
        "保守",
        "低风险",
        "退休了",
        "啱我",
        "适合我嘅",
        "理财",
        "有咩好介绍",
        "有什么好介绍",
        "买什么好",
        "买咩好",
    ),
    Intent.SUITS: (
        "who is it for",
        "who is this for",
        "who is that for",
        "who should",
        "suitable for",
        "who does it suit",
        "who's it for",
        "meant for",
        "适合谁",
        "适合什么人",
        "适合哪些人",
        "适合边个",
        "适合咩人",
        "啱边个",
        "啱咩人",
        "什么人适合",
        "边个适合",
        "咩人适合",
    ),
    Intent.FEES: (
        "fee",
        "fees",
        "cost",
        "costs",
        "charge",
        "charges",
        "commission",
        "expensive",
        "how much does it cost",
        "spread",
        "费用",
        "收费",
        "手续费",
        "佣金",
        "管理费",
        "认购费",
        "几钱",
        "收几多",
        "贵不贵",
        "贵唔贵",
        "成本",
        "收多少",
    ),
    Intent.LIQUIDITY: (
        "early",
        "withdraw",
        "withdrawal",
        "redeem",
        "redemption",
        "sell it",
        "sell them",
        "get my money out",
        "get my money back",
        "take the money out",
        "take money out",
        "take it out",
        "cash out",
        "liquidity",
        "locked",
        "lock-in",
        "how long",
        "maturity",
        "surrender",
        "how soon",
        "提前",
        "提早",
        "取出",
        "赎回",
        "卖出",
        "流动性",
        "锁定",
        "攞返",
        "拎返",
        "取钱",
        "退保",
        "多久",
        "几耐",
        "年期",
        "期限",
        "到期",
        "攞钱",
        "拎钱",
        "套现",
    ),
    Intent.MINIMUM: (
        "minimum",
        "at least",
        "how much do i need",
        "how much money do i need",
        "start with",
        "currency",
        "currencies",
        "which currency",
        "what currency",
        "最低",
        "起点",
        "入场",
        "门槛",
        "币种",
        "什么货币",
        "咩货币",
        "起投",
        "最少",
        "几多钱先",
        "多少钱起",
        "哪种货币",
        "边种货币",
    ),
    Intent.RISKS: (
        "risk",
        "risks",
        "risky",
        "lose",
        "losing",
        "downside",
        "danger",
        "dangerous",
        "safe",
        "风险",
        "亏",
        "蚀",
        "安全",
        "危险",
        "赔钱",
        "输钱",
    ),
}
ORDER = tuple(CUES)

# Words that point back at what was said: the product in focus.
_PRONOUNS = (
    "it",
    "its",
    "it's",
    "that",
    "this",
    "that one",
    "this one",
    "them",
    "they",
    "those",
    "the product",
    "the fund",
    "the bond",
    "the deposit",
    "the policy",
    "the plan",
    "它",
    "那个",
    "这个",
    "那只",
    "这只",
    "该产品",
    "这款",
    "那款",
    "佢",
    "呢个",
    "嗰个",
    "呢只",
    "嗰只",
    "呢款",
    "嗰款",
    "上面",
)
# Openers of a follow-up: "and", "what about", 那, 咁.
_FOLLOW = (
    "and",
    "what about",
    "how about",
    "also",
    "then",
    "那",
    "还有",
    "另外",
    "咁",
    "仲有",
    "又",
    "呢",
)
_AGE = re.compile(r"(?:(\d{2})\s*(?:岁|周岁|years? old|yo\b))|(?:\bi(?:'m| am)\s+(\d{2})\b)")
_CONSERVATIVE = (
    "conservative",
    "low risk",
    "low-risk",
    "safe",
    "steady",
    "stable",
    "retire",
    "稳健",
    "保守",
    "低风险",
    "稳定",
    "安全",
    "退休",
    "稳阵",
)


def fold(text: str) -> str:
    return to_simplified(unicodedata.normalize("NFKC", text)).lower()


def _has(folded: str, cue: str) -> bool:
    if cue.isascii():
        return re.search(rf"(?<![a-z0-9]){re.escape(cue)}(?![a-z0-9])", folded) is not None
    return cue in folded


def detect(text: str) -> Intent | None:
    """The intent of ``text`` by its cue words, or ``None`` when it has none."""
    folded = fold(text)
    for intent in ORDER:
        if any(_has(folded, cue) for cue in CUES[intent]):
            return intent
    return None


def without_cues(text: str) -> str:
    """``text`` folded, with every intent cue taken out: what is left names the topic, if
    anything does ("can I redeem early?" names no fund, though "redeem" is a fund word)."""
    folded = fold(text)
    for cues in CUES.values():
        for cue in sorted(cues, key=len, reverse=True):
            if cue.isascii():
                folded = re.sub(rf"(?<![a-z0-9]){re.escape(cue)}(?![a-z0-9])", " ", folded)
            else:
                folded = folded.replace(cue, " ")
    return folded


def pronoun(text: str) -> bool:
    """Whether ``text`` points back at something said before ("it", 那个, 佢, 呢個)."""
    folded = fold(text)
    return any(_has(folded, p) for p in _PRONOUNS)


def is_follow_up(text: str) -> bool:
    """Whether ``text`` opens like a follow-up ("And ...?", "What about ...?", 那..., 咁...)."""
    folded = fold(text).strip()
    return any(
        folded.startswith(f) if not f.isascii() else _has(folded[: len(f) + 1], f) for f in _FOLLOW
    ) or folded.endswith(("呢", "呢?", "呢？"))


def age(text: str) -> int | None:
    """The customer's age if the text says it ("I'm 60", 我60岁了), else ``None``."""
    m = _AGE.search(fold(text))
    if m is None:
        return None
    value = int(m.group(1) or m.group(2))
    return value if 18 <= value <= 110 else None


def conservative(text: str) -> bool:
    """Whether the customer asks for something steady or low-risk."""
    folded = fold(text)
    return any(_has(folded, c) for c in _CONSERVATIVE)
