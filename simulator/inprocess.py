"""Drive a pure room in this process, without sockets: the same room code the server runs.

:func:`ask_turns` is what ``run_server.py ask`` prints: one customer, one conversation, and for
each question the experts it brought, what they said, and whether a human must take over.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from avatars.advice import Brain
from avatars.expertise import Expertise, default_expertise
from avatars.local_brain import LocalBrain
from protocol import messages as m
from protocol.codec import decode, encode
from protocol.messages import Direction
from rooms.dispatch import dispatch
from rooms.members import Grant
from rooms.outputs import (
    Audit,
    CheckFactor,
    Close,
    Consult,
    FetchPortfolio,
    Frame,
    InviteOutput,
    MediaOutput,
    Output,
    PageCancel,
    PageRequest,
)
from rooms.roles import Role
from rooms.room import Room
from scenes.layout import load_layout

_NOW = 1_700_000_000.0  # a fixed clock: the answer does not depend on when it is asked


@dataclass
class Session:
    room: Room
    member: int
    brain: Brain
    received: list[Any] = field(default_factory=list)
    pages: list[PageRequest] = field(default_factory=list)
    consults: list[Consult] = field(default_factory=list)  # to answer, in the room's order

    async def run(self, outputs: list[Output]) -> None:
        """Carry out outputs as the server would, consults included, until none are left."""
        while outputs:
            dispatch(outputs, self)
            consults, self.consults = self.consults, []
            outputs = []
            for consult in consults:
                draft = await self.brain.answer(consult.brief)
                outputs += self.room.answered(consult.ticket, draft, _NOW)

    def on_frame(self, out: Frame) -> None:
        if self.member in out.to:
            self.received.append(decode(out.data, Direction.SERVER))

    def on_consult(self, out: Consult) -> None:
        self.consults.append(out)  # the brain is awaited; ``run`` answers it after this batch

    def on_page_request(self, out: PageRequest) -> None:
        self.pages.append(out)

    # One question from the command line: the room is thrown away after it, and what it
    # prints is the answers and the pages, so the other outputs have nothing to reach.

    def on_close(self, out: Close) -> None:
        """Ignored: no socket to close; the command ends after its question anyway."""

    def on_audit(self, out: Audit) -> None:
        """Ignored: the command keeps no audit log."""

    def on_page_cancel(self, out: PageCancel) -> None:
        """Ignored: pages are only reported, never posted, so there is nothing to cancel."""

    def on_check_factor(self, out: CheckFactor) -> None:
        """Ignored: the command asks a question, it never steps up."""

    def on_fetch_portfolio(self, out: FetchPortfolio) -> None:
        """Ignored: the command asks a question, it never steps up."""

    def on_invite(self, out: InviteOutput) -> None:
        """Ignored: the command's customer invites nobody."""

    def on_media(self, out: MediaOutput) -> None:
        """Ignored: no media in the command; it prints the answers' text, it does not voice
        them, and records nothing."""

    async def send(self, message: m.Message) -> None:
        await self.run(self.room.receive(self.member, encode(message), _NOW))


async def open_session(
    *,
    risk: int | None,
    language: str | None = None,
    expertise: Expertise | None = None,
    brain: Brain | None = None,
) -> Session:
    expertise = expertise or default_expertise()
    room = Room("ask", load_layout("private_room"), expertise=expertise)
    grant = Grant("cli-customer", "ask", Role.CUSTOMER, "Customer", risk, language)
    member = room.connect(grant, _NOW)
    session = Session(room, member, brain or LocalBrain(expertise.knowledge))
    await session.send(m.Hello(1))
    await session.send(m.Join("Customer"))
    return session


async def ask_once(
    question: str,
    *,
    risk: int | None,
    language: str | None = None,
    expertise: Expertise | None = None,
    brain: Brain | None = None,
) -> dict[str, Any]:
    (turn,) = await ask_turns(
        [question], risk=risk, language=language, expertise=expertise, brain=brain
    )
    return turn


async def ask_turns(
    questions: Sequence[str],
    *,
    risk: int | None,
    language: str | None = None,
    expertise: Expertise | None = None,
    brain: Brain | None = None,
) -> list[dict[str, Any]]:
    """``questions`` as the turns of one conversation in one room: what each turn brought."""
    session = await open_session(risk=risk, language=language, expertise=expertise, brain=brain)
    experts: dict[int, m.ExpertCame] = {}  # an expert who came earlier answers follow-ups
    turns = []
    for question in questions:
        start, paged = len(session.received), len(session.pages)
        await session.send(m.Ask(question, lang=language))
        got = session.received[start:]
        experts.update({x.e: x for x in got if isinstance(x, m.ExpertCame) and x.st == "arrived"})
        (asked,) = [x for x in got if isinstance(x, m.Asked)]
        turns.append(
            {
                "question": question,
                "specialties": asked.sp,
                **_outcome(got, experts, session.pages[paged:], risk),
            }
        )
    return turns


@dataclass(frozen=True, slots=True)
class Spoken:
    """One utterance as a recogniser gave it: words with a confidence, or none (``typed``:
    nothing could transcribe its language)."""

    text: str
    confidence: float
    language: str
    cut: bool = False
    typed: bool = False


async def hear_turns(
    spoken: Sequence[Spoken],
    *,
    risk: int | None,
    language: str | None = None,
    expertise: Expertise | None = None,
    brain: Brain | None = None,
) -> list[dict[str, Any]]:
    """Utterances spoken hands-free into one room: for each, what the room heard (``heard``)
    and, when that was asked, what the question brought, as :func:`ask_turns` reports it."""
    session = await open_session(risk=risk, language=language, expertise=expertise, brain=brain)
    await session.send(m.Voice("free"))
    room, member = session.room, session.member
    experts: dict[int, m.ExpertCame] = {}
    turns = []
    for n, said in enumerate(spoken, 1):
        start, paged = len(session.received), len(session.pages)
        await session.run(room.speech_started(member, n, _NOW))
        room.speech_ended(member, n, _NOW, cut=said.cut)
        if said.typed:
            await session.run(room.please_type(member, n, said.language, _NOW))
        else:
            out = room.heard(
                member, n, said.text, said.confidence, said.language, _NOW, cut=said.cut
            )
            await session.run(out)
        got = session.received[start:]
        experts.update({x.e: x for x in got if isinstance(x, m.ExpertCame) and x.st == "arrived"})
        heard = [x for x in got if isinstance(x, m.Heard)]
        asked = [x for x in got if isinstance(x, m.Asked)]
        turns.append(
            {
                "heard": (
                    {
                        "text": heard[0].text,
                        "conf": heard[0].conf,
                        "lang": heard[0].lang,
                        "st": heard[0].st,
                    }
                    if heard
                    else None
                ),
                "question": asked[0].text if asked else None,
                "specialties": asked[0].sp if asked else [],
                **_outcome(got, experts, session.pages[paged:], risk),
            }
        )
    return turns


def _outcome(
    got: Sequence[m.Message],
    experts: Mapping[int, m.ExpertCame],
    pages: Sequence[PageRequest],
    risk: int | None,
) -> dict[str, Any]:
    """What one turn brought, as ``ask --json`` prints it after the question."""
    answers = [_answer(a, experts) for a in got if isinstance(a, m.Answer)]
    return {
        "profile": f"C{risk}" if risk else None,
        "answers": answers,
        "handoff": any(a["handoff"] for a in answers),
        "pages": [
            {"skill": p.skill.value if p.skill else None, "product": p.product, "reason": p.reason}
            for p in pages
        ],
    }


def _answer(a: m.Answer, experts: Mapping[int, m.ExpertCame]) -> dict[str, Any]:
    expert = experts.get(a.e) if a.e is not None else None
    return {
        "specialty": a.sp,
        "expert": None
        if expert is None
        else {"persona": expert.p, "name": expert.name, "language": expert.lang},
        "text": a.text,
        "label": a.label,
        "language": a.lang,
        "risk_class": f"R{a.risk}" if a.risk else None,
        "product": a.product,
        "sources": a.src,
        "handoff": a.handoff,
        "reason": a.why,
    }
