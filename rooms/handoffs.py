"""Hand-offs: a room pages a human advisor, and its members follow the page until they arrive.

A page starts when the customer asks for a person (``help``), confirms interest in a product,
or when the suitability decision for a question says an advisor must take over
(:mod:`rooms.questions` calls :meth:`Handoffs.page`). It raises a
:class:`~rooms.outputs.PageRequest` for the shell, which reports progress back through
:meth:`Handoffs.page_update`; members see each step as a ``handoff`` message, until the
advisor walks in (or the customer leaves, which cancels it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from avatars.knowledge import Knowledge
from avatars.specialties import Specialty
from protocol import messages as m
from protocol.codec import struct_to_wire
from protocol.codes import ErrorCode
from protocol.errors import ProtocolError
from rooms.audit import Detail
from rooms.context import RoomContext
from rooms.feature import Feature, Handler
from rooms.handoff_words import (
    ACCEPTED,
    ASKED,
    ASKING,
    BOOKED,
    HERE,
    INTEREST,
    LEFT,
    LOOKING,
    UNAVAILABLE,
    said,
)
from rooms.members import Member
from rooms.outputs import Output, PageCancel, PageRequest
from rooms.roles import Action, Role
from rooms.stepup import StepUp


@dataclass(slots=True)
class _Page:
    id: str
    skill: Specialty | None
    state: str  # paging, coming
    advisor: str | None = None  # subject, once one accepted
    brief: m.AdvisorBrief | None = None  # what the advisor is given to read
    language: str = "en"  # of the notices members read
    booked: bool = False  # an appointment's: it outlives the customer stepping out


# The conversation so far, as an advisor reads it: ``(why a person is called, language)``.
Briefing = Callable[[str, str], m.AdvisorBrief]


class Handoffs(Feature):
    def __init__(
        self,
        room: RoomContext,
        knowledge: Knowledge,
        stepup: StepUp,
        *,
        briefing: Briefing | None = None,
    ) -> None:
        self._room = room
        self._knowledge = knowledge
        self._stepup = stepup  # confirming interest in a product needs the second factor
        self._briefing = briefing
        self._pages: dict[str, _Page] = {}
        self._paged = 0
        self.interests: list[str] = []  # products the customer confirmed, for their summary

    def handlers(self) -> Mapping[type[m.Message], Handler]:
        return {m.Help: self.on_help, m.ConfirmInterest: self.on_interest}

    def on_help(self, member: Member, msg: m.Help, now: float) -> list[Output]:
        if (denied := self._room.gate(member, now, Action.HELP, "help")) is not None:
            return denied
        language = member.grant.language or "en"
        reason = ASKED
        advisor = next((mb for mb in self._room.joined if mb.role is Role.ADVISOR), None)
        if advisor is not None:
            return self._here(member, advisor, reason, now, language=language)
        return self.page(member, None, None, reason, now, language=language)

    def on_interest(self, member: Member, msg: m.ConfirmInterest, now: float) -> list[Output]:
        """The customer wants a product: an advisor follows up; never an expert."""
        room = self._room
        refused = self._stepup.require(member, now, Action.CONFIRM_INTEREST, "interest")
        if refused is not None:
            return refused
        product = self._knowledge.products.get(msg.product)
        if product is None:
            return room.reject(
                member, now, ErrorCode.BAD_VALUE, f"no product {msg.product!r}", "interest"
            )
        detail: Detail = {
            "product": product.id,
            "risk": f"R{product.risk}",
            "profile": f"C{member.grant.risk}" if member.grant.risk else "none",
        }
        out: list[Output] = [room.audit(member, now, "product.interest", "ok", detail)]
        self.interests.append(product.id)
        reason = INTEREST
        language = member.grant.language or "en"
        return out + self.page(
            member, product.specialty, product.id, reason, now, language=language
        )

    def page(
        self,
        member: Member,
        skill: Specialty | None,
        product: str | None,
        reason: str,
        now: float,
        *,
        language: str,
    ) -> list[Output]:
        """Page an advisor with ``skill`` (``None``: any) on behalf of ``member``."""
        if any(p.skill in (skill, None) for p in self._pages.values()):
            return []  # an advisor for this is already on the way
        room = self._room
        self._paged += 1
        page_id = f"{room.id}-{int(now * 1000)}-{self._paged}"
        brief = self._briefing(reason, language) if self._briefing is not None else None
        self._pages[page_id] = _Page(page_id, skill, "paging", brief=brief, language=language)
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
            brief,
        )
        sp = skill.value if skill else None
        why = said(reason, language)
        out = room.broadcast_reliable(
            lambda seq: m.Handoff(seq, page_id, "paging", why, _ms(now), sp)
        )
        detail: Detail = {"page": page_id, "specialty": sp or "any", "reason": reason}
        if product:
            detail = {**detail, "product": product}
        out.append(room.audit(member, now, "handoff.page", "ok", detail))
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
        room = self._room
        sp = page.skill.value if page.skill else None
        if state == "coming":
            page.state, page.advisor = "coming", advisor
            here = [mb for mb in room.joined if advisor is not None and mb.grant.subject == advisor]
            if here:
                return self._arrived(page, here[0], advisor_name, now)
        words = {"coming": ACCEPTED, "paging": LOOKING, "unavailable": UNAVAILABLE}
        if why is not None:
            why = said(why, page.language)
        elif state == "paging" and advisor_name:
            why = said(ASKING, page.language, name=advisor_name)
        else:
            why = said(words.get(state, state), page.language)
        out = room.broadcast_reliable(
            lambda seq: m.Handoff(seq, page_id, state, why, _ms(now), sp, advisor_name, eta_s)
        )
        detail: Detail = {"page": page_id, "state": state}
        if advisor:
            detail = {**detail, "advisor": advisor}
        out.append(room.audit(None, now, "handoff.update", state, detail))
        return out

    def expect(
        self, page_id: str, advisor_name: str, now: float, *, language: str = "en"
    ) -> list[Output]:
        """A booked appointment's page, raised by the shell at its time: members follow it as
        any page, and the advisor who takes it is handed the briefing as they walk in."""
        if page_id in self._pages:
            return []
        room = self._room
        brief = self._briefing(BOOKED, language) if self._briefing is not None else None
        page = _Page(page_id, None, "paging", brief=brief, language=language, booked=True)
        self._pages[page_id] = page
        why = said(ASKING, language, name=advisor_name)
        out = room.broadcast_reliable(
            lambda seq: m.Handoff(seq, page_id, "paging", why, _ms(now), None, advisor_name)
        )
        detail: Detail = {"page": page_id, "specialty": "any", "reason": BOOKED}
        out.append(room.audit(None, now, "handoff.page", "ok", detail))
        return out

    def is_open(self, page_id: str) -> bool:
        return page_id in self._pages

    def open_pages(self) -> list[str]:
        """Pages still waiting for an advisor to accept."""
        return [p.id for p in self._pages.values() if p.state == "paging"]

    def on_join(self, member: Member, now: float) -> list[Output]:
        if member.role is not Role.ADVISOR:
            return []
        out: list[Output] = []
        for page in list(self._pages.values()):
            if page.advisor == member.grant.subject:
                out += self._arrived(page, member, member.name, now)
        return out

    def on_leave(self, member: Member, now: float) -> list[Output]:
        if member.role is not Role.CUSTOMER or self._customer() is not None:
            return []
        room = self._room
        out: list[Output] = []
        for page in list(self._pages.values()):
            if page.booked:
                continue  # the appointment stands: its advisor comes, the customer may return
            del self._pages[page.id]
            sp = page.skill.value if page.skill else None
            why = said(LEFT, page.language)
            out += room.broadcast_reliable(partial(_cancelled, page.id, why, _ms(now), sp))
            out.append(room.audit(member, now, "handoff.cancel", "ok", {"page": page.id}))
            out.append(PageCancel(page.id))
        return out

    def close(self, now: float) -> list[Output]:
        out: list[Output] = [PageCancel(p) for p in self._pages]
        self._pages.clear()
        return out

    def dump(self) -> dict[str, Any]:
        return {
            "pages": [
                [
                    p.id,
                    p.skill.value if p.skill else None,
                    p.state,
                    p.advisor,
                    struct_to_wire(m.BRIEFING, p.brief) if p.brief else None,
                    p.language,
                    p.booked,
                ]
                for p in self._pages.values()
            ],
            "paged": self._paged,
            "interests": list(self.interests),
        }

    def load(self, state: Mapping[str, Any], now: float) -> None:
        for page_id, skill, st, advisor, *rest in state["pages"]:
            # A page saved before pages carried a briefing has four fields; before they
            # kept their language, five.
            try:
                brief = m.BRIEFING.check(rest[0], "brief") if rest and rest[0] else None
            except ProtocolError as exc:
                raise ValueError(f"page {page_id}: {exc}") from exc
            language = str(rest[1]) if len(rest) > 1 else "en"
            booked = bool(rest[2]) if len(rest) > 2 else False  # saved before appointments
            self._pages[str(page_id)] = _Page(
                str(page_id),
                Specialty(skill) if skill else None,
                str(st),
                advisor,
                brief,
                language,
                booked,
            )
        self._paged = int(state["paged"])
        self.interests = [str(p) for p in state.get("interests", [])]  # absent before summaries

    def _here(
        self, member: Member, advisor: Member, reason: str, now: float, *, language: str
    ) -> list[Output]:
        """A person is asked for while an advisor sits in the room: nobody is paged (no
        advisor elsewhere is free for a customer who has one); the advisor is handed the
        briefing and everyone hears that their advisor is here."""
        self._paged += 1
        page_id = f"{self._room.id}-{int(now * 1000)}-{self._paged}"
        brief = self._briefing(reason, language) if self._briefing is not None else None
        page = _Page(page_id, None, "coming", advisor.grant.subject, brief, language)
        self._pages[page_id] = page
        detail: Detail = {"page": page_id, "specialty": "any", "reason": reason, "here": True}
        out: list[Output] = [self._room.audit(member, now, "handoff.page", "ok", detail)]
        return out + self._arrived(page, advisor, advisor.name, now)

    def _arrived(self, page: _Page, advisor: Member, name: str | None, now: float) -> list[Output]:
        """The advisor who accepted walks in: they alone are handed the briefing, then
        everyone hears they are here (and, if briefed, that they read the conversation)."""
        del self._pages[page.id]
        sp = page.skill.value if page.skill else None
        room = self._room
        out: list[Output] = []
        read = None
        if page.brief is not None:
            read = True
            out.append(room.direct(advisor, m.Briefing(page.id, page.brief)))
            briefed: Detail = {"page": page.id, "turns": len(page.brief.turns)}
            out.append(room.audit(advisor, now, "handoff.briefed", "ok", briefed))
        out += room.broadcast_reliable(
            lambda seq: m.Handoff(
                seq, page.id, "arrived", said(HERE, page.language), _ms(now), sp, name, read=read
            )
        )
        detail: Detail = {"page": page.id, "advisor": page.advisor or "-"}
        out.append(room.audit(None, now, "handoff.arrived", "ok", detail))
        return out

    def _customer(self) -> Member | None:
        return next((mb for mb in self._room.joined if mb.role is Role.CUSTOMER), None)


def _cancelled(page: str, why: str, at: int, sp: str | None, seq: int) -> m.Handoff:
    return m.Handoff(seq, page, "cancelled", why, at, sp)


def _ms(now: float) -> int:
    return max(0, int(now * 1000))
