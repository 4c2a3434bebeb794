"""The room as a pure state machine.

The shell (server, simulator, a test) feeds it raw frames and the time, and carries out what it
returns::

    member = room.connect(grant, now)
    outputs = room.receive(member, data, now)   # one inbound frame
    outputs = room.tick(now)                    # at the tick rate
    outputs = room.disconnect(member, now)      # the socket went away

Outputs are :class:`~rooms.outputs.Frame` (already encoded, once per distinct content),
:class:`~rooms.outputs.Close`, and the requests of :mod:`rooms.outputs` for the shell.

The room itself keeps members, seats, poses, chat and the reliable sequence; the rest is its
features (:mod:`rooms.questions`, :mod:`rooms.handoffs`, :mod:`rooms.screens`,
:mod:`rooms.stepup`, :mod:`rooms.media`), each a :class:`~rooms.feature.Feature` that reaches
the room only through :class:`~rooms.context.RoomContext`. The shell calls the room, never a
feature.

Nothing here reads a clock, touches a socket or raises on bad input: a bad frame costs its
sender an error frame and a strike, and nobody else notices.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from avatars.advice import Reply
from avatars.appearance import DEFAULT_LOOK, restyle
from avatars.errors import MovedTooFast
from avatars.expertise import Expertise, default_expertise
from avatars.names import clean_display_name
from avatars.personas import Persona
from avatars.placement import place, pose_at, too_fast
from avatars.pose import check_reach, quantise_pose
from avatars.pose_batch import Floor, Judged, judge
from avatars.script import to_hk
from protocol import messages as m
from protocol.codec import TYPE_KEY, decode, encode, pack
from protocol.codes import CloseCode, ErrorCode
from protocol.errors import BadValue, FrameTooLarge, ProtocolError
from protocol.limits import MAX_ERROR_CHARS, PROTOCOL_VERSION
from protocol.pose import SIZE_HEAD_ONLY, head_mm
from protocol.pose_frame import (
    PoseFrame,
    check_parts,
    decode_pose_frame,
    is_pose_frame,
    read_pose_frame,
)
from protocol.quantise import pos_to_mm
from rooms.audit import AuditEvent, Detail, text_digest
from rooms.errors import UnknownMember
from rooms.feature import Feature, Handler
from rooms.handoffs import Handoffs
from rooms.interest import Cell, InterestPolicy
from rooms.invitations import Invitations
from rooms.limits import RoomLimits
from rooms.media import Media
from rooms.members import Grant, Member, Phase
from rooms.outputs import (
    Audit,
    CheckFactor,
    Close,
    FetchPortfolio,
    Frame,
    IssueInvite,
    Output,
    RevokeInvite,
)
from rooms.pose_desk import PoseDesk
from rooms.pose_queue import PoseQueue, PoseRound
from rooms.questions import Questions
from rooms.roles import CUSTOMER_REMOVES, REMOVABLE, Action, Role, allowed
from rooms.screens import Screens
from rooms.stepup import StepUp
from rooms.stepup_policy import FactorVerdict
from rooms.summary import SUMMARY_LANGUAGES, build, digest, render
from rooms.voice import Voice, VoiceRules
from scenes.errors import LayoutError
from scenes.layout import Layout, SpawnPoint
from scenes.scene import AVATAR, EXPERT, Scene

log = logging.getLogger(__name__)


class Room:
    def __init__(
        self,
        room_id: str,
        layout: Layout,
        *,
        tick_hz: int = 30,
        limits: RoomLimits | None = None,
        history_s: float = 10.0,
        interest: InterestPolicy | None = None,
        expertise: Expertise | None = None,
        voice: VoiceRules | None = None,
    ) -> None:
        self.id = room_id
        self.tick_hz = tick_hz
        self.limits = limits or RoomLimits()
        self.scene = Scene(layout, history_ticks=max(1, round(history_s * tick_hz)))
        self.floor = Floor(layout)
        self._poses = PoseQueue()  # joined members' binary poses, judged at the tick
        self._pose_out: list[Output] = []  # what judging them said, for the next tick
        self._desk: PoseDesk | None = None
        self.members: dict[int, Member] = {}
        self.interest = interest
        self.seq = 0
        self._log: deque[tuple[int, bytes]] = deque(maxlen=self.limits.reliable_log)
        self._next_member = 1
        self._admitted: dict[str, int] = {}  # subject -> room seq at their first join
        expertise = expertise or default_expertise()
        self._knowledge = expertise.knowledge
        self.stepup = StepUp(self)
        self.media = Media(self)
        self.handoffs = Handoffs(
            self,
            expertise.knowledge,
            self.stepup,
            briefing=lambda why, language: self.questions.briefing(why, language),
        )
        self.questions = Questions(
            self, expertise, self.handoffs, voiced=lambda: self.media.wanted, hush=self.media.hush
        )
        self.screens = Screens(self)
        self.invitations = Invitations(self)
        self.voice = Voice(
            self,
            rules=voice,
            ask=self.questions.on_ask,
            interrupt=self.questions.interrupt,
            voiced=self.media.voiced,
            muted=lambda member: self.media.is_muted(member, "audio"),
        )
        # Each hook goes to the features in this order, which is the order of what they send
        # (a joining member is shown the screens before the recording notice) and of the
        # entities a restore puts back (experts, then screens).
        self.features: tuple[Feature, ...] = (
            self.questions,
            self.handoffs,
            self.screens,
            self.stepup,
            self.media,
            self.voice,
            self.invitations,
        )
        self._handlers = self._own_handlers()
        for feature in self.features:
            for kind, handler in feature.handlers().items():
                if kind in self._handlers:
                    raise ValueError(f"two handlers for {kind.TYPE!r}")
                self._handlers[kind] = handler

    # --- lifecycle -----------------------------------------------------------------------------

    def connect(self, grant: Grant, now: float) -> int:
        if grant.room != self.id:
            # The shell checks the token's scope; reaching here means the shell is broken.
            raise ValueError(f"grant for room {grant.room!r} used in room {self.id!r}")
        mid = self._next_member
        self._next_member += 1
        self.members[mid] = Member(mid, grant, now, self.limits)
        return mid

    def share_desk(self, desk: PoseDesk) -> None:
        """Have this room's binary poses judged with those of the other rooms on ``desk``."""
        self._desk = desk
        desk.enrol(self)

    def disconnect(self, member_id: int, now: float, reason: str = "disconnected") -> list[Output]:
        member = self.members.get(member_id)
        if member is None:
            return []
        return self._depart(member, now, reason)

    def close(self, now: float) -> list[Output]:
        """Shut the room: everyone is told, then closed."""
        out: list[Output] = []
        for member in list(self.members.values()):
            out.append(Close(member.id, CloseCode.GOING_AWAY, "room closed"))
            out += self._depart(member, now, "room closed")
        for feature in self.features:
            out += feature.close(now)
        if self._desk is not None:
            self._desk.leave(self)
        return out

    def answered(self, ticket: int, draft: Reply, now: float) -> list[Output]:
        """The brain's draft for a :class:`~rooms.outputs.Consult`."""
        return self.questions.answered(ticket, draft, now)

    def interrupt(
        self, now: float, *, expert: int | None = None, member: int | None = None
    ) -> list[Output]:
        """Barge-in, from the shell's speech side: ``member`` (if known) spoke over expert
        ``expert`` (``None``: whoever gave the newest answer). The newest answer is marked
        interrupted in the conversation and the audit trail, and the expert falls silent."""
        by = self.members.get(member) if member is not None else None
        return self.questions.interrupt(by, expert, now)

    def factor_checked(
        self, check: CheckFactor, verdict: FactorVerdict, now: float
    ) -> list[Output]:
        """The shell's verdict on a :class:`~rooms.outputs.CheckFactor` (see
        :mod:`rooms.stepup_policy`)."""
        return self.stepup.checked(check.member, check.subject, verdict, now)

    def portfolio_ready(
        self, fetch: FetchPortfolio, holdings: list[m.Holding], now: float
    ) -> list[Output]:
        """The holdings a :class:`~rooms.outputs.FetchPortfolio` asked for."""
        return self.stepup.portfolio_ready(fetch.member, holdings, now)

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
        """Progress of a :class:`~rooms.outputs.PageRequest`: ``coming`` or ``unavailable``."""
        return self.handoffs.page_update(
            page_id, state, now, advisor=advisor, advisor_name=advisor_name, eta_s=eta_s, why=why
        )

    def invite_issued(
        self, issue: IssueInvite, invite_id: str, url: str, qr: str, now: float
    ) -> list[Output]:
        """The shell minted the link an :class:`~rooms.outputs.IssueInvite` asked for and
        its store holds the record: ``url`` to share, ``qr`` the same as an SVG QR code."""
        return self.invitations.issued(issue, invite_id, url, qr, now)

    def invite_revoked(self, revoke: RevokeInvite, now: float) -> list[Output]:
        """The shell's store has the revocation a :class:`~rooms.outputs.RevokeInvite` asked
        for: the link admits nobody from now on."""
        return self.invitations.revoked(revoke, now)

    def invite_revoke_failed(self, revoke: RevokeInvite, now: float) -> list[Output]:
        """The shell's store did not take the revocation: the link still admits."""
        return self.invitations.revoke_failed(revoke, now)

    def invite_failed(self, issue: IssueInvite, now: float) -> list[Output]:
        """The shell could not mint the link (its store did not answer)."""
        return self.invitations.failed(issue, now)

    def session_summary(
        self, grant: Grant, language: str, now: float
    ) -> tuple[str, str, list[Output]]:
        """The customer's record of the session so far (rooms/summary.py): the Markdown, its
        SHA-256, and the audit entry that files the hash under whom ``grant`` names (the
        customer may download it after leaving)."""
        if language not in SUMMARY_LANGUAGES:
            raise ValueError(f"summaries are in {', '.join(SUMMARY_LANGUAGES)}, not {language!r}")
        products = self._knowledge.products

        def name_of(pid: str) -> str:
            product = products.get(pid)
            if product is None:
                return pid
            if language == "zh-HK" and "zh" in product.name:
                return to_hk(product.name["zh"])  # the bank's Chinese names, as Hong Kong writes
            return product.name.get(language) or product.name["en"]

        summary = build(
            self.id,
            (data for _, data in self._log),
            now,
            product_name=name_of,
            interests=self.handoffs.interests,
        )
        text = render(summary, language)
        sha = digest(text)
        detail: Detail = {"sha256": sha, "lang": language, "bytes": len(text.encode())}
        event = AuditEvent(
            now, self.id, grant.subject, grant.role.value, "summary.issued", "ok", detail
        )
        return text, sha, [Audit(event)]

    def appointment_due(
        self, page_id: str, advisor_name: str, now: float, *, language: str = "en"
    ) -> list[Output]:
        """A booked appointment's time came and the shell paged its advisor (``page_id``):
        members follow that page as they follow one the room raised, in ``language``."""
        return self.handoffs.expect(page_id, advisor_name, now, language=language)

    def page_is_open(self, page_id: str) -> bool:
        """Is the room still waiting for the advisor of this page?"""
        return self.handoffs.is_open(page_id)

    def open_pages(self) -> list[str]:
        """Pages still waiting for an advisor to accept."""
        return self.handoffs.open_pages()

    # --- the shell's media side (server/media/) ------------------------------------------------

    def refuse(
        self, member_id: int, code: ErrorCode, detail: str, ref: str, now: float
    ) -> list[Output]:
        """The shell found a member's signalling wrong (a bad SDP, an answer to an old offer):
        the same error frame and strike as any bad message."""
        member = self.members.get(member_id)
        if member is None:
            return []
        return self.reject(member, now, code, detail, ref)

    def media_unavailable(self, member_id: int, now: float) -> list[Output]:
        """The shell carries no media (or has no room for another peer)."""
        return self.media.unavailable(member_id, now)

    def media_failed(self, member_id: int, now: float, why: str) -> list[Output]:
        """The shell gave up on a member's peer (ICE never completed, the peer failed)."""
        return self.media.media_failed(member_id, now, why)

    def track_live(self, member_id: int, kind: str, live: bool) -> None:
        """A track of ``kind`` (audio, video) from the member started (or ended)."""
        self.media.track_live(member_id, kind, live)

    def is_muted(self, member_id: int, kind: str) -> bool:
        """Switched off by the member (possibly before its track arrived)."""
        return self.media.is_muted(member_id, kind)

    def speaking(self, entity: int, levels: Sequence[int], hz: int, start: float) -> None:
        """Expert ``entity`` starts a clip at wall time ``start``; ``levels`` is its mouth
        opening, one value (0..MOUTH_LEVELS) per 1/``hz`` s from then on."""
        self.media.speaking(entity, levels, hz, start)

    # --- the shell's speech side (server/speech/, for the members the room asked it to hear) ---

    def speech_started(self, member_id: int, utterance: int, now: float) -> list[Output]:
        """Speech began in the member's microphone; ``utterance`` names it until its transcript
        (any number unique per member). Speech that counts stops a speaking expert."""
        return self.voice.speech_started(member_id, utterance, now)

    def speech_ended(self, member_id: int, utterance: int, now: float, *, cut: bool) -> None:
        """The utterance is over (``cut``: it reached the length limit)."""
        self.voice.speech_ended(member_id, utterance, now, cut=cut)

    def hears(self, member_id: int, utterance: int) -> bool:
        """Is the utterance a question, to be transcribed? (Speech that is not is never
        written down.)"""
        return self.voice.counts(member_id, utterance)

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
        """The utterance's transcript: asked, offered back, or nothing heard (rooms/voice.py)."""
        return self.voice.heard(member_id, utterance, text, confidence, language, now, cut=cut)

    def please_type(
        self, member_id: int, utterance: int, language: str, now: float
    ) -> list[Output]:
        """Nothing could transcribe the utterance in ``language``."""
        return self.voice.please_type(member_id, utterance, language, now)

    def audio_unusable(self, member_id: int, reason: str, now: float) -> list[Output]:
        """The member's microphone sends audio that cannot be heard; its listener stopped."""
        return self.voice.unusable(member_id, reason, now)

    def recording_saved(self, rec_id: str, manifest: str, digest: str, now: float) -> list[Output]:
        """The shell finished recording ``rec_id``: where its manifest is, and its SHA-256
        (or why it failed), for the audit trail."""
        return self.media.saved(rec_id, manifest, digest, now)

    def persona(self, persona_id: str) -> Persona:
        """An expert persona of this room's bank (raises
        :class:`~avatars.personas.UnknownPersona`)."""
        return self.questions.persona(persona_id)

    def experts(self) -> set[int]:
        """The entities of the digital experts in the scene."""
        return {e.id for e in self.scene.entities.values() if e.kind == EXPERT}

    def has_entity(self, entity: int) -> bool:
        return entity in self.scene.entities

    def entity_of(self, member_id: int) -> int | None:
        """The member's avatar, if it is in the room and has one."""
        member = self.members.get(member_id)
        return member.entity if member is not None else None

    def grant_of(self, member_id: int) -> Grant | None:
        """What the member's token granted, while it is in the room."""
        member = self.members.get(member_id)
        return member.grant if member is not None else None

    @property
    def joined(self) -> list[Member]:
        return [mb for mb in self.members.values() if mb.phase is Phase.JOINED]

    def member(self, member_id: int) -> Member | None:
        return self.members.get(member_id)

    @property
    def reliable_log(self) -> Sequence[tuple[int, bytes]]:
        """The reliable messages kept for replay, ``(seq, encoded)``, oldest first."""
        return self._log

    def dump_core(self, *, with_log: bool = True) -> dict[str, Any]:
        """The room's own part of its saved state (see rooms/persist.py): the reliable
        sequence and log, who was admitted when."""
        return {
            "seq": self.seq,
            "log": [[seq, data] for seq, data in self._log] if with_log else [],
            "admitted": dict(self._admitted),
            "next_member": self._next_member,
        }

    def load_core(self, state: Mapping[str, Any]) -> None:
        """Take back what :meth:`dump_core` saved, into a room that has no members yet."""
        self.seq = int(state["seq"])
        self._log.clear()
        self._log.extend((int(seq), bytes(data)) for seq, data in state["log"])
        self._admitted = {str(k): int(v) for k, v in state["admitted"].items()}
        self._next_member = int(state["next_member"])

    @property
    def durable_version(self) -> tuple[int, int, int, int]:
        """Changes whenever something a failover must keep changed (see rooms/persist.py):
        the reliable sequence (joins, chat, experts, screens, pages, answers ride on it),
        step-up, the conversation's interruptions, and the room's guest invitations."""
        return (self.seq, self.stepup.version, self.questions.version, self.invitations.version)

    @property
    def is_empty(self) -> bool:
        return not self.members

    # --- input ---------------------------------------------------------------------------------

    def receive(self, member_id: int, data: bytes | str, now: float) -> list[Output]:
        member = self.members.get(member_id)
        if member is None:
            raise UnknownMember(member_id)
        if not member.messages.take(now):
            return self.rate_limited(member, now)
        try:
            if is_pose_frame(data):
                if self._moves(member):
                    return self._queue_pose(member, data, now, quiet=False)
                return self._pose_refused(member, data, now)
            out = self._settle(member.id) if member.id in self._poses else []
            if member.phase is Phase.GONE:
                return out  # its waiting poses cost it the last strike
            message = decode(data, max_bytes=self.limits.max_frame_bytes)
            if type(message) not in _UPKEEP:
                member.last_active = now
            return out + self._handlers[type(message)](member, message, now)
        except MovedTooFast as exc:
            # A correction, not an offence: fast VR locomotion must not get anyone closed.
            # The pose is dropped; the client sees where it really is in the next state.
            if now - member.last_move_error < 1.0:
                return []
            member.last_move_error = now
            return [self.direct(member, m.Error(int(exc.code), exc.detail, exc.msg_type))]
        except ProtocolError as exc:
            return self.reject(member, now, exc.code, exc.detail, exc.msg_type)

    def receive_datagram(self, member_id: int, data: bytes | str, now: float) -> list[Output]:
        """A frame from the member's unreliable, unordered data channel: poses only.

        A pose may arrive after a newer one; with a counter (``pose.n``) it is dropped.
        """
        member = self.members.get(member_id)
        if member is None:
            raise UnknownMember(member_id)
        if not member.messages.take(now):
            return self.rate_limited(member, now)
        try:
            if is_pose_frame(data):
                if self._moves(member):
                    return self._queue_pose(member, data, now, quiet=True)
                return self._pose_refused(member, data, now)
            message = decode(data, max_bytes=self.limits.max_frame_bytes)
        except ProtocolError as exc:
            return self.reject(member, now, exc.code, exc.detail, exc.msg_type)
        if not isinstance(message, m.Pose):
            detail = f"only pose goes on the data channel; send {message.TYPE} on the WebSocket"
            return self.reject(member, now, ErrorCode.WRONG_ENDPOINT, detail, message.TYPE)
        last = member.pose_n
        if message.n is not None and last is not None and not _newer(message.n, last):
            return []  # overtaken by a newer pose
        member.last_active = now
        out = self._settle(member.id) if member.id in self._poses else []
        if member.phase is Phase.GONE:
            return out
        try:
            return out + self._on_pose(member, message, now)
        except MovedTooFast:
            return []  # corrected by the next state, as on the WebSocket
        except ProtocolError as exc:
            return self.reject(member, now, exc.code, exc.detail, exc.msg_type)

    # --- output --------------------------------------------------------------------------------

    def tick(self, now: float) -> list[Output]:
        out = self._settle()
        deadline = now - self.limits.join_timeout_s
        idle_since = now - self.limits.idle_timeout_s
        for member in list(self.members.values()):
            if member.phase in (Phase.CONNECTED, Phase.GREETED) and member.connected_at < deadline:
                out.append(Close(member.id, CloseCode.JOIN_TIMEOUT, "no join in time"))
                out += self._depart(member, now, "join timeout")
            elif member.phase is Phase.JOINED and member.last_active < idle_since:
                out.append(Close(member.id, CloseCode.IDLE_TIMEOUT, "closed after inactivity"))
                out += self._depart(member, now, "idle")

        for feature in self.features:
            out += feature.advance(now)
        return out + self._publish(self.scene.advance())

    def _publish(self, tick: int) -> list[Output]:
        """One state frame per (baseline, view) group: the delta-against-ack core of sync."""
        scene, policy = self.scene, self.interest
        full = policy is None or policy.is_full_tick(tick)
        index = None if full or policy is None else policy.index(scene.entities.values())
        groups: dict[tuple[int | None, Cell | None], list[Member]] = {}
        refresh_before = tick - scene.history_ticks // 2
        for member in self.joined:
            base = member.acked
            if base is not None and base < scene.oldest_base:
                base = None
            cell = None
            if base is not None and not scene.changed_since(base):
                # Nothing to say. But the baseline must stay a tick the client really has,
                # so before it ages out of the history, an empty delta (which the client
                # applies and acks) brings it forward; that costs ~20 bytes every 5 s.
                if base >= refresh_before:
                    continue
            elif base is not None and index is not None and member.entity is not None:
                cell = index.cell_of[member.entity]
            groups.setdefault((base, cell), []).append(member)

        out: list[Output] = []
        for (base, cell), members in groups.items():
            if base is None:
                data = encode(m.Snapshot(tick, scene.snapshot()))
            else:
                only = index.near(cell) if cell is not None and index is not None else None
                change = scene.delta_wire(base, only=only)
                assert change is not None  # base was checked against oldest_base above
                # The bytes encode(m.Delta(...)) gives (tests/test_pose_frame.py checks),
                # packed from the entities' wire maps without building an Ent for each.
                data = pack(
                    {
                        TYPE_KEY: m.Delta.TYPE,
                        "tick": tick,
                        "base": base,
                        "ents": change[0],
                        "gone": change[1],
                    }
                )
            if base is None or cell is None:
                for member in members:
                    member.full_ticks.append(tick)
            out.append(Frame(tuple(mb.id for mb in members), data, reliable=False))
        return out

    # --- handlers ------------------------------------------------------------------------------

    def _on_hello(self, member: Member, msg: m.Hello, now: float) -> list[Output]:
        if member.phase is not Phase.CONNECTED:
            return self.reject(
                member, now, ErrorCode.ALREADY_DONE, "hello already received", "hello"
            )
        if msg.v != PROTOCOL_VERSION:
            return self.reject(
                member,
                now,
                ErrorCode.UNSUPPORTED_VERSION,
                f"protocol version {msg.v} is not supported; this server speaks {PROTOCOL_VERSION}",
                "hello",
            )
        member.phase = Phase.GREETED
        welcome = m.Welcome(
            v=PROTOCOL_VERSION,
            member=member.id,
            room=self.id,
            role=member.role.value,
            tick_hz=self.tick_hz,
            seq=self.seq,
            max_frame=self.limits.max_frame_bytes,
            rate=int(self.limits.rate),
            layout=self.scene.layout.name,
        )
        return [self.direct(member, welcome)]

    def _on_join(self, member: Member, msg: m.Join, now: float) -> list[Output]:
        if member.phase is Phase.CONNECTED:
            return self.reject(member, now, ErrorCode.NOT_JOINED, "send hello first", "join")
        if member.phase is Phase.JOINED:
            return self.reject(member, now, ErrorCode.ALREADY_DONE, "already joined", "join")
        # A name the bank put in the token is the one shown: nobody types their way into
        # looking like somebody else.
        member.name = clean_display_name(member.grant.name or msg.name)
        member.phase = Phase.JOINED
        # A person sees the conversation from their first arrival on, never what was said
        # before they were let in; compliance observers see all of it.
        first_seq = self._admitted.setdefault(member.grant.subject, self.seq)
        out: list[Output] = []
        floor = first_seq
        if msg.since is not None:
            floor = msg.since if member.role is Role.OBSERVER else max(msg.since, first_seq)
            out += [
                Frame((member.id,), data, reliable=True) for seq, data in self._log if seq > floor
            ]
        for feature in self.features:
            out += feature.resume(member, msg.since, floor, now)
        if allowed(member.role, Action.APPEAR):
            taken = {mb.spawn for mb in self.members.values() if mb.spawn}
            taken |= {mb.seat for mb in self.members.values() if mb.seat}
            spot = self.scene.layout.spawn_for(member.role.value, taken)
            member.spawn = spot.id
            # A spawn point that is also a seat seats its member: the customer arrives seated.
            member.seat = spot.id if _seat(self.scene.layout, spot.id) is not None else None
            member.entity = self.scene.spawn(
                AVATAR,
                member.id,
                member.name,
                member.role.value,
                pose_at(spot, seated=member.seat is not None),
                look=restyle(DEFAULT_LOOK, msg.look),
                seat=member.seat or "",
            ).id
        if member.role is not Role.OBSERVER:
            out += self.broadcast_reliable(
                lambda seq: m.Joined(seq, member.id, member.name, member.role.value, _ms(now))
            )
        detail: dict[str, str | int | bool] = {"member": member.id, "name": member.name}
        if member.seat:
            detail["seat"] = member.seat
        if msg.since is not None:
            detail["resumed_from"] = msg.since
        if member.grant.layout is not None:
            detail["layout"] = member.grant.layout  # the claim; the room's own is the same
        out.append(self.audit(member, now, "member.join", "ok", detail))
        for feature in self.features:
            out += feature.on_join(member, now)
        return out

    def _on_pose(self, member: Member, msg: m.Pose, now: float) -> list[Output]:
        if (denied := self.gate(member, now, Action.MOVE, "pose")) is not None:
            return denied
        assert member.entity is not None  # every role that may move also appears
        if msg.ack is not None:
            self._take_ack(member, msg.ack)
        if msg.n is not None:
            member.pose_n = msg.n
        entity = self.scene.entities[member.entity]
        seat = _seat(self.scene.layout, member.seat) if member.seat else None
        pose = place(
            self.scene.layout,
            entity.pose,
            quantise_pose(msg),
            seat=seat,
            stride=member.stride,
            now=now,
        )
        self.scene.move(member.entity, pose)
        return []

    def _pose_frame(self, data: bytes | bytearray | memoryview | str) -> PoseFrame:
        assert not isinstance(data, str)
        if len(data) > self.limits.max_frame_bytes:
            raise FrameTooLarge(
                f"frame of {len(data)} bytes, at most {self.limits.max_frame_bytes}"
            )
        return decode_pose_frame(data)

    def _pose_refused(self, member: Member, data: bytes | str, now: float) -> list[Output]:
        """A binary pose from a member who may not move (not joined, or a role that does not
        move): the frame's own checks first, as the SPEC orders, then the refusal."""
        self._pose_frame(data)
        member.last_active = now
        denied = self.gate(member, now, Action.MOVE, "pose")
        assert denied is not None  # as _moves() said
        return denied

    def _moves(self, member: Member) -> bool:
        """Whether the member's binary poses may wait for the tick: joined and allowed to move
        (others are refused at once, with the codes the frame's own checks come first for)."""
        return member.phase is Phase.JOINED and allowed(member.role, Action.MOVE)

    def _queue_pose(
        self, member: Member, data: bytes | str, now: float, *, quiet: bool
    ) -> list[Output]:
        """A moving member's binary pose: the frame's shape, its ack and counter now; the
        parts' values, the reach and the walk at the tick (:meth:`_settle`)."""
        assert not isinstance(data, str)
        if len(data) > self.limits.max_frame_bytes:
            raise FrameTooLarge(
                f"frame of {len(data)} bytes, at most {self.limits.max_frame_bytes}"
            )
        mode, end, n, ack = read_pose_frame(data)
        if quiet and n is not None and member.pose_n is not None and not _newer(n, member.pose_n):
            return []  # overtaken on the data channel by a newer pose
        member.last_active = now
        if ack is not None:
            self._take_ack(member, ack)
        if n is not None:
            member.pose_n = n
        if self._desk is not None and not self._poses:
            self._desk.mark(self)
        self._poses.add(member.id, mode, memoryview(data)[2:end], now, quiet)
        return []

    def _settle(self, only: int | None = None) -> list[Output]:
        """Judge the waiting binary poses: one member's before its next message, or at the tick
        all of them (with the other rooms on the desk, when the room has one)."""
        if only is None and self._desk is not None:
            self._desk.settle()
        else:
            for batch in self._poses.take(only):
                live, current, seats = self.pose_inputs(batch)
                if live.members:
                    self.apply_poses(live, judge(self.floor, live.records, current, seats))
        out, self._pose_out = self._pose_out, []
        return out

    # --- what the pose desk uses (rooms/pose_desk.py) -------------------------------------------

    def waiting_poses(self) -> list[PoseRound]:
        return self._poses.take()

    def pose_inputs(
        self, batch: PoseRound
    ) -> tuple[PoseRound, list[tuple[int, int, int]], list[tuple[int, int, int] | None]]:
        """The batch without the poses of members who left since, each remaining member's head
        now and its seat (millimetres)."""
        members, entities = self.members, self.scene.entities
        movers = [
            (i, mb, entity)
            for i, mid in enumerate(batch.members)
            if (mb := members.get(mid)) is not None and (entity := mb.entity) is not None
        ]
        if len(movers) < len(batch.members):
            batch = PoseRound(
                [batch.members[i] for i, _, _ in movers],
                [batch.times[i] for i, _, _ in movers],
                [batch.quiet[i] for i, _, _ in movers],
                b"".join(batch.record(i) for i, _, _ in movers),
            )
        current = [head_mm(entities[entity].packed) for _, _, entity in movers]
        return batch, current, [self._seat_mm(mb) for _, mb, _ in movers]

    def apply_poses(self, batch: PoseRound, judged: Judged) -> None:
        """Each judged pose: refused (its error waits for the tick), or charged on the walking
        budget and placed in the scene."""
        members, scene, out = self.members, self.scene, self._pose_out
        for i, mid in enumerate(batch.members):
            member = members.get(mid)
            if member is None or member.entity is None:
                continue  # refused out of the room by an earlier pose of this batch
            now = batch.times[i]
            if judged.bad[i]:
                out += self._refuse_pose(member, batch.record(i), now)
            elif not member.stride.take(now, judged.step[i]):
                if not batch.quiet[i] and now - member.last_move_error >= 1.0:
                    member.last_move_error = now
                    why = too_fast(judged.step[i])
                    out.append(self.direct(member, m.Error(int(why.code), why.detail, "pose")))
            else:
                scene.move_packed(member.entity, judged.record(i))

    def _refuse_pose(self, member: Member, record: bytes, now: float) -> list[Output]:
        """The error a pose judged bad in a batch gets: the one-pose checks say which."""
        packed = record if record[0] else record[:SIZE_HEAD_ONLY]
        try:
            check_parts(packed)
            check_reach(packed)
        except ProtocolError as exc:
            return self.reject(member, now, exc.code, exc.detail, exc.msg_type)
        # The two ways of judging disagree (a defect; tests/avatars/test_pose_batch.py holds
        # them together): the pose is dropped, as a refused one would be, and said so.
        log.error("room %s: a pose the batch refused passes the one-pose checks", self.id)
        return []

    def _seat_mm(self, member: Member) -> tuple[int, int, int] | None:
        seat = _seat(self.scene.layout, member.seat) if member.seat else None
        return None if seat is None else pos_to_mm(seat.pos)

    def _on_restyle(self, member: Member, msg: m.Restyle, now: float) -> list[Output]:
        if (denied := self.gate(member, now, Action.RESTYLE, "look")) is not None:
            return denied
        assert member.entity is not None
        entity = self.scene.entities[member.entity]
        self.scene.restyle(member.entity, restyle(entity.look, msg.look))
        return []

    def _on_sit(self, member: Member, msg: m.Sit, now: float) -> list[Output]:
        if (denied := self.gate(member, now, Action.SIT, "sit")) is not None:
            return denied
        assert member.entity is not None
        seat = _seat(self.scene.layout, msg.seat)
        if seat is None:
            return self.reject(member, now, ErrorCode.NO_SUCH_SEAT, f"no seat {msg.seat!r}", "sit")
        if seat.roles and member.role.value not in seat.roles:
            detail = f"seat {seat.id} is for {', '.join(sorted(seat.roles))}"
            return self.reject(member, now, ErrorCode.FORBIDDEN, detail, "sit")
        holder = next((mb for mb in self.members.values() if mb.seat == seat.id), None)
        if holder is not None and holder is not member:
            return self.reject(member, now, ErrorCode.SEAT_TAKEN, f"seat {seat.id} is taken", "sit")
        # Sitting is the way to change place quickly (VR teleport): no walking-speed check.
        member.seat = seat.id
        self.scene.move(member.entity, pose_at(seat, seated=True))
        self.scene.seat(member.entity, seat.id)
        return []

    def _on_stand(self, member: Member, msg: m.Stand, now: float) -> list[Output]:
        if (denied := self.gate(member, now, Action.SIT, "stand")) is not None:
            return denied
        assert member.entity is not None
        if member.seat is None:
            return []
        seat = _seat(self.scene.layout, member.seat)
        member.seat = None
        self.scene.seat(member.entity, "")
        if seat is not None:
            self.scene.move(member.entity, pose_at(seat, seated=False))
        return []

    def _on_ack(self, member: Member, msg: m.Ack, now: float) -> list[Output]:
        if member.phase is not Phase.JOINED:
            return self.reject(member, now, ErrorCode.NOT_JOINED, "join first", "ack")
        self._take_ack(member, msg.tick)
        return []

    def _take_ack(self, member: Member, tick: int) -> None:
        if tick > self.scene.tick:
            raise BadValue(f"ack: tick {tick} is ahead of the room ({self.scene.tick})")
        # Only a frame that carried everything can be a baseline (see rooms/interest.py).
        if tick in member.full_ticks and (member.acked is None or tick > member.acked):
            member.acked = tick
        while member.full_ticks and member.full_ticks[0] < tick:
            member.full_ticks.popleft()

    def _on_chat(self, member: Member, msg: m.Chat, now: float) -> list[Output]:
        if (denied := self.gate(member, now, Action.CHAT, "chat")) is not None:
            return denied
        if not member.chats.take(now):
            return self.rate_limited(member, now, what="chat")
        out = self.broadcast_reliable(
            lambda seq: m.ChatPosted(seq, member.id, member.name, msg.text, _ms(now))
        )
        detail: Detail = {"seq": self.seq, "sha256": text_digest(msg.text), "chars": len(msg.text)}
        return [*out, self.audit(member, now, "chat.post", "ok", detail)]

    def _on_remove(self, member: Member, msg: m.Remove, now: float) -> list[Output]:
        if (denied := self.gate(member, now, Action.REMOVE_MEMBER, "remove")) is not None:
            return denied
        target = self.members.get(msg.member)
        if target is None or target.phase is not Phase.JOINED:
            return self.reject(
                member,
                now,
                ErrorCode.NO_SUCH_MEMBER,
                f"no member {msg.member} in the room",
                "remove",
            )
        if target.role not in REMOVABLE or (
            member.role is Role.CUSTOMER and target.role not in CUSTOMER_REMOVES
        ):
            return self.reject(
                member,
                now,
                ErrorCode.FORBIDDEN,
                f"a {target.role.value} cannot be removed",
                "remove",
            )
        log.info("room %s: member %d removed member %d", self.id, member.id, target.id)
        detail: Detail = {"member": target.id, "subject": target.grant.subject}
        return [
            self.audit(member, now, "member.remove", "ok", detail),
            *self.invitations.guest_removed(member, target, now),
            Close(target.id, CloseCode.REMOVED, "removed from the room"),
            *self._depart(target, now, "removed"),
        ]

    def _on_leave(self, member: Member, msg: m.Leave, now: float) -> list[Output]:
        return [Close(member.id, CloseCode.NORMAL, "left"), *self._depart(member, now, "left")]

    def _on_ping(self, member: Member, msg: m.Ping, now: float) -> list[Output]:
        return [self.direct(member, m.Pong(msg.n))]

    def _on_console_message(self, member: Member, msg: m.Message, now: float) -> list[Output]:
        detail = f"{msg.TYPE!r} belongs to the advisor console (/console), not a room"
        return self.reject(member, now, ErrorCode.WRONG_ENDPOINT, detail, msg.TYPE)

    def _on_appointment_message(self, member: Member, msg: m.Message, now: float) -> list[Output]:
        detail = f"{msg.TYPE!r} is sent to /book (customers) or /console (advisors), not a room"
        return self.reject(member, now, ErrorCode.WRONG_ENDPOINT, detail, msg.TYPE)

    def _own_handlers(self) -> dict[type[m.Message], Handler]:
        return {
            m.Hello: self._on_hello,
            m.Join: self._on_join,
            m.Pose: self._on_pose,
            m.Restyle: self._on_restyle,
            m.Sit: self._on_sit,
            m.Stand: self._on_stand,
            m.Ack: self._on_ack,
            m.Chat: self._on_chat,
            m.Remove: self._on_remove,
            m.Leave: self._on_leave,
            m.Ping: self._on_ping,
            m.SetPresence: self._on_console_message,
            m.Accept: self._on_console_message,
            m.Decline: self._on_console_message,
            m.Offer: self._on_appointment_message,
            m.Book: self._on_appointment_message,
            m.Cancel: self._on_appointment_message,
            m.Move: self._on_appointment_message,
        }

    # --- what features use (rooms/context.py) --------------------------------------------------

    def gate(self, member: Member, now: float, action: Action, ref: str) -> list[Output] | None:
        """The one place every member action is checked: joined, and allowed for the role."""
        if member.phase is not Phase.JOINED:
            return self.reject(member, now, ErrorCode.NOT_JOINED, "join first", ref)
        if not allowed(member.role, action):
            log.info("room %s: %s denied %s", self.id, member.role.value, action.value)
            detail = {"action": action.value}
            return [
                self.audit(member, now, "permission.denied", "denied", detail),
                *self.reject(
                    member,
                    now,
                    ErrorCode.FORBIDDEN,
                    f"a {member.role.value} may not {action.value}",
                    ref,
                ),
            ]
        return None

    def direct(self, member: Member, message: m.Message) -> Frame:
        return Frame((member.id,), encode(message), reliable=True)

    def broadcast_reliable(self, build: Callable[[int], m.Message]) -> list[Output]:
        self.seq += 1
        data = encode(build(self.seq))
        self._log.append((self.seq, data))
        recipients = tuple(mb.id for mb in self.joined)
        return [Frame(recipients, data, reliable=True)] if recipients else []

    def reject(
        self,
        member: Member,
        now: float,
        code: ErrorCode,
        detail: str,
        ref: str | None,
        *,
        throttled: bool = False,
    ) -> list[Output]:
        """An error frame for the sender, costing a strike; out of strikes, a close.

        ``throttled``: at most one such frame a second, because answering every dropped frame
        of a flood would amplify it.
        """
        out: list[Output] = []
        fatal = not member.strikes.take(now)
        if fatal or not throttled or now - member.last_rate_error >= 1.0:
            if throttled:
                member.last_rate_error = now
            error = m.Error(int(code), detail[:MAX_ERROR_CHARS], ref, True if fatal else None)
            out.append(self.direct(member, error))
        if fatal:
            if code is ErrorCode.RATE_LIMITED:
                out.append(Close(member.id, CloseCode.RATE_LIMITED, "message rate limit exceeded"))
                out += self._depart(member, now, "rate limit")
            else:
                out.append(Close(member.id, CloseCode.TOO_MANY_ERRORS, "too many bad messages"))
                out += self._depart(member, now, "too many errors")
        return out

    def rate_limited(self, member: Member, now: float, what: str = "messages") -> list[Output]:
        detail = f"too many {what}; slow down"
        return self.reject(member, now, ErrorCode.RATE_LIMITED, detail, None, throttled=True)

    def audit(
        self, member: Member | None, now: float, action: str, outcome: str, detail: Detail
    ) -> Audit:
        """An audit event by ``member``, or by the room itself (``None``: experts, timers)."""
        actor, role = (
            ("server", "server") if member is None else (member.grant.subject, member.role.value)
        )
        return Audit(AuditEvent(now, self.id, actor, role, action, outcome, detail))

    def _depart(self, member: Member, now: float, reason: str) -> list[Output]:
        was_joined = member.phase is Phase.JOINED
        member.phase = Phase.GONE
        del self.members[member.id]
        if member.entity is not None:
            self.scene.remove(member.entity)
            member.entity = None
        if not was_joined:
            return []
        out: list[Output] = [self.audit(member, now, "member.leave", reason, {"member": member.id})]
        if member.role is not Role.OBSERVER:
            out += self.broadcast_reliable(lambda seq: m.Left(seq, member.id, reason, _ms(now)))
        for feature in self.features:
            out += feature.on_leave(member, now)
        return out


def _seat(layout: Layout, seat_id: str) -> SpawnPoint | None:
    try:
        return layout.seat(seat_id)
    except (KeyError, LayoutError):
        return None


def _newer(n: int, last: int) -> bool:
    """Serial-number order (RFC 1982): counters wrap at 2**32."""
    return 0 < (n - last) % 2**32 < 2**31


def _ms(now: float) -> int:
    return max(0, int(now * 1000))


# Messages a client sends by itself to keep the link healthy; they are not a person's activity.
_UPKEEP: frozenset[type[m.Message]] = frozenset({m.Ack, m.Ping})
