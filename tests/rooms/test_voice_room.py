"""Asking by voice, as the room decides it: modes, push-to-talk, advisors speaking, barge-in,
confidence, cut utterances, permissions and the audit trail (rooms/voice.py)."""

from __future__ import annotations

from protocol import messages as m
from protocol.codes import ErrorCode
from rooms.members import Grant
from rooms.outputs import Hush, Listen, Output, Speak, Unlisten
from rooms.roles import Role
from rooms.voice import VoiceRules
from tests.harness import Harness

QUESTION = "tell me about the balanced fund"


def _voice(h: Harness, member: int, mode: str) -> list[Output]:
    h.send(member, m.StartMedia(["audio"], "3d"))
    return h.send(member, m.Voice(mode))


def _say(  # one utterance from onset to transcript
    h: Harness, member: int, n: int, text: str = QUESTION, conf: float = 0.9, cut: bool = False
) -> list[Output]:
    out = h.deliver(h.room.speech_started(member, n, h.now))
    h.room.speech_ended(member, n, h.now, cut=cut)
    return out + h.deliver(h.room.heard(member, n, text, conf, "en", h.now, cut=cut))


def _heard(h: Harness, member: int) -> list[m.Heard]:
    return h.inbox[member].of(m.Heard)


def test_voice_on_asks_the_shell_to_listen_and_off_to_stop() -> None:
    h = Harness()
    ann = h.join(Role.CUSTOMER, "Ann")
    assert Listen(ann, "en") in _voice(h, ann, "free")
    out = h.send(ann, m.Voice("ptt"))  # another mode: the same listener
    assert not [o for o in out if isinstance(o, Listen | Unlisten)]
    assert Unlisten(ann) in h.send(ann, m.Voice("off"))
    assert [e.outcome for e in h.actions("voice.mode")] == ["free", "ptt", "off"]


def test_a_confident_transcript_is_asked_like_a_typed_question() -> None:
    h = Harness()
    ann = h.join(Role.CUSTOMER, "Ann", risk=3)
    _voice(h, ann, "free")
    _say(h, ann, 1)
    (heard,) = _heard(h, ann)
    assert (heard.text, heard.st, heard.lang) == (QUESTION, "asked", "en")
    (asked,) = h.inbox[ann].of(m.Asked)
    assert asked.text == QUESTION
    assert asked.sp == ["funds"]
    assert h.inbox[ann].of(m.Answer)
    (event,) = h.actions("voice.heard")
    assert event.outcome == "asked"
    assert QUESTION not in str(event.detail)
    assert len(str(event.detail["sha256"])) == 64
    assert h.actions("expert.ask")


def test_a_doubtful_transcript_is_offered_back_not_asked() -> None:
    h = Harness(voice=VoiceRules(confirm_below=0.6))
    ann = h.join(Role.CUSTOMER, "Ann")
    _voice(h, ann, "free")
    _say(h, ann, 1, conf=0.4)
    (heard,) = _heard(h, ann)
    assert (heard.st, heard.text) == ("confirm", QUESTION)
    assert not h.inbox[ann].of(m.Asked)
    h.send(ann, m.Ask(heard.text))  # the member confirms
    assert h.inbox[ann].of(m.Asked)


def test_nothing_heard_is_none_and_no_recogniser_is_type() -> None:
    h = Harness()
    ann = h.join(Role.CUSTOMER, "Ann")
    _voice(h, ann, "free")
    _say(h, ann, 1, text="", conf=0.0)
    h.deliver(h.room.speech_started(ann, 2, h.now))
    h.room.speech_ended(ann, 2, h.now, cut=False)
    h.deliver(h.room.please_type(ann, 2, "yue", h.now))
    assert [(x.st, x.text, x.lang) for x in _heard(h, ann)] == [
        ("none", "", "en"),
        ("type", "", "yue"),
    ]
    assert not h.inbox[ann].of(m.Asked)


def test_a_cut_utterance_is_asked_and_its_rest_is_not() -> None:
    h = Harness()
    ann = h.join(Role.CUSTOMER, "Ann")
    _voice(h, ann, "free")
    _say(h, ann, 1, cut=True)
    _say(h, ann, 2, text="and more and more")  # the rest of the same speech
    _say(h, ann, 3, text="what about bonds")  # a new question after it
    assert [x.st for x in _heard(h, ann)] == ["cut", "asked"]
    assert [a.text for a in h.inbox[ann].of(m.Asked)] == [QUESTION, "what about bonds"]
    assert [e.outcome for e in h.actions("voice.ignored")] == ["cut"]


def test_push_to_talk_takes_only_speech_while_held() -> None:
    h = Harness()
    ann = h.join(Role.CUSTOMER, "Ann")
    _voice(h, ann, "ptt")
    _say(h, ann, 1)  # not held
    assert not h.room.hears(ann, 1)
    h.send(ann, m.PushToTalk(True))
    h.deliver(h.room.speech_started(ann, 2, h.now))
    assert h.room.hears(ann, 2)
    h.send(ann, m.PushToTalk(False))  # released mid-sentence: the sentence still counts
    h.room.speech_ended(ann, 2, h.now, cut=False)
    h.deliver(h.room.heard(ann, 2, QUESTION, 0.9, "en", h.now))
    # Pressed after the speech began: it counts from then on.
    h.deliver(h.room.speech_started(ann, 3, h.now))
    assert not h.room.hears(ann, 3)
    h.send(ann, m.PushToTalk(True))
    assert h.room.hears(ann, 3)
    assert [x.st for x in _heard(h, ann)] == ["asked"]
    assert [e.outcome for e in h.actions("voice.ignored")] == ["ptt up"]


def test_ptt_without_ptt_mode_is_refused() -> None:
    h = Harness()
    ann = h.join(Role.CUSTOMER, "Ann")
    _voice(h, ann, "free")
    h.send(ann, m.PushToTalk(True))
    assert h.inbox[ann].errors[-1].code == ErrorCode.BAD_VALUE


def test_hands_free_waits_while_an_advisor_speaks() -> None:
    h = Harness()
    ann = h.join(Role.CUSTOMER, "Ann")
    bob = h.join(Role.ADVISOR, "Bob")
    out = _voice(h, ann, "free")
    assert Listen(bob, "en", transcribe=False) in out  # heard for onsets only
    h.deliver(h.room.speech_started(bob, 1, h.now))
    _say(h, ann, 1)
    assert not _heard(h, ann)
    h.room.speech_ended(bob, 1, h.now, cut=False)
    h.deliver(h.room.heard(bob, 1, "", 0.0, "en", h.now))  # nothing from the advisor's words
    _say(h, ann, 2)
    assert [x.st for x in _heard(h, ann)] == ["asked"]
    assert [e.outcome for e in h.actions("voice.ignored")] == ["advisor speaking"]
    assert Unlisten(bob) in h.send(ann, m.Voice("off"))


def test_speech_over_a_speaking_expert_stops_it() -> None:
    h = Harness()
    ann = h.join(Role.CUSTOMER, "Ann", risk=3)
    _voice(h, ann, "ptt")
    h.answer_at_once = False
    h.send(ann, m.Ask("Tell me about the balanced fund"))
    consult, *_ = h.consults
    (speak,) = [o for o in h.answer(consult) if isinstance(o, Speak)]
    h.room.speaking(speak.entity, [9] * 300, 30, h.now)
    h.tick()
    # Speech with the button up does not interrupt.
    assert Hush(speak.entity) not in h.deliver(h.room.speech_started(ann, 1, h.now))
    h.room.speech_ended(ann, 1, h.now, cut=False)
    h.send(ann, m.PushToTalk(True))
    out = h.deliver(h.room.speech_started(ann, 2, h.now))
    assert Hush(speak.entity) in out
    assert h.room.scene.entities[speak.entity].mouth == 0
    (event,) = h.actions("answer.interrupted")
    assert event.actor == "Ann"
    assert event.detail["expert"] == speak.entity
    # Once the clip is over, speech interrupts nothing.
    h.now += 20
    h.room.speech_ended(ann, 2, h.now, cut=False)
    assert not [o for o in h.deliver(h.room.speech_started(ann, 3, h.now)) if isinstance(o, Hush)]


def test_a_muted_microphone_is_never_a_question() -> None:
    h = Harness()
    ann = h.join(Role.CUSTOMER, "Ann")
    _voice(h, ann, "free")
    h.send(ann, m.Mute(mic="off"))
    _say(h, ann, 1)
    assert not h.room.hears(ann, 1)
    h.deliver(h.room.speech_started(ann, 2, h.now))  # muted between onset and transcript
    h.send(ann, m.Mute(mic="on"))
    h.deliver(h.room.speech_started(ann, 3, h.now))
    assert h.room.hears(ann, 3)
    h.send(ann, m.Mute(mic="off"))
    h.deliver(h.room.heard(ann, 3, QUESTION, 0.9, "en", h.now))
    assert not _heard(h, ann)
    assert [e.outcome for e in h.actions("voice.ignored")] == ["muted", "muted"]


def test_an_observer_is_never_heard() -> None:
    h = Harness()
    eve = h.join(Role.OBSERVER, "Eve")
    out = h.send(eve, m.Voice("free"))
    assert not [o for o in out if isinstance(o, Listen)]
    assert h.inbox[eve].errors[-1].code == ErrorCode.FORBIDDEN
    assert h.room.speech_started(eve, 1, h.now) == []
    assert h.room.heard(eve, 1, QUESTION, 0.9, "en", h.now) == []
    assert h.room.voice.mode(eve) == "off"


def test_guests_ask_by_voice_only_where_guests_may() -> None:
    h = Harness()
    gus = h.join(Role.GUEST, "Gus")
    assert Listen(gus, "en") in _voice(h, gus, "free")
    h2 = Harness(voice=VoiceRules(guests=False))
    gus = h2.join(Role.GUEST, "Gus")
    out = _voice(h2, gus, "free")
    assert not [o for o in out if isinstance(o, Listen)]
    assert h2.inbox[gus].errors[-1].code == ErrorCode.FORBIDDEN
    assert h2.actions("permission.denied")
    assert h2.room.heard(gus, 1, QUESTION, 0.9, "en", h2.now) == []


def test_the_token_language_is_listened_for_and_leaving_stops_listening() -> None:
    h = Harness()
    mid = h.room.connect(Grant("Mei", "r1", Role.CUSTOMER, language="yue"), h.now)
    h.send(mid, m.Hello(1))
    h.send(mid, m.Join("Mei"))
    assert Listen(mid, "yue") in _voice(h, mid, "ptt")
    assert Unlisten(mid) in h.send(mid, m.Leave())
