"""The advice side of a room: questions, digital experts, hand-offs to a human, the wall screen.

Owned by :class:`rooms.room.Room` and, like it, pure: a question is routed, the experts it
needs appear in the scene at once, and for each a :class:`~rooms.outputs.Consult` asks the
shell for a drafted answer, which comes back through :meth:`Consulting.answered` and passes the
guardrails before anyone sees it. Suitability is decided here, before any brain is asked; a
hand-off raises a :class:`~rooms.outputs.PageRequest` and members follow it through ``handoff``
messages until the advisor walks in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

from avatars.advice import AI_LABEL, Brief, Profile, Reply, Verdict
from avatars.appearance import DEFAULT_LOOK
from avatars.expertise import Expertise, concierge_reply
from avatars.guardrails import guard
from avatars.personas import Preferences
from avatars.specialties import Specialty
from avatars.suitability import prepare, subject
from protocol import messages as m
from protocol.codes import ErrorCode
from protocol.pose import AvatarPose, Part
from protocol.quantise import pack_quat, pos_to_mm, yaw_quat
from rooms.audit import Detail, text_digest
from rooms.experts import Arrived, Change, Expert, ExpertDesk
from rooms.members import Member, Phase
from rooms.outputs import Audit, Consult, Frame, Output, PageCancel, PageRequest, Speak
from rooms.roles import Action, Role
from scenes.scene import NO_MEMBER, SCREEN

if TYPE_CHECKING:
    from rooms.room import Room

# "All of you" with no topic named and no expert in the room yet: the bank's core panel.
DEFAULT_PANEL = (Specialty.STOCKS, Specialty.BONDS, Specialty.FUNDS, Specialty.INSURANCE)


@dataclass(slots=True)
class _Pending:
    question: int  # seq of the ``asked`` message
    expert: int  # entity id
    brief: Brief
    asker: int


@dataclass(slots=True)
class _Page:
    id: str
    skill: Specialty | None
    state: str  # paging, coming
    advisor: str | None = None  # subject, once one accepted


@dataclass(slots=True)
class _Showing:
    entity: int
    presented: bytes = b""  # the encoded ``presented`` message, for members who arrive later
    seq: int = 0


@dataclass(slots=True)
class Consulting:
    room: Room
    expertise: Expertise
    desk: ExpertDesk = field(init=False)
    _pending: dict[int, _Pending] = field(default_factory=dict)
    _tickets: int = 0
    _pages: dict[str, _Page] = field(default_factory=dict)
    _paged: int = 0
    _screens: dict[str, _Showing] = field(default_factory=dict)
    _contents: int = 0

    def __post_init__(self) -> None:
        lim = self.room.limits
        self.desk = ExpertDesk(
            self.room.scene,
            self.expertise.personas,
            self.room.scene.layout.expert_spots,
            max_experts=lim.max_experts,
            idle_s=lim.expert_idle_s,
            transition_s=lim.expert_transition_s,
        )

    # --- questions and experts -------------------------------------------------------------

    def on_ask(self, member: Member, msg: m.Ask, now: float) -> list[Output]:
        room = self.room
        if (denied := room._gate(member, now, Action.ASK, "ask")) is not None:
            return denied
        if not member.chats.take(now):
            return room._rate_limited(member, now, what="questions")
        routing = self.expertise.router.route(msg.text, recent=self.desk.recent())
        specialties = list(routing.specialties)
        if routing.everyone and not specialties:
            specialties = self.desk.recent() or list(DEFAULT_PANEL)
        language = msg.lang or routing.language
        out = room._broadcast_reliable(
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
        out.append(room._audit(member, now, "expert.ask", "ok", detail))
        if not specialties:
            reply = concierge_reply(language)
            return out + self._post_answer(
                None, reply, question, member, now, language=language, guarded=False
            )
        if self.desk.capacity == 0:
            return out + room._reject(
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
        asker = self.room.members.get(pending.asker)
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
        room = self.room
        if (denied := room._gate(member, now, Action.SUMMON, "summon")) is not None:
            return denied
        if self.desk.capacity == 0:
            return room._reject(
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
        room = self.room
        if (denied := room._gate(member, now, Action.DISMISS, "dismiss")) is not None:
            return denied
        if msg.expert and msg.expert not in {x.entity for x in self.desk.active}:
            return room._reject(
                member, now, ErrorCode.NO_SUCH_EXPERT, f"no expert {msg.expert}", "dismiss"
            )
        changes = self.desk.dismiss(msg.expert or None, now)
        return self._announce(changes, member, now)

    def advance(self, now: float) -> list[Output]:
        """Once per tick, before the state is published."""
        return self._announce(self.desk.advance(now), None, now)

    def _announce(self, changes: list[Change], by: Member | None, now: float) -> list[Output]:
        out: list[Output] = []
        for change in changes:
            expert = change.expert
            arrived = isinstance(change, Arrived)
            why = None if isinstance(change, Arrived) else change.why
            out += self.room._broadcast_reliable(
                partial(_expert_message, expert, "arrived" if arrived else "left", why, _ms(now))
            )
            persona = expert.persona
            detail: Detail = {
                "expert": expert.entity,
                "persona": persona.id,
                "specialty": persona.specialty.value,
            }
            if why is not None:
                out.append(self._audit(by, now, "expert.leave", why, detail))
            else:
                out.append(self._audit(by, now, "expert.summon", "ok", detail))
                # The label is on the avatar from its first frame: record that it was shown.
                shown: Detail = {"expert": expert.entity, "label": _label(persona.language)}
                out.append(self._audit(by, now, "ai.disclosure", "shown", shown))
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
            self.room._audit(member, now, "suitability.decision", verdict.verdict.value, detail)
        ]
        if verdict.verdict is Verdict.HANDOFF:
            out += self._page(
                member,
                brief.specialty,
                product.id if product else None,
                verdict.reason,
                now,
                language=brief.language,
            )
        return out

    def _post_answer(
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
        room = self.room
        out = room._broadcast_reliable(
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
        out.append(self._audit(asker, now, "expert.answer", "ok", detail))
        if expert is not None and room.media.wanted:
            out.append(Speak(expert.entity, expert.persona.id, reply.text, language))
        return out

    # --- human advisors ----------------------------------------------------------------------

    def on_help(self, member: Member, msg: m.Help, now: float) -> list[Output]:
        room = self.room
        if (denied := room._gate(member, now, Action.HELP, "help")) is not None:
            return denied
        language = member.grant.language or "en"
        return self._page(
            member, None, None, "the customer asked for a person", now, language=language
        )

    def on_interest(self, member: Member, msg: m.ConfirmInterest, now: float) -> list[Output]:
        """The customer wants a product: an advisor follows up; never an expert."""
        room = self.room
        refused = room.stepup.require(member, now, Action.CONFIRM_INTEREST, "interest")
        if refused is not None:
            return refused
        product = self.expertise.knowledge.products.get(msg.product)
        if product is None:
            return room._reject(
                member, now, ErrorCode.BAD_VALUE, f"no product {msg.product!r}", "interest"
            )
        detail: Detail = {
            "product": product.id,
            "risk": f"R{product.risk}",
            "profile": f"C{member.grant.risk}" if member.grant.risk else "none",
        }
        out: list[Output] = [room._audit(member, now, "product.interest", "ok", detail)]
        reason = "the customer confirmed interest in a product"
        language = member.grant.language or "en"
        return out + self._page(
            member, product.specialty, product.id, reason, now, language=language
        )

    def _page(
        self,
        member: Member,
        skill: Specialty | None,
        product: str | None,
        reason: str,
        now: float,
        *,
        language: str,
    ) -> list[Output]:
        if any(p.skill in (skill, None) for p in self._pages.values()):
            return []  # an advisor for this is already on the way
        room = self.room
        self._paged += 1
        page_id = f"{room.id}-{int(now * 1000)}-{self._paged}"
        self._pages[page_id] = _Page(page_id, skill, "paging")
        owner = self._customer() or member
        request = PageRequest(
            page_id,
            room.id,
            owner.grant.subject,
            owner.name,
            skill,
            language,
            product,
            reason,
            owner.grant.risk,
        )
        sp = skill.value if skill else None
        out = room._broadcast_reliable(
            lambda seq: m.Handoff(seq, page_id, "paging", reason, _ms(now), sp)
        )
        detail: Detail = {"page": page_id, "specialty": sp or "any", "reason": reason}
        if product:
            detail = {**detail, "product": product}
        out.append(room._audit(member, now, "handoff.page", "ok", detail))
        out.append(request)
        return out

    def page_update(
        self,
        page_id: str,
        state: str,
        now: float,
        *,
        advisor: str | None = None,
        advisor_name: str | None = None,
        eta_s: int | None = None,
        why: str | None = None,
    ) -> list[Output]:
        """Progress of a page, from the shell: ``coming`` (accepted), ``unavailable``."""
        page = self._pages.get(page_id)
        if page is None:
            return []
        if page.state == "coming":
            # Accepted already (the news may come twice: over the bus and from the board);
            # only the advisor's arrival moves it on.
            return []
        room = self.room
        sp = page.skill.value if page.skill else None
        if state == "coming":
            page.state, page.advisor = "coming", advisor
            if advisor is not None and any(
                mb.grant.subject == advisor and mb.phase is Phase.JOINED
                for mb in room.members.values()
            ):
                return self._arrived(page, advisor_name, now)
        why = why or {
            "coming": "an advisor accepted",
            "paging": f"asking {advisor_name}" if advisor_name else "looking for an advisor",
            "unavailable": "no advisor is free right now; you stay in the queue",
        }.get(state, state)
        out = room._broadcast_reliable(
            lambda seq: m.Handoff(seq, page_id, state, why, _ms(now), sp, advisor_name, eta_s)
        )
        detail: Detail = {"page": page_id, "state": state}
        if advisor:
            detail = {**detail, "advisor": advisor}
        out.append(self._audit(None, now, "handoff.update", state, detail))
        return out

    def is_open(self, page_id: str) -> bool:
        return page_id in self._pages

    def open_pages(self) -> list[str]:
        """Pages still waiting for an advisor to accept."""
        return [p.id for p in self._pages.values() if p.state == "paging"]

    def member_joined(self, member: Member, now: float) -> list[Output]:
        if member.role is not Role.ADVISOR:
            return []
        out: list[Output] = []
        for page in list(self._pages.values()):
            if page.advisor == member.grant.subject:
                out += self._arrived(page, member.name, now)
        return out

    def resume(self, member: Member, since: int | None, floor: int) -> list[Output]:
        """Screens showing something the member has not seen: they arrived after it was put
        up (the replay covers only what happened since their first arrival)."""
        return self._screens_for(member, since, floor)

    def member_left(self, member: Member, now: float) -> list[Output]:
        if member.role is not Role.CUSTOMER or self._customer() is not None:
            return []
        out: list[Output] = []
        for page in list(self._pages.values()):
            del self._pages[page.id]
            sp = page.skill.value if page.skill else None
            out += self.room._broadcast_reliable(partial(_cancelled, page.id, _ms(now), sp))
            out.append(self._audit(member, now, "handoff.cancel", "ok", {"page": page.id}))
            out.append(PageCancel(page.id))
        return out

    def close(self) -> list[Output]:
        out: list[Output] = [PageCancel(p) for p in self._pages]
        self._pages.clear()
        self._pending.clear()
        self.desk.clear()
        return out

    def _arrived(self, page: _Page, name: str | None, now: float) -> list[Output]:
        del self._pages[page.id]
        sp = page.skill.value if page.skill else None
        out = self.room._broadcast_reliable(
            lambda seq: m.Handoff(
                seq, page.id, "arrived", "your advisor is here", _ms(now), sp, name
            )
        )
        detail: Detail = {"page": page.id, "advisor": page.advisor or "-"}
        out.append(self._audit(None, now, "handoff.arrived", "ok", detail))
        return out

    def _customer(self) -> Member | None:
        return next(
            (mb for mb in self.room.joined if mb.role is Role.CUSTOMER),
            None,
        )

    # --- the wall screen ------------------------------------------------------------------

    def on_present(self, member: Member, msg: m.Present, now: float) -> list[Output]:
        room = self.room
        if (denied := room._gate(member, now, Action.PRESENT, "present")) is not None:
            return denied
        if len(msg.labels) != len(msg.values):
            detail = f"{len(msg.labels)} labels but {len(msg.values)} values"
            return room._reject(member, now, ErrorCode.BAD_VALUE, detail, "present")
        screen = self._screen(msg.screen)
        if screen is None:
            return room._reject(
                member, now, ErrorCode.NO_SUCH_SCREEN, f"no screen {msg.screen!r}", "present"
            )
        self._contents += 1
        return self._show(member, screen, f"chart-{self._contents}", msg, now)

    def on_unpresent(self, member: Member, msg: m.Unpresent, now: float) -> list[Output]:
        room = self.room
        if (denied := room._gate(member, now, Action.PRESENT, "unpresent")) is not None:
            return denied
        screen = self._screen(msg.screen)
        if screen is None:
            return room._reject(
                member, now, ErrorCode.NO_SUCH_SCREEN, f"no screen {msg.screen!r}", "unpresent"
            )
        return self._show(member, screen, "", m.Present("", [], []), now)

    def _screen(self, wanted: str | None) -> str | None:
        ids = [s.id for s in self.room.scene.layout.screens]
        if wanted is None:
            return ids[0] if ids else None
        return wanted if wanted in ids else None

    def _show(
        self, member: Member, screen_id: str, content: str, chart: m.Present, now: float
    ) -> list[Output]:
        room = self.room
        showing = self._put_screen(screen_id, content, chart.title)
        out = room._broadcast_reliable(
            lambda seq: m.Presented(
                seq,
                screen_id,
                content,
                chart.title,
                chart.labels,
                chart.values,
                member.id,
                _ms(now),
            )
        )
        showing.seq = room.seq
        showing.presented = room._log[-1][1]
        detail: Detail = {
            "screen": screen_id,
            "content": content or "-",
            "items": len(chart.labels),
            "sha256": text_digest(chart.title + "|" + "|".join(chart.labels)),
        }
        action = "screen.present" if content else "screen.clear"
        out.append(room._audit(member, now, action, "ok", detail))
        return out

    def _restore_screen(self, screen_id: str, shown: m.Presented, data: bytes, seq: int) -> None:
        """A screen's content after failover; the presentation itself is in the log."""
        if self._screen(screen_id) is None:
            return
        self._put_screen(screen_id, shown.c, shown.title)
        self._screens[screen_id].presented, self._screens[screen_id].seq = data, seq

    def _put_screen(self, screen_id: str, content: str, title: str) -> _Showing:
        room = self.room
        showing = self._screens.get(screen_id)
        if showing is None:
            screen = next(s for s in room.scene.layout.screens if s.id == screen_id)
            rot = pack_quat(yaw_quat(math.radians(screen.yaw_deg)))
            entity = room.scene.spawn(
                SCREEN,
                NO_MEMBER,
                title,
                "screen",
                AvatarPose(Part(pos_to_mm(screen.center), rot)),
                look=DEFAULT_LOOK,
                content=content,
            )
            showing = self._screens[screen_id] = _Showing(entity.id)
        else:
            room.scene.rename(showing.entity, title)
            room.scene.stage(showing.entity, content=content)
        return showing

    def _screens_for(self, member: Member, since: int | None, floor: int = -1) -> list[Output]:
        return [
            Frame((member.id,), s.presented, reliable=True)
            for s in self._screens.values()
            if s.presented and s.seq <= floor and (since is None or s.seq > since)
        ]

    # --- helpers -------------------------------------------------------------------------------

    def _audit(
        self, member: Member | None, now: float, action: str, outcome: str, detail: Detail
    ) -> Audit:
        return self.room._audit(member, now, action, outcome, detail)


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


def _cancelled(page: str, at: int, sp: str | None, seq: int) -> m.Handoff:
    return m.Handoff(seq, page, "cancelled", "the customer left", at, sp)


def _label(language: str) -> str:
    return AI_LABEL.get(language, AI_LABEL["en"])


def _ms(now: float) -> int:
    return max(0, int(now * 1000))
