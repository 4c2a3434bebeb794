"""Questions and the digital experts who answer them.

A question is routed, the experts it needs appear in the scene at once (:mod:`rooms.experts`
keeps who stands where), and for each a :class:`~rooms.outputs.Consult` asks the shell for a
drafted answer, which comes back through :meth:`Questions.answered` and passes the guardrails
before anyone sees it. Suitability is decided here, before any brain is asked; when it says a
person must take over, :mod:`rooms.handoffs` pages one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from avatars.advice import AI_LABEL, Brief, Profile, Reply, Verdict
from avatars.expertise import Expertise, concierge_reply
from avatars.guardrails import guard
from avatars.personas import Persona, Preferences, UnknownPersona
from avatars.specialties import Specialty
from avatars.suitability import prepare, subject
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

# "All of you" with no topic named and no expert in the room yet: the bank's core panel.
DEFAULT_PANEL = (Specialty.STOCKS, Specialty.BONDS, Specialty.FUNDS, Specialty.INSURANCE)


@dataclass(slots=True)
class _Pending:
    question: int  # seq of the ``asked`` message
    expert: int  # entity id
    brief: Brief
    asker: int


class Questions(Feature):
    def __init__(
        self,
        room: RoomContext,
        expertise: Expertise,
        handoffs: Handoffs,
        *,
        voiced: Callable[[], bool],
    ) -> None:
        self._room = room
        self.expertise = expertise
        self._handoffs = handoffs  # a question that needs a person pages one
        self._voiced = voiced  # does anyone take media? only then are answers spoken
        self._pending: dict[int, _Pending] = {}
        self._tickets = 0
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

    def persona(self, persona_id: str) -> Persona:
        """The persona ``persona_id`` (raises :class:`~avatars.personas.UnknownPersona`)."""
        return self.expertise.personas.get(persona_id)

    def on_ask(self, member: Member, msg: m.Ask, now: float) -> list[Output]:
        room = self._room
        if (denied := room.gate(member, now, Action.ASK, "ask")) is not None:
            return denied
        if not member.chats.take(now):
            return room.rate_limited(member, now, what="questions")
        routing = self.expertise.router.route(msg.text, recent=self.desk.recent())
        specialties = list(routing.specialties)
        if routing.everyone and not specialties:
            specialties = self.desk.recent() or list(DEFAULT_PANEL)
        language = msg.lang or routing.language
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
            "lang": routing.language,
        }
        out.append(room.audit(member, now, "expert.ask", "ok", detail))
        if not specialties:
            reply = concierge_reply(language)
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
        profile = Profile(member.grant.risk, language)
        for expert in experts:
            brief = prepare(
                msg.text, expert.specialty, profile, self.expertise.knowledge, language=language
            )
            out += self._decided(member, expert, brief, now)
            self._tickets += 1
            self._pending[self._tickets] = _Pending(question, expert.entity, brief, member.id)
            out.append(Consult(self._tickets, brief))
        return out

    def answered(self, ticket: int, draft: Reply, now: float) -> list[Output]:
        """A brain's draft for ``ticket``: guarded, then posted to every member."""
        pending = self._pending.pop(ticket, None)
        if pending is None:
            return []  # the room closed, or the answer came twice
        reply = guard(draft, pending.brief)
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
        return {"experts": [[x.persona.id, x.spot] for x in self.desk.active]}

    def load(self, state: Mapping[str, Any], now: float) -> None:
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
        out = room.broadcast_reliable(
            lambda seq: m.Answer(
                seq,
                reply.text,
                reply.label,
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
            # The bank's own words to its customer: compliance keeps them whole.
            "text": reply.text,
        }
        out.append(room.audit(asker, now, "expert.answer", "ok", detail))
        if expert is not None and self._voiced():
            out.append(Speak(expert.entity, expert.persona.id, reply.text, language))
        return out


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


def _label(language: str) -> str:
    return AI_LABEL.get(language, AI_LABEL["en"])


def _ms(now: float) -> int:
    return max(0, int(now * 1000))
