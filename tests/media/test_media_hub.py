"""The media hub with real aiortc peers on this machine: publisher -> server -> viewers.

Small pictures (160x120) and short runs: the figures that matter (one encode per source frame,
keyframes on request) do not depend on the size. Every wait has a deadline and waits on an
event fired by the media itself, never on a fixed sleep.
"""

from __future__ import annotations

import asyncio
import fractions
from collections.abc import Callable
from functools import partial

import av
import numpy as np
import pytest
from aiortc import (
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
)
from aiortc.codecs.vpx import VpxPayloadDescriptor
from aiortc.mediastreams import MediaStreamError
from aiortc.rtp import RTCP_PSFB_FIR, RTCP_PSFB_PLI, RtcpPsfbPacket
from av.video.frame import VideoFrame

from server.media.codecs import Quality
from server.media.hub import VIDEO_QUEUE, MediaHub, SourceState, ViewerTrack
from server.media.rtc import AIORTC_CHECKED, attach_viewer, bind_keyframe_requests, bind_viewer
from tests.media.peers import (
    DEADLINE,
    H,
    Member,
    PatternTrack,
    ToneTrack,
    W,
    loop_now,
    vp8_keyframe,
)


def _has(member: Member, *, video: int = 0, loud: int = 0) -> bool:
    return member.video_frames >= video and member.loud_frames >= loud


async def watchers(
    hub: MediaHub, members: Callable[[str], Member], count: int, *source_ids: str
) -> list[Member]:
    out = []
    for i in range(count):
        member = members(f"viewer{i}")
        for source_id in source_ids:
            member.watch(hub, source_id)
        await member.connect()
        out.append(member)
    return out


async def test_camera_and_microphone_reach_three_viewers_through_the_server(
    hub: MediaHub, members: Callable[[str], Member]
) -> None:
    alice = members("alice")
    camera, microphone = PatternTrack(), ToneTrack()
    await alice.publish(camera, microphone)
    assert set(alice.remote) == {"audio", "video"}  # "track" fires in setRemoteDescription
    hub.add_source("alice:video", alice.remote["video"])
    hub.add_source("alice:audio", alice.remote["audio"])

    viewers = await watchers(hub, members, 3, "alice:video", "alice:audio")
    for v in viewers:
        await v.pulse.until(partial(_has, v, video=20, loud=25))
        assert v.first_frame_was_key

    stats = hub.stats()
    video, audio = stats["alice:video"], stats["alice:audio"]
    assert video.viewers == 3
    assert audio.viewers == 3
    # One encoder per source for three viewers: encodes track source frames, not viewers.
    assert video.encodes <= video.decodes
    assert video.encodes < 1.5 * max(v.video_frames for v in viewers)
    assert audio.encodes <= audio.decodes
    assert video.dropped == 0


async def test_one_encode_per_source_frame_with_one_or_three_viewers(
    members: Callable[[str], Member],
) -> None:
    for count in (1, 3):
        hub = MediaHub()
        try:
            camera = PatternTrack()
            source = hub.add_source("cam", camera)
            viewers = [members(f"{count}-viewer{i}") for i in range(count)]
            for v in viewers:
                v.watch(hub, "cam")
            await asyncio.gather(*(v.connect() for v in viewers))
            for v in viewers:
                await v.pulse.until(partial(_has, v, video=30))
            camera.stop()  # the reader finishes its frame and ends: the counters are final
            assert source.task is not None
            await asyncio.wait_for(source.task, DEADLINE)
            final = source.stats()
        finally:
            await hub.close()

        # Every frame read was encoded exactly once or skipped (nobody pulling yet) ...
        assert final.decodes == final.encodes + final.skipped, (count, final)
        assert final.lanes["high"].encodes == final.encodes
        # ... and each viewer decoded frames of that single encoding: with per-viewer
        # encoding, encodes would be at least the sum of what the viewers decoded.
        received = [v.video_frames for v in viewers]
        assert final.encodes >= max(received), (count, final, received)
        if count == 1:
            assert final.encodes <= received[0] + 10, (final, received)
        else:
            assert final.encodes * 2 < sum(received), (final, received)
        assert final.fanned_out >= sum(received)


async def test_a_keyframe_request_from_a_viewer_produces_a_keyframe(
    hub: MediaHub, members: Callable[[str], Member]
) -> None:
    hub.add_source("cam", PatternTrack())
    viewers = await watchers(hub, members, 2, "cam")
    for v in viewers:
        await v.pulse.until(partial(_has, v, video=20))
    asker, other = viewers
    before = (asker.keyframes, other.keyframes, hub.stats()["cam"].lanes["high"].forced_keyframes)

    # A real RTCP PLI from the viewer's receiver, over the wire, to the server's sender.
    receiver = asker.pc.getTransceivers()[0].receiver
    await receiver._send_rtcp_pli(asker.senders["cam"]._ssrc)

    await asker.pulse.until(lambda: asker.keyframes > before[0])
    # The encoder is shared, so the other viewer gets the same keyframe.
    await other.pulse.until(lambda: other.keyframes > before[1])
    assert hub.stats()["cam"].lanes["high"].forced_keyframes > before[2]


async def test_pli_and_fir_reach_the_hub_through_the_sender_patch_point(hub: MediaHub) -> None:
    """Fails when aiortc stops routing PLI/FIR through the hooked method (checked: 1.16.0)."""
    assert AIORTC_CHECKED
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        hub.add_source("cam", PatternTrack())
        track = hub.subscribe("cam", "v")
        sender = attach_viewer(pc, track)
        calls: list[str] = []
        other = pc.addTransceiver("video", direction="sendonly").sender
        bind_keyframe_requests(other, lambda: calls.append("hooked"))
        with pytest.raises(RuntimeError):
            bind_keyframe_requests(other, lambda: None)  # one hook per sender

        for fmt in (RTCP_PSFB_PLI, RTCP_PSFB_FIR):
            packet = RtcpPsfbPacket(fmt=fmt, ssrc=1234, media_ssrc=other._ssrc)
            await other._handle_rtcp_packet(packet)
        assert calls == ["hooked", "hooked"]

        lane = track._lane
        assert lane is not None
        assert not lane._want_keyframe
        await sender._handle_rtcp_packet(
            RtcpPsfbPacket(fmt=RTCP_PSFB_PLI, ssrc=1234, media_ssrc=sender._ssrc)
        )
        assert lane._want_keyframe
    finally:
        await pc.close()


async def test_a_late_joiner_gets_a_picture_promptly(
    hub: MediaHub, members: Callable[[str], Member]
) -> None:
    hub.add_source("cam", PatternTrack())
    [early] = await watchers(hub, members, 1, "cam")
    await early.pulse.until(lambda: early.video_frames >= 45)  # well past the first keyframe
    forced = hub.stats()["cam"].lanes["high"].forced_keyframes

    late = members("late")
    late.watch(hub, "cam")
    joined = loop_now()
    await late.connect()
    await late.pulse.until(lambda: late.video_frames >= 1)
    assert late.first_frame_was_key
    assert loop_now() - joined < 3.0
    assert hub.stats()["cam"].lanes["high"].forced_keyframes == forced + 1


async def test_camera_off_stops_frames_and_camera_on_resumes_with_a_keyframe(
    members: Callable[[str], Member],
) -> None:
    states: list[SourceState] = []
    hub = MediaHub(on_state=states.append)
    try:
        camera = PatternTrack()
        hub.add_source("cam", camera)
        [viewer] = await watchers(hub, members, 1, "cam")
        await viewer.pulse.until(lambda: viewer.video_frames >= 10)

        assert hub.set_enabled("cam", False)
        assert not hub.set_enabled("cam", False)  # no change, no event
        assert states[-1] == SourceState("cam", "video", enabled=False, live=True)
        assert hub.state("cam").enabled is False
        mark = camera.produced
        await camera.pulse.until(lambda: camera.produced >= mark + 10)  # let the path drain
        shown, keys = viewer.video_frames, viewer.keyframes
        await camera.pulse.until(lambda: camera.produced >= mark + 25)
        assert viewer.video_frames == shown
        assert hub.stats()["cam"].skipped >= 15

        hub.set_enabled("cam", True)
        assert states[-1].enabled
        await viewer.pulse.until(lambda: viewer.video_frames >= shown + 5)
        assert viewer.keyframes > keys
    finally:
        await hub.close()


async def test_muted_microphone_sends_silence(
    hub: MediaHub, members: Callable[[str], Member]
) -> None:
    hub.add_source("mic", ToneTrack())
    [viewer] = await watchers(hub, members, 1, "mic")
    await viewer.pulse.until(lambda: viewer.loud_frames >= 10)

    hub.set_enabled("mic", False)
    await viewer.pulse.until(lambda: viewer.quiet_run >= 15)  # frames keep coming, silent
    loud = viewer.loud_frames
    hub.set_enabled("mic", True)
    await viewer.pulse.until(lambda: viewer.loud_frames >= loud + 10)
    assert hub.stats()["mic"].encodes >= viewer.audio_frames - 5


async def test_a_viewer_leaving_does_not_disturb_the_others(
    hub: MediaHub, members: Callable[[str], Member]
) -> None:
    hub.add_source("cam", PatternTrack())
    viewers = await watchers(hub, members, 3, "cam")
    for v in viewers:
        await v.pulse.until(partial(_has, v, video=10))

    leaving, *staying = viewers
    forced = hub.stats()["cam"].lanes["high"].forced_keyframes
    await leaving.close()  # its sender stops its track, which leaves the hub
    assert hub.stats()["cam"].viewers == 2
    assert hub.viewer("cam", leaving.name) is None
    marks = [v.video_frames for v in staying]
    for v, mark in zip(staying, marks, strict=True):
        await v.pulse.until(partial(_has, v, video=mark + 20))
    stats = hub.stats()["cam"]
    assert stats.dropped == 0
    assert stats.lanes["high"].forced_keyframes == forced  # nobody needed a new picture


async def test_a_slow_viewer_drops_to_the_next_keyframe_and_stalls_nobody(
    hub: MediaHub, members: Callable[[str], Member]
) -> None:
    camera = PatternTrack()
    hub.add_source("cam", camera)
    [fast] = await watchers(hub, members, 1, "cam")
    slow = hub.subscribe("cam", "slow")
    first = await asyncio.wait_for(slow.recv(), DEADLINE)  # pulls once, then stops reading
    assert vp8_keyframe(_descriptor() + bytes(first))

    mark = fast.video_frames
    await fast.pulse.until(lambda: fast.video_frames >= mark + VIDEO_QUEUE + 15)
    assert len(slow._queue) <= VIDEO_QUEUE
    assert slow.dropped > 0

    # Reading again, it starts from a keyframe (whole picture), not a dangling delta frame.
    packet = await asyncio.wait_for(slow.recv(), DEADLINE)
    assert vp8_keyframe(_descriptor() + bytes(packet))
    assert packet.pts is not None
    assert first.pts is not None
    assert packet.pts > first.pts


async def test_removing_a_source_ends_its_viewers(members: Callable[[str], Member]) -> None:
    states: list[SourceState] = []
    hub = MediaHub(on_state=states.append)
    try:
        hub.add_source("mic", ToneTrack())
        track = hub.subscribe("mic", "v")
        await asyncio.wait_for(track.recv(), DEADLINE)
        await hub.remove_source("mic")
        with pytest.raises(MediaStreamError):
            await asyncio.wait_for(track.recv(), DEADLINE)
        assert states[-1] == SourceState("mic", "audio", enabled=True, live=False)
        assert hub.stats() == {}
        with pytest.raises(KeyError):
            hub.subscribe("mic", "v")
    finally:
        await hub.close()


def _descriptor() -> bytes:
    return bytes(VpxPayloadDescriptor(partition_start=1, partition_id=0))


async def test_the_member_offers_and_the_server_answers(
    hub: MediaHub, members: Callable[[str], Member]
) -> None:
    hub.add_source("cam", PatternTrack())
    bob = members("bob")
    bob.watch(hub, "cam")  # the server's transceiver exists before the offer arrives
    bob.pc.addTransceiver("video", direction="recvonly")
    await bob.offer_to_server()
    assert "VP8/90000" in bob.server.localDescription.sdp
    assert "H264/90000" not in bob.server.localDescription.sdp
    await bob.pulse.until(lambda: bob.video_frames >= 10)

    # Moving to another quality level keeps the track, so the sender keeps running, and the
    # picture restarts with a keyframe of the new encoding.
    track = hub.set_quality("cam", "bob", "low")
    assert bob.server.getTransceivers()[0].sender.track is track
    marks = (bob.video_frames, bob.keyframes)
    await bob.pulse.until(lambda: bob.video_frames >= marks[0] + 10 and bob.keyframes > marks[1])
    lanes = hub.stats()["cam"].lanes
    assert lanes["low"].viewers == 1
    assert lanes["high"].viewers == 0
    assert hub.stats()["cam"].dropped == 0


async def test_binding_after_another_codec_was_negotiated_is_refused(hub: MediaHub) -> None:
    hub.add_source("cam", PatternTrack())
    member = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    server = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        offered = member.addTransceiver("video", direction="recvonly")
        caps = RTCRtpSender.getCapabilities("video").codecs
        offered.setCodecPreferences([c for c in caps if c.mimeType == "video/H264"])
        await member.setLocalDescription(await member.createOffer())
        await server.setRemoteDescription(member.localDescription)  # no transceiver ready
        with pytest.raises(RuntimeError, match="negotiated video/H264"):
            bind_viewer(server.getTransceivers()[0], hub.subscribe("cam", "v"))
    finally:
        await member.close()
        await server.close()


async def test_each_quality_level_has_one_shared_encoder() -> None:
    hub = MediaHub(
        video_qualities={
            "high": Quality("high", 300_000),
            "low": Quality("low", 100_000, max_height=60),
        }
    )
    try:
        hub.add_source("cam", PatternTrack())
        tracks = {
            (quality, i): hub.subscribe("cam", f"{quality}{i}", quality)
            for quality in ("high", "low")
            for i in range(2)
        }
        sizes: dict[tuple[str, int], tuple[int, int]] = {}

        async def watch(key: tuple[str, int], track: ViewerTrack) -> None:
            decoder = av.CodecContext.create("libvpx", "r")
            for _ in range(5):
                packet = await track.recv()
                for frame in decoder.decode(packet):
                    assert isinstance(frame, VideoFrame)
                    sizes[key] = (frame.width, frame.height)

        await asyncio.wait_for(
            asyncio.gather(*(watch(key, track) for key, track in tracks.items())), DEADLINE
        )
        assert sizes == {
            ("high", 0): (W, H),
            ("high", 1): (W, H),
            ("low", 0): (80, 60),
            ("low", 1): (80, 60),
        }
        lanes = hub.stats()["cam"].lanes
        assert set(lanes) == {"high", "low"}
        assert lanes["high"].viewers == lanes["low"].viewers == 2
        assert abs(lanes["high"].encodes - lanes["low"].encodes) <= 2  # same frames, once each
        with pytest.raises(ValueError, match="quality"):
            hub.subscribe("cam", "x", "ultra")
    finally:
        await hub.close()


class BurstTrack(PatternTrack):
    """Frames as fast as the loop turns, then the end: an encoder that cannot keep up."""

    def __init__(self, count: int) -> None:
        super().__init__()
        self._count = count

    async def recv(self) -> VideoFrame:
        if self.produced >= self._count:
            raise MediaStreamError
        await asyncio.sleep(0)
        frame = VideoFrame.from_ndarray(np.full((H * 3 // 2, W), 90, np.uint8), "yuv420p")
        frame.pts = self.produced * 3000
        frame.time_base = fractions.Fraction(1, 90_000)
        self.produced += 1
        return frame


async def test_an_encoder_that_falls_behind_skips_frames_instead_of_queueing(
    hub: MediaHub,
) -> None:
    source = hub.add_source("cam", BurstTrack(300))
    viewer = hub.subscribe("cam", "v")
    received = 0

    async def drain() -> None:
        nonlocal received
        while True:
            await viewer.recv()
            received += 1

    with pytest.raises(MediaStreamError):  # the source ended: so does the viewer's track
        await asyncio.wait_for(drain(), DEADLINE)
    stats = source.stats()
    assert stats.decodes == 300
    assert stats.decodes == stats.encodes + stats.skipped
    assert stats.skipped > 100  # the picture got choppier, not later
    assert 0 < received <= stats.encodes
