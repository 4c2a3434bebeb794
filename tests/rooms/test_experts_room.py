"""Digital experts in a room: routing to experts, appearance, answers, hand-off, the screen."""

from __future__ import annotations

import pytest

from avatars.advice import AI_LABEL, Complexity, Product
from avatars.expertise import default_expertise
from avatars.specialties import Specialty
from protocol import messages as m
from protocol.codes import ErrorCode
from rooms.limits import RoomLimits
from rooms.persist import dump, load
from rooms.roles import Role
from tests.harness import Harness

# A word that routes a question to each specialty, to ask about a product by name.
_TOPIC = {
    Specialty.STOCKS: "shares",
    Specialty.BONDS: "bonds",
    Specialty.FUNDS: "funds",
    Specialty.INSURANCE: "insurance",
    Specialty.DEPOSITS: "deposits",
    Specialty.FX: "foreign exchange",
    Specialty.TAX: "estate planning",
}


def _product(pred: object) -> Product:
    products = default_expertise().knowledge.products.values()
    return next(p for p in sorted(products, key=lambda p: p.id) if pred(p))  # type: ignore[operator]


def _about(product: Product) -> str:
    return (
        f"Can you explain the {product.name['en']}? I am interested in {_TOPIC[product.specialty]}."
    )


def _experts(h: Harness, member: int) -> list[m.Ent]:
    h.sync(member)
    return [e for e in h.inbox[member].replica.entities.values() if e.k == "expert"]


def test_a_bond_question_brings_the_bond_expert_to_everyone_in_one_tick() -> None:
    h = Harness()
    ann = h.join(Role.CUSTOMER, "Ann", risk=3)
    bob = h.join(Role.GUEST, "Bob")
    h.tick()
    h.sync(ann)
    h.sync(bob)
    h.send(ann, m.Ask("What do you think of government bonds right now?"))
    asked = h.inbox[bob].of(m.Asked)
    assert [a.sp for a in asked] == [["bonds"]]
    h.tick()  # the very next published tick carries the expert
    for member in (ann, bob):
        (expert,) = _experts(h, member)
        assert expert.sp == "bonds"
        assert expert.e == "arriving"
        assert expert.l in AI_LABEL.values()
        assert expert.p
    came = h.inbox[bob].of(m.ExpertCame)
    assert [(c.sp, c.st) for c in came] == [("bonds", "arrived")]
    (answer,) = h.inbox[bob].of(m.Answer)
    assert answer.sp == "bonds"
    assert answer.label == "AI-generated"
    assert answer.lang == "en"
    assert answer.q == asked[0].seq
    assert answer.e == came[0].e
    # After the appear animation the expert is simply present.
    h.tick(1.0)
    (expert,) = _experts(h, bob)
    assert expert.e == "present"


def test_every_expert_action_is_audited() -> None:
    h = Harness()
    ann = h.join(Role.CUSTOMER, "Ann", risk=3)
    h.send(ann, m.Ask("Tell me about your bond funds"))
    for action in ("expert.ask", "expert.summon", "ai.disclosure", "suitability.decision"):
        assert h.actions(action), action
    (answer,) = h.actions("expert.answer")
    assert answer.detail["text"]
    assert answer.detail["sources"] != ""
    ask = h.actions("expert.ask")[0]
    assert "text" not in ask.detail
    assert len(str(ask.detail["sha256"])) == 64


def test_a_two_topic_question_brings_two_experts() -> None:
    h = Harness()
    ann = h.join(Role.CUSTOMER, "Ann", risk=4)
    h.send(ann, m.Ask("Compare my bond fund with a pension insurance plan"))
    h.tick()
    specialties = sorted(e.sp or "" for e in _experts(h, ann))
    assert specialties == ["funds", "insurance"]
    assert len(h.inbox[ann].of(m.Answer)) == 2


def test_all_of_you_with_nothing_asked_yet_brings_the_core_panel() -> None:
    h = Harness()
    ann = h.join(Role.CUSTOMER, "Ann", risk=4)
    h.send(ann, m.Ask("I want to talk to all of you"))
    h.tick()
    assert len(_experts(h, ann)) == 4


def test_a_chinese_question_is_answered_in_chinese_with_the_chinese_label() -> None:
    h = Harness()
    ann = h.join(Role.CUSTOMER, "Ann", risk=3)
    h.send(ann, m.Ask("我想了解一下保险产品"))
    (answer,) = h.inbox[ann].of(m.Answer)
    assert answer.sp == "insurance"
    assert answer.label == "AI生成"
    assert answer.lang == "zh"


def test_an_off_topic_question_gets_the_concierge_and_no_expert() -> None:
    h = Harness()
    ann = h.join()
    h.send(ann, m.Ask("What's the weather like tomorrow?"))
    h.tick()
    assert _experts(h, ann) == []
    (answer,) = h.inbox[ann].of(m.Answer)
    assert answer.e is None
    assert answer.label == "AI-generated"
    assert not answer.handoff


def test_at_most_n_experts_and_the_least_recent_makes_room() -> None:
    h = Harness(limits=RoomLimits(max_experts=2))
    ann = h.join(Role.CUSTOMER, "Ann", risk=5)
    h.send(ann, m.Ask("Stocks, bonds and insurance: what do you suggest?"))
    h.tick()
    first = {e.sp for e in _experts(h, ann)}
    assert len(first) == 2
    h.tick(5.0)
    h.send(ann, m.Ask("And what about foreign exchange?"))
    h.tick()
    now = {e.sp for e in _experts(h, ann)}
    assert len(now) == 2
    assert "fx" in now
    left = [c for c in h.inbox[ann].of(m.ExpertCame) if c.st == "left"]
    assert [c.why for c in left] == ["room full"]


def test_dismissed_experts_leave_with_a_leaving_state_first() -> None:
    h = Harness()
    ann = h.join(Role.CUSTOMER, "Ann", risk=3)
    h.send(ann, m.Ask("bonds please"))
    h.tick()
    (expert,) = _experts(h, ann)
    h.send(ann, m.Dismiss(expert.i))
    h.tick()
    assert [e.e for e in _experts(h, ann)] == ["leaving"]
    h.tick(1.0)
    assert _experts(h, ann) == []
    assert h.inbox[ann].of(m.ExpertCame)[-1].why == "dismissed"
    h.send(ann, m.Dismiss(expert.i))
    assert h.inbox[ann].errors[-1].code == ErrorCode.NO_SUCH_EXPERT


def test_idle_experts_leave_by_themselves() -> None:
    h = Harness(limits=RoomLimits(expert_idle_s=60.0))
    ann = h.join(Role.CUSTOMER, "Ann", risk=3)
    h.send(ann, m.Ask("bonds please"))
    h.tick(59.0)
    assert len(_experts(h, ann)) == 1
    h.tick(2.0)
    h.tick(1.0)
    assert _experts(h, ann) == []
    assert h.inbox[ann].of(m.ExpertCame)[-1].why == "idle"


def test_summon_with_preferences_picks_a_cantonese_speaker() -> None:
    h = Harness()
    ann = h.join(Role.CUSTOMER, "Ann", risk=3)
    h.send(ann, m.Summon("bonds", lang="yue"))
    (came,) = h.inbox[ann].of(m.ExpertCame)
    assert came.lang == "yue"
    assert came.label == "AI生成"


def test_a_complex_product_hands_off_to_a_human_and_the_customer_follows_it() -> None:
    h = Harness()
    ann = h.join(Role.CUSTOMER, "Ann", risk=5)
    product = _product(lambda p: p.complexity is Complexity.COMPLEX)
    h.send(ann, m.Ask(_about(product)))
    answers = [a for a in h.inbox[ann].of(m.Answer) if a.sp == product.specialty.value]
    assert answers
    assert answers[0].handoff
    assert answers[0].why
    (page,) = h.pages
    assert page.skill == product.specialty
    assert page.product == product.id
    assert page.risk == 5
    assert [x.st for x in h.inbox[ann].of(m.Handoff)] == ["paging"]
    # Asking again about the same topic does not page twice.
    h.send(ann, m.Ask(_about(product)))
    assert len(h.pages) == 1
    h.deliver(h.room.page_update(page.id, "coming", h.now, advisor="adv-1", advisor_name="Ms Chan"))
    coming = h.inbox[ann].of(m.Handoff)[-1]
    assert (coming.st, coming.advisor) == ("coming", "Ms Chan")
    adv = h.connect(Role.ADVISOR, subject="adv-1")
    h.send(adv, m.Hello(1))
    h.send(adv, m.Join("Ms Chan"))
    assert h.inbox[ann].of(m.Handoff)[-1].st == "arrived"
    assert [e.outcome for e in h.actions("suitability.decision")][:1] == ["handoff"]
    assert h.actions("handoff.page")
    assert h.actions("handoff.arrived")


def test_a_product_above_the_customers_profile_hands_off() -> None:
    h = Harness()
    product = _product(lambda p: p.risk >= 4 and p.complexity is not Complexity.COMPLEX)
    ann = h.join(Role.CUSTOMER, "Ann", risk=2)
    h.send(ann, m.Ask(_about(product)))
    answer = next(a for a in h.inbox[ann].of(m.Answer) if a.sp == product.specialty.value)
    assert answer.handoff
    assert answer.risk == product.risk
    assert h.pages
    assert h.pages[0].product == product.id


def test_a_simple_product_within_the_profile_is_discussed_with_its_risk_class() -> None:
    h = Harness()
    product = _product(lambda p: p.risk <= 2 and p.complexity is Complexity.SIMPLE)
    ann = h.join(Role.CUSTOMER, "Ann", risk=3)
    h.send(ann, m.Ask(_about(product)))
    answer = next(a for a in h.inbox[ann].of(m.Answer) if a.sp == product.specialty.value)
    assert not answer.handoff
    assert answer.risk == product.risk
    assert f"R{product.risk}" in answer.text
    assert product.id in answer.src
    assert h.pages == []


def test_a_brain_that_promises_returns_is_overruled() -> None:
    h = Harness()
    h.answer_at_once = False
    ann = h.join(Role.CUSTOMER, "Ann", risk=3)
    h.send(ann, m.Ask("bonds please"))
    (consult,) = h.consults
    draft = h.brain.draft(consult.brief)
    from dataclasses import replace

    bad = replace(draft, text="This bond has guaranteed returns, you cannot lose.", label="")
    h.deliver(h.room.answered(consult.ticket, bad, h.now))
    (answer,) = h.inbox[ann].of(m.Answer)
    assert "guaranteed" not in answer.text.lower()
    assert answer.label == "AI-generated"
    assert h.actions("expert.answer")[0].detail["guarded"] is True
    # A ticket answered twice (or after the room moved on) is ignored.
    assert h.room.answered(consult.ticket, draft, h.now) == []


def test_help_pages_any_advisor_and_leaving_cancels_it() -> None:
    h = Harness()
    ann = h.join(Role.CUSTOMER, "Ann", risk=3)
    bob = h.join(Role.GUEST, "Bob")
    h.send(ann, m.Help())
    (page,) = h.pages
    assert page.skill is None
    assert page.customer == "Ann"
    h.send(ann, m.Leave())
    assert h.cancelled == [page.id]
    assert h.inbox[bob].of(m.Handoff)[-1].st == "cancelled"


def test_help_with_an_advisor_in_the_room_says_they_are_here_and_pages_nobody() -> None:
    h = Harness()
    ann = h.join(Role.CUSTOMER, "Ann", risk=3)
    adv = h.join(Role.ADVISOR, "Ms Chan")
    h.send(ann, m.Help())
    assert h.pages == []
    for member in (ann, adv):
        (told,) = h.inbox[member].of(m.Handoff)
        assert (told.st, told.advisor, told.why) == ("arrived", "Ms Chan", "your advisor is here")
    # The advisor alone is handed what the customer asked so far: the notice meant for them.
    (briefing,) = h.inbox[adv].of(m.Briefing)
    assert briefing.brief.why == "the customer asked for a person"
    assert not h.inbox[ann].of(m.Briefing)
    assert h.actions("handoff.page")[0].detail["here"] is True
    # Asking again tells them again; still nobody is paged.
    h.send(ann, m.Help())
    assert len(h.inbox[ann].of(m.Handoff)) == 2
    assert h.pages == []


def test_a_chinese_customer_reads_the_hand_off_and_the_ai_label_in_chinese() -> None:
    h = Harness()
    ann = h.join(Role.CUSTOMER, "Ann", risk=3, language="zh")
    bob = h.join(Role.GUEST, "Bob")
    h.send(ann, m.Ask("Tell me about bonds"))
    (answer,) = h.inbox[ann].of(m.Answer)
    assert answer.lang == "en"  # asked in English: answered in English, labelled for Ann
    assert answer.label == "AI生成"
    h.send(ann, m.Help())
    (page,) = h.pages
    assert page.reason == "the customer asked for a person"  # the advisor's and the audit's
    h.deliver(h.room.page_update(page.id, "unavailable", h.now))
    whys = [x.why for x in h.inbox[ann].of(m.Handoff)]
    assert whys == ["客户希望与真人顾问交谈", "暂时没有空闲的顾问，您仍在排队中"]
    h.send(ann, m.Leave())
    assert h.inbox[bob].of(m.Handoff)[-1].why == "客户已离开"


def test_a_page_keeps_its_language_through_a_failover() -> None:
    h = Harness(limits=RoomLimits(idle_timeout_s=10_000))
    ann = h.join(Role.CUSTOMER, "Ann", risk=3, language="zh")
    h.send(ann, m.Help())
    (page,) = h.pages
    fresh = Harness(limits=RoomLimits(idle_timeout_s=10_000))
    fresh.now = h.now
    load(fresh.room, dump(h.room), fresh.now)
    cy = fresh.join(Role.GUEST, "Cy")
    fresh.deliver(fresh.room.page_update(page.id, "paging", fresh.now, advisor_name="Ms Chan"))
    assert fresh.inbox[cy].of(m.Handoff)[-1].why == "正在邀请 Ms Chan"


def test_guests_may_ask_but_not_send_experts_away() -> None:
    h = Harness()
    h.join(Role.CUSTOMER, "Ann", risk=3)
    bob = h.join(Role.GUEST, "Bob")
    h.send(bob, m.Ask("bonds?"))
    assert h.inbox[bob].of(m.Answer)
    h.send(bob, m.Dismiss(0))
    assert h.inbox[bob].errors[-1].code == ErrorCode.FORBIDDEN
    assert h.actions("permission.denied")


def test_console_messages_sent_to_a_room_are_refused_with_their_own_code() -> None:
    h = Harness()
    ann = h.join()
    h.send(ann, m.Accept("page-1"))
    h.send(ann, m.SetPresence("available"))
    assert [e.code for e in h.inbox[ann].errors] == [ErrorCode.WRONG_ENDPOINT] * 2


# --- the wall screen ----------------------------------------------------------------------------


def test_an_advisor_presents_a_chart_everyone_sees_including_latecomers() -> None:
    h = Harness()
    ann = h.join(Role.CUSTOMER, "Ann")
    adv = h.join(Role.ADVISOR, "Ms Chan")
    h.send(adv, m.Present("Your allocation", ["Bonds", "Equities", "Cash"], [50.0, 30.0, 20.0]))
    h.tick()
    (shown,) = h.inbox[ann].of(m.Presented)
    h.sync(ann)
    screen = next(e for e in h.inbox[ann].replica.entities.values() if e.k == "screen")
    assert screen.c == shown.c != ""
    assert screen.n == "Your allocation"
    late = h.join(Role.GUEST, "Bob")
    assert h.inbox[late].of(m.Presented) == [shown]
    h.send(adv, m.Unpresent())
    h.tick()
    h.sync(ann)
    screen = next(e for e in h.inbox[ann].replica.entities.values() if e.k == "screen")
    assert screen.c == ""
    assert [e.action for e in h.audit if e.action.startswith("screen.")] == [
        "screen.present",
        "screen.clear",
    ]


def test_a_second_device_of_someone_already_in_the_room_sees_what_is_on_the_screen() -> None:
    h = Harness()
    ann = h.join(Role.CUSTOMER, "Ann")
    adv = h.join(Role.ADVISOR, "Ms Chan")
    h.send(adv, m.Present("Your allocation", ["Bonds", "Cash"], [70.0, 30.0]))
    h.tick()
    (shown,) = h.inbox[ann].of(m.Presented)
    # The same person on a phone: a new connection with nothing seen yet, no ``since``.
    phone = h.join(Role.CUSTOMER, "Ann")
    assert h.inbox[phone].of(m.Presented) == [shown]
    # A reconnect that already saw it is not sent it twice.
    h.send(phone, m.Leave())
    back = h.join(Role.CUSTOMER, "Ann", since=shown.seq)
    assert h.inbox[back].of(m.Presented) == []


@pytest.mark.parametrize(
    ("message", "code"),
    [
        (m.Present("x", ["a", "b"], [1.0]), ErrorCode.BAD_VALUE),
        (m.Present("x", ["a"], [1.0], screen="no-such-screen"), ErrorCode.NO_SUCH_SCREEN),
        (m.Unpresent("no-such-screen"), ErrorCode.NO_SUCH_SCREEN),
    ],
)
def test_bad_presentations_are_refused(message: m.Message, code: ErrorCode) -> None:
    h = Harness()
    adv = h.join(Role.ADVISOR, "Ms Chan")
    h.send(adv, message)
    assert [e.code for e in h.inbox[adv].errors] == [code]


def test_customers_cannot_present() -> None:
    h = Harness()
    ann = h.join()
    h.send(ann, m.Present("x", ["a"], [1.0]))
    assert h.inbox[ann].errors[-1].code == ErrorCode.FORBIDDEN
