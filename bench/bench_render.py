"""CPU cost of server-rendered video: thin-client views and expert portraits, in one run.

- Per frame, back to back: the persistent renderer (``ViewRenderer``: one engine, one buffer,
  avatars re-posed) against the naive way, ``render_layout`` to a PNG and decoding it again
  (a new scene, engine and buffer every picture). Both include the RGB to YUV conversion and
  the VP8 encode at the hub's quality for the size (``high`` for a 640x360 thin view, ``low``
  for a 320x240 portrait), so the figure is what one stream costs the server.
- Live: N rendered tracks paced at 15 fps, each a hub source with one viewer draining its VP8
  packets, for ``--seconds``: the process's CPU time (all threads) over what was delivered.

CPU is ``time.process_time`` (this process, every thread); "% core" is that at 15 fps.

    .venv/bin/python -m bench.bench_render [--seconds 5] [--streams 1,4]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
from av.video.frame import VideoFrame

from protocol.quantise import yaw_quat
from scenes.layout import Layout, load_layout
from scenes.render import CameraView, Figure, render_layout, sample_figures
from scenes.view_renderer import ViewRenderer
from server.media.codecs import VIDEO_CLOCK, VIDEO_TIME_BASE, VideoEncoder
from server.media.hub import DEFAULT_VIDEO_QUALITIES, MediaHub
from server.media.render_track import RenderedVideoTrack, portrait_camera, thin_view_camera

LAYOUT = "private_room"
FPS = 15
Scene = Callable[[int], tuple[list[Figure], CameraView]]
Picture = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class Case:
    name: str
    width: int
    height: int
    quality: str  # the hub's level its encode runs at
    scene: Scene


def thin_scene(layout: Layout) -> Scene:
    """The customer's own view while the room moves: head turning, people shifting."""
    figures = sample_figures(layout)
    me = next(f for f in figures if f.label == "Customer")
    others = [f for f in figures if f is not me]
    head = (me.pos[0], 1.2, me.pos[2] - 0.05)

    def scene(i: int) -> tuple[list[Figure], CameraView]:
        turn = me.yaw_deg + 25 * math.sin(i / 20)
        moved = [
            f._replace(yaw_deg=f.yaw_deg + 10 * math.sin(i / 7 + k)) for k, f in enumerate(others)
        ]
        return moved, thin_view_camera(head, yaw_quat(math.radians(turn)))

    return scene


def portrait_scene(layout: Layout) -> Scene:
    """An expert speaking: its mouth level changes every frame, the camera stays."""
    spot = layout.expert_spots[0]
    expert = Figure(spot.pos, spot.yaw_deg, (0.16, 0.5, 0.55), "Bonds expert", ai_label="AI生成")
    camera = portrait_camera(spot.pos, spot.yaw_deg)

    def scene(i: int) -> tuple[list[Figure], CameraView]:
        level = 0.5 + 0.5 * math.sin(i * 1.3)
        return [expert._replace(mouth=level)], camera

    return scene


# --- back to back -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cost:
    frames: int
    render_ms: float  # CPU per frame, drawing (and for naive, the PNG round trip)
    encode_ms: float  # CPU per frame, RGB -> YUV and VP8

    @property
    def total_ms(self) -> float:
        return self.render_ms + self.encode_ms


def _measure(draw: Callable[[int], Picture], case: Case, seconds: float) -> Cost:
    encoder = VideoEncoder(DEFAULT_VIDEO_QUALITIES[case.quality], frame_rate=FPS)
    render = encode = 0.0
    frames = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline or frames < 3:
        began = time.process_time()
        rgb = draw(frames)
        drawn = time.process_time()
        _encode(encoder, rgb, frames)
        render += drawn - began
        encode += time.process_time() - drawn
        frames += 1
    return Cost(frames, render * 1000 / frames, encode * 1000 / frames)


def _encode(encoder: VideoEncoder, rgb: Picture, index: int) -> None:
    frame = VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
    frame.pts = index * VIDEO_CLOCK // FPS
    frame.time_base = VIDEO_TIME_BASE
    encoder.encode(frame, force_keyframe=index == 0)


def persistent(
    case: Case, *, keep_avatars: bool = True
) -> tuple[Callable[[int], Picture], Callable[[], None]]:
    renderer = ViewRenderer(LAYOUT, case.width, case.height, keep_avatars=keep_avatars)

    def draw(i: int) -> Picture:
        figures, camera = case.scene(i)
        return renderer.draw(figures, camera)

    return draw, renderer.close


def naive(case: Case, folder: Path) -> Callable[[int], Picture]:
    def draw(i: int) -> Picture:
        figures, camera = case.scene(i)
        path = render_layout(
            LAYOUT, folder / "frame.png", width=case.width, height=case.height,
            camera=camera, avatars=figures,
        )  # fmt: skip
        with av.open(str(path)) as container:
            frame = next(container.decode(video=0))
        return np.asarray(frame.to_ndarray(format="rgb24"), dtype=np.uint8)

    return draw


# --- live ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Live:
    streams: int
    delivered: int  # packets summed over viewers
    cpu_s: float
    wall_s: float
    skipped: int


class Playing:
    """A track's scene callback: the case's scene, one frame further at every call."""

    def __init__(self, scene: Scene) -> None:
        self.scene = scene
        self.index = 0

    def __call__(self) -> tuple[Sequence[Figure], CameraView]:
        self.index += 1
        return self.scene(self.index)


async def live(case: Case, streams: int, seconds: float) -> Live:
    hub = MediaHub()
    counts = [0] * streams
    tracks: list[RenderedVideoTrack] = []
    for n in range(streams):
        track = RenderedVideoTrack(
            lambda: ViewRenderer(LAYOUT, case.width, case.height), Playing(case.scene), fps=FPS
        )
        tracks.append(track)
        hub.add_source(f"{case.name}:{n}", track)

    async def drain(n: int) -> None:
        viewer = hub.subscribe(f"{case.name}:{n}", f"viewer{n}", case.quality)
        while True:
            await viewer.recv()
            counts[n] += 1

    drains = [asyncio.ensure_future(drain(n)) for n in range(streams)]
    # Warm up (renderers built, first keyframes) before the window opens.
    while min(counts) < 5:
        await asyncio.wait(drains, timeout=0.05)
    marks, cpu, wall = list(counts), time.process_time(), time.monotonic()
    await asyncio.wait(drains, timeout=seconds)
    cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    delivered = sum(counts) - sum(marks)
    skipped = sum(t.skipped for t in tracks)
    for task in drains:
        task.cancel()
    await asyncio.gather(*drains, return_exceptions=True)
    await hub.close()
    return Live(streams, delivered, cpu, wall, skipped)


# --- report -------------------------------------------------------------------------------------


def _core(ms: float) -> str:
    return f"{ms * FPS / 10:.1f}%"


def run(seconds: float, streams: Sequence[int]) -> None:
    layout = load_layout(LAYOUT)
    cases = [
        Case("thin view 640x360", 640, 360, "high", thin_scene(layout)),
        Case("expert portrait 320x240", 320, 240, "low", portrait_scene(layout)),
    ]
    print(f"{'case':<26}{'path':<34}{'frames':>7}{'render ms':>10}{'encode ms':>10}"
          f"{'total ms':>9}{'% core':>8}{'vs ours':>9}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases:
            draw, close = persistent(case)
            ours = _measure(draw, case, seconds)
            close()
            draw, close = persistent(case, keep_avatars=False)
            rebuilt = _measure(draw, case, seconds)
            close()
            slow = _measure(naive(case, Path(tmp)), case, seconds)
            _row(case.name, "persistent renderer (ours)", ours, "")
            _row("", "same, avatars rebuilt every frame", rebuilt, _ratio(rebuilt, ours))
            _row("", "render_layout + PNG decode (naive)", slow, _ratio(slow, ours))
    print()
    print(f"{'live, paced at 15 fps':<26}{'streams':>8}{'fps/stream':>11}{'CPU ms/frame':>13}"
          f"{'% core/stream':>14}{'skipped':>8}")  # fmt: skip
    for case in cases:
        for count in streams:
            result = asyncio.run(live(case, count, seconds))
            fps = result.delivered / result.wall_s / count
            per_frame = result.cpu_s * 1000 / max(result.delivered, 1)
            print(f"{case.name:<26}{count:>8}{fps:>11.1f}{per_frame:>13.2f}"
                  f"{_core(per_frame):>14}{result.skipped:>8}")  # fmt: skip


def _ratio(cost: Cost, ours: Cost) -> str:
    return f"{cost.total_ms / ours.total_ms:.1f}x"


def _row(name: str, path: str, cost: Cost, ratio: str) -> None:
    print(f"{name:<26}{path:<34}{cost.frames:>7}{cost.render_ms:>10.2f}{cost.encode_ms:>10.2f}"
          f"{cost.total_ms:>9.2f}{_core(cost.total_ms):>8}{ratio:>9}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=5.0, help="per measurement")
    parser.add_argument("--streams", default="1,4", help="live rendered streams, e.g. 1,4")
    args = parser.parse_args()
    run(args.seconds, [int(n) for n in args.streams.split(",")])


if __name__ == "__main__":
    main()
