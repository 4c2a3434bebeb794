"""Media fan-out: each source is read once and encoded once per quality, whatever the audience.

A *source* is one member's incoming audio or video track (or a synthetic one, such as an
expert's speech). Its frames are read by one task (for a remote track, aiortc's receiver has
decoded each frame exactly once), encoded by one shared encoder per quality level (a *lane*),
and the encoded frames are handed to every viewer of that lane. A viewer is a
:class:`ViewerTrack`: a ``MediaStreamTrack`` whose ``recv()`` returns ``av.Packet``, which
aiortc's RTCRtpSender packetises without encoding again. ``server.media.rtc`` attaches viewer
tracks to peer connections and routes their keyframe requests (PLI/FIR) back here.

Rules that keep one viewer from costing the others:

- each viewer has a bounded queue; an audio viewer that falls behind loses its oldest frames,
  a video viewer loses everything up to the next keyframe (decoding from a delta frame whose
  reference was dropped would only show garbage);
- a viewer's queue starts filling at its first ``recv()``, i.e. when its RTCRtpSender starts,
  so a peer connection that takes a second to connect does not start with a second of backlog;
- keyframe requests from all viewers of a lane are coalesced and rate-limited.

A disabled source (muted microphone, camera off) still has its track read so nothing piles up
in the receiver; audio viewers get encoded silence (their clock keeps running), video viewers
get nothing until it is enabled again, which starts with a keyframe.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Literal

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av.audio.frame import AudioFrame
from av.frame import Frame
from av.stream import Stream
from av.video.frame import VideoFrame

from server.media.codecs import (
    AUDIO_MIME,
    VIDEO_MIME,
    AudioEncoder,
    Encoded,
    Quality,
    VideoEncoder,
    silence_like,
)

log = logging.getLogger(__name__)

Kind = Literal["audio", "video"]

DEFAULT_VIDEO_QUALITIES: Mapping[str, Quality] = {
    "high": Quality("high", bitrate=800_000, max_height=720),
    "low": Quality("low", bitrate=200_000, max_height=240),
}
DEFAULT_AUDIO_QUALITY = Quality("voice", bitrate=32_000)

# About a second of media either way: long enough to ride out a scheduling hiccup, short
# enough that a viewer that stopped reading is cut back to live quickly.
VIDEO_QUEUE = 30
AUDIO_QUEUE = 50
# A speech listener reads as fast as frames come; 5 s of 20 ms frames covers a stalled loop.
TAP_QUEUE = 250
# Many viewers joining or losing packets at once must not turn the stream into keyframes only.
KEYFRAME_MIN_INTERVAL_S = 0.25


@dataclass(frozen=True, slots=True)
class SourceState:
    """What the room shows about a source: is it live, is it on (unmuted / camera on)."""

    source_id: str
    kind: Kind
    enabled: bool
    live: bool  # False once the source ended or was removed


@dataclass(frozen=True, slots=True)
class LaneStats:
    quality: str
    encodes: int  # frames through this lane's encoder
    keyframes: int
    forced_keyframes: int  # keyframes made on request (join, PLI/FIR, overflow, enable)
    viewers: int


@dataclass(frozen=True, slots=True)
class SourceStats:
    source_id: str
    kind: Kind
    enabled: bool
    decodes: int  # frames read from the track (a remote track decodes each one once)
    skipped: int  # frames read but not encoded: nobody watching, or video disabled
    fanned_out: int  # encoded packets queued to viewers, summed over viewers
    delivered: int  # of those, handed to the viewers' RTP senders
    dropped: int  # of those, dropped on slow viewers' queues
    lanes: dict[str, LaneStats] = field(default_factory=dict)

    @property
    def encodes(self) -> int:
        return sum(lane.encodes for lane in self.lanes.values())

    @property
    def viewers(self) -> int:
        return sum(lane.viewers for lane in self.lanes.values())


class ViewerTrack(MediaStreamTrack):
    """One viewer's copy of one lane: yields the shared encoded packets, on its own clock."""

    def __init__(self, lane: _Lane, viewer_id: str) -> None:
        super().__init__()
        self.kind: Kind = lane.source.kind
        self.viewer_id = viewer_id
        self.source_id = lane.source.source_id
        self.quality = lane.quality.name
        self._lane: _Lane | None = lane
        self._queue: deque[Encoded] = deque()
        self._limit = VIDEO_QUEUE if self.kind == "video" else AUDIO_QUEUE
        self._wake = asyncio.Event()
        self._active = False
        self.started = asyncio.Event()  # set at the first recv(): the sender is running
        self._need_keyframe = self.kind == "video"
        self._seen_keyframe = False  # before its first picture a viewer has lost nothing
        self._offset: int | None = None  # viewer clock = source clock - offset
        self._last_out: int | None = None
        self.delivered = 0
        self.dropped = 0

    @property
    def codec_mime(self) -> str:
        """The codec the encoded packets are in; the RTP sender must negotiate this one."""
        return VIDEO_MIME if self.kind == "video" else AUDIO_MIME

    @property
    def active(self) -> bool:
        return self._active and self._lane is not None

    def request_keyframe(self) -> None:
        """This viewer lost the picture (PLI/FIR): the lane's encoder makes a keyframe."""
        if self._lane is not None:
            self._lane.request_keyframe()

    async def recv(self) -> av.Packet[Stream]:
        if self._lane is None:
            raise MediaStreamError
        if not self._active:
            self._active = True
            self.started.set()
            if self.kind == "video":
                self._lane.request_keyframe()
        while not self._queue:
            self._wake.clear()
            await self._wake.wait()
            if self._lane is None:
                raise MediaStreamError
        item = self._queue.popleft()
        packet = av.Packet(item.data)
        packet.pts = self._rebase(item)
        packet.time_base = item.time_base
        self.delivered += 1
        return packet

    def stop(self) -> None:
        lane, self._lane = self._lane, None
        if lane is not None:
            lane.detach(self)
        self._queue.clear()
        self._wake.set()
        super().stop()

    def _move(self, lane: _Lane) -> None:
        old = self._lane
        if old is None or old is lane:
            return
        lane.viewers[self.viewer_id] = self
        self._lane = lane
        self.quality = lane.quality.name
        old.detach(self, leaving=False)
        # Frames of the old encoding cannot be followed by deltas of the new one.
        self._queue.clear()
        if self.kind == "video":
            self._need_keyframe = True
            if self._active:
                lane.request_keyframe()

    # --- called by the lane -----------------------------------------------------------------

    def _offer(self, item: Encoded) -> bool:
        """Queue one encoded packet; False when it was dropped."""
        if self._need_keyframe:
            if not item.keyframe:
                self.dropped += self._seen_keyframe
                return False
            self._need_keyframe = False
            self._seen_keyframe = True
        if len(self._queue) >= self._limit:
            if self.kind == "video":
                self.dropped += len(self._queue)
                self._queue.clear()
                if not item.keyframe:
                    self._need_keyframe = True
                    self.dropped += 1
                    if self._lane is not None:
                        self._lane.request_keyframe()
                    return False
            else:
                self._queue.popleft()
                self.dropped += 1
        self._queue.append(item)
        self._wake.set()
        return True

    def _rebase(self, item: Encoded) -> int:
        # The RTP sender adds its own random origin; what matters is that each viewer's clock
        # only moves forward, also when the source's clock jumps back (e.g. a new track).
        if self._offset is None:
            self._offset = item.pts
        out = item.pts - self._offset
        if self._last_out is not None and out <= self._last_out:
            out = self._last_out + item.duration
            self._offset = item.pts - out
        self._last_out = out
        return out


class FrameTap(MediaStreamTrack):
    """The decoded audio of a source, for a listener in this process (speech recognition):
    no encoding, a bounded queue that loses its oldest frames, nothing while the source is
    disabled (a muted microphone is not listened to)."""

    kind = "audio"

    def __init__(self, source_id: str, limit: int = TAP_QUEUE) -> None:
        super().__init__()
        self.source_id = source_id
        self._queue: deque[AudioFrame] = deque(maxlen=limit)
        self._wake = asyncio.Event()
        self._ended = False
        self.dropped = 0

    def put(self, frame: AudioFrame) -> None:
        if len(self._queue) == self._queue.maxlen:
            self.dropped += 1
        self._queue.append(frame)
        self._wake.set()

    async def recv(self) -> AudioFrame:
        while not self._queue:
            if self._ended:
                raise MediaStreamError
            self._wake.clear()
            await self._wake.wait()
        return self._queue.popleft()

    def stop(self) -> None:
        self._ended = True
        self._wake.set()
        super().stop()


class _Lane:
    """One shared encoder of a source and the viewers at its quality."""

    def __init__(self, source: Source, quality: Quality) -> None:
        self.source = source
        self.quality = quality
        self.video: VideoEncoder | None = None
        self.audio: AudioEncoder | None = None
        if source.kind == "video":
            self.video = VideoEncoder(quality)
        else:
            self.audio = AudioEncoder(quality)
        self.viewers: dict[str, ViewerTrack] = {}
        self._want_keyframe = False
        self._last_forced = -1e9
        self.encodes = 0
        self.keyframes = 0
        self.forced_keyframes = 0

    @property
    def watched(self) -> bool:
        return any(v.active for v in self.viewers.values())

    def request_keyframe(self) -> None:
        if self.source.kind == "video":
            self._want_keyframe = True

    def take_keyframe_request(self, now: float) -> bool:
        if not self._want_keyframe or now - self._last_forced < KEYFRAME_MIN_INTERVAL_S:
            return False
        self._want_keyframe = False
        self._last_forced = now
        self.forced_keyframes += 1
        return True

    def detach(self, viewer: ViewerTrack, *, leaving: bool = True) -> None:
        if self.viewers.get(viewer.viewer_id) is viewer:
            del self.viewers[viewer.viewer_id]
            self.source.viewer_left(self, viewer, leaving=leaving)

    def fan_out(self, packets: list[Encoded]) -> None:
        for item in packets:
            if item.keyframe and self.source.kind == "video":
                self.keyframes += 1
                self._want_keyframe = False  # whoever asked is served by this one
            for viewer in list(self.viewers.values()):
                if not viewer.active:
                    continue
                if viewer._offer(item):
                    self.source.fanned_out += 1


class Source:
    """One track the hub reads: its lanes, its enabled flag, its counters."""

    def __init__(self, hub: MediaHub, source_id: str, track: MediaStreamTrack, kind: Kind) -> None:
        self.hub = hub
        self.source_id = source_id
        self.track = track
        self.kind: Kind = kind
        self.enabled = True
        self.live = True
        self.lanes: dict[str, _Lane] = {}
        self.decodes = 0
        self.skipped = 0
        self.fanned_out = 0
        self._gone_delivered = 0  # counters of viewers that already left
        self._gone_dropped = 0
        self._retired: dict[str, LaneStats] = {}  # lanes whose last viewer left, summed
        self.task: asyncio.Task[None] | None = None
        self.taps: list[FrameTap] = []

    @property
    def state(self) -> SourceState:
        return SourceState(self.source_id, self.kind, self.enabled, self.live)

    def lane(self, quality: Quality) -> _Lane:
        lane = self.lanes.get(quality.name)
        if lane is None:
            lane = self.lanes[quality.name] = _Lane(self, quality)
        return lane

    def viewer_left(self, lane: _Lane, viewer: ViewerTrack, *, leaving: bool) -> None:
        if leaving:
            self._gone_delivered += viewer.delivered
            self._gone_dropped += viewer.dropped
        if not lane.viewers and self.lanes.get(lane.quality.name) is lane:
            # Free the encoder; a later viewer starts a new one (with a keyframe anyway).
            del self.lanes[lane.quality.name]
            self._retired[lane.quality.name] = _add(self._retired.get(lane.quality.name), lane)

    def stats(self) -> SourceStats:
        viewers = [v for lane in self.lanes.values() for v in lane.viewers.values()]
        return SourceStats(
            self.source_id,
            self.kind,
            self.enabled,
            self.decodes,
            self.skipped,
            self.fanned_out,
            self._gone_delivered + sum(v.delivered for v in viewers),
            self._gone_dropped + sum(v.dropped for v in viewers),
            {
                name: _add(self._retired.get(name), self.lanes.get(name))
                for name in self._retired.keys() | self.lanes.keys()
            },
        )

    async def pump(self) -> None:
        try:
            if self.kind == "video":
                await self._pump_video()
            else:
                while True:
                    frame = await self.track.recv()
                    self.decodes += 1
                    if self.taps and self.enabled and isinstance(frame, AudioFrame):
                        for tap in self.taps:
                            tap.put(frame)
                    await self._encode(frame)
        except MediaStreamError:
            log.info("media source %s ended", self.source_id)
        except Exception:
            log.exception("media source %s failed", self.source_id)
        finally:
            self.hub._source_ended(self)

    async def _pump_video(self) -> None:
        # Reading and encoding are decoupled by a one-frame slot: when the encoder falls behind
        # (an overloaded machine), frames are skipped instead of queueing up in the receiver,
        # so the picture gets choppier but never later. Audio is cheap and gaps are audible:
        # it is read and encoded in step.
        slot: list[Frame | av.Packet[Stream]] = []
        ready = asyncio.Event()
        ended: list[BaseException] = []

        async def read() -> None:
            try:
                while True:
                    frame = await self.track.recv()
                    self.decodes += 1
                    if slot:
                        self.skipped += 1
                    slot[:] = [frame]
                    ready.set()
            except BaseException as exc:
                ended.append(exc)
                ready.set()
                raise

        reader = asyncio.get_running_loop().create_task(read(), name=f"media-read:{self.source_id}")
        try:
            while True:
                if slot:
                    await self._encode(slot.pop())
                elif ended:
                    if isinstance(ended[0], Exception):
                        raise ended[0]
                    return
                else:
                    ready.clear()
                    await ready.wait()
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)

    async def _encode(self, frame: Frame | av.Packet[Stream]) -> None:
        lanes = [lane for lane in self.lanes.values() if lane.watched]
        if not lanes or (self.kind == "video" and not self.enabled):
            self.skipped += 1
            return
        if isinstance(frame, VideoFrame):
            now = time.monotonic()
            jobs = [(lane, lane.take_keyframe_request(now)) for lane in lanes]
            loop = asyncio.get_running_loop()
            results = await loop.run_in_executor(self.hub.executor, _encode_video, frame, jobs)
        elif isinstance(frame, AudioFrame):
            if not self.enabled:
                frame = silence_like(frame)
            # Opus on 20 ms costs less than a hop to a worker thread.
            results = [(lane, _encode_audio(lane, frame)) for lane in lanes]
        else:
            raise TypeError(f"source {self.source_id} yielded {type(frame).__name__}")
        # Switched off while encoding: nobody sees this picture (audio is silence anyway).
        shown = self.enabled or self.kind == "audio"
        for lane, packets in results:
            if self.lanes.get(lane.quality.name) is lane:
                lane.encodes += 1
                if shown:
                    lane.fan_out(packets)
            else:  # its last viewer left during the encode
                gone = self._retired[lane.quality.name]
                self._retired[lane.quality.name] = replace(gone, encodes=gone.encodes + 1)


def _add(retired: LaneStats | None, lane: _Lane | None) -> LaneStats:
    """Counters of a quality level over its whole life, with its current viewer count."""
    name = lane.quality.name if lane is not None else retired.quality if retired else ""
    total = LaneStats(name, 0, 0, 0, 0) if retired is None else retired
    if lane is None:
        return LaneStats(name, total.encodes, total.keyframes, total.forced_keyframes, 0)
    return LaneStats(
        name,
        total.encodes + lane.encodes,
        total.keyframes + lane.keyframes,
        total.forced_keyframes + lane.forced_keyframes,
        len(lane.viewers),
    )


def _encode_video(
    frame: VideoFrame, jobs: list[tuple[_Lane, bool]]
) -> list[tuple[_Lane, list[Encoded]]]:
    out = []
    for lane, force in jobs:
        assert lane.video is not None
        out.append((lane, lane.video.encode(frame, force)))
    return out


def _encode_audio(lane: _Lane, frame: AudioFrame) -> list[Encoded]:
    assert lane.audio is not None
    return lane.audio.encode(frame)


class MediaHub:
    """All media sources of one server process (or one room: the hub keeps no room state).

    ``on_state`` is called with a source's :class:`SourceState` whenever it is added, switched
    on or off, or ends; ``state()`` answers the same question on demand.
    """

    def __init__(
        self,
        *,
        video_qualities: Mapping[str, Quality] | None = None,
        audio_quality: Quality = DEFAULT_AUDIO_QUALITY,
        default_video_quality: str | None = None,
        on_state: Callable[[SourceState], None] | None = None,
        encoder_threads: int | None = None,
    ) -> None:
        self.video_qualities = dict(video_qualities or DEFAULT_VIDEO_QUALITIES)
        if not self.video_qualities:
            raise ValueError("at least one video quality is needed")
        self.default_video_quality = default_video_quality or next(iter(self.video_qualities))
        if self.default_video_quality not in self.video_qualities:
            raise ValueError(f"unknown default quality {self.default_video_quality!r}")
        self.audio_quality = audio_quality
        self._on_state = on_state
        self.executor = ThreadPoolExecutor(
            max_workers=encoder_threads or min(4, os.cpu_count() or 1),
            thread_name_prefix="media-encode",
        )
        self._sources: dict[str, Source] = {}
        self._closed = False

    # --- sources ----------------------------------------------------------------------------

    def add_source(
        self, source_id: str, track: MediaStreamTrack, kind: Kind | None = None
    ) -> Source:
        if self._closed:
            raise RuntimeError("the media hub is closed")
        if source_id in self._sources:
            raise ValueError(f"source {source_id!r} already exists")
        if track.kind not in ("audio", "video") or kind not in (None, track.kind):
            raise ValueError(f"source {source_id!r}: track kind {track.kind!r}, asked {kind!r}")
        source = Source(self, source_id, track, "audio" if track.kind == "audio" else "video")
        self._sources[source_id] = source
        source.task = asyncio.get_running_loop().create_task(
            source.pump(), name=f"media:{source_id}"
        )
        self._notify(source)
        return source

    async def remove_source(self, source_id: str) -> None:
        """Stop reading the source and end its viewers' tracks (their senders then stop)."""
        source = self._sources.get(source_id)
        if source is None:
            return
        if source.task is not None:
            source.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await source.task
        self._source_ended(source)

    def _source_ended(self, source: Source) -> None:
        if self._sources.get(source.source_id) is not source:
            return
        del self._sources[source.source_id]
        source.live = False
        for tap in source.taps:
            tap.stop()
        source.taps.clear()
        for lane in list(source.lanes.values()):
            for viewer in list(lane.viewers.values()):
                viewer.stop()
        self._notify(source)

    def set_enabled(self, source_id: str, enabled: bool) -> bool:
        """Mute/unmute, camera off/on. Returns whether the state changed."""
        source = self._source(source_id)
        if source.enabled == enabled:
            return False
        source.enabled = enabled
        if enabled:
            for lane in source.lanes.values():
                lane.request_keyframe()
        self._notify(source)
        return True

    def state(self, source_id: str) -> SourceState:
        return self._source(source_id).state

    def sources(self) -> list[SourceState]:
        return [s.state for s in self._sources.values()]

    def request_keyframe(self, source_id: str) -> None:
        for lane in self._source(source_id).lanes.values():
            lane.request_keyframe()

    # --- viewers ----------------------------------------------------------------------------

    def subscribe(self, source_id: str, viewer_id: str, quality: str | None = None) -> ViewerTrack:
        """A new track for ``viewer_id`` carrying ``source_id``.

        An earlier track of the same viewer and source is ended, and an RTP sender whose
        track ends stops for good (aiortc): to change quality, use ``set_quality``.
        """
        source = self._source(source_id)
        level = self._quality(source.kind, quality)
        self.unsubscribe(source_id, viewer_id)
        lane = source.lane(level)
        viewer = ViewerTrack(lane, viewer_id)
        lane.viewers[viewer_id] = viewer
        return viewer

    def tap(self, source_id: str) -> FrameTap:
        """The decoded frames of audio source ``source_id`` from now on, until ``untap`` or
        the source's end."""
        source = self._source(source_id)
        if source.kind != "audio":
            raise ValueError(f"source {source_id!r} is not audio")
        tap = FrameTap(source_id)
        source.taps.append(tap)
        return tap

    def untap(self, tap: FrameTap) -> None:
        source = self._sources.get(tap.source_id)
        if source is not None and tap in source.taps:
            source.taps.remove(tap)
        tap.stop()

    def set_quality(self, source_id: str, viewer_id: str, quality: str) -> ViewerTrack:
        """Move a viewer to another quality level, keeping its track (and so its sender)."""
        source = self._source(source_id)
        level = self._quality(source.kind, quality)
        viewer = self.viewer(source_id, viewer_id)
        if viewer is None:
            raise KeyError(f"{viewer_id!r} does not watch {source_id!r}")
        viewer._move(source.lane(level))
        return viewer

    def unsubscribe(self, source_id: str, viewer_id: str) -> None:
        source = self._sources.get(source_id)
        if source is None:
            return
        for lane in list(source.lanes.values()):
            viewer = lane.viewers.get(viewer_id)
            if viewer is not None:
                viewer.stop()

    def viewer(self, source_id: str, viewer_id: str) -> ViewerTrack | None:
        source = self._sources.get(source_id)
        if source is None:
            return None
        for lane in source.lanes.values():
            if viewer_id in lane.viewers:
                return lane.viewers[viewer_id]
        return None

    # --- the rest ---------------------------------------------------------------------------

    def stats(self) -> dict[str, SourceStats]:
        return {sid: source.stats() for sid, source in self._sources.items()}

    async def close(self) -> None:
        self._closed = True
        for source_id in list(self._sources):
            await self.remove_source(source_id)
        self.executor.shutdown(wait=False, cancel_futures=True)

    def _source(self, source_id: str) -> Source:
        try:
            return self._sources[source_id]
        except KeyError:
            raise KeyError(f"no media source {source_id!r}") from None

    def _quality(self, kind: Kind, name: str | None) -> Quality:
        if kind == "audio":
            return self.audio_quality
        name = name or self.default_video_quality
        try:
            return self.video_qualities[name]
        except KeyError:
            raise ValueError(f"unknown video quality {name!r}") from None

    def _notify(self, source: Source) -> None:
        if self._on_state is not None:
            try:
                self._on_state(source.state)
            except Exception:
                log.exception("media state callback failed for %s", source.source_id)


__all__ = [
    "DEFAULT_AUDIO_QUALITY",
    "DEFAULT_VIDEO_QUALITIES",
    "Kind",
    "LaneStats",
    "MediaHub",
    "Quality",
    "Source",
    "SourceState",
    "SourceStats",
    "ViewerTrack",
]
