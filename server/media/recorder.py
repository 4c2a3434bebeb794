"""Compliance recording of a room: the hub's encoded packets, muxed into files as they are.

A :class:`SessionRecorder` is one more viewer of each source it records (viewer id
``recorder:<recording_id>``). Its packets are already VP8 or Opus, so they are muxed into
WebM with PyAV, one file per source, without decoding or encoding anything: a recording
costs the server a copy of the bytes, not an encoder.

On disk, one recording is one directory, readable by the server's user only::

    <directory>/<recording_id>/
        01-cam_ann-video.webm
        02-mic_ann-audio.webm
        manifest.json

A file is written as ``<name>.part`` and renamed once it is complete and synced; the manifest
is written last, through a temporary file and a rename, after every file it lists is final.
A crash therefore leaves either no manifest or one whose sizes and digests are the files'.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import av
from aiortc.mediastreams import MediaStreamError
from av.container.output import OutputContainer
from av.stream import Stream

from server.errors import MediaError
from server.media.codecs import AUDIO_FRAME_SAMPLES, AUDIO_RATE
from server.media.hub import Kind, MediaHub, ViewerTrack
from server.media.pulse import Pulse
from server.private_dir import private_dir

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
MANIFEST_FORMAT = "wealthroom-recording/1"

# Packets received but not yet on disk, per file. The reader never waits for the disk (so
# the hub never drops packets for us), which makes this the only place a stalled disk shows:
# past about half a minute of video the file is failed loudly rather than memory growing.
MAX_PENDING = 1000

RecorderState = Literal["recording", "closing", "closed"]
# How a file ended: still being written, its source ended, ``remove()``, ``close()``, an error.
TrackState = Literal["recording", "source_ended", "removed", "stopped", "failed"]

_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


class RecordingError(MediaError):
    """Root of the recorder's failures (the media package has no common root yet)."""


@dataclass(frozen=True, slots=True)
class RecordedFile:
    """One source's file in a recording, as the manifest lists it."""

    source_id: str
    label: str
    kind: Kind
    codec: str  # MIME type, as negotiated with viewers: "video/VP8", "audio/opus"
    file: str | None  # None when the source produced no packet while recorded
    bytes: int
    packets: int
    duration_s: float  # first packet to the end of the last, on the media clock
    offset_s: float  # recording start to this file's first packet, on the recorder's clock
    sha256: str | None
    ended: TrackState
    dropped: int  # packets the hub dropped for the recorder: gaps in the file
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "source_id": self.source_id,
            "label": self.label,
            "kind": self.kind,
            "codec": self.codec,
            "file": self.file,
            "bytes": self.bytes,
            "packets": self.packets,
            "duration_s": round(self.duration_s, 3),
            "offset_s": round(self.offset_s, 3),
            "sha256": self.sha256,
            "ended": self.ended,
            "dropped": self.dropped,
            "error": self.error,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RecordedFile:
        return cls(
            source_id=str(data["source_id"]),
            label=str(data["label"]),
            kind="audio" if data["kind"] == "audio" else "video",
            codec=str(data["codec"]),
            file=None if data["file"] is None else str(data["file"]),
            bytes=int(data["bytes"]),
            packets=int(data["packets"]),
            duration_s=float(data["duration_s"]),
            offset_s=float(data["offset_s"]),
            sha256=None if data["sha256"] is None else str(data["sha256"]),
            ended=data["ended"],
            dropped=int(data["dropped"]),
            error=data.get("error"),
        )


@dataclass(frozen=True, slots=True)
class RecordingManifest:
    """What a recording holds and how long it must be kept."""

    room: str
    recording_id: str
    started_by: str
    started_at: datetime  # UTC
    ended_at: datetime  # UTC
    retention_days: int
    files: tuple[RecordedFile, ...]

    @property
    def retention_until(self) -> datetime:
        return self.started_at + timedelta(days=self.retention_days)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": MANIFEST_FORMAT,
            "room": self.room,
            "recording_id": self.recording_id,
            "started_by": self.started_by,
            "started_at": _iso(self.started_at),
            "ended_at": _iso(self.ended_at),
            "retention_days": self.retention_days,
            "retention_until": _iso(self.retention_until),
            "files": [f.to_json() for f in self.files],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RecordingManifest:
        if data.get("format") != MANIFEST_FORMAT:
            raise RecordingError(f"not a recording manifest: format {data.get('format')!r}")
        return cls(
            room=str(data["room"]),
            recording_id=str(data["recording_id"]),
            started_by=str(data["started_by"]),
            started_at=datetime.fromisoformat(data["started_at"]),
            ended_at=datetime.fromisoformat(data["ended_at"]),
            retention_days=int(data["retention_days"]),
            files=tuple(RecordedFile.from_json(f) for f in data["files"]),
        )

    @classmethod
    def load(cls, path: Path) -> RecordingManifest:
        """Read a manifest file, or the one in a recording's directory."""
        if path.is_dir():
            path = path / MANIFEST
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))


@dataclass(frozen=True, slots=True)
class TrackStatus:
    """A file being (or done being) recorded, for the room and for tests."""

    source_id: str
    label: str
    kind: Kind
    file: str
    state: TrackState
    packets: int  # handed to the muxer so far
    dropped: int
    error: str | None


class SessionRecorder:
    """Records sources of a :class:`MediaHub` into ``directory/<recording_id>/``.

    ``clock`` gives wall-clock seconds (``time.time``) for the manifest's times; the files'
    own timestamps come from the media. Consent is the caller's business: constructing a
    recorder creates the directory, and ``add`` starts writing at once.
    """

    def __init__(
        self,
        hub: MediaHub,
        directory: Path,
        *,
        room: str,
        recording_id: str,
        started_by: str,
        retention_days: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not _SAFE_ID.fullmatch(recording_id):
            raise RecordingError(f"recording id {recording_id!r} is not a safe file name")
        if not room or not started_by:
            raise RecordingError("a recording needs a room and who started it")
        if retention_days < 1:
            raise RecordingError(f"retention of {retention_days} days")
        self.hub = hub
        self.room = room
        self.recording_id = recording_id
        self.started_by = started_by
        self.retention_days = retention_days
        self.viewer_id = f"recorder:{recording_id}"
        self._clock = clock
        self.path = Path(directory) / recording_id
        try:
            private_dir(self.path.parent)
            # Never mixed with another recording's files: an existing directory is refused.
            self.path.mkdir(mode=0o700)
            os.chmod(self.path, 0o700)  # mkdir's mode is cut by the umask
        except FileExistsError:
            raise RecordingError(f"recording {recording_id!r} already exists") from None
        except OSError as exc:
            raise RecordingError(f"cannot create {self.path}: {exc}") from exc
        self.started_at = clock()
        self._state: RecorderState = "recording"
        self._writers: list[_TrackWriter] = []
        self._manifest: Path | None = None
        # One thread per recorder does all its disk work (muxing, syncing, hashing): the event
        # loop never waits on the disk, and with a single thread each file's batches are
        # written in order without locks. Batching keeps it to one hop per batch, not per
        # packet, however far the disk falls behind.
        self._executor = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=f"recorder-{recording_id}"
        )

    @property
    def state(self) -> RecorderState:
        return self._state

    @property
    def sources(self) -> dict[str, TrackStatus]:
        """The latest file of each source added, by source id."""
        return {w.source_id: w.status() for w in self._writers}

    def add(self, source_id: str, label: str, *, quality: str | None = None) -> None:
        """Start recording a source into a file of its own.

        A source removed earlier may be added again: it gets a new file. ``quality`` is a
        video quality level of the hub (its default when None).
        """
        if self._state != "recording":
            raise RecordingError(f"recording {self.recording_id!r} is {self._state}")
        if any(w.source_id == source_id and w.state == "recording" for w in self._writers):
            raise RecordingError(f"{source_id!r} is already being recorded")
        try:
            track = self.hub.subscribe(source_id, self.viewer_id, quality)
        except (KeyError, ValueError) as exc:
            raise RecordingError(f"cannot record {source_id!r}: {exc}") from exc
        slug = _UNSAFE_CHARS.sub("_", source_id)[:64]
        name = f"{len(self._writers) + 1:02d}-{slug}-{track.kind}.webm"
        self._writers.append(_TrackWriter(self, source_id, label, track, name))

    async def remove(self, source_id: str) -> None:
        """Stop recording a source; its file is finalised and stays in the recording.

        A source that already ended is not an error: its file is (or is being) finalised.
        """
        writers = [w for w in self._writers if w.source_id == source_id]
        if not writers:
            raise RecordingError(f"{source_id!r} was never recorded")
        writers[-1].stop("removed")
        await writers[-1].finished

    async def wait_written(self, source_id: str, packets: int) -> None:
        """Until the source's current file has ``packets`` packets written.

        Raises :class:`RecordingError` if that file ends with fewer.
        """
        writers = [w for w in self._writers if w.source_id == source_id]
        if not writers:
            raise RecordingError(f"{source_id!r} was never recorded")
        writer = writers[-1]
        while writer.written < packets:
            if writer.finished.done():
                raise RecordingError(
                    f"{source_id!r} ended after {writer.written} of {packets} packets"
                )
            await writer.progress.wait()

    async def close(self) -> Path:
        """Stop every file, finalise them and write the manifest; returns the manifest's path."""
        if self._manifest is not None:
            return self._manifest
        if self._state != "recording":
            # Closing again after a failed close would find the writer thread gone.
            raise RecordingError(f"recording {self.recording_id!r} is {self._state}")
        self._state = "closing"
        try:
            for writer in self._writers:
                writer.stop("stopped")
            files = [await writer.finished for writer in self._writers]
            manifest = RecordingManifest(
                room=self.room,
                recording_id=self.recording_id,
                started_by=self.started_by,
                started_at=_utc(self.started_at),
                ended_at=_utc(self._clock()),
                retention_days=self.retention_days,
                files=tuple(files),
            )
            try:
                self._manifest = await self._run(lambda: _write_manifest(self.path, manifest))
            except OSError as exc:
                raise RecordingError(f"cannot write the manifest of {self.path}: {exc}") from exc
        finally:
            self._executor.shutdown(wait=False)
            self._state = "closed"
        return self._manifest

    # --- for the writers ----------------------------------------------------------------------

    def _run(self, fn: Callable[[], Any]) -> asyncio.Future[Any]:
        return asyncio.get_running_loop().run_in_executor(self._executor, fn)


class _TrackWriter:
    """One source into one file.

    The event-loop side reads the viewer track and hands batches of packets to the recorder's
    thread; everything touching the container runs in that thread, one call at a time.
    """

    def __init__(
        self, recorder: SessionRecorder, source_id: str, label: str, track: ViewerTrack, name: str
    ) -> None:
        self.recorder = recorder
        self.source_id = source_id
        self.label = label
        self.track = track
        self.kind: Kind = track.kind
        self.codec = track.codec_mime
        self.name = name
        self.state: TrackState = "recording"
        self.error: str | None = None
        self.written = 0
        self.progress = Pulse()
        self.first_at: float | None = None
        self._pending: list[av.Packet[Stream]] = []
        self._flush: asyncio.Future[int] | None = None
        self._final = False
        # Thread side: only ever touched from the recorder's executor.
        self._muxer = _Muxer(recorder.path, name, self.kind, label)
        loop = asyncio.get_running_loop()
        self.finished: asyncio.Task[RecordedFile] = loop.create_task(
            self._run(), name=f"recorder:{recorder.recording_id}:{source_id}"
        )

    def status(self) -> TrackStatus:
        return TrackStatus(
            self.source_id,
            self.label,
            self.kind,
            self.name,
            self.state,
            self.written,
            self.track.dropped,
            self.error,
        )

    def stop(self, why: TrackState) -> None:
        # A track the hub already ended belongs to a source that ended first, whatever the
        # reader has seen of it so far.
        if self.state == "recording" and self.track.readyState != "ended":
            self.state = why
        # Ending the track wakes the reader with MediaStreamError, as a source's end does.
        self.track.stop()

    def _fail(self, exc: BaseException) -> None:
        if self.state == "recording" or self.error is None:
            self.state = "failed"
            self.error = f"{type(exc).__name__}: {exc}"
            log.error("recording %s of %s failed: %s", self.name, self.source_id, self.error)
        self.track.stop()

    async def _run(self) -> RecordedFile:
        try:
            while True:
                packet = await self.track.recv()
                if self.first_at is None:
                    self.first_at = self.recorder._clock()
                self._pending.append(packet)
                if len(self._pending) > MAX_PENDING:
                    self._fail(RecordingError("the disk does not keep up"))
                    break
                self._kick()
        except MediaStreamError:
            if self.state == "recording":
                self.state = "source_ended"
        self._final = True
        if self._flush is not None:
            with contextlib.suppress(Exception):  # already recorded by _flushed
                await self._flush
        batch, self._pending = self._pending, []
        if self.error is not None:
            batch = []  # the container may be in any state; close what is there
        result: _Closed = await self.recorder._run(lambda: self._muxer.finish(batch))
        if result.error is not None:
            self._fail(RecordingError(result.error))
        self.written = result.packets
        self.progress.fire()
        start = self.first_at if self.first_at is not None else self.recorder.started_at
        return RecordedFile(
            source_id=self.source_id,
            label=self.label,
            kind=self.kind,
            codec=self.codec,
            file=result.file,
            bytes=result.size,
            packets=result.packets,
            duration_s=result.duration_s,
            offset_s=max(0.0, start - self.recorder.started_at),
            sha256=result.sha256,
            ended=self.state,
            dropped=self.track.dropped,
            error=self.error,
        )

    def _kick(self) -> None:
        if self._flush is not None or not self._pending or self._final or self.error:
            return
        batch, self._pending = self._pending, []
        flush: asyncio.Future[int] = self.recorder._run(lambda: self._muxer.write(batch))
        self._flush = flush
        flush.add_done_callback(self._flushed)

    def _flushed(self, flush: asyncio.Future[int]) -> None:
        self._flush = None
        if flush.cancelled():
            return
        exc = flush.exception()
        if exc is not None:
            self._fail(exc)
        else:
            self.written = flush.result()
        self.progress.fire()
        self._kick()


@dataclass(frozen=True, slots=True)
class _Closed:
    file: str | None
    size: int
    packets: int
    duration_s: float
    sha256: str | None
    error: str | None


class _Muxer:
    """The container of one file. Not thread-safe: used from one thread at a time."""

    def __init__(self, directory: Path, name: str, kind: Kind, title: str) -> None:
        self.final = directory / name
        self.part = directory / f"{name}.part"
        self.kind = kind
        self.title = title
        self.packets = 0
        self.skipped = 0  # video before its first keyframe: undecodable, so not written
        self._container: OutputContainer | None = None
        self._stream: Stream | None = None
        self._first: int | None = None  # source pts of the first packet written
        self._last: int | None = None  # output pts of the last packet written
        self._step = 0  # the last packet's length, in time_base
        self._time_base = Fraction(1)

    def write(self, batch: list[av.Packet[Stream]]) -> int:
        for packet in batch:
            self._write(packet)
        return self.packets

    def finish(self, batch: list[av.Packet[Stream]]) -> _Closed:
        error: str | None = None
        try:
            self.write(batch)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
        if self._container is None:
            return _Closed(None, 0, 0, 0.0, None, error)
        try:
            self._container.close()  # writes the cues and the duration into the header
        except Exception as exc:
            error = error or f"{type(exc).__name__}: {exc}"
        try:
            _fsync(self.part)
            os.replace(self.part, self.final)
            with self.final.open("rb") as f:
                digest = hashlib.file_digest(f, "sha256").hexdigest()
            size = self.final.stat().st_size
        except OSError as exc:
            # Left as .part: the manifest lists no file it cannot vouch for.
            return _Closed(None, 0, self.packets, 0.0, None, error or f"OSError: {exc}")
        span = 0 if self._last is None else self._last + self._step
        return _Closed(
            self.final.name, size, self.packets, float(span * self._time_base), digest, error
        )

    def _write(self, packet: av.Packet[Stream]) -> None:
        if packet.pts is None:
            raise RecordingError("a packet without a timestamp")
        data = bytes(packet)
        keyframe = self.kind == "audio" or _vp8_keyframe(data)
        if self._container is None:
            if not keyframe:
                self.skipped += 1
                return
            self._open(data, packet.time_base)
            self._first = packet.pts  # each file starts at 0
        container, stream, first = self._container, self._stream, self._first
        assert container is not None
        assert stream is not None
        assert first is not None
        pts = packet.pts - first
        if self._last is not None and pts <= self._last:
            pts = self._last + 1  # the hub's clocks only rise; guard the file's all the same
        if self.kind == "audio":
            # The hub's Opus frames are all 20 ms (codecs.AUDIO_FRAME_SAMPLES).
            self._step = int(Fraction(AUDIO_FRAME_SAMPLES, AUDIO_RATE) / self._time_base)
        elif self._last is not None:
            self._step = pts - self._last  # a frame lasts until the next; the last, as long
        out = av.Packet(data)
        out.pts = out.dts = pts
        out.time_base = self._time_base
        out.is_keyframe = keyframe
        if self.kind == "audio":
            out.duration = self._step
        out.stream = stream
        container.mux(out)
        self._last = pts
        self.packets += 1

    def _open(self, first: bytes, time_base: Fraction) -> None:
        # Created 0o600 before the muxer opens it (which then keeps its mode): never readable
        # by others, not even for a moment.
        fd = os.open(self.part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        os.chmod(self.part, 0o600)
        try:
            container = av.open(str(self.part), "w", format="webm")
        except BaseException:
            self.part.unlink(missing_ok=True)
            raise
        try:
            container.metadata["title"] = self.title
            if self.kind == "video":
                width, height = _vp8_size(first)
                # No codec context: the packets go in as they are.
                stream = container.add_mux_stream("vp8", width=width, height=height)
            else:
                # Matroska needs the OpusHead (channels, pre-skip) as the track's private data;
                # PyAV makes it by opening an encoder set up like the hub's. The encoder is
                # never given a frame.
                audio = container.add_stream("libopus", rate=AUDIO_RATE)
                audio.layout = "stereo" if _opus_stereo(first) else "mono"
                audio.format = "s16"
                stream = audio
        except BaseException:
            container.close()
            self.part.unlink(missing_ok=True)
            raise
        self._container = container
        self._stream = stream
        self._time_base = time_base


def _vp8_keyframe(frame: bytes) -> bool:
    # RFC 6386 9.1: bit 0 of the frame tag is 0 on a keyframe.
    return bool(frame) and not frame[0] & 1


def _vp8_size(frame: bytes) -> tuple[int, int]:
    # RFC 6386 9.1: a keyframe's 3-byte tag and start code are followed by 14-bit width and
    # height (the top 2 bits are scaling hints).
    if len(frame) < 10 or frame[3:6] != b"\x9d\x01\x2a":
        raise RecordingError("a VP8 keyframe without its start code")
    width = int.from_bytes(frame[6:8], "little") & 0x3FFF
    height = int.from_bytes(frame[8:10], "little") & 0x3FFF
    return width, height


def _opus_stereo(packet: bytes) -> bool:
    # RFC 6716 3.1: the TOC byte's "s" bit.
    return bool(packet) and bool(packet[0] & 0x04)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_manifest(directory: Path, manifest: RecordingManifest) -> Path:
    # The files are final before this runs; the directory is synced so that their renames
    # are durable before the manifest that vouches for them appears.
    _fsync(directory)
    tmp = directory / f"{MANIFEST}.tmp"
    data = json.dumps(manifest.to_json(), indent=2, ensure_ascii=False).encode() + b"\n"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # a leftover from a crash may have had other bits
    with open(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    final = directory / MANIFEST
    os.replace(tmp, final)
    _fsync(directory)
    return final


def _utc(t: float) -> datetime:
    return datetime.fromtimestamp(t, tz=UTC)


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


__all__ = [
    "MANIFEST",
    "RecordedFile",
    "RecorderState",
    "RecordingError",
    "RecordingManifest",
    "SessionRecorder",
    "TrackState",
    "TrackStatus",
]
