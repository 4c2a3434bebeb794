"""What flows between question routing, the product knowledge, a brain and the guardrails.

Pure records, no behaviour: every stage takes one of these and returns the next, so the room,
the command line and the simulator run the same pipeline::

    routing  = route(text, recent=...)                         (avatars.routing)
    brief    = prepare(text, specialty, profile, knowledge)    (avatars.suitability)
    draft    = await brain.answer(brief)                       (a Brain)
    reply    = guard(draft, brief)                             (avatars.guardrails)

The brief carries the suitability decision, made before any brain is asked, and the guardrails
hold it: no brain can talk its way past a hand-off.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from avatars.specialties import Specialty

# Languages a customer writes or an expert speaks: Mandarin ("zh", simplified Chinese text),
# Cantonese ("yue", written Cantonese or traditional characters) and English.
LANGUAGES = ("en", "zh", "yue")

# Shown on every expert avatar and message: customers must never mistake an expert for a person.
AI_LABEL = {"en": "AI-generated", "zh": "AI生成", "yue": "AI生成"}
# What an expert says before its first spoken answer in a session: a voice carries no label.
AI_SPOKEN = {
    "en": "I am {name}, an AI expert of the bank, not a person.",
    "zh": "我是{name}，银行的AI数字专家，不是真人。",
    "yue": "我係{name}，銀行嘅AI數碼專家，唔係真人。",
}


class Complexity(StrEnum):
    SIMPLE = "simple"
    DISCLOSURE = "needs-disclosure"  # may be discussed once its risks are disclosed
    COMPLEX = "complex"  # always with a human advisor


class Verdict(StrEnum):
    OK = "ok"  # the expert may discuss it in detail
    DISCLOSE = "disclose"  # may discuss it, with the product's risk disclosure said first
    HANDOFF = "handoff"  # a human advisor must take over


class Intent(StrEnum):
    """What a question asks about a product or a shelf of them (see :mod:`avatars.intents`)."""

    DESCRIBE = "describe"
    FEES = "fees"  # fees and charges
    RISKS = "risks"
    LIQUIDITY = "liquidity"  # selling, redeeming, early exit, term
    MINIMUM = "minimum"  # minimum amount and currency
    SUITS = "suits"  # who the product suits
    COMPARE = "compare"  # two or more products side by side
    SUITS_ME = "suits-me"  # products within the customer's profile
    CLARIFY = "clarify"  # the question is ambiguous: ask which product


@dataclass(frozen=True, slots=True)
class Exchange:
    """One earlier turn of the conversation, as a brain may read it."""

    question: str
    answerer: str  # a specialty's value, "concierge" or "advisor"
    answer: str


@dataclass(frozen=True, slots=True)
class Profile:
    """The customer's suitability profile: risk level C1-C5 (1-5), ``None`` if not assessed."""

    risk: int | None = None
    language: str = "en"


@dataclass(frozen=True, slots=True)
class Product:
    id: str
    specialty: Specialty
    name: dict[str, str]  # language -> name ("en" and "zh" at least)
    risk: int  # risk class R1-R5 as 1-5
    complexity: Complexity
    summary: dict[str, str]  # language -> one or two factual sentences
    keywords: tuple[str, ...]  # how customers refer to it, in any language


@dataclass(frozen=True, slots=True)
class Faq:
    id: str
    specialty: Specialty
    question: dict[str, str]
    answer: dict[str, str]
    keywords: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Suitability:
    verdict: Verdict
    reason: str  # short, for the audit log and the hand-off notice; no personal data


@dataclass(frozen=True, slots=True)
class Brief:
    """Everything a brain may use to answer one question for one specialty."""

    question: str
    specialty: Specialty
    language: str
    profile: Profile
    products: tuple[Product, ...]  # products the question names, best match first
    faqs: tuple[Faq, ...]  # FAQs that match, best first
    suitability: Suitability
    # Set by a dialogue (avatars.dialogue): what the question asks, and the conversation so
    # far. ``None`` is a question taken alone, answered as before dialogues existed.
    intent: Intent | None = None
    history: tuple[Exchange, ...] = ()


@dataclass(frozen=True, slots=True)
class Reply:
    """An expert's answer as members see it."""

    text: str
    sources: tuple[str, ...]  # product and FAQ ids the answer rests on
    risk_class: int | None  # the product's R1-R5, named in ``text`` whenever a product is
    product: str | None
    handoff: bool
    reason: str | None
    label: str  # the AI label in the answer's language


class Brain(Protocol):
    """Drafts an answer from a brief. The guardrails run on whatever it returns."""

    async def answer(self, brief: Brief) -> Reply: ...
