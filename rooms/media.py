"""Voice, video and recording as the room sees them.

The room decides who may send what, what everyone is shown (microphones and cameras on or
off, an expert's mouth while it speaks, whether the session is recorded) and that every member
is shown the consent notice before anything of theirs is recorded. Peer connections, tracks
and files belong to the shell (``server/media/``), which the room drives with the outputs in
:mod:`rooms.outputs` and which reports back through the room
(:meth:`~rooms.room.Room.track_live`, :meth:`~rooms.room.Room.speaking`, ...).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from protocol import messages as m
from protocol.codec import decode
from protocol.codes import ErrorCode
from protocol.messages import Direction
from rooms.audit import Detail, text_digest
from rooms.context import RoomContext
from rooms.feature import Feature, Handler
from rooms.members import Member
from rooms.outputs import (
    Frame,
    Hush,
    MediaEnable,
    MediaSignal,
    MediaStart,
    MediaStop,
    Output,
    RecordAdmit,
    RecordStart,
    RecordStop,
)
from rooms.roles import Action, Role

AUDIO, VIDEO = "audio", "video"
NEEDS: dict[str, Action] = {AUDIO: Action.SPEAK, VIDEO: Action.CAMERA}
DEFAULT_NOTICE = (
    "This conversation is recorded (voice and video) for regulatory record-keeping. "
    "By staying you consent; leave the room if you do not wish to be recorded. "
    "本次会谈将依照监管要求录音录像。继续留在房间即表示同意；如不同意，请离开房间。"
)
# A serial number wraps at 2**32; "newer" is decided in half of that space (RFC 1982).
_HALF = 2**31


@dataclass(slots=True)
class _Peer:
    """A member's media as requested; ``mic``/``cam`` show only once a track is live."""

    send: frozenset[str]
    view: str
    dc: bool
    muted: set[str] = field(default_factory=set)
    live: set[str] = field(default_factory=set)
    ice: int = 0  # candidates since the last answer: a flood is refused, not relayed


@dataclass(slots=True)
class _Speech:
    levels: bytes  # mouth level per 1/hz s from ``start``
    hz: int
    start: float


@dataclass(slots=True)
class _Recording:
    id: str
    by: int
    frame: bytes  # the encoded ``recording`` message, for members who arrive later
    seq: int
    admitted: set[int] = field(default_factory=set)
    seen: set[int] = field(default_factory=set)


class Media(Feature):
    def __init__(self, room: RoomContext, *, notice: str = DEFAULT_NOTICE) -> None:
        self._room = room
        self._retention_days = room.limits.retention_days
        self.notice = notice
        self._peers: dict[int, _Peer] = {}
        self._speech: dict[int, _Speech] = {}
        self._recording: _Recording | None = None
        self._recordings = 0
        self._queued: list[Output] = []  # for the next tick

    def handlers(self) -> Mapping[type[m.Message], Handler]:
        return {
            m.StartMedia: self.on_media,
            m.RtcAnswer: self.on_signal,
            m.IceCandidate: self.on_signal,
            m.Mute: self.on_mute,
            m.Record: self.on_record,
            m.NoticeSeen: self.on_seen,
        }

    # --- members' media ------------------------------------------------------------------------

    def on_media(self, member: Member, msg: m.StartMedia, now: float) -> list[Output]:
        room = self._room
        if (denied := room.gate(member, now, Action.LISTEN, "media")) is not None:
            return denied
        view = msg.view or "3d"
        if view == "none":
            return self._stop(member, now, "stopped")
        send = frozenset(msg.send)
        if len(send) != len(msg.send):
            return room.reject(member, now, ErrorCode.BAD_VALUE, "send lists a kind twice", "media")
        for kind in sorted(send):
            if (denied := room.gate(member, now, NEEDS[kind], "media")) is not None:
                return denied
        if view == "thin" and member.entity is None:
            why = "a thin view is drawn from the member's own avatar; this role has none"
            return room.reject(member, now, ErrorCode.FORBIDDEN, why, "media")
        dc = bool(msg.dc) or view == "thin"
        if dc and member.entity is None:
            why = "the pose channel is for members with an avatar"
            return room.reject(member, now, ErrorCode.FORBIDDEN, why, "media")
        old = self._peers.get(member.id)
        peer = _Peer(send, view, dc)
        if old is not None:
            peer.muted = old.muted & send
            peer.live = old.live & send
        self._peers[member.id] = peer
        self._show(member)
        detail: Detail = {
            "send": ",".join(sorted(send)) or "-",
            "view": view,
            "dc": dc,
            "quality": msg.q or "high",
        }
        out: list[Output] = [
            MediaStart(member.id, send, view, dc, msg.q or "high"),
            room.audit(member, now, "media.start", "ok", detail),
        ]
        recording = self._recording
        if recording is not None and member.id in recording.admitted:
            out.append(RecordAdmit(recording.id, member.id))
        return out

    def on_signal(
        self, member: Member, msg: m.RtcAnswer | m.IceCandidate, now: float
    ) -> list[Output]:
        room = self._room
        if (denied := room.gate(member, now, Action.LISTEN, msg.TYPE)) is not None:
            return denied
        peer = self._peers.get(member.id)
        if peer is None:
            detail = "no media session: send media first"
            return room.reject(member, now, ErrorCode.NO_MEDIA_SESSION, detail, msg.TYPE)
        if isinstance(msg, m.RtcAnswer):
            peer.ice = 0
        else:
            peer.ice += 1
            if peer.ice > room.limits.ice_per_offer:
                detail = f"more than {room.limits.ice_per_offer} ICE candidates for one offer"
                return room.reject(member, now, ErrorCode.RATE_LIMITED, detail, "ice")
        return [MediaSignal(member.id, msg)]

    @property
    def wanted(self) -> bool:
        """Does anyone take media? Without listeners, experts need not be voiced."""
        return bool(self._peers)

    def on_mute(self, member: Member, msg: m.Mute, now: float) -> list[Output]:
        room = self._room
        if (denied := room.gate(member, now, Action.LISTEN, "mute")) is not None:
            return denied
        peer = self._peers.get(member.id)
        wanted = [(AUDIO, msg.mic), (VIDEO, msg.cam)]
        out: list[Output] = []
        for kind, state in wanted:
            if state is None:
                continue
            if peer is None or kind not in peer.send:
                detail = f"no {'microphone' if kind == AUDIO else 'camera'} to switch {state}"
                return room.reject(member, now, ErrorCode.NO_MEDIA_SESSION, detail, "mute")
            on = state == "on"
            if on == (kind not in peer.muted):
                continue
            if on:
                peer.muted.discard(kind)
            else:
                peer.muted.add(kind)
            out.append(MediaEnable(member.id, kind, on))
        if out:
            self._show(member)
        return out

    def track_live(self, member_id: int, kind: str, live: bool) -> None:
        """The shell: a track of ``kind`` from the member started (or ended)."""
        peer = self._peers.get(member_id)
        member = self._room.member(member_id)
        if peer is None or member is None or kind not in peer.send:
            return
        if live:
            peer.live.add(kind)
        else:
            peer.live.discard(kind)
        self._show(member)

    def is_muted(self, member_id: int, kind: str) -> bool:
        """Switched off by the member (possibly before its track arrived)."""
        peer = self._peers.get(member_id)
        return peer is not None and kind in peer.muted

    def _show(self, member: Member) -> None:
        if member.entity is None:
            return
        peer = self._peers.get(member.id)

        def state(kind: str) -> str:
            if peer is None or kind not in peer.live:
                return ""
            return "off" if kind in peer.muted else "on"

        self._room.scene.set_media(member.entity, mic=state(AUDIO), cam=state(VIDEO))

    def _stop(self, member: Member, now: float, why: str) -> list[Output]:
        if self._peers.pop(member.id, None) is None:
            return []
        self._show(member)
        return [MediaStop(member.id), self._room.audit(member, now, "media.stop", why, {})]

    def media_failed(self, member_id: int, now: float, why: str) -> list[Output]:
        """The shell gave up on a member's peer (ICE never completed, the peer failed)."""
        member = self._room.member(member_id)
        if member is None or member_id not in self._peers:
            return []
        code, detail = ErrorCode.MEDIA_TIMEOUT, f"media did not connect ({why}); send media again"
        error = m.Error(int(code), detail, "media")
        return [self._room.direct(member, error), *self._stop(member, now, why)]

    def unavailable(self, member_id: int, now: float) -> list[Output]:
        """The shell carries no media (or has no room for another peer)."""
        member = self._room.member(member_id)
        if member is None or self._peers.pop(member_id, None) is None:
            return []
        error = m.Error(
            int(ErrorCode.MEDIA_UNAVAILABLE), "voice and video are not available", "media"
        )
        return [self._room.direct(member, error)]

    # --- experts speaking ----------------------------------------------------------------------

    def speaking(self, entity: int, levels: Sequence[int], hz: int, start: float) -> None:
        """The shell: expert ``entity`` starts a clip at wall time ``start``; ``levels`` is its
        mouth opening, one value (0..MOUTH_LEVELS) per 1/``hz`` s from then on."""
        if entity not in self._room.scene.entities or hz <= 0:
            return
        top = m.MOUTH_LEVELS
        self._speech[entity] = _Speech(bytes(min(top, max(0, v)) for v in levels), hz, start)

    def voiced(self, now: float) -> list[int]:
        """Experts whose clip is playing at ``now``: what a barge-in stops."""
        return [
            entity
            for entity, speech in self._speech.items()
            if now < speech.start + len(speech.levels) / speech.hz
        ]

    def hush(self, entity: int) -> list[Output]:
        """Expert ``entity`` stops mid-sentence: its mouth closes now, its voice with it."""
        self._speech.pop(entity, None)
        if entity not in self._room.scene.entities:
            return []
        self._room.scene.set_mouth(entity, 0)
        return [Hush(entity)]

    def advance(self, now: float) -> list[Output]:
        """Mouths follow the audio clock: the level shown at ``now`` is the clip's at ``now``."""
        out, self._queued = self._queued, []
        scene = self._room.scene
        for entity, speech in list(self._speech.items()):
            if entity not in scene.entities:
                del self._speech[entity]
                continue
            index = int((now - speech.start) * speech.hz)
            if index >= len(speech.levels):
                del self._speech[entity]
                scene.set_mouth(entity, 0)
            else:
                scene.set_mouth(entity, speech.levels[index] if index >= 0 else 0)
        return out

    # --- recording -----------------------------------------------------------------------------

    def on_record(self, member: Member, msg: m.Record, now: float) -> list[Output]:
        room = self._room
        if (denied := room.gate(member, now, Action.RECORD, "record")) is not None:
            return denied
        current = self._recording
        if msg.on == (current is not None):
            detail = "already recording" if msg.on else "not recording"
            return room.reject(member, now, ErrorCode.ALREADY_DONE, detail, "record")
        if msg.on:
            return self._start_recording(member, now)
        return self._stop_recording(member, now, "stopped")

    def _start_recording(self, member: Member, now: float) -> list[Output]:
        room = self._room
        self._recordings += 1
        rec_id = f"rec-{room.id}-{int(now * 1000)}-{self._recordings}"
        out = room.broadcast_reliable(
            lambda seq: m.Recording(
                seq, True, rec_id, member.id, self.notice, self._retention_days, _ms(now)
            )
        )
        frame = out[0] if out and isinstance(out[0], Frame) else None
        data = frame.data if frame is not None else b""
        told = frame.to if frame is not None else ()
        recording = _Recording(rec_id, member.id, data, room.seq, admitted=set(told))
        self._recording = recording
        # The notice frames are queued before the recorder hears of anyone: nobody is
        # recorded before their notice was on its way to them.
        out.append(RecordStart(rec_id, member.grant.subject, self._retention_days, told))
        detail: Detail = {
            "rec": rec_id,
            "members": ",".join(str(i) for i in told),
            "notice_sha256": text_digest(self.notice),
            "retention_days": self._retention_days,
        }
        out.append(room.audit(member, now, "recording.notice", "sent", detail))
        out.append(room.audit(member, now, "recording.start", "ok", {"rec": rec_id}))
        return out

    def _stop_recording(self, member: Member | None, now: float, why: str) -> list[Output]:
        recording = self._recording
        if recording is None:
            return []
        self._recording = None
        room = self._room
        by = member.id if member is not None else recording.by
        out = room.broadcast_reliable(
            lambda seq: m.Recording(
                seq, False, recording.id, by, "", self._retention_days, _ms(now)
            )
        )
        out.append(RecordStop(recording.id))
        detail: Detail = {"rec": recording.id, "seen": len(recording.seen)}
        out.append(room.audit(member, now, "recording.stop", why, detail))
        return out

    def on_seen(self, member: Member, msg: m.NoticeSeen, now: float) -> list[Output]:
        room = self._room
        if (denied := room.gate(member, now, Action.LISTEN, "seen")) is not None:
            return denied
        recording = self._recording
        if recording is None or recording.id != msg.rec or member.id not in recording.admitted:
            return room.reject(
                member, now, ErrorCode.BAD_VALUE, f"no recording notice {msg.rec!r}", "seen"
            )
        if member.id in recording.seen:
            return []
        recording.seen.add(member.id)
        detail: Detail = {"rec": recording.id, "member": member.id}
        return [room.audit(member, now, "recording.seen", "ok", detail)]

    def saved(self, rec_id: str, manifest: str, digest: str, now: float) -> list[Output]:
        """The shell finished recording ``rec_id``: where its manifest is, and its SHA-256
        (or why it failed), for the audit trail."""
        ok = bool(manifest)
        detail: Detail = {"rec": rec_id, "manifest": manifest or "-", "sha256": digest}
        return [self._room.audit(None, now, "recording.saved", "ok" if ok else "failed", detail)]

    @property
    def recording(self) -> str | None:
        return self._recording.id if self._recording is not None else None

    # --- room life -----------------------------------------------------------------------------

    def load(self, state: Mapping[str, Any], now: float) -> None:
        """The room came back on another node (rooms/persist.py): a recording that was on
        ended with the node that made it, so members are told it stopped (their replay
        carries it) and the audit says why."""
        last: m.Recording | None = None
        for _, data in self._room.reliable_log:
            if b"recording" not in data:
                continue
            msg = decode(data, Direction.SERVER)
            if isinstance(msg, m.Recording):
                last = msg
        if last is None or not last.on:
            return
        days = last.days
        self._room.broadcast_reliable(
            lambda seq: m.Recording(seq, False, last.rec, last.by, "", days, _ms(now))
        )
        detail: Detail = {"rec": last.rec, "seen": 0}
        self._queued.append(self._room.audit(None, now, "recording.stop", "node lost", detail))

    def resume(self, member: Member, since: int | None, floor: int, now: float) -> list[Output]:
        """A member joining while recording is shown the notice (if the replay does not already
        carry it) before the recorder may take their media."""
        recording = self._recording
        if recording is None:
            return []
        out: list[Output] = []
        if recording.seq <= floor and (since is None or recording.seq > since):
            out.append(Frame((member.id,), recording.frame, reliable=True))
        recording.admitted.add(member.id)
        out.append(RecordAdmit(recording.id, member.id))
        detail: Detail = {"rec": recording.id, "members": str(member.id)}
        out.append(self._room.audit(member, now, "recording.notice", "sent", detail))
        return out

    def on_leave(self, member: Member, now: float) -> list[Output]:
        out = self._stop(member, now, "left")
        recording = self._recording
        if recording is not None:
            recording.admitted.discard(member.id)
            advisors = [mb for mb in self._room.joined if mb.role is Role.ADVISOR]
            if not advisors:
                # Nobody from the bank is left to be responsible for the recording.
                out += self._stop_recording(None, now, "no advisor left")
        return out

    def close(self, now: float) -> list[Output]:
        out: list[Output] = [MediaStop(mid) for mid in self._peers]
        self._peers.clear()
        self._speech.clear()
        if self._recording is not None:
            out.append(RecordStop(self._recording.id))
            self._recording = None
        return out


def _ms(now: float) -> int:
    return max(0, int(now * 1000))
