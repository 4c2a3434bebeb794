"""Questions and the digital experts who answer them, as one conversation.

The room keeps one :class:`~avatars.dialogue.DialogueState`: a question is planned against it
(:mod:`avatars.dialogue`: follow-ups, pronouns, topic switches, comparisons, what suits the
customer), the experts the plan names appear in the scene at once (:mod:`rooms.experts` keeps
who stands where), and for each a :class:`~rooms.outputs.Consult` asks the shell for a drafted
answer, which comes back through :meth:`Questions.answered`, passes the guardrails before anyone
sees it and is recorded in the conversation. Suitability is decided in the plan's briefs, before
any brain is asked; when it says a person must take over, :mod:`rooms.handoffs` pages one, with
:meth:`Questions.briefing` for the advisor to read first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from avatars.advice import AI_LABEL, AI_SPOKEN, Brief, Reply, Verdict
from avatars.dialogue import (
    Dialogue,
    DialogueState,
    Plan,
    Resolution,
    clarify_reply,
    dump_state,
    load_state,
)
from avatars.expertise import Expertise, concierge_reply, default_expertise
from avatars.guardrails import guard
from avatars.personas import Persona, Preferences, UnknownPersona
from avatars.retrieval import Retriever, default_retriever
from avatars.specialties import Specialty
from avatars.suitability import subject
from protocol import limits
from protocol import messages as m
from protocol.codes import ErrorCode
from rooms.audit import Detail, text_digest
from rooms.context import RoomContext
from rooms.experts import Arrived, Change, Expert, ExpertDesk
from rooms.feature import Feature, Handler
from rooms.handoffs import Handoffs
from rooms.members import Member
from rooms.outputs import Consult, Output, Speak
from rooms.roles import Action

CHINESE = frozenset({"zh", "yue"})


@dataclass(slots=True)
class _Pending:
    question: int  # seq of the ``asked`` message
    expert: int  # entity id
    brief: Brief
    asker: int
    turn: int  # the conversation's turn it answers (counted from the room's first question)


@dataclass(frozen=True, slots=True)
class _Spoken:
    """The newest answer: what a barge-in interrupts."""

    question: int
    expert: int | None  # entity; None: the concierge


class Questions(Feature):
    def __init__(
        self,
        room: RoomContext,
        expertise: Expertise,
        handoffs: Handoffs,
        *,
        voiced: Callable[[], bool],
        hush: Callable[[int], list[Output]] = lambda entity: [],
    ) -> None:
        self._room = room
        self.expertise = expertise
        self._dialogue: Dialogue | None = None  # built at the first question (see dialogue)
        self.state = DialogueState()  # the room's one conversation
        self._turns = 0  # questions asked in this room: a late answer finds its turn by it
        self._handoffs = handoffs  # a question that needs a person pages one
        self._voiced = voiced  # does anyone take media? only then are answers spoken
        self._hush = hush  # stop an expert's voice and mouth (rooms.media)
        self._pending: dict[int, _Pending] = {}
        self._tickets = 0
        self._disclosed: set[str] = set()  # personas that said aloud they are an AI
        self._decisions: list[m.BriefDecision] = []  # suitability, for an advisor's briefing
        self._last: _Spoken | None = None
        self.version = 0  # counts changes to the conversation that no reliable message marks
        lim = room.limits
        self.desk = ExpertDesk(
            room.scene,
            expertise.personas,
            room.scene.layout.expert_spots,
            max_experts=lim.max_experts,
            idle_s=lim.expert_idle_s,
            transition_s=lim.expert_transition_s,
        )

    def handlers(self) -> Mapping[type[m.Message], Handler]:
        return {m.Ask: self.on_ask, m.Summon: self.on_summon, m.Dismiss: self.on_dismiss}

    @property
    def dialogue(self) -> Dialogue:
        """The planner, shared with every room of the same expertise. Its retrieval index
        takes seconds to build once per process: the shell builds it before it serves
        (:func:`avatars.retrieval.default_retriever`), a room that is never asked anything
        never needs it."""
        if self._dialogue is None:
            self._dialogue = _dialogue(self.expertise)
        return self._dialogue

    def persona(self, persona_id: str) -> Persona:
        """The persona ``persona_id`` (raises :class:`~avatars.personas.UnknownPersona`)."""
        return self.expertise.personas.get(persona_id)

    def on_ask(self, member: Member, msg: m.Ask, now: float) -> list[Output]:
        room = self._room
        if (denied := room.gate(member, now, Action.ASK, "ask")) is not None:
            return denied
        if not member.chats.take(now):
            return room.rate_limited(member, now, what="questions")
        plan = self.dialogue.plan(
            self.state,
            msg.text,
            risk=member.grant.risk,
            language=self._language(msg),
            present=self.desk.recent(),
        )
        self.state = plan.state
        self._turns += 1
        specialties = list(plan.specialties)
        language = plan.language
        out = room.broadcast_reliable(
            lambda seq: m.Asked(
                seq, member.id, member.name, msg.text, [s.value for s in specialties], _ms(now)
            )
        )
        question = room.seq
        detail: Detail = {
            "seq": question,
            "sha256": text_digest(msg.text),
            "chars": len(msg.text),
            "routed": ",".join(s.value for s in specialties) or "-",
            "lang": language,
            "intent": plan.intent.value,
            "resolution": plan.resolution.value,
            "content": self.expertise.version,
        }
        out.append(room.audit(member, now, "expert.ask", "ok", detail))
        if not specialties:
            if plan.resolution is Resolution.CLARIFY:
                reply = clarify_reply(language)
            else:
                reply = concierge_reply(language)
            self.state = self.state.answered(reply.text)
            return out + self._post_answer(
                None, reply, question, member, now, language=language, guarded=False
            )
        if self.desk.capacity == 0:
            return out + room.reject(
                member, now, ErrorCode.NO_EXPERT_SPOT, "this room has no place for experts", "ask"
            )
        prefs = Preferences(language=msg.lang, gender=msg.gender, persona=msg.persona)
        experts, changes = self.desk.bring(specialties, prefs, language, now)
        out += self._announce(changes, member, now)
        by_specialty = {x.specialty: x for x in experts}
        for assignment in plan.assignments:
            expert = by_specialty.get(assignment.specialty)
            if expert is None:
                continue  # no spot was free for it
            brief = self.dialogue.brief(_spoken_by(plan, expert.persona), assignment)
            out += self._decided(member, expert, brief, now)
            self._tickets += 1
            self._pending[self._tickets] = _Pending(
                question, expert.entity, brief, member.id, self._turns
            )
            out.append(Consult(self._tickets, brief))
        return out

    def answered(self, ticket: int, draft: Reply, now: float) -> list[Output]:
        """A brain's draft for ``ticket``: guarded, then posted to every member."""
        pending = self._pending.pop(ticket, None)
        if pending is None:
            return []  # the room closed, or the answer came twice
        reply = guard(draft, pending.brief)
        self.state = self.state.answered(reply.text, back=self._turns - pending.turn)
        asker = self._room.member(pending.asker)
        return self._post_answer(
            self.desk.experts.get(pending.expert),
            reply,
            pending.question,
            asker,
            now,
            language=pending.brief.language,
            guarded=reply.text != draft.text,
            specialty=pending.brief.specialty,
            expert_id=pending.expert,
        )

    def interrupt(self, by: Member | None, expert: int | None, now: float) -> list[Output]:
        """The customer spoke over an answer (barge-in): the newest answer is marked as not
        heard in full, in the conversation and the audit trail, and the expert falls silent
        (``expert``: the one speaking; ``None``: whoever gave the newest answer)."""
        last = self._last
        if last is None or not self.state.turns:
            return []
        expert = expert if expert is not None else last.expert
        self.state = self.state.interrupted()
        self.version += 1
        detail: Detail = {"q": last.question, "expert": expert if expert is not None else "-"}
        if expert is not None and expert in self.desk.experts:
            detail = {**detail, "persona": self.desk.experts[expert].persona.id}
        out: list[Output] = [self._room.audit(by, now, "answer.interrupted", "ok", detail)]
        if expert is not None:
            out += self._hush(expert)
        return out

    def briefing(self, why: str, language: str) -> m.AdvisorBrief:
        """What the advisor reads before walking in: the last turns of the conversation (an
        interrupted answer marked), the products discussed with their risk classes, the
        suitability decisions, and why a person was called. For the advisor's eyes only."""
        knowledge = self.expertise.knowledge
        turns = [
            m.BriefTurn(
                _shorten(t.question, limits.MAX_BRIEF_TEXT_CHARS) or "?",
                _shorten(",".join(t.answerers), limits.MAX_REASON_CHARS),
                _shorten(t.answer, limits.MAX_BRIEF_TEXT_CHARS),
                True if t.interrupted else None,
            )
            for t in self.state.turns[-limits.MAX_BRIEF_TURNS :]
        ]
        named = [p for t in self.state.turns for p in t.products]
        named += [d.product for d in self._decisions if d.product]
        products = []
        for product_id in reversed(dict.fromkeys(reversed(named))):  # each once, by last mention
            product = knowledge.products.get(product_id)
            if product is not None:
                name = product.name.get(language) or product.name["en"]
                products.append(
                    m.BriefProduct(
                        product.id,
                        _shorten(name, limits.MAX_TITLE_CHARS),
                        product.specialty.value,
                        product.risk,
                    )
                )
        return m.AdvisorBrief(
            _shorten(why, limits.MAX_REASON_CHARS),
            turns,
            products[-limits.MAX_BRIEF_ITEMS :],
            self._decisions[-limits.MAX_BRIEF_ITEMS :],
        )

    def on_summon(self, member: Member, msg: m.Summon, now: float) -> list[Output]:
        room = self._room
        if (denied := room.gate(member, now, Action.SUMMON, "summon")) is not None:
            return denied
        if self.desk.capacity == 0:
            return room.reject(
                member,
                now,
                ErrorCode.NO_EXPERT_SPOT,
                "this room has no place for experts",
                "summon",
            )
        prefs = Preferences(language=msg.lang, gender=msg.gender, persona=msg.persona)
        language = msg.lang or member.grant.language or "en"
        _, changes = self.desk.bring([Specialty(msg.sp)], prefs, language, now)
        return self._announce(changes, member, now)

    def on_dismiss(self, member: Member, msg: m.Dismiss, now: float) -> list[Output]:
        room = self._room
        if (denied := room.gate(member, now, Action.DISMISS, "dismiss")) is not None:
            return denied
        if msg.expert and msg.expert not in {x.entity for x in self.desk.active}:
            return room.reject(
                member, now, ErrorCode.NO_SUCH_EXPERT, f"no expert {msg.expert}", "dismiss"
            )
        changes = self.desk.dismiss(msg.expert or None, now)
        return self._announce(changes, member, now)

    def advance(self, now: float) -> list[Output]:
        return self._announce(self.desk.advance(now), None, now)

    def close(self, now: float) -> list[Output]:
        self._pending.clear()
        self.desk.clear()
        return []

    def dump(self) -> dict[str, Any]:
        return {
            "experts": [[x.persona.id, x.spot] for x in self.desk.active],
            "dialogue": {
                "state": dump_state(self.state),
                "turns": self._turns,
                "disclosed": sorted(self._disclosed),
                "decisions": [[d.sp, d.verdict, d.why, d.product] for d in self._decisions],
            },
        }

    def load(self, state: Mapping[str, Any], now: float) -> None:
        # Saved before rooms kept their conversation: the experts come back, the talk starts anew.
        saved = state.get("dialogue")
        if saved is not None:
            self.state = load_state(saved["state"])
            self._turns = int(saved["turns"])
            self._disclosed = {str(p) for p in saved["disclosed"]}
            self._decisions = [
                m.BriefDecision(str(sp), str(verdict), str(why), None if p is None else str(p))
                for sp, verdict, why, p in saved["decisions"]
            ]
        for persona_id, spot in state["experts"]:
            try:
                persona = self.expertise.personas.get(str(persona_id))
            except UnknownPersona:
                continue  # the bank retired the persona meanwhile: the expert does not come back
            self.desk.restore(persona, str(spot), now)

    def _announce(self, changes: list[Change], by: Member | None, now: float) -> list[Output]:
        room = self._room
        out: list[Output] = []
        for change in changes:
            expert = change.expert
            arrived = isinstance(change, Arrived)
            why = None if isinstance(change, Arrived) else change.why
            out += room.broadcast_reliable(
                partial(_expert_message, expert, "arrived" if arrived else "left", why, _ms(now))
            )
            persona = expert.persona
            detail: Detail = {
                "expert": expert.entity,
                "persona": persona.id,
                "specialty": persona.specialty.value,
            }
            if why is not None:
                out.append(room.audit(by, now, "expert.leave", why, detail))
            else:
                out.append(room.audit(by, now, "expert.summon", "ok", detail))
                # The label is on the avatar from its first frame: record that it was shown.
                shown: Detail = {"expert": expert.entity, "label": _label(persona.language)}
                out.append(room.audit(by, now, "ai.disclosure", "shown", shown))
        return out

    def _decided(self, member: Member, expert: Expert, brief: Brief, now: float) -> list[Output]:
        """Record the suitability decision; a hand-off pages an advisor."""
        verdict = brief.suitability
        product = subject(brief)
        detail: Detail = {
            "specialty": brief.specialty.value,
            "product": product.id if product else "-",
            "reason": verdict.reason,
            "profile": f"C{brief.profile.risk}" if brief.profile.risk else "none",
        }
        if product is not None:
            detail = {**detail, "risk": f"R{product.risk}"}
        out: list[Output] = [
            self._room.audit(member, now, "suitability.decision", verdict.verdict.value, detail)
        ]
        self._decisions.append(
            m.BriefDecision(
                brief.specialty.value,
                verdict.verdict.value,
                _shorten(verdict.reason, limits.MAX_REASON_CHARS),
                product.id if product else None,
            )
        )
        del self._decisions[: -limits.MAX_BRIEF_ITEMS]
        if verdict.verdict is Verdict.HANDOFF:
            out += self._handoffs.page(
                member,
                brief.specialty,
                product.id if product else None,
                verdict.reason,
                now,
                language=brief.language,
            )
        return out

    def _post_answer(  # noqa: PLR0913 - the answer with its asker, expert and language
        self,
        expert: Expert | None,
        reply: Reply,
        question: int,
        asker: Member | None,
        now: float,
        *,
        language: str,
        guarded: bool,
        specialty: Specialty | None = None,
        expert_id: int | None = None,
    ) -> list[Output]:
        room = self._room
        # The label is read by the one who asked: in their chosen language when the token
        # names one, else in the question's (the answer's) language.
        label = reply.label
        if asker is not None and asker.grant.language:
            label = _label(asker.grant.language)
        out = room.broadcast_reliable(
            lambda seq: m.Answer(
                seq,
                reply.text,
                label,
                language,
                list(reply.sources),
                reply.handoff,
                question,
                _ms(now),
                expert_id,
                specialty.value if specialty else None,
                reply.risk_class,
                reply.product,
                reply.reason,
            )
        )
        self._last = _Spoken(question, expert.entity if expert is not None else None)
        if expert is not None:
            expert.last_active = now
        detail: Detail = {
            "q": question,
            "seq": room.seq,
            "specialty": specialty.value if specialty else "-",
            "persona": expert.persona.id if expert else "concierge",
            "sources": ",".join(reply.sources) or "-",
            "risk": f"R{reply.risk_class}" if reply.risk_class else "-",
            "handoff": reply.handoff,
            "guarded": guarded,
            "content": self.expertise.version,
            # The bank's own words to its customer: compliance keeps them whole.
            "text": reply.text,
        }
        out.append(room.audit(asker, now, "expert.answer", "ok", detail))
        if expert is not None and self._voiced():
            persona = expert.persona
            text = reply.text
            if persona.id not in self._disclosed:
                # Heard, an expert has no label: its first words in a session say what it is.
                self._disclosed.add(persona.id)
                said = _disclosure(persona)
                text = f"{said} {text}"
                shown: Detail = {"expert": expert.entity, "persona": persona.id, "said": said}
                out.append(room.audit(asker, now, "ai.disclosure", "spoken", shown))
            out.append(Speak(expert.entity, persona.id, text, language))
        return out

    def _language(self, msg: m.Ask) -> str | None:
        """The answer's language if the customer chose one: asked for, or a persona's."""
        if msg.lang:
            return msg.lang
        if msg.persona:
            try:
                return self.expertise.personas.get(msg.persona).language
            except UnknownPersona:
                return None
        return None


def _expert_message(expert: Expert, st: str, why: str | None, at: int, seq: int) -> m.ExpertCame:
    p = expert.persona
    return m.ExpertCame(
        seq,
        expert.entity,
        st,
        p.id,
        expert.name,
        p.specialty.value,
        p.language,
        p.dialect,
        p.gender,
        p.age,
        _label(p.language),
        at,
        why,
    )


def _dialogue(expertise: Expertise) -> Dialogue:
    shared = default_expertise()
    if expertise.retriever is not None:
        retriever = expertise.retriever  # built with the content it indexes
    elif expertise.knowledge is shared.knowledge:
        retriever = default_retriever()  # built once per process
    else:
        retriever = Retriever(expertise.knowledge)
    return Dialogue(expertise.router, expertise.knowledge, retriever)


def _spoken_by(plan: Plan, persona: Persona) -> Plan:
    """The plan as ``persona`` answers it: a Chinese-speaking persona answers a Chinese
    question in its own written language (a Cantonese expert in written Cantonese)."""
    if plan.language in CHINESE and persona.language in CHINESE:
        return replace(plan, language=persona.language)
    return plan


def _disclosure(persona: Persona) -> str:
    language = persona.language
    name = persona.name.get(language) or persona.name.get("zh" if language in CHINESE else "en")
    return AI_SPOKEN.get(language, AI_SPOKEN["en"]).format(name=name or persona.id)


def _shorten(text: str, most: int) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"


def _label(language: str) -> str:
    return AI_LABEL.get(language, AI_LABEL["en"])


def _ms(now: float) -> int:
    return max(0, int(now * 1000))
