"""Suitability: each rule, the strictest of several products, and no risk profile."""

from __future__ import annotations

import pytest

from avatars import suitability as s
from avatars.advice import Complexity, Product, Profile, Suitability, Verdict
from avatars.knowledge import Knowledge
from avatars.specialties import Specialty


def _product(risk: int, complexity: Complexity = Complexity.SIMPLE, pid: str = "p") -> Product:
    return Product(
        id=pid,
        specialty=Specialty.FUNDS,
        name={"en": "P", "zh": "P"},
        risk=risk,
        complexity=complexity,
        summary={"en": "A fund.", "zh": "基金。"},
        keywords=("p",),
    )


@pytest.mark.parametrize(
    ("risk", "complexity", "profile", "expected"),
    [
        # Complex products always go to a person, even for the boldest customer.
        (1, Complexity.COMPLEX, 5, Suitability(Verdict.HANDOFF, s.COMPLEX)),
        (3, Complexity.COMPLEX, None, Suitability(Verdict.HANDOFF, s.COMPLEX)),
        (4, Complexity.SIMPLE, 3, Suitability(Verdict.HANDOFF, s.ABOVE_PROFILE)),
        (4, Complexity.DISCLOSURE, 3, Suitability(Verdict.HANDOFF, s.ABOVE_PROFILE)),
        (3, Complexity.SIMPLE, 3, Suitability(Verdict.OK, s.WITHIN_PROFILE)),
        (2, Complexity.DISCLOSURE, 3, Suitability(Verdict.DISCLOSE, s.DISCLOSURE)),
        (2, Complexity.SIMPLE, None, Suitability(Verdict.HANDOFF, s.NOT_ASSESSED)),
        (1, Complexity.SIMPLE, None, Suitability(Verdict.OK, s.WITHIN_PROFILE)),
        (1, Complexity.DISCLOSURE, None, Suitability(Verdict.DISCLOSE, s.DISCLOSURE)),
    ],
)
def test_each_rule(
    risk: int, complexity: Complexity, profile: int | None, expected: Suitability
) -> None:
    assert s.judge(_product(risk, complexity), Profile(profile)) == expected


def test_strictest_wins_and_the_best_match_breaks_ties() -> None:
    ok, disclose = _product(1, pid="ok"), _product(2, Complexity.DISCLOSURE, "disclose")
    above, complex_ = _product(5, pid="above"), _product(2, Complexity.COMPLEX, "complex")
    profile = Profile(3)
    assert s.strictest((ok, disclose), profile).verdict is Verdict.DISCLOSE
    assert s.strictest((disclose, ok), profile).verdict is Verdict.DISCLOSE
    assert s.strictest((ok, above, disclose), profile) == Suitability(
        Verdict.HANDOFF, s.ABOVE_PROFILE
    )
    assert s.strictest((above, complex_), profile).reason == s.ABOVE_PROFILE
    assert s.strictest((complex_, above), profile).reason == s.COMPLEX
    assert s.strictest((), profile) == Suitability(Verdict.OK, s.GENERAL)


def test_reasons_are_short_and_carry_nothing_personal() -> None:
    for reason in (s.COMPLEX, s.NOT_ASSESSED, s.ABOVE_PROFILE, s.DISCLOSURE, s.WITHIN_PROFILE):
        assert reason.isascii()
        assert len(reason) < 60


def test_prepare_with_the_banks_data(knowledge: Knowledge) -> None:
    brief = s.prepare(
        "Should I buy US treasuries?", Specialty.BONDS, Profile(3), knowledge, language="en"
    )
    assert brief.suitability.verdict is Verdict.OK
    assert [p.id for p in brief.products] == ["us-treasuries"]
    assert (brief.language, brief.specialty, brief.profile) == ("en", Specialty.BONDS, Profile(3))

    accumulator = s.prepare("累计期权", Specialty.STOCKS, Profile(5), knowledge, language="zh")
    assert accumulator.suitability == Suitability(Verdict.HANDOFF, s.COMPLEX)

    above = s.prepare("美股", Specialty.STOCKS, Profile(2), knowledge, language="yue")
    assert above.suitability == Suitability(Verdict.HANDOFF, s.ABOVE_PROFILE)

    unassessed = s.prepare("US treasuries", Specialty.BONDS, Profile(), knowledge, language="en")
    assert unassessed.suitability == Suitability(Verdict.HANDOFF, s.NOT_ASSESSED)

    deposit = s.prepare("time deposit", Specialty.DEPOSITS, Profile(), knowledge, language="en")
    assert deposit.suitability.verdict is Verdict.OK  # R1 needs no risk profile

    annuity = s.prepare(
        "deferred annuity", Specialty.INSURANCE, Profile(2), knowledge, language="en"
    )
    assert annuity.suitability.verdict is Verdict.DISCLOSE


def test_a_general_question_is_ok_and_answered_from_faqs(knowledge: Knowledge) -> None:
    brief = s.prepare("What is a bond?", Specialty.BONDS, Profile(), knowledge, language="en")
    assert brief.products == ()
    assert brief.suitability == Suitability(Verdict.OK, s.GENERAL)
    assert brief.faqs[0].id == "faq-bonds-what"


def test_several_products_the_strictest_decides_and_is_the_subject(knowledge: Knowledge) -> None:
    brief = s.prepare(
        "time deposit or structured deposit?",
        Specialty.DEPOSITS,
        Profile(5),
        knowledge,
        language="en",
    )
    assert brief.suitability == Suitability(Verdict.HANDOFF, s.COMPLEX)
    subject = s.subject(brief)
    assert subject is not None
    assert subject.id == "structured-deposit"


def test_unknown_language_is_refused(knowledge: Knowledge) -> None:
    with pytest.raises(ValueError, match="language 'fr'"):
        s.prepare("bonds", Specialty.BONDS, Profile(), knowledge, language="fr")
