"""A room's voice and video: the shell that carries out the room's media outputs.

:class:`MediaNode` is one per server process: the media hub (every source encoded once per
quality, whatever the audience), the speech engine and a cap on peers. :class:`RoomMedia` is
one per room that uses media: a peer per member (``server/media/peers.py``), the experts'
voices, the recorder, and the bookkeeping that tells each peer which sources to receive.

Sources in the hub are named ``<room>/<src>`` with ``src`` as the members are told it
(``m7.a``, ``e40.a``, ``e40.v``) except thin views (``t7.v``, offered to member 7 as ``view``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, assert_never

from aiortc import RTCDataChannel
from aiortc.exceptions import InvalidStateError
from aiortc.mediastreams import MediaStreamTrack

from avatars.personas import UnknownPersona
from protocol import messages as m
from protocol.codec import encode
from protocol.codes import ErrorCode
from rooms.outputs import (
    Hush,
    Listen,
    MediaEnable,
    MediaOutput,
    MediaSignal,
    MediaStart,
    MediaStop,
    Output,
    RecordAdmit,
    RecordStart,
    RecordStop,
    Speak,
    Unlisten,
)
from rooms.room import Room
from server.media.hub import MediaHub, SourceState
from server.media.peers import (
    POSE_CHANNEL,
    Peer,
    SignalError,
    close_peer,
    make_offer,
    new_peer,
    on_remote_track,
    start_sending,
    stop_sending,
    take_answer,
    take_candidate,
    want_receiving,
    watch_connection,
)
from server.media.speech_track import ClipStart, Playback, SpeechTrack
from server.media.tts import ENVELOPE_HZ, Speaker, SpeechError, speaking_parts
from server.media.turn import IceConfig
from server.speech.results import Transcriber
from server.speech.room_speech import RoomSpeech
from server.speech.segmenter import SegmenterConfig

log = logging.getLogger(__name__)

KIND_SUFFIX = {"audio": "a", "video": "v"}
SPEECH_WAIT_S = 1.5


class VideoMaker(Protocol):
    """Server-drawn pictures (``server/media/render_track.py``)."""

    def portrait(self, room: Room, entity: int) -> MediaStreamTrack: ...

    def thin_view(self, room: Room, member: int) -> MediaStreamTrack: ...

    def close(self) -> None: ...


class RecorderFactory(Protocol):
    def __call__(
        self, hub: MediaHub, room: str, recording_id: str, by: str, retention_days: int
    ) -> Recorder: ...


class Recorder(Protocol):
    def add(self, source_id: str, label: str) -> None: ...

    async def close(self) -> Path: ...


@dataclass
class MediaSettings:
    connect_timeout_s: float = 15.0
    max_peers: int = 64
    ice_servers: tuple[str, ...] = ()  # for the server's own peers
    member_ice: IceConfig | None = None  # handed to members as they connect
    segmenter: SegmenterConfig | None = None  # how speech is cut into questions (None: default)


@dataclass(eq=False)
class MediaNode:
    """What every room's media on this server shares."""

    settings: MediaSettings = field(default_factory=MediaSettings)
    speaker: Speaker | None = None
    video: VideoMaker | None = None
    recorder: RecorderFactory | None = None
    transcriber: Transcriber | None = None  # members asking by voice (None: onsets only)
    hub: MediaHub = field(init=False)
    rooms: dict[str, RoomMedia] = field(default_factory=dict)
    speech_failures: int = 0

    def __post_init__(self) -> None:
        self.hub = MediaHub(on_state=self._source_state)

    @property
    def peers(self) -> int:
        return sum(len(r.peers) for r in self.rooms.values())

    def _source_state(self, state: SourceState) -> None:
        room_id, _, _ = state.source_id.partition("/")
        room = self.rooms.get(room_id)
        if room is not None:
            room.source_changed(state)

    async def close(self) -> None:
        for room in list(self.rooms.values()):
            await room.close()
        await self.hub.close()
        if self.video is not None:
            self.video.close()


class RoomMedia:
    def __init__(
        self,
        node: MediaNode,
        room: Room,
        *,
        send: Callable[[int, bytes], None],
        dispatch: Callable[[list[Output]], None],
        chore: Callable[[Coroutine[Any, Any, None], str], None],
        on_datagram: Callable[[int, bytes | str], None],
    ) -> None:
        self.node = node
        self.room = room
        self.hub = node.hub
        self.peers: dict[int, Peer] = {}
        self._send = send  # a direct frame to one member
        self._dispatch = dispatch  # the room's outputs, as the host handles them
        self._chore = chore
        self._on_datagram = on_datagram
        self._voices: dict[int, SpeechTrack] = {}  # expert entity -> its voice
        # An expert's answers are said in order, part by part; a hush voids the parts of
        # answers still being synthesised (their count of hushes no longer matches).
        self._saying: dict[int, asyncio.Lock] = {}
        self._hushes: dict[int, int] = {}
        self._portraits: set[int] = set()
        self._thin: set[int] = set()
        self._recorder: Recorder | None = None
        self._recording: str | None = None
        self._recorded: set[int] = set()  # members whose media may be recorded
        self._in_recording: set[str] = set()  # hub sources the recorder takes
        self.saved: dict[str, asyncio.Future[Path]] = {}  # recording id -> its manifest
        self._reconcile_due = False
        self.speech = RoomSpeech(
            room,
            self.hub,
            node.transcriber,
            source_of=lambda member: self.sid(f"m{member}.a"),
            dispatch=dispatch,
            config=node.settings.segmenter,
        )
        node.rooms[room.id] = self

    def sid(self, src: str) -> str:
        return f"{self.room.id}/{src}"

    # --- the room's outputs ---------------------------------------------------------------

    def handle(self, out: MediaOutput) -> None:
        if isinstance(out, MediaStart):
            self._start(out)
        elif isinstance(out, MediaStop):
            self._chore(self._stop(out.member), f"media-stop:{out.member}")
        elif isinstance(out, MediaSignal):
            self._chore(self._signal(out), f"signal:{out.member}")
        elif isinstance(out, MediaEnable):
            source = self.sid(f"m{out.member}.{KIND_SUFFIX[out.kind]}")
            if any(s.source_id == source for s in self.hub.sources()):
                self.hub.set_enabled(source, out.enabled)
            if out.kind == "audio":
                self.speech.follow(out.member)
        elif isinstance(out, Speak):
            self._chore(self._speak(out), f"speak:{out.entity}")
        elif isinstance(out, Hush):
            self._hushes[out.entity] = self._hushes.get(out.entity, 0) + 1
            if (voice := self._voices.get(out.entity)) is not None:
                voice.interrupt()
        elif isinstance(out, Listen):
            self.speech.listen(out)
        elif isinstance(out, Unlisten):
            self.speech.unlisten(out.member)
        elif isinstance(out, RecordStart):
            self._record_start(out)  # now: the admissions that follow in this batch need it
        elif isinstance(out, RecordAdmit):
            self._admit(out.id, out.member)
        elif isinstance(out, RecordStop):
            self._chore(self._record_stop(out.id), f"record-stop:{out.id}")
        else:
            assert_never(out)

    def _start(self, out: MediaStart) -> None:
        peer = self.peers.get(out.member)
        if peer is None:
            if self.node.peers >= self.node.settings.max_peers:
                self._dispatch(self.room.media_unavailable(out.member, time.time()))
                return
            peer = new_peer(out.member, self.node.settings.ice_servers)
            self.peers[out.member] = peer
            self._wire(peer)
        peer.send, peer.view, peer.dc = out.send, out.view, out.dc
        if out.quality != peer.quality:
            peer.quality = out.quality
            for source_id, sending in peer.sending.items():
                if sending.track.kind == "video":
                    # The same track (and so the same sender and m-line) on the other lane.
                    self.hub.set_quality(source_id, f"p{peer.member}", out.quality)
        if out.view == "thin":
            self._ensure_thin(out.member)
        elif out.member in self._thin:
            # Back to drawing the room itself: the render thread stops drawing for it.
            self._thin.discard(out.member)
            source = self.sid(f"t{out.member}.v")
            self._chore(self.hub.remove_source(source), f"thin-stop:{out.member}")
        self.reconcile()

    def _wire(self, peer: Peer) -> None:
        member = peer.member

        @peer.pc.on("track")
        def track(track: MediaStreamTrack) -> None:
            kind = on_remote_track(peer, track)
            if kind is None:
                log.info(
                    "room %s: member %d sent an unasked %s track", self.room.id, member, track.kind
                )
                return
            source = self.sid(f"m{member}.{KIND_SUFFIX[kind]}")
            if any(s.source_id == source for s in self.hub.sources()):
                return  # the same m-line after a renegotiation: already forwarded
            self.hub.add_source(source, track)
            if self.room.is_muted(member, kind):
                self.hub.set_enabled(source, False)  # switched off before it arrived

        watch_connection(peer, lambda why: self._fail(member, why))
        self._chore(self._deadline(peer), f"media-deadline:{member}")

    def _listen(self, peer: Peer, channel: RTCDataChannel) -> None:
        member = peer.member

        @channel.on("message")
        def message(data: bytes | str) -> None:
            if not peer.closed:
                self._on_datagram(member, data)

    async def _deadline(self, peer: Peer) -> None:
        waits = [asyncio.ensure_future(e.wait()) for e in (peer.connected, peer.ended)]
        try:
            await asyncio.wait(
                waits,
                timeout=self.node.settings.connect_timeout_s,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            for wait in waits:
                wait.cancel()
        if peer.connected.is_set() or peer.closed or self.peers.get(peer.member) is not peer:
            return
        self._fail(peer.member, f"not connected after {self.node.settings.connect_timeout_s:g} s")

    def _fail(self, member: int, why: str) -> None:
        peer = self.peers.get(member)
        if peer is None or peer.closed:
            return
        log.info("room %s: member %d media failed: %s", self.room.id, member, why)
        self._dispatch(self.room.media_failed(member, time.time(), why))

    async def _stop(self, member: int) -> None:
        peer = self.peers.pop(member, None)
        if peer is None:
            return
        await close_peer(peer)
        for kind in ("a", "v"):
            await self.hub.remove_source(self.sid(f"m{member}.{kind}"))
        if member in self._thin:
            self._thin.discard(member)
            await self.hub.remove_source(self.sid(f"t{member}.v"))
        self.reconcile()

    async def _signal(self, out: MediaSignal) -> None:
        peer = self.peers.get(out.member)
        msg = out.message
        if peer is None or peer.closed:
            self._refuse(out.member, ErrorCode.NO_MEDIA_SESSION, "no media session", msg.TYPE)
            return
        try:
            async with peer.lock:
                if isinstance(msg, m.RtcAnswer):
                    await take_answer(peer, msg)
                else:
                    await take_candidate(peer, msg)
        except SignalError as exc:
            self._refuse(out.member, exc.code, exc.detail, msg.TYPE)
            return
        if isinstance(msg, m.RtcAnswer):
            self.reconcile()  # after the first answer, or what changed while it was out

    def _refuse(self, member: int, code: ErrorCode, detail: str, ref: str = "media") -> None:
        self._dispatch(self.room.refuse(member, code, detail, ref, time.time()))

    # --- who receives what ------------------------------------------------------------------

    def source_changed(self, state: SourceState) -> None:
        """A hub source of this room appeared, was switched, or ended."""
        src = state.source_id.partition("/")[2]
        if src.startswith("m") and "." in src:
            member = int(src[1 : src.index(".")])
            kind = "audio" if src.endswith(".a") else "video"
            self.room.track_live(member, kind, state.live)
            if kind == "audio":
                self.speech.follow(member)
            if not state.live:
                self._in_recording.discard(state.source_id)  # a new track is a new file
            elif member in self._recorded:
                self._record(state.source_id, self._label(member, kind))
        self.reconcile()

    def reconcile(self) -> None:
        """Soon (once per loop turn, however many changes): every peer gets what it should."""
        if self._reconcile_due:
            return
        self._reconcile_due = True
        asyncio.get_running_loop().call_soon(self._reconcile_now)

    def _reconcile_now(self) -> None:
        self._reconcile_due = False
        live = {s.source_id for s in self.hub.sources() if s.live}
        for peer in list(self.peers.values()):
            if peer.closed:
                continue
            changed = want_receiving(peer, peer.send)
            if peer.offer_n == 0:
                # The first offer carries only the member's own m-lines and the data
                # channel; what it receives follows in the next. Sendonly m-lines in a very
                # first offer whose bundle leads with an inactive m-line never reached an
                # aiortc answerer in our tests, while the same m-lines added by a
                # renegotiation do; one more round trip at the start buys that.
                self._chore(self._offer(peer), f"offer:{peer.member}")
                continue
            wanted = self._wanted(peer, live)
            for source_id in list(peer.sending):
                if source_id not in wanted:
                    changed = stop_sending(peer, source_id) or changed
            for source_id, (src, ent) in wanted.items():
                if source_id not in peer.sending:
                    track = self.hub.subscribe(source_id, f"p{peer.member}", peer.quality)
                    start_sending(peer, source_id, src, ent, track)
                    changed = True
            if changed or (peer.dirty and peer.awaiting is None):
                self._chore(self._offer(peer), f"offer:{peer.member}")

    def _wanted(self, peer: Peer, live: set[str]) -> dict[str, tuple[str, int | None]]:
        room_id = self.room.id
        wanted: dict[str, tuple[str, int | None]] = {}
        for source_id in live:
            owner, _, src = source_id.partition("/")
            if owner != room_id:
                continue
            if src.startswith("m"):
                member = int(src[1 : src.index(".")])
                if member == peer.member or (peer.view == "thin" and src.endswith(".v")):
                    continue
                wanted[source_id] = (src, self._entity_of(member))
            elif src.startswith("e"):
                entity = int(src[1 : src.index(".")])
                if src.endswith(".v") and peer.view != "video":
                    continue
                wanted[source_id] = (src, entity)
            elif src == f"t{peer.member}.v" and peer.view == "thin":
                wanted[source_id] = ("view", None)
        return wanted

    def _entity_of(self, member: int) -> int | None:
        return self.room.entity_of(member)

    async def _offer(self, peer: Peer) -> None:
        async with peer.lock:
            if peer.closed:
                return
            if peer.awaiting is not None:
                peer.dirty = True  # one negotiation at a time; this follows the answer
                return
            if peer.channel is None:
                # Always there: it keeps a peer with nothing to receive yet connected (a
                # renegotiation then needs no new handshake). Unordered, never
                # retransmitted: a late pose is worth less than none.
                peer.channel = peer.pc.createDataChannel(
                    POSE_CHANNEL, ordered=False, maxRetransmits=0
                )
                self._listen(peer, peer.channel)
            try:
                offer = await make_offer(peer)
            except InvalidStateError:
                # Closed under us (the member left, or its connection failed and aiortc
                # shut it): the member's next ``media`` starts afresh.
                log.info(
                    "room %s: member %d's peer closed before an offer", self.room.id, peer.member
                )
                return
        if not peer.closed and self.peers.get(peer.member) is peer:
            self._send(peer.member, encode(offer))

    # --- experts ----------------------------------------------------------------------------

    def follow_scene(self) -> None:
        """Each tick: every expert in the room has a voice (and, for flat viewers, a picture)."""
        if not self.peers and not self._voices:
            return
        experts = self.room.experts()
        for entity in experts - set(self._voices):
            self._ensure_voice(entity)
        for entity in set(self._voices) - experts:
            self._voices.pop(entity).stop()
        wants_pictures = self.node.video is not None and any(
            p.view == "video" for p in self.peers.values()
        )
        for entity in (experts - self._portraits) if wants_pictures else ():
            assert self.node.video is not None
            self._portraits.add(entity)
            self.hub.add_source(
                self.sid(f"e{entity}.v"), self.node.video.portrait(self.room, entity)
            )
        gone = self._portraits - experts if wants_pictures else set(self._portraits)
        for entity in gone:
            self._portraits.discard(entity)
            self._chore(self.hub.remove_source(self.sid(f"e{entity}.v")), f"portrait:{entity}")

    def _ensure_voice(self, entity: int) -> SpeechTrack:
        voice = self._voices.get(entity)
        if voice is None:

            def started(playback: Playback, start: ClipStart) -> None:
                levels = [round(float(v) * m.MOUTH_LEVELS) for v in playback.clip.envelope]
                self.room.speaking(entity, levels, ENVELOPE_HZ, start.wall_time)

            voice = SpeechTrack(on_clip_start=started)
            self._voices[entity] = voice
            self.hub.add_source(self.sid(f"e{entity}.a"), voice)
            self._record(self.sid(f"e{entity}.a"), f"expert {entity} voice")
        return voice

    def _ensure_thin(self, member: int) -> None:
        if member in self._thin or self.node.video is None:
            return
        self._thin.add(member)
        self.hub.add_source(self.sid(f"t{member}.v"), self.node.video.thin_view(self.room, member))

    async def _speak(self, out: Speak) -> None:
        speaker = self.node.speaker
        if speaker is None or not self.room.has_entity(out.entity):
            return
        try:
            persona = self.room.persona(out.persona)
        except UnknownPersona:
            return
        voice = persona.voice
        hushes = self._hushes.get(out.entity, 0)
        async with self._saying.setdefault(out.entity, asyncio.Lock()):
            for i, part in enumerate(speaking_parts(out.text)):
                try:
                    clip = await speaker.synthesize(
                        part, voice.name, rate=voice.rate, pitch=voice.pitch
                    )
                except (SpeechError, ValueError) as exc:
                    self.node.speech_failures += 1
                    log.warning(
                        "room %s: expert %d could not speak: %s", self.room.id, out.entity, exc
                    )
                    return
                if (
                    not self.room.has_entity(out.entity)
                    or self._hushes.get(out.entity, 0) != hushes
                ):
                    return
                track = self._ensure_voice(out.entity)
                if i == 0:
                    await self._heard(self.sid(f"e{out.entity}.a"))
                track.play(clip)

    async def _heard(self, source_id: str) -> None:
        """Until every listener's sender for ``source_id`` runs (an expert who has just
        arrived is still being negotiated), up to ``SPEECH_WAIT_S``: the first words of an
        answer must not be lost to the renegotiation they caused."""
        if any(source_id not in p.sending for p in self.peers.values() if not p.closed):
            self._reconcile_now()  # the voice has just been made: offer it now
        listeners = [
            p.sending[source_id].track.started.wait()
            for p in self.peers.values()
            if source_id in p.sending and p.connected.is_set()
        ]
        if listeners:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(SPEECH_WAIT_S):
                    await asyncio.gather(*listeners)

    # --- recording --------------------------------------------------------------------------

    def _record_start(self, out: RecordStart) -> None:
        make = self.node.recorder
        if make is None:
            log.warning(
                "room %s: recording %s asked for, but no recorder is set up", self.room.id, out.id
            )
            return
        self._recorder = make(self.hub, self.room.id, out.id, out.by, out.retention_days)
        self._recording = out.id
        self._in_recording = set()
        self.saved[out.id] = asyncio.get_running_loop().create_future()
        self._recorded = set()
        for member in out.members:
            self._admit(out.id, member)
        for entity in self._voices:
            self._record(self.sid(f"e{entity}.a"), f"expert {entity} voice")

    def _admit(self, recording: str, member: int) -> None:
        if recording != self._recording or self._recorder is None:
            return
        self._recorded.add(member)
        live = {s.source_id for s in self.hub.sources() if s.live}
        for suffix, kind in (("a", "audio"), ("v", "video")):
            source = self.sid(f"m{member}.{suffix}")
            if source in live:
                self._record(source, self._label(member, kind))

    def _record(self, source_id: str, label: str) -> None:
        """Into the recording, once: a source switched off and on again is the same file."""
        if self._recorder is None or source_id in self._in_recording:
            return
        self._in_recording.add(source_id)
        self._recorder.add(source_id, label)

    def _label(self, member: int, kind: str) -> str:
        grant = self.room.grant_of(member)
        who = f"{grant.role.value} {grant.subject}" if grant is not None else f"member {member}"
        return f"{who} {'microphone' if kind == 'audio' else 'camera'}"

    async def _record_stop(self, recording: str) -> None:
        if recording != self._recording or self._recorder is None:
            return
        recorder, self._recorder, self._recording = self._recorder, None, None
        self._recorded = set()
        try:
            manifest = await recorder.close()
        except Exception as exc:
            log.exception("room %s: recording %s could not be finished", self.room.id, recording)
            self._dispatch(self.room.recording_saved(recording, "", f"failed: {exc}", time.time()))
            self.saved[recording].set_exception(exc)
            return
        digest = hashlib.sha256(manifest.read_bytes()).hexdigest()
        log.info("room %s: recording %s saved: %s", self.room.id, recording, manifest)
        self._dispatch(self.room.recording_saved(recording, str(manifest), digest, time.time()))
        self.saved[recording].set_result(manifest)

    # --- the end ----------------------------------------------------------------------------

    async def close(self) -> None:
        if self._recorder is not None and self._recording is not None:
            await self._record_stop(self._recording)
        await self.speech.close()
        for member in list(self.peers):
            await self._stop(member)
        for entity, voice in list(self._voices.items()):
            voice.stop()
            await self.hub.remove_source(self.sid(f"e{entity}.a"))
        self._voices.clear()
        for entity in list(self._portraits):
            await self.hub.remove_source(self.sid(f"e{entity}.v"))
        self._portraits.clear()
        self.node.rooms.pop(self.room.id, None)
