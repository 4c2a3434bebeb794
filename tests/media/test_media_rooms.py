"""Voice and video in rooms, end to end: a real server, real aiortc peers on loopback.

Members speak the signalling of SPEC.md ("Voice, video and recording") through
:class:`simulator.media.RtcMedia`; what they receive is decoded and counted. Waiting is on
conditions (frames counted, messages arrived), never on sleeps.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import av
import pytest
from aiortc import RTCSessionDescription

from protocol import messages as m
from protocol.codec import encode
from protocol.codes import ErrorCode
from protocol.pose import AvatarPose
from protocol.pose_frame import PoseFrame
from rooms.audit import MemoryAuditLog
from rooms.roles import Role
from server.app import WealthroomServer
from server.config import Settings
from server.media.tts import EspeakSpeaker
from simulator.client import RoomClient
from simulator.media import RtcMedia
from tests.conftest import BOTH_LOOPS, SECRET, Mint, make_settings, minter
from tests.media.peers import PatternTrack, ToneTrack
from tests.turn_fixture import TurnServer, turn_server

__all__ = ["turn_server"]  # fixture, used by name

DEADLINE = 20.0  # two shared cores; aiortc's DTLS handshakes take a while under load


@pytest.fixture
def media_settings(tmp_path: Path) -> Settings:
    return make_settings(recordings_dir=tmp_path / "recordings", media_connect_timeout_s=3.0)


class Session:
    """Clients and peers of one test, closed at the end whatever happened."""

    def __init__(self, server: WealthroomServer, mint: Mint) -> None:
        self.server, self.mint = server, mint
        self.clients: list[RoomClient] = []
        self.peers: list[RtcMedia] = []

    async def join(self, role: Role, name: str, **token: Any) -> RoomClient:
        if role is Role.OBSERVER:
            return await self._observe(name, **token)
        client = await RoomClient.join(
            self.server.room_url("demo"), self.mint(role=role, **token), name
        )
        self.clients.append(client)
        return client

    async def _observe(self, name: str, **token: Any) -> RoomClient:
        """Observers are invisible: no ``joined`` tells them they are in; the first state does."""
        url, minted = self.server.room_url("demo"), self.mint(role=Role.OBSERVER, **token)
        client = await RoomClient.open(url, minted)
        self.clients.append(client)
        await client.send(m.Hello(1))
        await client.wait_for(lambda c: c.welcome is not None)
        await client.send(m.Join(name))
        await client.wait_for(lambda c: c.state_frames > 0)
        return client

    async def media(self, client: RoomClient, **kw: Any) -> RtcMedia:
        peer = RtcMedia(client, **kw)
        self.peers.append(peer)
        await peer.open()
        return peer

    async def close(self) -> None:
        for peer in self.peers:
            await peer.close()
        for client in self.clients:
            await client.close()


@pytest.fixture
async def session(media_server: WealthroomServer, mint_media: Mint) -> AsyncIterator[Session]:
    s = Session(media_server, mint_media)
    try:
        yield s
    finally:
        await s.close()


def _entity(client: RoomClient, member: int) -> m.Ent | None:
    return client.replica.by_member(member)


async def _device(client: RoomClient, member: int, **state: str) -> None:
    """Until ``client`` sees ``member``'s microphone or camera in ``state`` (mic="off")."""

    def shows(c: RoomClient) -> bool:
        ent = _entity(c, member)
        return ent is not None and all(getattr(ent, k) == v for k, v in state.items())

    await client.wait_for(shows)


@pytest.mark.asyncio(loop_factories=BOTH_LOOPS)
async def test_advisor_camera_and_voice_reach_the_customer_and_state_shows(
    session: Session,
) -> None:
    customer = await session.join(Role.CUSTOMER, "Ann")
    advisor = await session.join(Role.ADVISOR, "Ada")
    watching = await session.media(customer)
    await session.media(advisor, audio=ToneTrack(), video=PatternTrack())
    cam, mic = f"m{advisor.member}.v", f"m{advisor.member}.a"

    await watching.wait_for(lambda p: p.frames(cam) >= 10 and p.frames(mic) >= 25, DEADLINE)
    reading = watching.readings[mic]
    assert reading.loud > 0, "the advisor's tone arrives as sound, not silence"
    assert watching.readings[cam].sizes == {(160, 120)}
    offer = customer.of(m.RtcOffer)[-1]
    advisor_avatar = _entity(customer, advisor.member)
    assert advisor_avatar is not None
    assert {(t.src, t.ent) for t in offer.tracks} >= {
        (cam, advisor_avatar.i),
        (mic, advisor_avatar.i),
    }
    # Everyone sees the advisor's microphone and camera on; the sender gets nothing of its own.
    await _device(customer, advisor.member, mic="on", cam="on")
    assert not any(
        t.src.startswith(f"m{advisor.member}.") for t in advisor.of(m.RtcOffer)[-1].tracks
    )

    await advisor.send(m.Mute(cam="off"))
    await _device(customer, advisor.member, cam="off")
    await advisor.send(m.Mute(mic="off"))
    await _device(customer, advisor.member, mic="off")
    muted_from = watching.readings[mic].frames
    loud_before = watching.readings[mic].loud
    await watching.wait_for(lambda p: p.frames(mic) >= muted_from + 25, DEADLINE)
    # A few packets were on their way when the switch flipped; then silence.
    assert watching.readings[mic].loud - loud_before < 10


async def test_a_member_who_leaves_is_renegotiated_away(session: Session) -> None:
    customer = await session.join(Role.CUSTOMER, "Ann")
    advisor = await session.join(Role.ADVISOR, "Ada")
    watching = await session.media(customer)
    await session.media(advisor, audio=ToneTrack())
    mic = f"m{advisor.member}.a"
    await watching.wait_for(lambda p: p.frames(mic) >= 5, DEADLINE)
    offers = len(customer.of(m.RtcOffer))
    await advisor.leave()
    await customer.wait_for(lambda c: len(c.of(m.RtcOffer)) > offers)
    assert all(t.src != mic for t in customer.of(m.RtcOffer)[-1].tracks)


async def test_a_guest_may_not_send_a_camera(session: Session) -> None:
    await session.join(Role.CUSTOMER, "Ann")
    guest = await session.join(Role.GUEST, "Bo")
    await guest.send(m.StartMedia(["audio", "video"]))
    await guest.wait_for(lambda c: bool(c.errors))
    assert guest.errors[-1].code == ErrorCode.FORBIDDEN
    assert not guest.of(m.RtcOffer), "nothing starts"


async def test_a_camera_smuggled_into_the_answer_is_refused(session: Session) -> None:
    customer = await session.join(Role.CUSTOMER, "Ann")
    guest = await session.join(Role.GUEST, "Bo")
    await session.media(customer, video=PatternTrack())
    # Once the customer's camera is live, the guest asks to send audio only, then answers
    # with its own camera on the m-line that carries the customer's camera to it.
    await _device(guest, customer.member, cam="on")
    peer = RtcMedia(guest, audio=ToneTrack())
    session.peers.append(peer)
    await guest.send(m.StartMedia(["audio"]))
    await guest.wait_for(lambda c: bool(c.of(m.RtcOffer)))
    await peer.answer(guest.of(m.RtcOffer)[0])  # the first offer, honestly
    cam = f"m{customer.member}.v"
    await guest.wait_for(lambda c: any(t.src == cam for o in c.of(m.RtcOffer) for t in o.tracks))
    offer = next(o for o in guest.of(m.RtcOffer) if any(t.src == cam for t in o.tracks))
    await peer.pc.setRemoteDescription(RTCSessionDescription(offer.sdp, "offer"))
    answer = await peer.pc.createAnswer()
    await peer.pc.setLocalDescription(answer)
    # aiortc would never answer a sendonly m-line with sendrecv: a hostile client edits it.
    mid = next(t.mid for t in offer.tracks if t.src == cam)
    errors = len(guest.errors)
    await guest.send(m.RtcAnswer(offer.n, _send_on(peer.pc.localDescription.sdp, mid)))
    await guest.wait_for(lambda c: len(c.errors) > errors)
    assert guest.errors[-1].code == ErrorCode.FORBIDDEN
    assert "camera" in guest.errors[-1].msg
    # No source from the guest's camera exists on the server.
    assert not any(s.source_id.endswith(f"m{guest.member}.v") for s in _hub(session).sources())


def _send_on(sdp: str, mid: str) -> str:
    """``sdp`` with the m-section of ``mid`` turned to sendrecv."""
    sections = sdp.split("\r\nm=")
    for i, section in enumerate(sections):
        if f"\r\na=mid:{mid}\r\n" in section + "\r\n":
            sections[i] = section.replace("a=recvonly", "a=sendrecv")
    return "\r\nm=".join(sections)


def _hub(session: Session) -> Any:
    assert session.server.media is not None
    return session.server.media.hub


async def test_signalling_mistakes_get_clear_errors_and_harm_nobody(session: Session) -> None:
    customer = await session.join(Role.CUSTOMER, "Ann")
    other = await session.join(Role.GUEST, "Bo")

    async def refused(message: m.Message, code: ErrorCode) -> None:
        before = len(customer.errors)
        await customer.send(message)
        await customer.wait_for(lambda c: any(e.code == code for e in c.errors[before:]))

    # Before media is started there is nothing to answer.
    await refused(m.RtcAnswer(1, "v=0\r\n"), ErrorCode.NO_MEDIA_SESSION)
    await refused(
        m.IceCandidate(1, "candidate:1 1 udp 1 192.0.2.1 9 typ host"), ErrorCode.NO_MEDIA_SESSION
    )
    await customer.send(m.StartMedia(["audio"]))
    await customer.wait_for(lambda c: bool(c.of(m.RtcOffer)))
    n = customer.of(m.RtcOffer)[-1].n
    await refused(m.RtcAnswer(n + 5, "v=0\r\n"), ErrorCode.NO_MEDIA_SESSION)
    await refused(m.RtcAnswer(n, "this is not an SDP"), ErrorCode.MALFORMED_SDP)
    await refused(
        m.RtcAnswer(n, "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"), ErrorCode.MALFORMED_SDP
    )
    await refused(m.IceCandidate(n, "candidate:garbage"), ErrorCode.MALFORMED_SDP)
    # A flood of candidates is cut off at the limit.
    limit = 32
    for i in range(limit + 1):
        await customer.send(
            m.IceCandidate(n, f"candidate:{i} 1 udp 1 192.0.2.1 {9000 + i} typ host", "0")
        )
    await customer.wait_for(lambda c: any(e.code == ErrorCode.RATE_LIMITED for e in c.errors))
    # The other member's session is untouched and the room still works for everyone.
    await other.chat("still here")
    await customer.wait_for(lambda c: any(x.text == "still here" for x in c.chats))
    assert not customer.closed
    assert not other.closed
    assert other.errors == []


async def test_a_member_that_never_completes_ice_is_timed_out_cleanly(session: Session) -> None:
    customer = await session.join(Role.CUSTOMER, "Ann")
    await customer.send(m.StartMedia(["audio"]))
    await customer.wait_for(lambda c: bool(c.of(m.RtcOffer)))
    # No answer: after media_connect_timeout_s (3 s here) the server gives up on the peer.
    await customer.wait_for(
        lambda c: any(e.code == ErrorCode.MEDIA_TIMEOUT for e in c.errors), DEADLINE
    )
    assert not customer.closed, "the member stays in the room; only its media stopped"
    assert session.server.media is not None
    assert session.server.media.peers == 0
    # It may start again.
    before = len(customer.of(m.RtcOffer))
    await customer.send(m.StartMedia(["audio"]))
    await customer.wait_for(lambda c: len(c.of(m.RtcOffer)) > before)


@pytest.mark.asyncio(loop_factories=BOTH_LOOPS)
async def test_poses_over_the_data_channel_move_the_avatar_and_late_ones_are_dropped(
    session: Session,
) -> None:
    customer = await session.join(Role.CUSTOMER, "Ann")
    watcher = await session.join(Role.GUEST, "Bo")
    peer = await session.media(customer, dc=True)
    await peer.wait_for(
        lambda p: p.channel is not None and p.channel.readyState == "open", DEADLINE
    )
    me = _entity(watcher, customer.member)
    assert me is not None
    assert me.x is not None
    head = AvatarPose.unpack(me.x).head.pos
    x, y, z = (v / 1000 for v in head)
    assert peer.channel is not None
    peer.channel.send(encode_pose(x + 0.05, y, z, n=10))
    await watcher.wait_for(lambda c: _head_x(c, customer.member) == round((x + 0.05) * 1000))
    peer.channel.send(encode_pose(x + 0.10, y, z, n=9))  # older than 10: dropped
    peer.channel.send(encode_pose(x + 0.02, y, z, n=11))
    await watcher.wait_for(lambda c: _head_x(c, customer.member) == round((x + 0.02) * 1000))
    # Anything but a pose on the channel is refused, on the WebSocket.
    peer.channel.send(encode(m.Chat("hi")))
    await customer.wait_for(lambda c: any(e.code == ErrorCode.WRONG_ENDPOINT for e in c.errors))


def encode_pose(x: float, y: float, z: float, *, n: int) -> bytes:
    return encode(m.Pose((x, y, z), (0.0, 0.0, 0.0, 1.0), n=n))


def _head_x(client: RoomClient, member: int) -> int | None:
    ent = client.replica.by_member(member)
    if ent is None or ent.x is None:
        return None
    return AvatarPose.unpack(ent.x).head.pos[0]


@pytest.mark.skipif(
    not EspeakSpeaker.available(), reason="needs espeak-ng (scripts/system-packages)"
)
@pytest.mark.asyncio(loop_factories=BOTH_LOOPS)
async def test_an_expert_answers_aloud_and_its_mouth_moves(session: Session) -> None:
    customer = await session.join(Role.CUSTOMER, "Ann")
    peer = await session.media(customer)
    await peer.wait_for(lambda p: p.pc.connectionState == "connected", DEADLINE)
    await customer.send(m.Ask("Tell me about government bonds"))
    await customer.wait_for(lambda c: bool(c.of(m.Answer)), DEADLINE)
    expert = customer.of(m.Answer)[-1].e
    assert expert is not None
    voice = f"e{expert}.a"
    await peer.wait_for(lambda p: voice in p.readings and p.readings[voice].loud >= 10, DEADLINE)
    await customer.wait_for(
        lambda c: (e := c.replica.entities.get(expert)) is not None and (e.mo or 0) > 0, DEADLINE
    )


async def test_recording_shows_the_notice_first_and_writes_files_with_a_manifest(
    session: Session, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    customer = await session.join(Role.CUSTOMER, "Ann")
    advisor = await session.join(Role.ADVISOR, "Ada")
    await session.media(customer, audio=ToneTrack())
    sending = await session.media(advisor, audio=ToneTrack(), video=PatternTrack())
    await sending.wait_for(lambda p: p.pc.connectionState == "connected", DEADLINE)

    await customer.send(m.Record(True))
    await customer.wait_for(lambda c: bool(c.errors))
    assert customer.errors[-1].code == ErrorCode.FORBIDDEN, "only an advisor records"

    await advisor.send(m.Record(True))
    await customer.wait_for(lambda c: bool(c.of(m.Recording)))
    notice = customer.of(m.Recording)[-1]
    assert notice.on
    assert notice.notice
    assert notice.days == 2555
    await customer.send(m.NoticeSeen(notice.rec))
    # Let the recorder take some media: the advisor's camera frames flow meanwhile.
    target = sending.readings  # the advisor receives the customer's microphone
    mic = f"m{customer.member}.a"
    await sending.wait_for(lambda p: p.frames(mic) >= 50, DEADLINE)
    assert target[mic].frames >= 50
    # Switching a microphone off and on while recording keeps its one file going.
    await customer.send(m.Mute(mic="off"))
    await _device(advisor, customer.member, mic="off")
    await customer.send(m.Mute(mic="on"))
    await _device(advisor, customer.member, mic="on")
    await advisor.send(m.Record(False))
    await customer.wait_for(lambda c: len(c.of(m.Recording)) >= 2)
    assert not customer.of(m.Recording)[-1].on

    assert session.server.media is not None
    manifest_path = await asyncio.wait_for(
        session.server.media.rooms["demo"].saved[notice.rec], DEADLINE
    )
    folder = tmp_path / "recordings" / notice.rec
    assert manifest_path == folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    assert manifest["room"] == "demo"
    assert manifest["retention_days"] == 2555
    kinds = sorted(f["kind"] for f in manifest["files"] if f["file"])
    assert kinds == ["audio", "audio", "video"]
    for entry in manifest["files"]:
        if entry["file"]:
            with av.open(str(folder / entry["file"])) as container:
                assert sum(1 for _ in container.decode(container.streams[0])) > 0
    audit = session.server.audit
    assert isinstance(audit, MemoryAuditLog)
    actions = [e["action"] for e in audit.entries]
    assert actions.index("recording.notice") < actions.index("recording.start")
    assert "recording.seen" in actions
    assert "recording.saved" in actions
    assert not [r for r in caplog.records if r.levelname == "ERROR"], caplog.text


async def test_a_flat_client_receives_each_expert_drawn_by_the_server(session: Session) -> None:
    customer = await session.join(Role.CUSTOMER, "Ann")
    flat = await session.media(customer, view="video")
    await customer.send(m.Summon("bonds"))
    await customer.wait_for(lambda c: bool(c.of(m.ExpertCame)), DEADLINE)
    picture = f"e{customer.of(m.ExpertCame)[-1].e}.v"
    await flat.wait_for(lambda p: p.frames(picture) >= 5, DEADLINE)
    assert flat.readings[picture].sizes == {(320, 240)}
    offered = {t.src: t.ent for t in customer.of(m.RtcOffer)[-1].tracks}
    assert offered[picture] == customer.of(m.ExpertCame)[-1].e


def datagrams_in(server: WealthroomServer) -> float:
    server.metrics.flush()
    return server.metrics.registry.get_sample_value("wealthroom_datagrams_in_total") or 0.0


async def until(condition: Callable[[], bool], message: str) -> None:
    """Wait for a condition on the server's side, which no client message announces."""
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(message)
        await asyncio.sleep(0.01)


async def test_a_thin_client_receives_its_own_view_and_sends_poses_on_the_channel(
    session: Session,
) -> None:
    customer = await session.join(Role.CUSTOMER, "Ann")
    thin = await session.media(customer, view="thin")
    await thin.wait_for(lambda p: p.frames("view") >= 5, DEADLINE)
    assert thin.readings["view"].sizes == {(640, 360)}
    assert customer.of(m.RtcOffer)[-1].tracks[-1].src == "view"
    # Others' cameras are not sent to a thin client: it draws nothing itself.
    assert all(not t.src.endswith(".v") for t in customer.of(m.RtcOffer)[-1].tracks)
    # The poses it sends on the channel are counted apart from the WebSocket's frames.
    await thin.wait_for(lambda p: p.channel_open, DEADLINE)
    own = customer.replica.pose_of(customer.member)
    assert own is not None
    server = session.server
    for _ in range(3):  # unreliable: one may be lost, not three on loopback
        assert thin.send_pose(PoseFrame(own.pack()))
    await until(lambda: datagrams_in(server) >= 1, "no pose counted from the channel")

    # Back to a 3D view on the same peer: the picture leaves the offer and nobody draws it.
    offers = len(customer.of(m.RtcOffer))
    await customer.send(m.StartMedia([], "3d", True))
    await customer.wait_for(lambda c: len(c.of(m.RtcOffer)) > offers, DEADLINE)
    assert all(t.src != "view" for t in customer.of(m.RtcOffer)[-1].tracks)
    assert server.media is not None
    hub = server.media.hub
    thin_source = f"demo/t{customer.member}.v"
    await until(
        lambda: all(s.source_id != thin_source for s in hub.sources()), "still drawn for it"
    )


async def test_an_observer_without_an_avatar_may_listen_but_not_send(session: Session) -> None:
    customer = await session.join(Role.CUSTOMER, "Ann")
    observer = await session.join(Role.OBSERVER, "Compliance")
    await observer.send(m.StartMedia(["audio"]))
    await observer.wait_for(lambda c: bool(c.errors))
    assert observer.errors[-1].code == ErrorCode.FORBIDDEN
    listening = await session.media(observer)
    await session.media(customer, audio=ToneTrack())
    mic = f"m{customer.member}.a"
    await listening.wait_for(lambda p: p.frames(mic) >= 10, DEADLINE)


async def test_a_room_disposed_when_empty_takes_its_media_with_it(tmp_path: Path) -> None:
    settings = make_settings(recordings_dir=tmp_path / "rec", empty_room_ttl_s=0.2)
    async with WealthroomServer(settings, secret=SECRET) as srv:
        mint = minter(srv)
        customer = await RoomClient.join(srv.room_url("brief"), mint("brief"), "Ann")
        peer = RtcMedia(customer)
        await peer.open()
        await customer.send(m.Summon("bonds"))
        await customer.wait_for(lambda c: bool(c.of(m.ExpertCame)), DEADLINE)
        voice = f"brief/e{customer.of(m.ExpertCame)[-1].e}.a"
        assert srv.media is not None
        node = srv.media
        await peer.wait_for(lambda p: any(s.endswith(voice[6:]) for s in p.readings), DEADLINE)
        host = srv.rooms["brief"]
        await peer.close()
        await customer.close()
        await asyncio.wait_for(host.disposed.wait(), DEADLINE)
        await asyncio.wait_for(host.settled(), DEADLINE)
        assert "brief" not in node.rooms
        assert all(not s.source_id.startswith("brief/") for s in node.hub.sources())


@pytest.mark.parametrize("overrides", [{"max_media_peers": 1}, {"media": False}])
async def test_a_server_without_room_for_media_says_so(
    tmp_path: Path, overrides: dict[str, Any]
) -> None:
    settings = make_settings(recordings_dir=tmp_path / "rec", **overrides)
    async with WealthroomServer(settings, secret=SECRET) as srv:
        mint = minter(srv)
        ann = await RoomClient.join(srv.room_url("demo"), mint(), "Ann")
        bo = await RoomClient.join(srv.room_url("demo"), mint(role=Role.GUEST), "Bo")
        try:
            await ann.send(m.StartMedia([]))
            if settings.media:
                await ann.wait_for(lambda c: bool(c.of(m.RtcOffer)))
            await bo.send(m.StartMedia(["audio"]))
            await bo.wait_for(lambda c: bool(c.errors))
            assert [e.code for e in bo.errors] == [ErrorCode.MEDIA_UNAVAILABLE]
            assert not bo.closed
            # Nothing was started for it: a mute has no microphone to switch.
            await bo.send(m.Mute(mic="off"))
            await bo.wait_for(lambda c: len(c.errors) > 1)
            assert bo.errors[-1].code == ErrorCode.NO_MEDIA_SESSION
        finally:
            await ann.close()
            await bo.close()


async def test_a_microphone_switched_off_before_its_track_arrives_stays_silent(
    session: Session,
) -> None:
    customer = await session.join(Role.CUSTOMER, "Ann")
    advisor = await session.join(Role.ADVISOR, "Ada")
    listening = await session.media(customer)
    peer = RtcMedia(advisor, audio=ToneTrack())
    session.peers.append(peer)
    await peer.open()
    await advisor.send(m.Mute(mic="off"))  # the track takes two offers to arrive
    mic = f"m{advisor.member}.a"
    await _device(customer, advisor.member, mic="off")
    await listening.wait_for(lambda p: p.frames(mic) >= 50, DEADLINE)
    assert listening.readings[mic].loud == 0


async def test_a_weak_link_takes_the_low_video_and_can_switch_without_a_new_offer(
    session: Session,
) -> None:
    customer = await session.join(Role.CUSTOMER, "Ann")
    advisor = await session.join(Role.ADVISOR, "Ada")
    await session.media(advisor, video=PatternTrack(width=640, height=360))
    weak = RtcMedia(customer, quality="low")
    session.peers.append(weak)
    await weak.open()
    cam = f"m{advisor.member}.v"
    await weak.wait_for(lambda p: p.frames(cam) >= 5, DEADLINE)
    assert {h for _, h in weak.readings[cam].sizes} == {240}
    offers = len(customer.of(m.RtcOffer))
    await customer.send(m.StartMedia([], "3d", None, "high"))
    await weak.wait_for(lambda p: (640, 360) in p.readings[cam].sizes, DEADLINE)
    assert len(customer.of(m.RtcOffer)) == offers, "same m-line, no renegotiation"


@pytest.mark.asyncio(loop_factories=BOTH_LOOPS)
async def test_a_member_behind_a_strict_nat_is_relayed_by_turn_with_its_own_login(
    tmp_path: Path, turn_server: TurnServer
) -> None:
    settings = make_settings(
        recordings_dir=tmp_path / "rec",
        media_connect_timeout_s=4.0,
        member_ice_urls=(f"stun:127.0.0.1:{turn_server.port}", turn_server.url),
        turn_secret=turn_server.secret,
    )
    async with WealthroomServer(settings, secret=SECRET) as srv:
        s = Session(srv, minter(srv))
        try:
            customer = await s.join(Role.CUSTOMER, "Ann", subject="cust-4711")
            advisor = await s.join(Role.ADVISOR, "Ada")
            given = customer.of(m.IceServers)[-1]
            turn = next(x for x in given.servers if x.username is not None)
            expiry, _, subject = (turn.username or "").partition(":")
            assert subject == "cust-4711"
            assert given.until == int(expiry) * 1000
            await s.media(advisor, video=PatternTrack())
            relayed = RtcMedia(customer, relay_only=True)  # TURN or nothing
            s.peers.append(relayed)
            await relayed.open()
            cam = f"m{advisor.member}.v"
            await relayed.wait_for(lambda p: p.frames(cam) >= 10, DEADLINE)
            kinds = {
                c.type
                for c in relayed.pc.getTransceivers()[
                    0
                ].sender.transport.transport.iceGatherer.getLocalCandidates()
            }
            assert kinds == {"relay"}
        finally:
            await s.close()


async def test_a_forged_turn_login_gets_no_relay(tmp_path: Path, turn_server: TurnServer) -> None:
    settings = make_settings(
        recordings_dir=tmp_path / "rec",
        media_connect_timeout_s=4.0,
        member_ice_urls=(turn_server.url,),
        turn_secret="not-the-relay's-secret-0123456789",
    )
    async with WealthroomServer(settings, secret=SECRET) as srv:
        s = Session(srv, minter(srv))
        try:
            customer = await s.join(Role.CUSTOMER, "Ann")
            relayed = RtcMedia(customer, relay_only=True)
            s.peers.append(relayed)
            await relayed.open()
            await customer.wait_for(
                lambda c: any(e.code == ErrorCode.MEDIA_TIMEOUT for e in c.errors), DEADLINE
            )
            assert relayed.pc.connectionState != "connected"
        finally:
            await s.close()
