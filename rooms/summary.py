"""The customer's record of a session, built from what the room already said.

Everything a summary holds went out as a reliable message (experts' arrivals with their AI
labels, questions, answers with their risk classes and sources, hand-offs and why, who joined,
the recording notice), so it is read back from the room's reliable log: the summary cannot
say anything the customer was not shown. Confirmed interest in a product, which the room
does not broadcast by name, is handed in. Rendered as Markdown in English or Chinese
(Simplified, or Traditional as in Hong Kong); its
SHA-256 goes into the audit chain (``Room.session_summary``), so the bank and the customer
hold the same bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from avatars.script import to_hk
from protocol import messages as m
from protocol.codec import decode
from protocol.errors import ProtocolError
from protocol.messages import Direction

SUMMARY_LANGUAGES = ("en", "zh", "zh-HK")


@dataclass(frozen=True, slots=True)
class ExpertMet:
    name: str
    specialty: str
    label: str


@dataclass(frozen=True, slots=True)
class Reply:
    by: str  # the expert's name, or the concierge
    text: str
    label: str
    risk: int | None
    sources: tuple[str, ...]
    handoff: str | None  # why a person takes over


@dataclass(slots=True)
class Exchange:
    asker: str
    question: str
    replies: list[Reply] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class HandoffNote:
    state: str
    why: str
    advisor: str | None


@dataclass(frozen=True, slots=True)
class Summary:
    room: str
    made_at: float
    experts: tuple[ExpertMet, ...]
    exchanges: tuple[Exchange, ...]
    handoffs: tuple[HandoffNote, ...]
    products: tuple[tuple[str, str, int | None], ...]  # id, name, risk class
    interests: tuple[tuple[str, str], ...]  # id, name: confirmed by the customer
    present: tuple[tuple[str, str], ...]  # name, role: everyone but the customer
    recording: str | None  # the consent notice shown, if the session was recorded


def build(
    room: str,
    log: Iterable[bytes],
    now: float,
    *,
    product_name: Callable[[str], str],
    interests: Iterable[str] = (),
) -> Summary:
    experts: dict[int, ExpertMet] = {}
    exchanges: dict[int, Exchange] = {}
    handoffs: list[HandoffNote] = []
    products: dict[str, int | None] = {}
    present: dict[tuple[str, str], None] = {}
    recording: str | None = None
    for data in log:
        try:
            msg = decode(data, Direction.SERVER)
        except ProtocolError:
            continue  # a log written by another version: leave out what it cannot read
        match msg:
            case m.ExpertCame(st="arrived"):
                experts.setdefault(msg.e, ExpertMet(msg.name, msg.sp, msg.label))
            case m.Asked():
                exchanges[msg.seq] = Exchange(msg.name, msg.text)
            case m.Answer():
                met = experts.get(msg.e) if msg.e is not None else None
                reply = Reply(
                    met.name if met else "concierge",
                    msg.text,
                    msg.label,
                    msg.risk,
                    tuple(msg.src),
                    msg.why if msg.handoff else None,
                )
                exchanges.setdefault(msg.q, Exchange("", "")).replies.append(reply)
                if msg.product is not None:
                    products.setdefault(msg.product, msg.risk)
            case m.Handoff():
                handoffs.append(HandoffNote(msg.st, msg.why, msg.advisor))
            case m.Joined() if msg.role != "customer":
                present[(msg.name, msg.role)] = None
            case m.Recording(on=True):
                recording = msg.notice
            case _:
                pass
    confirmed = tuple(dict.fromkeys(interests))
    return Summary(
        room,
        now,
        tuple(dict.fromkeys(experts.values())),
        tuple(exchanges.values()),
        tuple(handoffs),
        tuple((p, product_name(p), risk) for p, risk in products.items()),
        tuple((p, product_name(p)) for p in confirmed),
        tuple(present),
        recording,
    )


_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Session summary",
        "room": "Room",
        "made": "Made at (UTC)",
        "experts": "Experts met",
        "qa": "Questions and answers",
        "asked": "asked",
        "risk": "risk class",
        "sources": "sources",
        "handoff": "handed to a person",
        "handoffs": "Hand-offs",
        "products": "Products discussed",
        "interests": "Products you confirmed interest in",
        "present": "Also present",
        "recording": "Recording notice",
        "none": "None.",
        "not_recorded": "This session was not recorded.",
        "footer": "The bank's audit trail holds this document's SHA-256.",
    },
    "zh": {
        "title": "会谈摘要",
        "room": "房间",
        "made": "生成时间（UTC）",
        "experts": "会见的专家",
        "qa": "问题与回答",
        "asked": "提问",
        "risk": "风险等级",
        "sources": "来源",
        "handoff": "转交人工",
        "handoffs": "转交人工顾问",
        "products": "讨论过的产品",
        "interests": "您确认感兴趣的产品",
        "present": "其他在场人士",
        "recording": "录音录像通知",
        "none": "无。",
        "not_recorded": "本次会谈未录音录像。",
        "footer": "银行的审计记录保存本文件的 SHA-256。",
    },
}


# Hong Kong's page reads Traditional characters: the same words, converted by OpenCC's tables.
_WORDS["zh-HK"] = {key: to_hk(text) for key, text in _WORDS["zh"].items()}


def render(summary: Summary, language: str) -> str:
    """The summary as Markdown in ``language`` (one of :data:`SUMMARY_LANGUAGES`). What people
    said stays in the language they said it in; the labels around it are translated."""
    w = _WORDS[language]
    made = datetime.fromtimestamp(summary.made_at, UTC).strftime("%Y-%m-%d %H:%M:%S")
    lines = [f"# {w['title']}", "", f"- {w['room']}: {summary.room}", f"- {w['made']}: {made}", ""]

    lines += [f"## {w['experts']}", ""]
    lines += [f"- {e.name} ({e.specialty}) [{e.label}]" for e in summary.experts] or [w["none"]]
    lines += ["", f"## {w['qa']}", ""]
    for n, ex in enumerate(summary.exchanges, 1):
        asker = f"{ex.asker} {w['asked']}" if ex.asker else w["asked"]
        lines.append(f"### {n}. {asker}: {_one_line(ex.question)}")
        lines.append("")
        for r in ex.replies:
            facts = [f"[{r.label}]"]
            if r.risk is not None:
                facts.append(f"{w['risk']} R{r.risk}")
            if r.sources:
                facts.append(f"{w['sources']}: {', '.join(r.sources)}")
            if r.handoff:
                facts.append(f"{w['handoff']}: {r.handoff}")
            lines += [f"**{r.by}** {'; '.join(facts)}", "", f"> {_one_line(r.text)}", ""]
    if not summary.exchanges:
        lines += [w["none"], ""]

    lines += [f"## {w['handoffs']}", ""]
    notes = [
        f"- {h.state}: {h.why}" + (f" ({h.advisor})" if h.advisor else "") for h in summary.handoffs
    ]
    lines += [*(notes or [w["none"]]), ""]
    lines += [f"## {w['products']}", ""]
    rows = [
        f"- {name} ({pid})" + (f", {w['risk']} R{risk}" if risk is not None else "")
        for pid, name, risk in summary.products
    ]
    lines += [*(rows or [w["none"]]), ""]
    lines += [f"## {w['interests']}", ""]
    lines += [*([f"- {name} ({pid})" for pid, name in summary.interests] or [w["none"]]), ""]
    lines += [f"## {w['present']}", ""]
    lines += [*([f"- {name} ({role})" for name, role in summary.present] or [w["none"]]), ""]
    lines += [f"## {w['recording']}", "", summary.recording or w["not_recorded"], ""]
    lines += ["---", "", w["footer"], ""]
    return "\n".join(lines)


def digest(text: str) -> str:
    """The SHA-256 of the document as downloaded (its UTF-8 bytes), hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _one_line(text: str) -> str:
    # A newline in what someone typed must not start a Markdown heading or quote of its own.
    return " ".join(text.split())
