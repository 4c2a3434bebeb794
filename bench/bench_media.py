"""Media CPU, setup time and speech latency, in one run.

- Fan-out cost: one 640x360 30 fps camera relayed to 1, 5 and 10 viewers, through the hub
  (one VP8 encode per frame, packets fanned out) and through aiortc's default path
  (``MediaRelay`` + one RTCRtpSender per viewer, each encoding on its own). The server side
  runs in this process and its CPU time (``time.process_time``, all threads) is what is
  measured; the viewers run as real aiortc peers in a child process, so their decoding is
  not counted. Both paths pay the same DTLS/SRTP per viewer and the same source.
- Setup: from the server's offer to the viewer's first decoded frame, both peers in this
  process on this machine (no STUN, host candidates), median of several.
- Speech: from text to the first Opus packet of that speech leaving the hub for a listener,
  espeak-ng synthesis included.
- Thin client: CPU per server-drawn 640x360 stream at 15 fps, drawing and VP8 encoding
  (``bench/bench_render.py`` compares it with a naive renderer).
- The same setup and speech through a whole room, and the lip-sync offset
  (``bench/bench_room_media.py``).

    .venv/bin/python -m bench.bench_media [--seconds 8] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiortc
import numpy as np
import numpy.typing as npt
from aiortc import (
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
    VideoStreamTrack,
)
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av.frame import Frame
from av.packet import Packet
from av.stream import Stream
from av.video.frame import VideoFrame

from bench.bench_render import LAYOUT, Case, live, thin_scene
from bench.bench_room_media import run as run_room
from scenes.layout import load_layout
from server.media.codecs import VIDEO_MIME, Quality
from server.media.hub import MediaHub
from server.media.rtc import attach_viewer, codec_preferences
from server.media.speech_track import SpeechTrack
from server.media.tts import EspeakSpeaker

WIDTH, HEIGHT = 640, 360
# aiortc's VP8 sender starts at 500 kbps; the hub's lane gets the same so encodes compare.
BITRATE = 500_000
ICE = RTCConfiguration(iceServers=[])
ROOT = Path(__file__).resolve().parents[1]


def _picture_loop(count: int = 30) -> list[npt.NDArray[np.uint8]]:
    """A camera-like scene: smooth background, a moving figure, some texture and sensor noise.

    Pure noise would make every encoder blow far past its bitrate and turn the benchmark
    into one of SRTP; a flat picture would make encoding nearly free.
    """
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH]
    background = (60 + 100 * xx / WIDTH + 40 * yy / HEIGHT).astype(np.float64)
    chroma = np.full((HEIGHT // 2, WIDTH), 128, dtype=np.uint8)
    pictures = []
    for i in range(count):
        phase = 2 * np.pi * i / count
        luma = background.copy()
        cx = int(WIDTH / 2 + 120 * np.sin(phase))
        cy = int(HEIGHT / 2 + 30 * np.cos(phase))
        figure = (xx - cx) ** 2 / 60**2 + (yy - cy) ** 2 / 90**2 < 1
        luma[figure] = 180 + 30 * np.sin(xx[figure] / 6 + phase) * np.cos(yy[figure] / 9)
        luma += rng.normal(0, 2, size=luma.shape)
        y = np.clip(luma, 0, 255).astype(np.uint8)
        pictures.append(np.concatenate([y, chroma]))
    return pictures


class Camera(VideoStreamTrack):
    """A 30 fps 640x360 source counting what it produced."""

    def __init__(self, pictures: list[npt.NDArray[np.uint8]]) -> None:
        super().__init__()
        self._pictures = pictures
        self.produced = 0

    async def recv(self) -> VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = VideoFrame.from_ndarray(
            self._pictures[self.produced % len(self._pictures)], format="yuv420p"
        )
        frame.pts = pts
        frame.time_base = time_base
        self.produced += 1
        return frame


class Counting(MediaStreamTrack):
    """Counts the frames one aiortc sender takes: each is one encode on the default path."""

    kind = "video"

    def __init__(self, inner: MediaStreamTrack, tally: list[int]) -> None:
        super().__init__()
        self._inner = inner
        self._tally = tally

    async def recv(self) -> Frame | Packet[Stream]:
        frame = await self._inner.recv()
        self._tally[0] += 1
        return frame

    def stop(self) -> None:
        self._inner.stop()
        super().stop()


# --- the viewers' process ---------------------------------------------------------------------


async def viewer_worker() -> None:
    """Answers offers on stdin with real peers that decode everything; reports counts."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    pcs: list[RTCPeerConnection] = []
    frames: list[int] = []
    tasks: list[asyncio.Task[None]] = []

    async def consume(track: MediaStreamTrack, slot: int) -> None:
        try:
            while True:
                await track.recv()
                frames[slot] += 1
        except MediaStreamError:
            pass

    def reply(obj: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    while line := await reader.readline():
        msg = json.loads(line)
        if msg["op"] == "answer":
            pc = RTCPeerConnection(ICE)
            slot = len(frames)
            frames.append(0)
            pcs.append(pc)

            def on_track(track: MediaStreamTrack, slot: int = slot) -> None:
                tasks.append(asyncio.ensure_future(consume(track, slot)))

            pc.on("track", on_track)
            await pc.setRemoteDescription(RTCSessionDescription(**msg["offer"]))
            await pc.setLocalDescription(await pc.createAnswer())
            desc = pc.localDescription
            reply({"answer": {"sdp": desc.sdp, "type": desc.type}})
        elif msg["op"] == "frames":
            reply({"frames": frames})
        elif msg["op"] == "close":
            await asyncio.gather(*(pc.close() for pc in pcs))
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            pcs.clear()
            frames.clear()
            tasks.clear()
            reply({})
        else:
            break


class Viewers:
    """The parent's handle on the viewers' process."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self._proc = proc

    @classmethod
    async def start(cls) -> Viewers:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.bench_media",
            "--viewer-worker",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=ROOT,
        )
        return cls(proc)

    async def ask(self, **msg: Any) -> dict[str, Any]:
        assert self._proc.stdin is not None
        assert self._proc.stdout is not None
        self._proc.stdin.write(json.dumps(msg).encode() + b"\n")
        await self._proc.stdin.drain()
        line = await asyncio.wait_for(self._proc.stdout.readline(), 30)
        if not line:
            raise RuntimeError("the viewers' process died")
        answer: dict[str, Any] = json.loads(line)
        return answer

    async def connect(self, pc: RTCPeerConnection) -> None:
        await pc.setLocalDescription(await pc.createOffer())
        offer = {"sdp": pc.localDescription.sdp, "type": pc.localDescription.type}
        answer = await self.ask(op="answer", offer=offer)
        await pc.setRemoteDescription(RTCSessionDescription(**answer["answer"]))

    async def frames(self) -> list[int]:
        counts: list[int] = (await self.ask(op="frames"))["frames"]
        return counts

    async def stop(self) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        await asyncio.wait_for(self._proc.wait(), 30)


# --- fan-out ------------------------------------------------------------------------------------


@dataclass
class FanOut:
    path: str
    viewers: int
    seconds: float
    source_fps: float
    encodes_per_frame: float
    cpu_cores: float  # process CPU seconds per wall second
    cpu_ms_per_frame: float  # per source frame
    viewer_fps: float  # decoded by the slowest viewer


async def fan_out(path: str, count: int, seconds: float, viewers: Viewers) -> FanOut:
    camera = Camera(_picture_loop())
    pcs = [RTCPeerConnection(ICE) for _ in range(count)]
    hub: MediaHub | None = None
    relay_tally = [0]
    if path == "hub":
        hub = MediaHub(video_qualities={"high": Quality("high", BITRATE)})
        hub.add_source("cam", camera)
        for i, pc in enumerate(pcs):
            attach_viewer(pc, hub.subscribe("cam", f"viewer{i}"))
    else:
        # Unbuffered: a sender that cannot keep up skips frames instead of queueing them.
        relay = MediaRelay()
        for pc in pcs:
            track = Counting(relay.subscribe(camera, buffered=False), relay_tally)
            transceiver = pc.addTransceiver(track, direction="sendonly")
            transceiver.setCodecPreferences(codec_preferences("video", VIDEO_MIME))

    def encodes() -> int:
        if hub is not None:
            return hub.stats()["cam"].encodes
        return relay_tally[0]

    try:
        for pc in pcs:
            await viewers.connect(pc)
        deadline = time.monotonic() + 20
        while min(await viewers.frames()) < 5:  # everyone has a picture: steady state
            if time.monotonic() > deadline:
                raise RuntimeError(f"{path} x{count}: viewers got no picture")
            await asyncio.sleep(0.1)

        frames0, enc0, seen0 = camera.produced, encodes(), await viewers.frames()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await asyncio.sleep(seconds)
        cpu1, wall1 = time.process_time(), time.perf_counter()
        frames1, enc1, seen1 = camera.produced, encodes(), await viewers.frames()
    finally:
        for pc in pcs:
            await pc.close()
        if hub is not None:
            await hub.close()
        camera.stop()
        await viewers.ask(op="close")

    wall = wall1 - wall0
    frames = max(1, frames1 - frames0)
    return FanOut(
        path,
        count,
        wall,
        frames / wall,
        (enc1 - enc0) / frames,
        (cpu1 - cpu0) / wall,
        (cpu1 - cpu0) / frames * 1e3,
        min(b - a for a, b in zip(seen0, seen1, strict=True)) / wall,
    )


# --- setup time ---------------------------------------------------------------------------------


async def setup_times(runs: int) -> list[float]:
    hub = MediaHub(video_qualities={"high": Quality("high", BITRATE)})
    camera = Camera(_picture_loop(8))
    hub.add_source("cam", camera)
    out = []
    pictures: set[asyncio.Task[None]] = set()
    try:
        for i in range(runs):
            server, viewer = RTCPeerConnection(ICE), RTCPeerConnection(ICE)
            first = asyncio.get_running_loop().create_future()

            def on_track(track: MediaStreamTrack, first: asyncio.Future[float] = first) -> None:
                async def wait_picture() -> None:
                    await track.recv()
                    if not first.done():
                        first.set_result(time.perf_counter())

                pictures.add(asyncio.ensure_future(wait_picture()))

            viewer.on("track", on_track)
            attach_viewer(server, hub.subscribe("cam", f"viewer{i}"))
            started = time.perf_counter()
            await server.setLocalDescription(await server.createOffer())
            await viewer.setRemoteDescription(server.localDescription)
            await viewer.setLocalDescription(await viewer.createAnswer())
            await server.setRemoteDescription(viewer.localDescription)
            out.append(await asyncio.wait_for(first, 20) - started)
            await server.close()
            await viewer.close()
    finally:
        await hub.close()
        camera.stop()
        await asyncio.gather(*pictures, return_exceptions=True)
    return out


# --- speech latency -----------------------------------------------------------------------------


SPEECH = [
    ("en", "Good morning. Your portfolio grew four percent this quarter."),
    ("cmn", "早上好，您的投资组合本季度增长了百分之四。"),
    ("yue", "早晨，你嘅投資組合今季升咗百分之四。"),
]


@dataclass
class SpeechTiming:
    voice: str
    synth_ms: float
    to_packet_ms: float  # text in -> first packet of the speech out of the hub
    audio_s: float


async def speech_latency(rounds: int) -> list[SpeechTiming]:
    speaker = EspeakSpeaker()
    track = SpeechTrack()
    hub = MediaHub()
    hub.add_source("expert", track)
    listener = hub.subscribe("expert", "listener")
    watching: dict[str, Any] = {"playback": None, "at": None}
    got = asyncio.Event()

    async def listen() -> None:
        try:
            while True:
                await listener.recv()
                playback = watching["playback"]
                if playback is not None and playback.started.done() and watching["at"] is None:
                    watching["at"] = time.perf_counter()
                    got.set()
        except MediaStreamError:
            pass

    reader = asyncio.ensure_future(listen())
    out = []
    try:
        await asyncio.sleep(0.2)  # the track's clock and the encoder are running
        for _ in range(rounds):
            for voice, text in SPEECH:
                watching.update(playback=None, at=None)
                got.clear()
                t0 = time.perf_counter()
                clip = await speaker.synthesize(text, voice, rate=175, pitch=50)
                t1 = time.perf_counter()
                watching["playback"] = track.play(clip)
                await asyncio.wait_for(got.wait(), 10)
                out.append(
                    SpeechTiming(
                        voice, (t1 - t0) * 1e3, (watching["at"] - t0) * 1e3, clip.duration_s
                    )
                )
                track.interrupt()
    finally:
        await hub.close()
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
    return out


# --- report -------------------------------------------------------------------------------------


async def run(seconds: float, setup_runs: int, speech_rounds: int) -> dict[str, Any]:
    viewers = await Viewers.start()
    results: list[FanOut] = []
    try:
        for count in (1, 5, 10):
            for path in ("hub", "aiortc"):
                results.append(await fan_out(path, count, seconds, viewers))
    finally:
        await viewers.stop()
    setup = await setup_times(setup_runs)
    speech = await speech_latency(speech_rounds)
    return {"fan_out": results, "setup_s": setup, "speech": speech}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="measured per scenario")
    parser.add_argument("--setup-runs", type=int, default=7)
    parser.add_argument("--speech-rounds", type=int, default=2)
    parser.add_argument("--json", help="also write the figures here")
    parser.add_argument("--viewer-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.viewer_worker:
        asyncio.run(viewer_worker())
        return

    started = time.perf_counter()
    figures = asyncio.run(run(args.seconds, args.setup_runs, args.speech_rounds))
    fan: list[FanOut] = figures["fan_out"]
    print(
        f"aiortc {aiortc.__version__}, {os.cpu_count()} CPUs; one {WIDTH}x{HEIGHT} VP8 camera at"
        f" 30 fps, {BITRATE // 1000} kbps"
    )
    head = ("path", "viewers", "src fps", "enc/frame", "CPU cores", "CPU ms/frame", "viewer fps")
    print(
        f"{head[0]:8} {head[1]:>7} {head[2]:>8} {head[3]:>9} {head[4]:>9} {head[5]:>12}"
        f" {head[6]:>10} {'aiortc/hub CPU':>14}"
    )
    by_count = {(r.path, r.viewers): r for r in fan}
    for r in fan:
        ratio = ""
        if r.path == "aiortc":
            hub = by_count[("hub", r.viewers)]
            ratio = f"{r.cpu_ms_per_frame / hub.cpu_ms_per_frame:13.1f}x"
        print(
            f"{r.path:8} {r.viewers:7d} {r.source_fps:8.1f} {r.encodes_per_frame:9.2f}"
            f" {r.cpu_cores:9.2f} {r.cpu_ms_per_frame:12.2f} {r.viewer_fps:10.1f} {ratio:>14}"
        )
    print(
        "(server process only, all threads; viewers decode in a child process. enc/frame ="
        " encodes per source frame; viewer fps = decoded by the slowest viewer; a path that"
        " cannot keep up shows it there and in src fps)"
    )
    setup = figures["setup_s"]
    print(
        f"\nsetup, offer to first decoded frame: median {statistics.median(setup) * 1e3:.0f} ms"
        f" (min {min(setup) * 1e3:.0f}, max {max(setup) * 1e3:.0f}, {len(setup)} runs)"
    )
    speech: list[SpeechTiming] = figures["speech"]
    print("\nspeech, text to first Opus packet out of the hub (espeak-ng included):")
    print(f"{'voice':6} {'runs':>4} {'synth ms':>9} {'to packet ms':>13} {'audio s':>8}")
    for voice in dict.fromkeys(s.voice for s in speech):
        mine = [s for s in speech if s.voice == voice]
        print(
            f"{voice:6} {len(mine):4d} {statistics.median(s.synth_ms for s in mine):9.1f}"
            f" {statistics.median(s.to_packet_ms for s in mine):13.1f}"
            f" {statistics.median(s.audio_s for s in mine):8.2f}"
        )
    print("(medians; to packet = synthesis + waiting for the next 20 ms frame + Opus encode)")
    thin = asyncio.run(live(Case("thin", 640, 360, "high", thin_scene(load_layout(LAYOUT))), 1, 8))
    per_frame = thin.cpu_s * 1000 / max(thin.delivered, 1)
    print(
        f"\nthin-client stream, 640x360 at 15 fps (drawn and VP8-encoded):"
        f" {per_frame:.1f} ms CPU per frame, {per_frame * 15 / 10:.0f}% of a core"
        f" ({thin.delivered / thin.wall_s:.1f} fps, {thin.skipped} skipped)"
    )
    room = asyncio.run(run_room(3))
    print("\nthrough a room's signalling (bench/bench_room_media.py):")
    for key, label in (
        ("setup_ms", "media -> first decoded frame"),
        ("speech_arriving_ms", "ask -> expert heard (expert arriving)"),
        ("speech_present_ms", "ask -> expert heard (expert present)"),
        ("lip_offset_ms", "audio after mouth"),
    ):
        print(f"  {label:<40} median {statistics.median(room[key]):6.0f} ms")
    print(f"\ntotal run time {time.perf_counter() - started:.0f} s")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(
                {
                    "fan_out": [asdict(r) for r in fan],
                    "setup_s": setup,
                    "speech": [asdict(s) for s in speech],
                },
                fh,
                indent=1,
            )


if __name__ == "__main__":
    main()
