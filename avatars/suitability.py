"""Suitability: may a digital expert discuss what the question names, with this customer?

Decided before any brain is asked, from the products the question names and the customer's
risk profile (C1-C5, or not assessed). Each product gets the first rule that applies:

1. a COMPLEX product hands off to a human advisor ("complex product: a human advisor
   explains it");
2. with no risk profile assessed, a product above R1 hands off ("risk profile not assessed");
3. a product whose risk class Rn is above the customer's Cn hands off ("above the customer's
   risk profile");
4. a needs-disclosure product is discussed with its key risk said first (DISCLOSE);
5. otherwise the expert may discuss it (OK).

A question that names no product is answered in general terms from the FAQs (OK). When it names
several, the strictest verdict wins (HANDOFF over DISCLOSE over OK); among equals, the reason of
the best-matching product. Reasons are fixed English strings: they go to the audit log and the
hand-off notice, so they carry no personal data.
"""

from __future__ import annotations

from avatars.advice import LANGUAGES, Brief, Complexity, Product, Profile, Suitability, Verdict
from avatars.knowledge import Knowledge
from avatars.specialties import Specialty

COMPLEX = "complex product: a human advisor explains it"
NOT_ASSESSED = "risk profile not assessed"
ABOVE_PROFILE = "above the customer's risk profile"
DISCLOSURE = "needs disclosure: key risk first"
WITHIN_PROFILE = "within the customer's risk profile"
GENERAL = "no product named: general answer"

_STRICTNESS = {Verdict.OK: 0, Verdict.DISCLOSE: 1, Verdict.HANDOFF: 2}


def judge(product: Product, profile: Profile) -> Suitability:
    """The verdict on discussing one product with a customer of ``profile``."""
    if product.complexity is Complexity.COMPLEX:
        return Suitability(Verdict.HANDOFF, COMPLEX)
    if profile.risk is None:
        if product.risk > 1:
            return Suitability(Verdict.HANDOFF, NOT_ASSESSED)
    elif product.risk > profile.risk:
        return Suitability(Verdict.HANDOFF, ABOVE_PROFILE)
    if product.complexity is Complexity.DISCLOSURE:
        return Suitability(Verdict.DISCLOSE, DISCLOSURE)
    return Suitability(Verdict.OK, WITHIN_PROFILE)


def strictest(products: tuple[Product, ...], profile: Profile) -> Suitability:
    """The strictest verdict over ``products`` (best match first, which wins ties)."""
    verdict = Suitability(Verdict.OK, GENERAL)
    for product in products:
        candidate = judge(product, profile)
        if verdict.reason == GENERAL or (
            _STRICTNESS[candidate.verdict] > _STRICTNESS[verdict.verdict]
        ):
            verdict = candidate
    return verdict


def subject(brief: Brief) -> Product | None:
    """The product the brief's verdict is about: the best match among those whose own verdict
    is the brief's (the one that caused a hand-off, say), else the best match."""
    for product in brief.products:
        if judge(product, brief.profile).verdict is brief.suitability.verdict:
            return product
    return brief.products[0] if brief.products else None


def prepare(
    question: str,
    specialty: Specialty,
    profile: Profile,
    knowledge: Knowledge,
    *,
    language: str,
) -> Brief:
    """Everything a brain may use to answer ``question`` as the ``specialty`` expert."""
    if language not in LANGUAGES:
        raise ValueError(f"language {language!r} is not one of {list(LANGUAGES)}")
    products: tuple[Product, ...] = knowledge.find_products(question, specialty)
    faqs = knowledge.find_faqs(question, specialty, language)
    return Brief(
        question=question,
        specialty=specialty,
        language=language,
        profile=profile,
        products=products,
        faqs=faqs,
        suitability=strictest(products, profile),
    )
