"""The room's side of voice, video and recording (rooms/media.py), without sockets or peers.

The shell's part (aiortc peers, the hub, the recorder) is in tests/media/test_media_rooms.py; here
the room's decisions: who may send what, what everyone sees, the consent notice before any
recording, the pose data channel's order, and mouths on the audio clock.
"""

from __future__ import annotations

from protocol import messages as m
from protocol.codec import encode
from protocol.codes import ErrorCode
from protocol.pose import AvatarPose
from rooms.outputs import (
    MediaEnable,
    MediaSignal,
    MediaStart,
    MediaStop,
    Output,
    RecordAdmit,
    RecordStart,
    RecordStop,
    Speak,
)
from rooms.roles import Role
from tests.harness import Harness


def _of(outputs: list[Output], kind: type) -> list:  # type: ignore[type-arg]
    return [o for o in outputs if isinstance(o, kind)]


def _ent(h: Harness, viewer: int, member: int) -> m.Ent:
    h.tick()
    h.sync(viewer)
    ent = h.inbox[viewer].replica.by_member(member)
    assert ent is not None
    return ent


def test_starting_media_asks_the_shell_and_devices_show_once_live() -> None:
    h = Harness()
    ann, bo = h.join(name="Ann"), h.join(Role.GUEST, "Bo")
    out = h.send(ann, m.StartMedia(["audio", "video"], "3d", True))
    assert _of(out, MediaStart) == [MediaStart(ann, frozenset({"audio", "video"}), "3d", True)]
    assert (_ent(h, bo, ann).mic, _ent(h, bo, ann).cam) == (None, None), "not live yet"
    h.room.track_live(ann, "audio", True)
    h.room.track_live(ann, "video", True)
    assert (_ent(h, bo, ann).mic, _ent(h, bo, ann).cam) == ("on", "on")
    out = h.send(ann, m.Mute(cam="off"))
    assert _of(out, MediaEnable) == [MediaEnable(ann, "video", False)]
    assert _ent(h, bo, ann).cam == "off"
    assert h.send(ann, m.Mute(cam="off")) == [], "already off: nothing to do"
    h.room.track_live(ann, "audio", False)
    assert _ent(h, bo, ann).mic == ""
    out = h.send(ann, m.StartMedia([], "none"))
    assert _of(out, MediaStop) == [MediaStop(ann)]
    assert _ent(h, bo, ann).cam == ""


def test_each_kind_needs_its_permission_and_nothing_starts_when_refused() -> None:
    h = Harness()
    h.join(name="Ann")
    guest = h.join(Role.GUEST, "Bo")
    out = h.send(guest, m.StartMedia(["audio", "video"]))
    assert h.inbox[guest].errors[-1].code == ErrorCode.FORBIDDEN
    assert _of(out, MediaStart) == []
    assert len(h.actions("permission.denied")) == 1
    assert _of(h.send(guest, m.StartMedia(["audio"])), MediaStart)
    out = h.send(guest, m.StartMedia(["audio", "audio"]))
    assert h.inbox[guest].errors[-1].code == ErrorCode.BAD_VALUE


def test_media_before_joining_is_refused() -> None:
    h = Harness()
    member = h.connect()
    h.send(member, m.Hello(1))
    h.send(member, m.StartMedia(["audio"]))
    assert h.inbox[member].errors[-1].code == ErrorCode.NOT_JOINED


def test_signalling_without_media_and_an_ice_flood_are_refused() -> None:
    h = Harness()
    ann = h.join(name="Ann")
    h.send(ann, m.RtcAnswer(1, "v=0"))
    assert h.inbox[ann].errors[-1].code == ErrorCode.NO_MEDIA_SESSION
    h.send(ann, m.Mute(mic="off"))
    assert h.inbox[ann].errors[-1].code == ErrorCode.NO_MEDIA_SESSION
    h.send(ann, m.StartMedia(["audio"]))
    limit = h.room.limits.ice_per_offer
    relayed = [h.send(ann, m.IceCandidate(1, f"candidate:{i}")) for i in range(limit)]
    assert all(len(_of(out, MediaSignal)) == 1 for out in relayed)
    assert _of(h.send(ann, m.IceCandidate(1, "one too many")), MediaSignal) == []
    assert h.inbox[ann].errors[-1].code == ErrorCode.RATE_LIMITED
    # An answer opens the next offer's allowance.
    assert _of(h.send(ann, m.RtcAnswer(1, "v=0")), MediaSignal)
    assert _of(h.send(ann, m.IceCandidate(2, "again")), MediaSignal)


def test_recording_sends_the_notice_before_the_recorder_hears_of_anyone() -> None:
    h = Harness()
    ann, ada = h.join(name="Ann"), h.join(Role.ADVISOR, "Ada")
    h.send(ann, m.Record(True))
    assert h.inbox[ann].errors[-1].code == ErrorCode.FORBIDDEN
    out = h.send(ada, m.Record(True))
    notices = [i for i, o in enumerate(out) if not isinstance(o, RecordStart | Speak)]
    start = next(i for i, o in enumerate(out) if isinstance(o, RecordStart))
    assert notices[0] < start, "the notice frames come first"
    record = _of(out, RecordStart)[0]
    assert set(record.members) == {ann, ada}
    notice = h.inbox[ann].of(m.Recording)[-1]
    assert notice.on
    assert notice.rec == record.id
    assert "recorded" in notice.notice
    sent = h.actions("recording.notice")[-1]
    assert sent.detail["members"] == f"{ann},{ada}" or sent.detail["members"] == f"{ada},{ann}"
    h.send(ann, m.NoticeSeen(record.id))
    h.send(ann, m.NoticeSeen(record.id))  # twice: recorded once
    assert len(h.actions("recording.seen")) == 1
    h.send(ann, m.NoticeSeen("rec-made-up"))
    assert h.inbox[ann].errors[-1].code == ErrorCode.BAD_VALUE
    h.send(ada, m.Record(True))
    assert h.inbox[ada].errors[-1].code == ErrorCode.ALREADY_DONE

    late = h.join(Role.GUEST, "Cy")
    assert h.inbox[late].of(m.Recording)[-1].rec == record.id, "told on arrival"
    out = h.send(ada, m.Record(False))
    assert _of(out, RecordStop) == [RecordStop(record.id)]
    assert not h.inbox[late].of(m.Recording)[-1].on


def test_a_member_joining_while_recording_is_admitted_only_after_the_notice() -> None:
    h = Harness()
    h.join(name="Ann")
    ada = h.join(Role.ADVISOR, "Ada")
    rec = _of(h.send(ada, m.Record(True)), RecordStart)[0]
    cy = h.connect(Role.GUEST, "Cy")
    h.send(cy, m.Hello(1))
    out = h.send(cy, m.Join("Cy"))
    frames = [o for o in out if getattr(o, "to", None) == (cy,)]
    admit = next(i for i, o in enumerate(out) if isinstance(o, RecordAdmit))
    notice_at = next(
        i for i, o in enumerate(out) if o in frames and b"recording" in getattr(o, "data", b"")
    )
    assert notice_at < admit
    assert _of(out, RecordAdmit) == [RecordAdmit(rec.id, cy)]


def test_recording_stops_when_the_last_advisor_leaves() -> None:
    h = Harness()
    ann, ada = h.join(name="Ann"), h.join(Role.ADVISOR, "Ada")
    rec = _of(h.send(ada, m.Record(True)), RecordStart)[0]
    out = h.send(ada, m.Leave())
    assert _of(out, RecordStop) == [RecordStop(rec.id)]
    assert not h.inbox[ann].of(m.Recording)[-1].on
    assert h.actions("recording.stop")[-1].outcome == "no advisor left"


def test_datagram_poses_arrive_out_of_order_and_older_ones_are_dropped() -> None:
    h = Harness()
    ann, bo = h.join(name="Ann"), h.join(Role.GUEST, "Bo")
    head = AvatarPose.unpack(_ent(h, bo, ann).x or b"").head.pos
    x, y, z = (v / 1000 for v in head)

    def datagram(dx: float, n: int) -> None:
        frame = encode(m.Pose((x + dx, y, z), (0.0, 0.0, 0.0, 1.0), n=n))
        h.deliver(h.room.receive_datagram(ann, frame, h.now))

    def head_x() -> int:
        return AvatarPose.unpack(_ent(h, bo, ann).x or b"").head.pos[0]

    datagram(0.05, 2**32 - 1)
    assert head_x() == round((x + 0.05) * 1000)
    datagram(0.01, 2**32 - 2)  # older
    assert head_x() == round((x + 0.05) * 1000)
    datagram(0.03, 0)  # newer: the counter wrapped
    assert head_x() == round((x + 0.03) * 1000)
    h.deliver(h.room.receive_datagram(ann, encode(m.Chat("hi")), h.now))
    assert h.inbox[ann].errors[-1].code == ErrorCode.WRONG_ENDPOINT
    h.deliver(h.room.receive_datagram(ann, b"\xc1garbage", h.now))
    assert h.inbox[ann].errors[-1].code == ErrorCode.MALFORMED


def test_an_expert_answer_is_voiced_only_when_someone_listens_and_the_mouth_follows() -> None:
    h = Harness()
    h.answer_at_once = False
    ann = h.join(name="Ann")

    def ask(text: str) -> list[Output]:
        h.send(ann, m.Ask(text))
        return h.answer(h.consults.pop())

    out = ask("Tell me about government bonds")
    assert h.inbox[ann].of(m.Answer), "answered"
    assert _of(out, Speak) == [], "nobody takes media: no voice"
    h.send(ann, m.StartMedia([]))
    speak = _of(ask("What about bond funds?"), Speak)
    assert len(speak) == 1
    assert speak[0].text
    entity = speak[0].entity
    levels = [0, 5, 15, 7]
    start = h.now + 0.01
    h.room.speaking(entity, levels, 30, start)
    seen = []
    for _ in range(6):
        h.tick(1 / 30)
        h.sync(ann)
        seen.append(h.inbox[ann].replica.entities[entity].mo or 0)
    # Each tick shows the level of the clip at that tick's instant, then closes.
    assert seen[:4] == [0, 5, 15, 7]
    assert seen[-1] == 0
