"""One aiortc peer connection per member: the server's side of the signalling in SPEC.md.

The server always offers. A peer keeps a *desired* picture (what the member sends, which
sources it receives, whether it has the pose channel) and, whenever that changes, makes the
next offer once the previous one has been answered. Sources that end keep their m-line,
``inactive``: aiortc never reuses an m-line, and a stable m-line order keeps the member's
transceivers where they were.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCDataChannel,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamTrack
from aiortc.sdp import SessionDescription, candidate_from_sdp

from protocol import messages as m
from protocol.codes import ErrorCode
from server.errors import MediaError
from server.media.hub import ViewerTrack
from server.media.rtc import attach_viewer

log = logging.getLogger(__name__)

KINDS = ("audio", "video")
# foundation component transport priority address port "typ" type [extensions] (RFC 8839)
_CANDIDATE = re.compile(
    r"[!-~]{1,32} \d{1,3} (?i:udp|tcp) \d{1,10} [0-9A-Za-z.:%_-]{1,255} \d{1,5}"
    r" typ (?:host|srflx|prflx|relay)(?: [ -~]*)?"
)
POSE_CHANNEL = "poses"


class SignalError(MediaError):
    """A member's answer or candidate was refused; ``code`` goes back in the error frame."""

    def __init__(self, code: ErrorCode, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass(slots=True)
class Sending:
    """A server-to-member m-line: which source it carries, and the viewer track feeding it."""

    src: str  # as the member is told (m7.a, e40.a, view)
    ent: int | None
    transceiver: RTCRtpTransceiver
    track: ViewerTrack


@dataclass(eq=False)
class Peer:
    member: int
    pc: RTCPeerConnection
    send: frozenset[str] = frozenset()
    view: str = "3d"
    dc: bool = False
    quality: str = "high"  # of the video it receives (the hub's lanes)
    offer_n: int = 0
    awaiting: int | None = None  # the offer number an answer must quote
    dirty: bool = False  # changed while an offer was out: offer again after the answer
    receiving: dict[str, RTCRtpTransceiver] = field(default_factory=dict)  # kind -> m-line
    sending: dict[str, Sending] = field(default_factory=dict)  # hub source id -> m-line
    channel: RTCDataChannel | None = None
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    ended: asyncio.Event = field(default_factory=asyncio.Event)  # closed by us
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    closed: bool = False

    @property
    def tracks(self) -> list[m.OfferedTrack]:
        return [
            m.OfferedTrack(s.transceiver.mid or "", s.src, s.ent)
            for s in self.sending.values()
            if s.transceiver.mid is not None
        ]


def new_peer(member: int, ice_servers: tuple[str, ...] = ()) -> Peer:
    config = RTCConfiguration(
        iceServers=[RTCIceServer(urls=url) for url in ice_servers] or None,
        # One transport for everything: renegotiated m-lines join it instead of gathering.
        bundlePolicy=RTCBundlePolicy.MAX_BUNDLE,
    )
    return Peer(member, RTCPeerConnection(configuration=config))


def want_receiving(peer: Peer, kinds: frozenset[str]) -> bool:
    """The member's microphone and camera m-lines: always the first two, recvonly for each
    kind it sends and inactive otherwise. Always there, so that the first offer already has
    an RTP m-line to bundle on (aiortc does not start RTP m-lines added later to a
    connection that carried only the data channel); returns whether anything changed."""
    changed = False
    for kind in KINDS:
        wanted = "recvonly" if kind in kinds else "inactive"
        transceiver = peer.receiving.get(kind)
        if transceiver is None:
            peer.receiving[kind] = peer.pc.addTransceiver(kind, direction=wanted)
            changed = True
        elif transceiver.direction != wanted:
            transceiver.direction = wanted
            changed = True
    return changed


def start_sending(
    peer: Peer, source_id: str, src: str, ent: int | None, track: ViewerTrack
) -> None:
    sender = attach_viewer(peer.pc, track)
    transceiver = next(t for t in peer.pc.getTransceivers() if t.sender is sender)
    peer.sending[source_id] = Sending(src, ent, transceiver, track)


def stop_sending(peer: Peer, source_id: str) -> bool:
    sending = peer.sending.pop(source_id, None)
    if sending is None:
        return False
    sending.track.stop()
    # The m-line stays (aiortc never reuses one); inactive, the member's side lets it go.
    sending.transceiver.direction = "inactive"
    return True


async def make_offer(peer: Peer) -> m.RtcOffer:
    """The next offer; the caller holds ``peer.lock`` and has checked nothing is awaited."""
    offer = await peer.pc.createOffer()
    await peer.pc.setLocalDescription(offer)
    peer.offer_n += 1
    peer.awaiting = peer.offer_n
    peer.dirty = False
    local = peer.pc.localDescription
    return m.RtcOffer(peer.offer_n, local.sdp, peer.tracks)


def check_answer(peer: Peer, answer: m.RtcAnswer) -> SessionDescription:
    """Refuse an answer that is not for the outstanding offer, does not parse, or would send
    on an m-line the server opened only for sending (a guest's camera, say)."""
    if peer.awaiting is None or answer.n != peer.awaiting:
        expected = f"offer {peer.awaiting}" if peer.awaiting else "no offer"
        raise SignalError(
            ErrorCode.NO_MEDIA_SESSION, f"answer to offer {answer.n}; {expected} is out"
        )
    try:
        parsed = SessionDescription.parse(answer.sdp)
    except (ValueError, IndexError, KeyError, AttributeError) as exc:
        raise SignalError(ErrorCode.MALFORMED_SDP, f"the answer does not parse: {exc}") from None
    local = peer.pc.localDescription
    offered = SessionDescription.parse(local.sdp) if local is not None else None
    if offered is None or len(parsed.media) != len(offered.media):
        count = len(offered.media) if offered else 0
        raise SignalError(
            ErrorCode.MALFORMED_SDP,
            f"the answer has {len(parsed.media)} m-lines; the offer had {count}",
        )
    receiving = {t.mid for t in peer.receiving.values() if t.direction == "recvonly"}
    for ours, theirs in zip(offered.media, parsed.media, strict=True):
        if ours.kind != theirs.kind or ours.rtp.muxId != theirs.rtp.muxId:
            raise SignalError(
                ErrorCode.MALFORMED_SDP, "the answer's m-lines do not match the offer"
            )
        sends = theirs.kind in KINDS and theirs.direction in ("sendonly", "sendrecv")
        if sends and ours.rtp.muxId not in receiving:
            what = "camera" if theirs.kind == "video" else "microphone"
            raise SignalError(
                ErrorCode.FORBIDDEN,
                f"m-line {ours.rtp.muxId} was not opened for your {what}: not accepted",
            )
    return parsed


async def take_answer(peer: Peer, answer: m.RtcAnswer) -> None:
    check_answer(peer, answer)
    try:
        await peer.pc.setRemoteDescription(RTCSessionDescription(answer.sdp, "answer"))
    except (ValueError, KeyError, IndexError, AttributeError) as exc:
        raise SignalError(ErrorCode.MALFORMED_SDP, f"the answer was refused: {exc}") from None
    peer.awaiting = None


async def take_candidate(peer: Peer, ice: m.IceCandidate) -> None:
    if ice.n < 1 or ice.n > peer.offer_n:
        raise SignalError(ErrorCode.NO_MEDIA_SESSION, f"no offer {ice.n}")
    if not ice.cand:
        return  # end of candidates: aiortc needs no word of it
    line = ice.cand.removeprefix("a=").removeprefix("candidate:")
    # Checked before aiortc sees it: its parser asserts, and asserts vanish under -O.
    if not _CANDIDATE.fullmatch(line):
        raise SignalError(ErrorCode.MALFORMED_SDP, "the candidate does not parse")
    try:
        candidate = candidate_from_sdp(line)
    except (ValueError, IndexError, AssertionError):
        raise SignalError(ErrorCode.MALFORMED_SDP, "the candidate does not parse") from None
    candidate.sdpMid = ice.mid
    candidate.sdpMLineIndex = ice.idx
    if ice.mid is None and ice.idx is None:
        candidate.sdpMLineIndex = 0  # everything is bundled on the first m-line
    try:
        await peer.pc.addIceCandidate(candidate)
    except (ValueError, KeyError, AttributeError) as exc:
        raise SignalError(ErrorCode.MALFORMED_SDP, f"the candidate was refused: {exc}") from None


def on_remote_track(peer: Peer, track: MediaStreamTrack) -> str | None:
    """The kind of a member's track that may be forwarded, or None (never asked for)."""
    for kind, transceiver in peer.receiving.items():
        if transceiver.receiver.track is track:
            return kind if kind in peer.send and transceiver.direction == "recvonly" else None
    return None


async def close_peer(peer: Peer) -> None:
    if peer.closed:
        return
    peer.closed = True
    peer.ended.set()
    for sending in peer.sending.values():
        sending.track.stop()
    peer.sending.clear()
    with contextlib.suppress(Exception):
        await peer.pc.close()


def watch_connection(peer: Peer, on_failed: Callable[[str], None]) -> None:
    @peer.pc.on("connectionstatechange")
    def changed() -> None:
        state = peer.pc.connectionState
        if state == "connected":
            peer.connected.set()
        elif state == "failed" and not peer.closed:
            on_failed("the connection failed")
