"""The session recorder on a real hub: synthetic camera and microphone, files read back with PyAV.

Every wait is on the media (packets written, a source's end) with a deadline, never a sleep.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import av
import pytest
from aiortc.mediastreams import MediaStreamError
from av.audio.frame import AudioFrame
from av.video.frame import VideoFrame

from server.media.hub import MediaHub, SourceState
from server.media.recorder import (
    MANIFEST,
    RecordedFile,
    RecordingError,
    RecordingManifest,
    SessionRecorder,
)
from tests.media.peers import DEADLINE, H, PatternTrack, ToneTrack, W

T0 = datetime(2024, 2, 28, 12, 0, tzinfo=UTC).timestamp()  # a leap year's February


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


class ShortPattern(PatternTrack):
    """A camera that is switched off for good after ``count`` frames."""

    def __init__(self, count: int) -> None:
        super().__init__()
        self._count = count

    async def recv(self) -> VideoFrame:
        if self.produced >= self._count:
            raise MediaStreamError
        return await super().recv()


def recorder(
    hub: MediaHub, tmp_path: Path, recording_id: str = "rec-1", clock: Clock | None = None
) -> SessionRecorder:
    return SessionRecorder(
        hub,
        tmp_path / "recordings",
        room="private-7",
        recording_id=recording_id,
        started_by="advisor:li",
        retention_days=3650,
        clock=clock or Clock(),
    )


async def written(rec: SessionRecorder, **packets: int) -> None:
    for source_id, count in packets.items():
        await asyncio.wait_for(rec.wait_written(source_id, count), DEADLINE)


def entry(manifest: RecordingManifest, source_id: str) -> RecordedFile:
    (found,) = [f for f in manifest.files if f.source_id == source_id]
    return found


def demux(path: Path) -> list[tuple[int, bytes]]:
    with av.open(str(path)) as container:
        return [
            (p.pts, bytes(p))
            for p in container.demux(container.streams[0])
            if p.size and p.pts is not None
        ]


def decode_video(path: Path) -> list[tuple[int, int]]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "vp8"
        assert (stream.codec_context.width, stream.codec_context.height) == (W, H)
        return [(f.width, f.height) for f in container.decode(stream)]


def decode_audio(path: Path) -> tuple[int, int, int]:
    """Samples, sample rate and channels of the file's audio."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        assert stream.codec_context.name == "opus"
        samples = 0
        for frame in container.decode(stream):
            assert isinstance(frame, AudioFrame)
            samples += frame.samples
        return samples, stream.codec_context.sample_rate, stream.codec_context.channels


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_camera_and_microphone_are_recorded_as_the_hub_encoded_them(
    hub: MediaHub, tmp_path: Path
) -> None:
    hub.add_source("cam:ann", PatternTrack())
    hub.add_source("mic:ann", ToneTrack())
    # Another viewer of the same lanes: the recorder's files must hold its very bytes.
    witness = {sid: hub.subscribe(sid, "witness") for sid in ("cam:ann", "mic:ann")}
    seen: dict[str, set[bytes]] = {sid: set() for sid in witness}

    async def watch(source_id: str) -> None:
        while True:
            seen[source_id].add(bytes(await witness[source_id].recv()))

    watchers = [asyncio.ensure_future(watch(sid)) for sid in witness]
    try:
        clock = Clock()
        rec = recorder(hub, tmp_path, clock=clock)
        rec.add("cam:ann", "Ann (customer), camera")
        rec.add("mic:ann", "Ann (customer), microphone")
        await written(rec, **{"cam:ann": 30, "mic:ann": 50})

        # While recording, nothing has a final name and there is no manifest.
        names = sorted(p.name for p in rec.path.iterdir())
        assert names == ["01-cam_ann-video.webm.part", "02-mic_ann-audio.webm.part"]
        assert rec.sources["cam:ann"].state == "recording"
        assert rec.sources["mic:ann"].kind == "audio"

        clock.now = T0 + 95.5
        manifest_path = await rec.close()
    finally:
        for task in watchers:
            task.cancel()
        await asyncio.gather(*watchers, return_exceptions=True)

    assert rec.state == "closed"
    assert manifest_path == tmp_path / "recordings" / "rec-1" / MANIFEST
    manifest = RecordingManifest.load(manifest_path.parent)
    assert manifest.ended_at == datetime(2024, 2, 28, 12, 1, 35, 500_000, tzinfo=UTC)

    video = entry(manifest, "cam:ann")
    assert (video.kind, video.codec, video.file) == ("video", "video/VP8", "01-cam_ann-video.webm")
    assert video.label == "Ann (customer), camera"
    assert video.ended == "stopped"
    assert video.packets >= 30
    frames = decode_video(rec.path / "01-cam_ann-video.webm")
    assert len(frames) == video.packets
    assert set(frames) == {(W, H)}
    # 30 frames a second on the media clock, whatever the wall clock said.
    assert video.duration_s == pytest.approx(video.packets / 30, abs=0.1)

    audio = entry(manifest, "mic:ann")
    assert (audio.kind, audio.codec) == ("audio", "audio/opus")
    assert audio.packets >= 50
    assert audio.duration_s == pytest.approx(audio.packets * 0.02)
    samples, rate, channels = decode_audio(rec.path / "02-mic_ann-audio.webm")
    assert (rate, channels) == (48_000, 1)
    # The decoder trims the encoder's look-ahead (a few ms) from the start.
    assert samples / rate == pytest.approx(audio.duration_s, abs=0.02)

    for item in (video, audio):
        assert item.file is not None
        packets = demux(rec.path / item.file)
        assert len(packets) == item.packets
        assert packets[0][0] == 0  # every file starts at 0
        assert {data for _, data in packets} <= seen[item.source_id]  # not re-encoded
        assert item.dropped == 0


async def test_the_manifest_vouches_for_the_files_and_is_private(
    hub: MediaHub, tmp_path: Path
) -> None:
    hub.add_source("cam", PatternTrack())
    hub.add_source("mic", ToneTrack())
    clock = Clock()
    rec = recorder(hub, tmp_path, clock=clock)
    rec.add("cam", "camera")
    rec.add("mic", "microphone")
    await written(rec, cam=10, mic=10)
    clock.now = T0 + 60
    manifest_path = await rec.close()

    raw = json.loads(manifest_path.read_text())
    assert raw["room"] == "private-7"
    assert raw["recording_id"] == "rec-1"
    assert raw["started_by"] == "advisor:li"
    assert raw["started_at"] == "2024-02-28T12:00:00.000Z"
    assert raw["ended_at"] == "2024-02-28T12:01:00.000Z"
    assert raw["retention_days"] == 3650
    assert raw["retention_until"] == "2034-02-25T12:00:00.000Z"  # 3650 days, 3 of them Feb 29
    assert [f["source_id"] for f in raw["files"]] == ["cam", "mic"]
    for item in raw["files"]:
        path = rec.path / item["file"]
        assert item["bytes"] == path.stat().st_size
        assert item["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert 0 <= item["offset_s"] < 1
        assert item["error"] is None
        assert mode(path) == 0o600
    assert mode(manifest_path) == 0o600
    assert mode(rec.path) == 0o700
    assert sorted(p.name for p in rec.path.iterdir()) == [
        "01-cam-video.webm",
        "02-mic-audio.webm",
        MANIFEST,
    ]
    manifest = RecordingManifest.from_json(raw)
    assert manifest.to_json() == raw
    assert manifest.retention_until == datetime(2034, 2, 25, 12, tzinfo=UTC)
    assert await rec.close() == manifest_path  # closing twice changes nothing


async def test_a_source_that_ends_mid_recording_leaves_a_valid_file(tmp_path: Path) -> None:
    gone = asyncio.Event()

    def on_state(state: SourceState) -> None:
        if state.source_id == "cam" and not state.live:
            gone.set()

    hub = MediaHub(on_state=on_state)
    try:
        hub.add_source("cam", ShortPattern(45))
        hub.add_source("mic", ToneTrack())
        rec = recorder(hub, tmp_path)
        rec.add("cam", "camera")
        rec.add("mic", "microphone")
        await asyncio.wait_for(gone.wait(), DEADLINE)
        # The microphone goes on after the camera has ended.
        mic_at_end = rec.sources["mic"].packets
        await written(rec, mic=mic_at_end + 10)
        with pytest.raises(RecordingError, match="ended after"):
            await asyncio.wait_for(rec.wait_written("cam", 10_000), DEADLINE)
        assert rec.sources["cam"].state == "source_ended"
        manifest = RecordingManifest.load(await rec.close())
    finally:
        await hub.close()

    video = entry(manifest, "cam")
    assert video.ended == "source_ended"
    assert 0 < video.packets <= 45
    assert video.file is not None
    assert len(decode_video(rec.path / video.file)) == video.packets
    assert entry(manifest, "mic").ended == "stopped"


async def test_a_removed_source_is_finalised_and_may_come_back(
    hub: MediaHub, tmp_path: Path
) -> None:
    hub.add_source("cam", PatternTrack())
    hub.add_source("mic", ToneTrack())
    rec = recorder(hub, tmp_path)
    rec.add("cam", "camera")
    rec.add("mic", "microphone")
    await written(rec, cam=10, mic=10)

    await rec.remove("cam")
    assert rec.sources["cam"].state == "removed"
    assert hub.viewer("cam", rec.viewer_id) is None  # the hub no longer encodes for us
    assert (rec.path / "01-cam-video.webm").exists()
    removed = rec.sources["cam"].packets
    await written(rec, mic=rec.sources["mic"].packets + 5)

    rec.add("cam", "camera, again")
    assert rec.sources["cam"].file == "03-cam-video.webm"
    await written(rec, cam=5)
    manifest = RecordingManifest.load(await rec.close())

    first, again = [f for f in manifest.files if f.source_id == "cam"]
    assert (first.ended, first.packets, first.file) == ("removed", removed, "01-cam-video.webm")
    assert (again.ended, again.label) == ("stopped", "camera, again")
    assert again.offset_s >= first.offset_s
    for item in (first, again):
        assert item.file is not None
        assert len(decode_video(rec.path / item.file)) == item.packets


async def test_two_recorders_on_one_source_are_two_viewers_of_one_encoder(
    hub: MediaHub, tmp_path: Path
) -> None:
    hub.add_source("cam", PatternTrack())
    hub.add_source("mic", ToneTrack())
    one = recorder(hub, tmp_path, "rec-1")
    two = recorder(hub, tmp_path, "rec-2")
    one.add("cam", "camera")
    one.add("mic", "microphone")
    two.add("cam", "camera")
    await written(one, cam=10, mic=10)
    await written(two, cam=10)

    stats = hub.stats()["cam"]
    assert stats.viewers == 2
    assert list(stats.lanes) == ["high"]  # one encoder serves both

    await one.close()  # the other recording goes on
    assert two.state == "recording"
    await written(two, cam=two.sources["cam"].packets + 10)
    assert hub.stats()["cam"].viewers == 1
    manifest = RecordingManifest.load(await two.close())

    (video,) = manifest.files
    assert video.file is not None
    assert len(decode_video(two.path / video.file)) == video.packets >= 20
    assert hub.stats()["cam"].viewers == 0


async def test_what_a_recorder_refuses(hub: MediaHub, tmp_path: Path) -> None:
    hub.add_source("cam", PatternTrack())
    with pytest.raises(RecordingError, match="safe"):
        recorder(hub, tmp_path, "../escape")
    with pytest.raises(RecordingError, match="retention"):
        SessionRecorder(hub, tmp_path, room="r", recording_id="x", started_by="a", retention_days=0)
    rec = recorder(hub, tmp_path)
    with pytest.raises(RecordingError, match="already exists"):
        recorder(hub, tmp_path)  # never mixed into another recording
    with pytest.raises(RecordingError, match="cannot record"):
        rec.add("nobody", "ghost")
    rec.add("cam", "camera")
    with pytest.raises(RecordingError, match="already being recorded"):
        rec.add("cam", "camera")
    with pytest.raises(RecordingError, match="never recorded"):
        await rec.remove("mic")
    await written(rec, cam=1)
    await rec.close()
    with pytest.raises(RecordingError, match="closed"):
        rec.add("cam", "camera")


async def test_a_source_with_nothing_recorded_is_listed_without_a_file(
    hub: MediaHub, tmp_path: Path
) -> None:
    hub.add_source("cam", PatternTrack())
    hub.set_enabled("cam", False)  # camera off: no packet reaches the recorder
    rec = recorder(hub, tmp_path)
    rec.add("cam", "camera")
    manifest = RecordingManifest.load(await rec.close())
    (item,) = manifest.files
    assert (item.file, item.packets, item.bytes, item.sha256) == (None, 0, 0, None)
    assert sorted(os.listdir(rec.path)) == [MANIFEST]
