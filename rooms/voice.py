"""Asking by voice: whose microphone is heard, which speech is a question, and barge-in.

The shell listens (``server/speech/``) to the members this feature asks it to
(:class:`~rooms.outputs.Listen`) and reports what it hears through the room
(:meth:`~rooms.room.Room.speech_started`, ``speech_ended``, ``heard``, ``please_type``). The
room decides, here, purely:

- who is heard: a member who may ``ask`` (and, for guests, where guests may ask by voice),
  has chosen ``ptt`` or ``free``, and whose microphone is not muted; never an observer;
- which speech counts, decided at its onset: in ``ptt`` only speech while the talk button is
  held (pressing it during the speech counts it too); in ``free`` only while no human advisor
  is speaking (advisors are listened to for onsets alone while anyone is hands-free);
- barge-in: speech that counts, begun while an expert is speaking, stops the expert at once;
- what became of it: a confident transcript is an ``ask`` like a typed one; a doubtful one
  is offered back ("did you mean ...?"); one over the length limit is cut and asked; nothing
  heard is ``none``; no recogniser for the language is ``type``. The speaker alone is told
  (``heard``); the audit trail gets every decision with a hash of the text, never the text.

Utterances are named by the shell (``utterance``, any number unique per member): the onset
and the transcript of one utterance may be seconds apart, with another onset between them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from protocol import messages as m
from protocol.codes import ErrorCode
from protocol.limits import MAX_QUESTION_CHARS
from rooms.audit import Detail, text_digest
from rooms.context import RoomContext
from rooms.feature import Feature, Handler
from rooms.members import Member
from rooms.outputs import Listen, Output, Unlisten
from rooms.roles import Action, Role

OFF, PTT, FREE = "off", "ptt", "free"
ASKED, CONFIRM, TYPE, CUT, NONE = "asked", "confirm", "type", "cut", "none"
# Why speech is not a question (the audit's outcome of ``voice.ignored``).
MUTED, CONTINUED, PTT_UP, ADVISOR_SPEAKING = "muted", "cut", "ptt up", "advisor speaking"
UNKNOWN = "no onset"  # a transcript whose onset the room never heard (or forgot)
# Shell languages the offline recogniser serves; others go to the endpoint or get "type".
DEFAULT_LANGUAGE = "en"
# Decisions kept for utterances whose transcript has not come: a shell that lost some (a
# listener stopped mid-word) must not make them pile up.
_MAX_OPEN = 8


@dataclass(frozen=True, slots=True)
class VoiceRules:
    """The room's settings for asking by voice."""

    # Below this recogniser confidence a transcript is offered back, not asked. Confidence is
    # the recogniser's own scale (pocketsphinx: geometric mean of word posteriors).
    confirm_below: float = 0.5
    guests: bool = True  # may guests ask by voice (where they may ask at all)


@dataclass(slots=True)
class _Ear:
    mode: str  # ptt or free; advisors listened to for onsets only have none
    language: str
    held: bool = False  # ptt: the talk button is down
    # utterance -> why it is not a question (None: it is), decided at its onset; pressing
    # the talk button during it makes it one
    open: dict[int, str | None] = field(default_factory=dict)
    speaking: int | None = None  # the utterance in progress, if any
    continuing: bool = False  # the last utterance was cut: what follows is its rest


class Voice(Feature):
    def __init__(
        self,
        room: RoomContext,
        *,
        rules: VoiceRules | None = None,
        ask: Callable[[Member, m.Ask, float], list[Output]],
        interrupt: Callable[[Member | None, int | None, float], list[Output]],
        voiced: Callable[[float], list[int]],
        muted: Callable[[int], bool],
    ) -> None:
        self._room = room
        self.rules = rules or VoiceRules()
        self._ask = ask  # the typed question's path (rooms.questions)
        self._interrupt = interrupt  # barge-in (rooms.questions)
        self._voiced = voiced  # experts speaking now (rooms.media)
        self._muted = muted  # is a member's microphone switched off (rooms.media)
        self._ears: dict[int, _Ear] = {}  # members asking by voice
        self._advisors: dict[int, _Ear] = {}  # advisors heard for onsets only
        self._talking: set[int] = set()  # advisors speaking now

    def handlers(self) -> Mapping[type[m.Message], Handler]:
        return {m.Voice: self.on_voice, m.PushToTalk: self.on_ptt}

    def mode(self, member_id: int) -> str:
        ear = self._ears.get(member_id)
        return ear.mode if ear is not None else OFF

    # --- the member's choices ------------------------------------------------------------------

    def on_voice(self, member: Member, msg: m.Voice, now: float) -> list[Output]:
        room = self._room
        if (denied := room.gate(member, now, Action.LISTEN, "voice")) is not None:
            return denied
        out: list[Output] = []
        if msg.mode == OFF:
            if member.id not in self._ears:
                return []
            self._ears.pop(member.id)
            out.append(Unlisten(member.id))
        else:
            for action in (Action.ASK, Action.SPEAK):
                if (denied := room.gate(member, now, action, "voice")) is not None:
                    return denied
            if member.role is Role.GUEST and not self.rules.guests:
                detail = {"action": "ask by voice"}
                return [
                    room.audit(member, now, "permission.denied", "denied", detail),
                    *room.reject(
                        member, now, ErrorCode.FORBIDDEN, "guests may not ask by voice", "voice"
                    ),
                ]
            ear = self._ears.get(member.id)
            if ear is None:
                language = member.grant.language or DEFAULT_LANGUAGE
                self._ears[member.id] = _Ear(msg.mode, language)
                self._advisors.pop(member.id, None)  # now heard in full
                out.append(Listen(member.id, language))
            else:
                ear.mode = msg.mode
                ear.held = False
        out.append(room.audit(member, now, "voice.mode", msg.mode, {}))
        return out + self._follow_advisors()

    def on_ptt(self, member: Member, msg: m.PushToTalk, now: float) -> list[Output]:
        room = self._room
        if (denied := room.gate(member, now, Action.LISTEN, "ptt")) is not None:
            return denied
        ear = self._ears.get(member.id)
        if ear is None or ear.mode != PTT:
            why = "push-to-talk needs voice mode ptt"
            return room.reject(member, now, ErrorCode.BAD_VALUE, why, "ptt")
        ear.held = msg.on
        out: list[Output] = []
        if msg.on and ear.speaking is not None and ear.open.get(ear.speaking) == PTT_UP:
            # Pressed while already speaking: this speech counts, and interrupts as it would.
            ear.open[ear.speaking] = None
            out += self._barge_in(member, now)
        return out

    def counts(self, member_id: int, utterance: int) -> bool:
        """Is ``utterance`` (its onset reported) a question so far? The shell transcribes only
        those: speech that is not a question is not written down anywhere."""
        ear = self._ears.get(member_id)
        return ear is not None and utterance in ear.open and ear.open[utterance] is None

    # --- what the shell heard ------------------------------------------------------------------

    def speech_started(self, member_id: int, utterance: int, now: float) -> list[Output]:
        """Speech began in ``member_id``'s microphone (``utterance`` names it)."""
        member = self._room.member(member_id)
        if member is None:
            return []
        if member_id in self._advisors or (member.role is Role.ADVISOR and member_id in self._ears):
            self._talking.add(member_id)
        ear = self._ears.get(member_id)
        if ear is None:
            return []
        ear.speaking = utterance
        why = self._why_not(member, ear)
        ear.open[utterance] = why
        while len(ear.open) > _MAX_OPEN:
            del ear.open[next(iter(ear.open))]
        if why is not None:
            return []
        return self._barge_in(member, now)

    def speech_ended(self, member_id: int, utterance: int, now: float, *, cut: bool) -> None:
        """The utterance is over (``cut``: at the length limit; its rest is not a question)."""
        self._talking.discard(member_id)
        ear = self._ears.get(member_id)
        if ear is None:
            return
        if ear.speaking == utterance:
            ear.speaking = None
        # Speech that reaches the limit goes on as another utterance at once: that one is its
        # rest, not a question, until an utterance ends by a pause.
        ear.continuing = cut

    def heard(
        self,
        member_id: int,
        utterance: int,
        text: str,
        confidence: float,
        language: str,
        now: float,
        *,
        cut: bool = False,
    ) -> list[Output]:
        """The transcript of ``utterance`` (empty ``text``: sound but no words)."""
        member, ignored = self._take(member_id, utterance, now)
        if member is None:
            return ignored
        text = _clip(" ".join(text.split()))
        confidence = min(1.0, max(0.0, confidence))
        if not text:
            st = NONE
        elif cut:
            st = CUT
        elif confidence < self.rules.confirm_below:
            st = CONFIRM
        else:
            st = ASKED
        language = _language(language)
        shown = text if st != NONE else ""
        out: list[Output] = [
            self._room.direct(member, m.Heard(shown, round(confidence, 3), language, st))
        ]
        detail: Detail = {
            "sha256": text_digest(text),
            "chars": len(text),
            "conf": f"{confidence:.3f}",
            "lang": language,
        }
        out.append(self._room.audit(member, now, "voice.heard", st, detail))
        if st in (ASKED, CUT):
            out += self._ask(member, m.Ask(text), now)
        return out

    def please_type(
        self, member_id: int, utterance: int, language: str, now: float
    ) -> list[Output]:
        """Nothing could transcribe ``utterance`` in ``language``."""
        member, ignored = self._take(member_id, utterance, now)
        if member is None:
            return ignored
        language = _language(language)
        return [
            self._room.direct(member, m.Heard("", 0.0, language, TYPE)),
            self._room.audit(member, now, "voice.heard", TYPE, {"lang": language}),
        ]

    def unusable(self, member_id: int, reason: str, now: float) -> list[Output]:
        """The member's microphone sends audio nothing can hear (a rate out of range): they
        are asked to type, once, and the listener has stopped."""
        member = self._room.member(member_id)
        ear = self._ears.get(member_id)
        if member is None or ear is None:
            return []
        return [
            self._room.direct(member, m.Heard("", 0.0, _language(ear.language), TYPE)),
            self._room.audit(member, now, "voice.unusable", "type", {"why": reason[:200]}),
        ]

    # --- rules ---------------------------------------------------------------------------------

    def _why_not(self, member: Member, ear: _Ear) -> str | None:
        """Why speech beginning now is not a question (``None``: it is)."""
        if self._muted(member.id):
            return MUTED
        if ear.continuing:
            return CONTINUED
        if ear.mode == PTT and not ear.held:
            return PTT_UP
        if ear.mode == FREE and self._talking - {member.id}:
            return ADVISOR_SPEAKING
        return None

    def _take(
        self, member_id: int, utterance: int, now: float
    ) -> tuple[Member | None, list[Output]]:
        """The member if ``utterance`` counts as a question; else why not, for the audit."""
        member = self._room.member(member_id)
        ear = self._ears.get(member_id)
        if member is None or ear is None:
            return None, []
        why = ear.open.pop(utterance, UNKNOWN)
        if why is None and self._muted(member_id):
            why = MUTED  # switched off before the words were out: not a question
        if why is None:
            return member, []
        return None, [self._room.audit(member, now, "voice.ignored", why, {})]

    def _barge_in(self, member: Member, now: float) -> list[Output]:
        out: list[Output] = []
        for expert in self._voiced(now):
            out += self._interrupt(member, expert, now)
        return out

    def _follow_advisors(self) -> list[Output]:
        """While anyone asks hands-free, advisors' microphones are heard for onsets."""
        free = any(ear.mode == FREE for ear in self._ears.values())
        wanted = (
            {
                mb.id
                for mb in self._room.joined
                if mb.role is Role.ADVISOR and mb.id not in self._ears
            }
            if free
            else set()
        )
        out: list[Output] = []
        for mid in sorted(set(self._advisors) - wanted):
            del self._advisors[mid]
            self._talking.discard(mid)
            out.append(Unlisten(mid))
        for mid in sorted(wanted - set(self._advisors)):
            member = self._room.member(mid)
            language = (member.grant.language if member else None) or DEFAULT_LANGUAGE
            self._advisors[mid] = _Ear(OFF, language)
            out.append(Listen(mid, language, transcribe=False))
        return out

    # --- room life -----------------------------------------------------------------------------

    def on_join(self, member: Member, now: float) -> list[Output]:
        return self._follow_advisors() if member.role is Role.ADVISOR else []

    def on_leave(self, member: Member, now: float) -> list[Output]:
        out: list[Output] = []
        self._talking.discard(member.id)
        if self._ears.pop(member.id, None) is not None:
            out.append(Unlisten(member.id))
        if member.id in self._advisors:
            del self._advisors[member.id]
            out.append(Unlisten(member.id))
        return out + self._follow_advisors()

    def close(self, now: float) -> list[Output]:
        out: list[Output] = [Unlisten(mid) for mid in [*self._ears, *self._advisors]]
        self._ears.clear()
        self._advisors.clear()
        self._talking.clear()
        return out


def _clip(text: str) -> str:
    """At most a question's length, cut between words."""
    if len(text) <= MAX_QUESTION_CHARS:
        return text
    return text[: MAX_QUESTION_CHARS + 1].rsplit(" ", 1)[0][:MAX_QUESTION_CHARS]


def _language(language: str) -> str:
    """A recogniser's language tag as the wire names languages."""
    base = language.lower().split("-", 1)[0]
    return base if base in m.LANGUAGES else DEFAULT_LANGUAGE
