"""Conversations in a room: follow-ups, pronouns, topic switches, comparisons, interruptions,
the spoken AI disclosure, and the briefing an advisor reads before walking in."""

from __future__ import annotations

from typing import Any

from avatars.advice import AI_SPOKEN
from avatars.dialogue import CONCIERGE
from protocol import messages as m
from rooms.limits import RoomLimits
from rooms.outputs import Consult, Hush, Output, Speak
from rooms.persist import dump, load
from rooms.roles import Role
from tests.harness import Harness

BALANCED = "global-balanced-fund"


def _turn(h: Harness, member: int, text: str, **kw: Any) -> tuple[m.Asked, list[m.Answer]]:
    """Ask ``text``; the question as everyone saw it and the answers it got."""
    start = len(h.inbox[member].frames)
    h.send(member, m.Ask(text, **kw))
    got = h.inbox[member].frames[start:]
    (asked,) = [f for f in got if isinstance(f, m.Asked)]
    return asked, [f for f in got if isinstance(f, m.Answer)]


def _voiced(h: Harness, member: int) -> None:
    """``member`` takes media, so the room voices its experts."""
    h.send(member, m.StartMedia(["audio"], "3d"))
    h.answer_at_once = False


def _answers(h: Harness) -> list[Output]:
    out: list[Output] = []
    consults, h.consults = h.consults, []
    for consult in consults:
        out += h.answer(consult)
    return out


def test_a_follow_up_goes_to_the_expert_and_product_in_focus() -> None:
    h = Harness()
    ann = h.join(Role.CUSTOMER, "Ann", risk=3)
    _, (first,) = _turn(h, ann, "Tell me about the balanced fund")
    asked, (fees,) = _turn(h, ann, "What are the fees?")
    assert first.product == fees.product == BALANCED
    assert asked.sp == ["funds"]
    assert fees.e == first.e  # the same expert answers
    assert "fee" in fees.text.lower()
    turns = h.room.questions.state.turns
    assert [t.question for t in turns] == ["Tell me about the balanced fund", "What are the fees?"]
    assert turns[0].answer == first.text
    assert turns[1].answer == fees.text
    (ask, _) = h.actions("expert.ask")
    assert ask.detail["intent"] == "describe"
    assert h.actions("expert.ask")[1].detail["resolution"] == "follow-up"


def test_a_pronoun_points_back_to_the_product_in_focus() -> None:
    h = Harness()
    ann = h.join(Role.CUSTOMER, "Ann", risk=3)
    _turn(h, ann, "Tell me about the balanced fund")
    _, (risks,) = _turn(h, ann, "What are its risks?")
    assert risks.product == BALANCED
    assert h.actions("expert.ask")[-1].detail["resolution"] == "pronoun"


def test_naming_another_topic_switches_expert_and_focus() -> None:
    h = Harness()
    ann = h.join(Role.CUSTOMER, "Ann", risk=3)
    _turn(h, ann, "Tell me about the balanced fund")
    asked, (stocks,) = _turn(h, ann, "And stocks?")
    assert asked.sp == ["stocks"]
    assert stocks.sp == "stocks"
    assert h.actions("expert.ask")[-1].detail["resolution"] == "switch"
    assert h.room.questions.state.focus_products == ()


def test_compare_it_with_another_product_puts_both_side_by_side() -> None:
    h = Harness()
    ann = h.join(Role.CUSTOMER, "Ann", risk=5)
    _turn(h, ann, "Tell me about the balanced fund")
    _, (compared,) = _turn(h, ann, "Compare it with the equity fund")
    assert compared.sp == "funds"
    assert BALANCED in compared.src
    assert len(compared.src) >= 2
    assert h.room.questions.state.turns[-1].intent.value == "compare"


def test_a_60_year_old_wanting_something_steady_hears_low_risk_products_in_mandarin() -> None:
    h = Harness()
    ann = h.join(Role.CUSTOMER, "Ann", risk=3)
    asked, answers = _turn(h, ann, "我60岁了，想买点稳健的理财")
    assert asked.sp == ["deposits", "bonds", "funds"]
    assert [a.sp for a in answers] == ["deposits", "bonds", "funds"]
    for answer in answers:
        assert answer.lang == "zh"
        assert answer.risk is not None
        assert answer.risk <= 2
        assert not answer.handoff
    assert h.room.questions.state.profile.age == 60


def test_a_cantonese_persona_answers_in_written_cantonese() -> None:
    h = Harness()
    ann = h.join(Role.CUSTOMER, "Ann", risk=3)
    _, (answer,) = _turn(h, ann, "介绍一下平衡基金", persona="funds-cheung-ho-yin")
    came = h.inbox[ann].of(m.ExpertCame)[-1]
    assert came.p == "funds-cheung-ho-yin"
    assert answer.lang == "yue"
    assert "風險等級" in answer.text  # traditional characters, as written Cantonese has them
    _, (fees,) = _turn(h, ann, "佢嘅收費係幾多？")
    assert fees.lang == "yue"
    assert fees.product == BALANCED


def test_a_question_with_nothing_to_attach_to_gets_a_clarifying_question() -> None:
    h = Harness()
    ann = h.join(Role.CUSTOMER, "Ann", risk=3)
    _, (answer,) = _turn(h, ann, "What are the fees?")
    assert answer.e is None
    assert answer.sp is None
    assert "Which product" in answer.text
    assert not h.inbox[ann].of(m.ExpertCame)
    assert h.room.questions.state.turns[-1].answerers == (CONCIERGE,)


def test_an_expert_says_aloud_it_is_an_ai_before_its_first_spoken_answer_only() -> None:
    h = Harness()
    ann = h.join(Role.CUSTOMER, "Ann", risk=3)
    _voiced(h, ann)
    h.send(ann, m.Ask("Tell me about the balanced fund"))
    (first,) = [o for o in _answers(h) if isinstance(o, Speak)]
    h.send(ann, m.Ask("What are the fees?"))
    (second,) = [o for o in _answers(h) if isinstance(o, Speak)]
    (answer, fees) = h.inbox[ann].of(m.Answer)
    persona = h.room.persona(first.persona)
    said = AI_SPOKEN["en"].format(name=persona.name["en"])
    assert first.text == f"{said} {answer.text}"
    assert answer.text.startswith("Wealthroom")  # the written answer carries its label instead
    assert second.text == fees.text
    (spoken,) = [e for e in h.actions("ai.disclosure") if e.outcome == "spoken"]
    assert spoken.detail["persona"] == persona.id


def test_the_disclosure_is_in_the_personas_language() -> None:
    h = Harness()
    ann = h.join(Role.CUSTOMER, "Ann", risk=3)
    _voiced(h, ann)
    h.send(ann, m.Ask("介绍一下平衡基金", persona="funds-cheung-ho-yin"))
    (speak,) = [o for o in _answers(h) if isinstance(o, Speak)]
    assert speak.text.startswith(AI_SPOKEN["yue"].format(name="張浩賢"))
    assert speak.language == "yue"


def test_a_barge_in_marks_the_answer_interrupted_and_silences_the_expert() -> None:
    h = Harness()
    ann = h.join(Role.CUSTOMER, "Ann", risk=3)
    _voiced(h, ann)
    h.send(ann, m.Ask("Tell me about the balanced fund"))
    (speak,) = [o for o in _answers(h) if isinstance(o, Speak)]
    h.room.speaking(speak.entity, [9] * 90, 30, h.now)
    h.tick()
    assert h.room.scene.entities[speak.entity].mouth > 0
    out = h.deliver(h.room.interrupt(h.now, member=ann))
    assert Hush(speak.entity) in out
    assert h.room.scene.entities[speak.entity].mouth == 0
    h.tick()
    assert h.room.scene.entities[speak.entity].mouth == 0  # the clip does not move it again
    assert h.room.questions.state.turns[-1].interrupted
    (event,) = h.actions("answer.interrupted")
    assert event.actor == "Ann"
    assert event.detail["expert"] == speak.entity
    assert event.detail["q"] == h.inbox[ann].of(m.Answer)[0].q
    assert "[interrupted]" in h.room.questions.state.history()[-1].answer


def test_an_interruption_with_nothing_said_does_nothing() -> None:
    h = Harness()
    h.join(Role.CUSTOMER, "Ann", risk=3)
    assert h.room.interrupt(h.now) == []
    assert not h.actions("answer.interrupted")


def test_a_late_answer_is_recorded_against_its_own_question() -> None:
    h = Harness()
    ann = h.join(Role.CUSTOMER, "Ann", risk=3)
    h.answer_at_once = False
    h.send(ann, m.Ask("Tell me about the balanced fund"))
    (late,) = h.consults
    h.consults = []
    h.send(ann, m.Ask("And stocks?"))
    _answers(h)
    h.answer(late)
    first, second = h.room.questions.state.turns
    assert "Balanced" in first.answer
    assert "Balanced" not in second.answer


def test_the_conversation_survives_a_failover() -> None:
    h = Harness(limits=RoomLimits(idle_timeout_s=10_000))
    ann = h.join(Role.CUSTOMER, "Ann", risk=3)
    _voiced(h, ann)
    h.send(ann, m.Ask("Tell me about the balanced fund"))
    _answers(h)
    h.deliver(h.room.interrupt(h.now))
    before = h.room.questions.state
    fresh = Harness(limits=RoomLimits(idle_timeout_s=10_000))
    fresh.now = h.now
    load(fresh.room, dump(h.room), fresh.now)
    assert fresh.room.questions.state == before
    ann2 = fresh.join(Role.CUSTOMER, "Ann", risk=3)
    _voiced(fresh, ann2)
    fresh.send(ann2, m.Ask("What are the fees?"))
    (speak,) = [o for o in _answers(fresh) if isinstance(o, Speak)]
    (fees,) = fresh.inbox[ann2].of(m.Answer)
    assert fees.product == BALANCED  # the follow-up still knows what "the fees" are of
    assert speak.text == fees.text  # and the expert does not introduce itself twice


def test_state_saved_before_rooms_kept_conversations_still_loads() -> None:
    import msgpack

    h = Harness()
    ann = h.join(Role.CUSTOMER, "Ann", risk=3)
    h.send(ann, m.Ask("Tell me about the balanced fund"))
    state = msgpack.unpackb(dump(h.room), raw=False, strict_map_key=False)
    del state["dialogue"]
    state["pages"] = [page[:4] for page in state["pages"]]
    fresh = Harness()
    load(fresh.room, msgpack.packb(state, use_bin_type=True), fresh.now)
    assert fresh.room.questions.state.turns == ()
    assert len(fresh.room.questions.desk.active) == 1


def _briefed_page(h: Harness) -> tuple[int, int, str]:
    """Ann (C2) asks about a fund above her profile after a short talk; a page is raised."""
    ann = h.join(Role.CUSTOMER, "Ann", risk=2)
    bob = h.join(Role.GUEST, "Bob")
    h.send(ann, m.Ask("Tell me about the money market fund"))
    h.deliver(h.room.interrupt(h.now, member=ann))
    h.send(ann, m.Ask("Tell me about the balanced fund"))
    (page,) = h.pages
    return ann, bob, page.id


def test_a_page_carries_the_conversation_for_the_advisor() -> None:
    h = Harness()
    _briefed_page(h)
    (page,) = h.pages
    brief = page.brief
    assert brief is not None
    assert brief.why == page.reason
    questions = [t.q for t in brief.turns]
    assert questions == ["Tell me about the money market fund", "Tell me about the balanced fund"]
    assert brief.turns[0].cut is True
    assert brief.turns[0].a
    assert brief.turns[1].cut is None
    assert brief.turns[1].by == "funds"
    products = {p.id: p.risk for p in brief.products}
    assert products[BALANCED] == 3
    assert products["hkd-money-market-fund"] == 1
    verdicts = [(d.product, d.verdict) for d in brief.decisions]
    assert verdicts == [("hkd-money-market-fund", "ok"), (BALANCED, "handoff")]
    assert brief.decisions[-1].why


def test_only_the_advisor_who_accepted_reads_the_briefing_and_the_customer_is_told() -> None:
    h = Harness()
    ann, bob, page_id = _briefed_page(h)
    h.deliver(h.room.page_update(page_id, "coming", h.now, advisor="adv-1", advisor_name="Ms Chan"))
    other = h.connect(Role.ADVISOR, subject="adv-2")  # an advisor who did not accept
    h.send(other, m.Hello(1))
    h.send(other, m.Join("Mr Lee"))
    adv = h.connect(Role.ADVISOR, subject="adv-1")
    h.send(adv, m.Hello(1))
    h.send(adv, m.Join("Ms Chan"))
    (briefing,) = h.inbox[adv].of(m.Briefing)
    assert briefing.page == page_id
    assert briefing.brief == h.pages[0].brief
    for member in (ann, bob, other):
        assert not h.inbox[member].of(m.Briefing), member
    for member in (ann, bob, adv):
        arrived = h.inbox[member].of(m.Handoff)[-1]
        assert (arrived.st, arrived.read) == ("arrived", True)
    assert h.actions("handoff.briefed")[0].actor == "adv-1"
    # A latecomer's replay has the notice but never the briefing.
    late = h.join(Role.GUEST, "Cy", since=0)
    assert not h.inbox[late].of(m.Briefing)


def test_an_advisor_already_in_the_room_is_briefed_when_the_page_is_accepted() -> None:
    h = Harness()
    ann, _, page_id = _briefed_page(h)
    adv = h.connect(Role.ADVISOR, subject="adv-1")
    h.send(adv, m.Hello(1))
    h.send(adv, m.Join("Ms Chan"))
    h.deliver(h.room.page_update(page_id, "coming", h.now, advisor="adv-1", advisor_name="Ms Chan"))
    assert len(h.inbox[adv].of(m.Briefing)) == 1
    assert not h.inbox[ann].of(m.Briefing)
    assert h.inbox[ann].of(m.Handoff)[-1].read is True


def test_a_briefing_waits_through_a_failover() -> None:
    h = Harness(limits=RoomLimits(idle_timeout_s=10_000))
    _, _, page_id = _briefed_page(h)
    h.deliver(h.room.page_update(page_id, "coming", h.now, advisor="adv-1", advisor_name="Ms Chan"))
    fresh = Harness(limits=RoomLimits(idle_timeout_s=10_000))
    fresh.now = h.now
    load(fresh.room, dump(h.room), fresh.now)
    adv = fresh.connect(Role.ADVISOR, subject="adv-1")
    fresh.send(adv, m.Hello(1))
    fresh.send(adv, m.Join("Ms Chan"))
    (briefing,) = fresh.inbox[adv].of(m.Briefing)
    assert briefing.brief == h.pages[0].brief


def test_consults_carry_the_conversation_so_far() -> None:
    h = Harness()
    ann = h.join(Role.CUSTOMER, "Ann", risk=3)
    _turn(h, ann, "Tell me about the balanced fund")
    h.answer_at_once = False
    h.send(ann, m.Ask("What are the fees?"))
    (consult,) = h.consults
    assert isinstance(consult, Consult)
    (before,) = consult.brief.history
    assert before.question == "Tell me about the balanced fund"
    assert before.answer
