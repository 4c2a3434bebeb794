"""A room's conversation with its experts: what is in focus, what was said, who answers next.

Pure values and functions: :class:`DialogueState` is an immutable value the room keeps (one per
room) and :meth:`Dialogue.plan` turns it and a new question into a :class:`Plan`: which experts
answer, about which products, what the question asks (:class:`avatars.advice.Intent`), how a
follow-up or a pronoun was resolved, and the state after the question. The room then asks a
brain for each of :meth:`Dialogue.briefs` and passes every draft through the guardrails, as
before: suitability is decided in the brief, never here.

How a question is read, first rule that applies:

1. "what suits me" (适合我, 稳健, 啱我, an age with a wish for something steady): the experts the
   question names, else the conservative panel (deposits, bonds, funds), each with its
   products within the customer's profile, lowest risk first;
2. a comparison: the products named, completed by the product in focus ("compare it with the
   equity fund"), answered by the first product's expert;
3. a question naming a topic or a product: its experts ("and stocks?" / 那股票呢 switches the
   topic); a question that names the topic in focus without a product and points back ("its
   fees", 佢嘅收费) keeps the product in focus;
4. a follow-up without a topic word ("And the fees?", 提前取出来会怎么样, 呢個呢): the expert
   and products in focus;
5. an intent with nothing to attach it to ("what are the fees?" as the first question): the
   concierge asks which product is meant;
6. a question BM25 ties clearly to one specialty's products or FAQs: that expert; anything
   else: the concierge.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from avatars import intents, suitability
from avatars.advice import (
    AI_LABEL,
    Brief,
    Exchange,
    Intent,
    Product,
    Profile,
    Reply,
    Verdict,
)
from avatars.knowledge import BankProduct, Knowledge
from avatars.retrieval import Retriever
from avatars.routing import Router, Routing
from avatars.specialties import Specialty

__all__ = [
    "CONCIERGE",
    "CORE_PANEL",
    "SUITS_ME_PANEL",
    "Assignment",
    "CustomerProfile",
    "Dialogue",
    "DialogueState",
    "Plan",
    "Resolution",
    "Turn",
    "clarify_reply",
    "dump_state",
    "load_state",
]

CONCIERGE = "concierge"
MAX_TURNS = 24  # kept in the state; a brain reads the last few (see MAX_HISTORY)
MAX_HISTORY = 6
MAX_SUGGESTED = 3  # products one expert names for "what suits me"
# Who answers "what suits me" when the question names no topic: the shelves with low-risk
# products. Insurance and tax need a person's look at the customer's situation.
SUITS_ME_PANEL = (Specialty.DEPOSITS, Specialty.BONDS, Specialty.FUNDS)
# "All of you" with nobody to mean yet: the bank's core panel.
CORE_PANEL = (Specialty.STOCKS, Specialty.BONDS, Specialty.FUNDS, Specialty.INSURANCE)
# A conservative wish caps the suggested risk class even for a customer who could take more.
CONSERVATIVE_CAP = 2
# BM25 score a question needs to reach an expert by retrieval alone (rule 5), and how far
# ahead of the next specialty it must be: below these the concierge is the better answer.
RETRIEVAL_MIN = 6.0
RETRIEVAL_MARGIN = 1.5


class Resolution(StrEnum):
    NEW = "new"  # the question names its own topic
    SWITCH = "switch"  # it names a topic other than the one in focus
    FOLLOW_UP = "follow-up"  # no topic word: the topic in focus
    PRONOUN = "pronoun"  # "it", 那个, 佢, 呢個: the product in focus
    RETRIEVED = "retrieved"  # no topic word, but the bank's texts point to one expert
    CLARIFY = "clarify"  # the concierge asks which product is meant
    CONCIERGE = "concierge"  # no expert covers it


@dataclass(frozen=True, slots=True)
class Turn:
    question: str
    answerers: tuple[str, ...]  # specialty values, or ("concierge",)
    products: tuple[str, ...]
    intent: Intent
    interrupted: bool = False
    answer: str = ""  # what the customer heard (joined when several experts answered)


@dataclass(frozen=True, slots=True)
class CustomerProfile:
    risk: int | None = None  # C1-C5 as 1-5, None if not assessed
    language: str = "en"
    age: int | None = None  # only if the customer said it


@dataclass(frozen=True, slots=True)
class DialogueState:
    """One room's conversation so far. Immutable: every change returns a new state."""

    focus_specialty: Specialty | None = None
    focus_products: tuple[str, ...] = ()
    turns: tuple[Turn, ...] = ()
    profile: CustomerProfile = field(default_factory=CustomerProfile)

    def recent(self) -> tuple[Specialty, ...]:
        """Specialties that answered, most recent first."""
        out: dict[Specialty, None] = {}
        for turn in reversed(self.turns):
            for name in turn.answerers:
                if name != CONCIERGE:
                    out.setdefault(Specialty(name), None)
        return tuple(out)

    def interrupted(self) -> DialogueState:
        """The last answer was cut short (barge-in): marked so a brain knows it was not heard."""
        if not self.turns:
            return self
        return replace(self, turns=(*self.turns[:-1], replace(self.turns[-1], interrupted=True)))

    def answered(self, text: str, *, back: int = 0) -> DialogueState:
        """Records what the customer heard for the last question (several answers append);
        ``back``: for the question that many turns before the last (its answer came late)."""
        if back < 0 or back >= len(self.turns):
            return self
        index = len(self.turns) - 1 - back
        turn = self.turns[index]
        joined = f"{turn.answer}\n{text}" if turn.answer else text
        turns = (*self.turns[:index], replace(turn, answer=joined), *self.turns[index + 1 :])
        return replace(self, turns=turns)

    def with_risk(self, risk: int | None) -> DialogueState:
        return replace(self, profile=replace(self.profile, risk=risk))

    def history(self) -> tuple[Exchange, ...]:
        """The last exchanges as a brain reads them; an interrupted answer says so."""
        out = []
        for turn in self.turns[-MAX_HISTORY:]:
            answer = turn.answer + (" [interrupted]" if turn.interrupted else "")
            out.append(Exchange(turn.question, ",".join(turn.answerers), answer))
        return tuple(out)


def dump_state(state: DialogueState) -> dict[str, Any]:
    """``state`` as plain values (msgpack, JSON), for a room's saved state."""
    p = state.profile
    return {
        "focus": state.focus_specialty.value if state.focus_specialty else None,
        "products": list(state.focus_products),
        "profile": [p.risk, p.language, p.age],
        "turns": [
            [
                t.question,
                list(t.answerers),
                list(t.products),
                t.intent.value,
                t.interrupted,
                t.answer,
            ]
            for t in state.turns
        ],
    }


def load_state(saved: Mapping[str, Any]) -> DialogueState:
    """What :func:`dump_state` wrote; a damaged value raises ``KeyError``, ``ValueError`` or
    ``TypeError``."""
    risk, language, age = saved["profile"]
    turns = tuple(
        Turn(
            str(q),
            tuple(map(str, who)),
            tuple(map(str, products)),
            Intent(intent),
            bool(cut),
            str(a),
        )
        for q, who, products, intent, cut, a in saved["turns"]
    )
    focus = saved["focus"]
    return DialogueState(
        focus_specialty=Specialty(focus) if focus is not None else None,
        focus_products=tuple(map(str, saved["products"])),
        turns=turns[-MAX_TURNS:],
        profile=CustomerProfile(
            None if risk is None else int(risk), str(language), None if age is None else int(age)
        ),
    )


@dataclass(frozen=True, slots=True)
class Assignment:
    """One expert's part of a plan: its specialty and the products it speaks about."""

    specialty: Specialty
    products: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Plan:
    question: str
    language: str  # the answer's language: "en", "zh" or "yue"
    intent: Intent
    assignments: tuple[Assignment, ...]  # empty: the concierge answers
    everyone: bool  # the customer addressed every expert
    resolution: Resolution
    state: DialogueState  # the state after this question; keep it

    @property
    def specialties(self) -> tuple[Specialty, ...]:
        return tuple(a.specialty for a in self.assignments)

    @property
    def products(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p for a in self.assignments for p in a.products))


_CLARIFY = {
    "en": "Which product do you mean? Name it, or ask about a topic such as funds or deposits, "
    "and the right expert will answer.",
    "zh": "请问您指的是哪一个产品？请说出产品名称，或就基金、存款等题目提问，相关专家会为您解答。",
    "yue": "請問你指邊一個產品？講出產品名，或者問基金、存款等題目，相關專家會幫你解答。",
}


def clarify_reply(language: str) -> Reply:
    """What the concierge asks when a question's topic cannot be told."""
    text = _CLARIFY.get(language, _CLARIFY["en"])
    return Reply(text, (), None, None, False, None, AI_LABEL.get(language, AI_LABEL["en"]))


class Dialogue:
    """Plans answers with the bank's router, knowledge and retrieval; shared by every room
    (read-only)."""

    def __init__(self, router: Router, knowledge: Knowledge, retriever: Retriever) -> None:
        self.router = router
        self.knowledge = knowledge
        self.retriever = retriever

    # --- planning ----------------------------------------------------------------------------

    def plan(
        self,
        state: DialogueState,
        text: str,
        *,
        risk: int | None,
        language: str | None = None,
        present: Sequence[Specialty] = (),
    ) -> Plan:
        """The plan for ``text`` asked in a room whose conversation is ``state``.

        ``language`` is the answer's language (the room's choice, e.g. the persona's); by
        default the question's. ``risk`` is the customer's assessed risk level, C1-C5 as 1-5
        (``None``: not assessed), as the room knows it now. ``present``: the experts standing
        in the room, most recently active first, whom "all of you" means.
        """
        routing = self.router.route(text, recent=state.recent())
        lang = language or routing.language
        profile = CustomerProfile(
            risk=risk,
            language=lang,
            age=intents.age(text) or state.profile.age,
        )
        state = replace(state, profile=profile)
        cue = intents.detect(text)
        if cue is None and intents.age(text) is not None and intents.conservative(text):
            cue = Intent.SUITS_ME
        named = self.knowledge.find_products(text, None)
        topics = self._topics(state, text, routing, named, cue)
        back = intents.pronoun(text)
        follow = intents.is_follow_up(text)

        def done(intent: Intent, assignments: Sequence[Assignment], resolution: Resolution) -> Plan:
            return self._plan(state, text, lang, intent, tuple(assignments), resolution, routing)

        if cue is Intent.SUITS_ME and not named:
            panel = topics or list(SUITS_ME_PANEL)
            return done(
                Intent.SUITS_ME, self._suitable(panel, profile, text), self._new(state, topics)
            )

        if cue is Intent.COMPARE:
            return done(*self._compare(state, named, topics))

        intent = cue or Intent.DESCRIBE
        if topics:
            return done(intent, *self._by_topic(state, named, topics, back=back, cue=cue))

        if routing.everyone:
            panel = list(present) or list(state.recent()) or list(CORE_PANEL)
            return done(intent, [Assignment(sp, ()) for sp in panel], Resolution.NEW)

        if state.focus_specialty is not None and (cue is not None or back or follow):
            resolution = Resolution.PRONOUN if back else Resolution.FOLLOW_UP
            assignment = Assignment(state.focus_specialty, state.focus_products)
            return done(intent, [assignment], resolution)

        if cue is not None or back:
            # An intent with nothing to attach it to: which product?
            return done(Intent.CLARIFY, [], Resolution.CLARIFY)
        retrieved = self._retrieved(text)
        if retrieved is not None:
            return done(intent, [Assignment(retrieved, ())], Resolution.RETRIEVED)
        return done(intent, [], Resolution.CONCIERGE)

    def _topics(
        self,
        state: DialogueState,
        text: str,
        routing: Routing,
        named: Sequence[BankProduct],
        cue: Intent | None,
    ) -> list[Specialty]:
        """The specialties ``text`` is about: those routed to, then those of products named."""
        topics = list(routing.specialties)
        for product in named:
            if product.specialty not in topics:
                topics.append(product.specialty)
        if (
            topics
            and not named
            and cue is not None
            and state.focus_specialty is not None
            and not self.router.route(intents.without_cues(text)).specialties
        ):
            # Only the intent's own words name a topic ("can I redeem early?", "which
            # currency?"): a follow-up on the topic in focus.
            return []
        return topics

    def _compare(
        self, state: DialogueState, named: Sequence[BankProduct], topics: Sequence[Specialty]
    ) -> tuple[Intent, list[Assignment], Resolution]:
        ids = [p.id for p in named]
        if len(ids) < 2:
            ids = list(dict.fromkeys([*state.focus_products, *ids]))
        if len(ids) >= 2:
            first = self.knowledge.product(ids[0]).specialty
            resolution = Resolution.NEW if len(named) >= 2 else Resolution.PRONOUN
            return Intent.COMPARE, [Assignment(first, tuple(ids))], resolution
        if len(topics) >= 2:
            # Two shelves side by side ("my bond fund with a pension plan"): each expert
            # describes its own, in one turn.
            assignments = [
                Assignment(sp, tuple(p.id for p in named if p.specialty == sp)) for sp in topics
            ]
            return Intent.DESCRIBE, assignments, self._new(state, topics)
        if topics:
            return Intent.CLARIFY, [Assignment(topics[0], ())], Resolution.CLARIFY
        return Intent.CLARIFY, [], Resolution.CLARIFY

    def _by_topic(
        self,
        state: DialogueState,
        named: Sequence[BankProduct],
        topics: Sequence[Specialty],
        *,
        back: bool,
        cue: Intent | None,
    ) -> tuple[list[Assignment], Resolution]:
        """One assignment per topic, with the products named for it."""
        assignments = []
        resolution = self._new(state, topics)
        for sp in topics:
            own = tuple(p.id for p in named if p.specialty == sp)
            if not own and sp == state.focus_specialty and (back or cue is not None):
                # "what are the fund's fees?" with a fund in focus: that fund.
                own = state.focus_products
                resolution = Resolution.PRONOUN if back else Resolution.FOLLOW_UP
            assignments.append(Assignment(sp, own))
        return assignments, resolution

    @staticmethod
    def _new(state: DialogueState, topics: Sequence[Specialty]) -> Resolution:
        if state.focus_specialty is not None and state.focus_specialty not in topics:
            return Resolution.SWITCH
        return Resolution.NEW

    def _suitable(
        self, panel: Sequence[Specialty], profile: CustomerProfile, text: str
    ) -> list[Assignment]:
        """Each specialty's products that suitability lets an expert discuss with this
        customer, lowest risk first; complex products never (they need a person)."""
        cap = 1 if profile.risk is None else profile.risk
        if intents.conservative(text):
            cap = min(cap, CONSERVATIVE_CAP)
        judged = Profile(profile.risk, profile.language)
        out = []
        for sp in panel:
            shelf = [
                p
                for p in self.knowledge.products.values()
                if p.specialty == sp
                and p.risk <= cap
                and suitability.judge(p, judged).verdict is not Verdict.HANDOFF
            ]
            shelf.sort(key=lambda p: p.risk)
            out.append(Assignment(sp, tuple(p.id for p in shelf[:MAX_SUGGESTED])))
        # An expert with nothing to suggest stays away, unless no one has anything: then they
        # say so and offer a person.
        return [a for a in out if a.products] or out

    def _retrieved(self, text: str) -> Specialty | None:
        best: dict[Specialty, float] = {}
        for hit in self.retriever.search(text):
            best.setdefault(hit.specialty, hit.score)
        ranked = sorted(best.items(), key=lambda kv: -kv[1])
        if not ranked or ranked[0][1] < RETRIEVAL_MIN:
            return None
        if len(ranked) > 1 and ranked[0][1] - ranked[1][1] < RETRIEVAL_MARGIN:
            return None
        return ranked[0][0]

    def _plan(
        self,
        state: DialogueState,
        text: str,
        language: str,
        intent: Intent,
        assignments: tuple[Assignment, ...],
        resolution: Resolution,
        routing: Routing,
    ) -> Plan:
        everyone = routing.everyone
        answerers = tuple(a.specialty.value for a in assignments) or (CONCIERGE,)
        products = tuple(dict.fromkeys(p for a in assignments for p in a.products))
        turn = Turn(text, answerers, products, intent)
        focus_sp, focus_products = state.focus_specialty, state.focus_products
        if assignments:
            focus_sp = assignments[0].specialty
            focus_products = assignments[0].products
        new_state = replace(
            state,
            focus_specialty=focus_sp,
            focus_products=focus_products,
            turns=(*state.turns, turn)[-MAX_TURNS:],
        )
        return Plan(text, language, intent, assignments, everyone, resolution, new_state)

    # --- briefs ------------------------------------------------------------------------------

    def brief(self, plan: Plan, assignment: Assignment, *, history: bool = True) -> Brief:
        """What a brain needs to answer ``assignment`` of ``plan``; suitability decided here."""
        language = plan.language
        profile = Profile(plan.state.profile.risk, language)
        products: tuple[Product, ...] = tuple(
            self.knowledge.product(i) for i in assignment.products
        )
        faqs = self.knowledge.find_faqs(plan.question, assignment.specialty, language)
        if not faqs and not products and plan.intent is not Intent.SUITS_ME:
            hits = self.retriever.search(
                plan.question, kind="faq", specialties=(assignment.specialty,)
            )
            faqs = tuple(self.knowledge.faqs[h.id] for h in hits[:1] if h.score >= RETRIEVAL_MIN)
        before = replace(plan.state, turns=plan.state.turns[:-1])
        return Brief(
            question=plan.question,
            specialty=assignment.specialty,
            language=language,
            profile=profile,
            products=products,
            faqs=faqs,
            suitability=suitability.strictest(products, profile),
            intent=plan.intent,
            history=before.history() if history else (),
        )

    def briefs(self, plan: Plan) -> tuple[Brief, ...]:
        return tuple(self.brief(plan, a) for a in plan.assignments)


def default_dialogue() -> Dialogue:
    from avatars.expertise import default_expertise
    from avatars.retrieval import default_retriever

    expertise = default_expertise()
    return Dialogue(expertise.router, expertise.knowledge, default_retriever())
