"""Server-rendered video: the persistent renderer, lip movement, and rendered tracks in the hub.

Small pictures keep the software renderer fast; the behaviour does not depend on the size.
Every wait has a deadline and waits on the media itself, never on a fixed sleep.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import threading
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence

import av
import numpy as np
import numpy.typing as npt
import pytest
from aiortc.mediastreams import MediaStreamError
from av.video.frame import VideoFrame

from protocol.quantise import Quat, yaw_quat
from scenes.render import CameraView, Figure, default_camera
from scenes.view_renderer import Frame, ViewRenderer
from server.media.codecs import Quality
from server.media.hub import MediaHub
from server.media.render_track import (
    VIDEO_CLOCK,
    VIDEO_TIME_BASE,
    RenderedVideoTrack,
    portrait_camera,
    thin_view_camera,
)

DEADLINE = 10.0
W, H = 240, 136
ACROSS = CameraView((0.0, 1.6, 2.9), (0.0, 1.3, -3.4), 45.0)
RED = Figure((0.0, 0.0, 0.6), 180.0, (0.9, 0.1, 0.1), "Red")
EXPERT = Figure((1.0, 0.0, -1.0), 30.0, (0.16, 0.5, 0.55), "Bonds expert")


@pytest.fixture(scope="module")
def room() -> Iterator[ViewRenderer]:
    with ViewRenderer("private_room", W, H) as renderer:
        yield renderer


@pytest.fixture(scope="module")
def portrait() -> Iterator[ViewRenderer]:
    with ViewRenderer("private_room", 160, 120) as renderer:
        yield renderer


def _changed(a: Frame, b: Frame, threshold: int = 12) -> npt.NDArray[np.bool_]:
    """Pixels where any channel moved by more than ``threshold`` levels."""
    moved = np.abs(a.astype(np.int16) - b.astype(np.int16)).max(axis=2)
    changed: npt.NDArray[np.bool_] = moved > threshold
    return changed


def test_a_frame_is_an_rgb_picture_of_the_room(room: ViewRenderer) -> None:
    frame = room.draw([], default_camera(room.layout))
    assert frame.shape == (H, W, 3)
    assert frame.dtype == np.uint8
    assert frame.std() > 20
    assert len(np.unique(frame.reshape(-1, 3), axis=0)) > 200


def test_a_figure_changes_the_pixels_where_it_stands(room: ViewRenderer) -> None:
    empty = room.draw([], ACROSS)
    with_red = room.draw([RED], ACROSS)
    changed = _changed(empty, with_red)
    xs = np.nonzero(changed)[1]
    assert changed.sum() > 0.03 * W * H
    # It stands in the middle, between the camera and the far wall.
    assert W * 0.3 < xs.mean() < W * 0.7
    assert not changed[:, : W // 4].any()
    assert not changed[:, -W // 4 :].any()
    r, g, b = (with_red[..., i].astype(np.int16) for i in range(3))
    red = (r > 110) & (g < 60) & (b < 60)
    assert red[H // 3 :, W // 3 : 2 * W // 3].sum() > 50
    assert not red[:, : W // 4].any()


def test_figures_are_reposed_not_rebuilt_and_leave_no_trace(room: ViewRenderer) -> None:
    empty = room.draw([], ACROSS)
    built = room.avatars_built
    for step in range(4):
        moved = RED._replace(pos=(0.1 * step, 0.0, 0.6), yaw_deg=180.0 + 20 * step)
        room.draw([moved], ACROSS)
    assert room.avatars_built - built <= 1
    assert np.array_equal(room.draw([], ACROSS), empty)


def test_the_mouth_opens_on_the_face(portrait: ViewRenderer) -> None:
    camera = portrait_camera(EXPERT.pos, EXPERT.yaw_deg)
    closed = portrait.draw([EXPERT], camera)
    half = portrait.draw([EXPERT._replace(mouth=0.4)], camera)
    wide = portrait.draw([EXPERT._replace(mouth=1.0)], camera)
    assert np.array_equal(portrait.draw([EXPERT._replace(mouth=0.0)], camera), closed)
    opened = _changed(closed, wide)
    ys, xs = np.nonzero(opened)
    assert len(xs) > 20
    # On the face: the middle of the picture, in its upper half where the head is.
    assert xs.min() > 0.35 * 160
    assert xs.max() < 0.65 * 160
    assert ys.min() > 0.15 * 120
    assert ys.max() < 0.6 * 120
    assert wide[opened].mean() < closed[opened].mean()  # a dark mouth on skin
    assert _changed(closed, half).sum() < opened.sum()  # opens with the level


def test_thin_view_camera_looks_where_the_head_looks() -> None:
    head = (1.0, 1.6, 2.0)
    ahead = thin_view_camera(head, (0.0, 0.0, 0.0, 1.0))
    assert ahead.eye == head
    assert _direction(ahead) == pytest.approx((0.0, 0.0, -1.0))
    left = thin_view_camera(head, yaw_quat(math.pi / 2))
    assert _direction(left) == pytest.approx((-1.0, 0.0, 0.0), abs=1e-9)
    down = thin_view_camera(head, _pitch(-0.4))
    assert _direction(down) == pytest.approx((0.0, math.sin(-0.4), -math.cos(0.4)), abs=1e-9)
    straight_up = thin_view_camera(head, _pitch(math.pi / 2))
    assert math.degrees(math.asin(_direction(straight_up)[1])) == pytest.approx(85.0)


def test_portrait_camera_stands_in_front_of_the_face() -> None:
    camera = portrait_camera((1.0, 0.0, -1.0), 90.0)  # facing -X
    assert camera.eye[0] < 0.0  # 1.25 m in front of the face
    assert camera.eye[2] == pytest.approx(-1.0)
    assert 1.5 < camera.eye[1] < 1.8
    assert camera.target[0] == pytest.approx(1.0)
    assert camera.target[1] < camera.eye[1]  # aimed a little down, at the shoulders


def _direction(camera: CameraView) -> tuple[float, float, float]:
    d = [t - e for t, e in zip(camera.target, camera.eye, strict=True)]
    n = math.sqrt(sum(c * c for c in d))
    return (d[0] / n, d[1] / n, d[2] / n)


def _pitch(angle: float) -> Quat:
    """Rotation about X: positive looks up from -Z."""
    return (math.sin(angle / 2), 0.0, 0.0, math.cos(angle / 2))


def _pts(frame: VideoFrame) -> int:
    assert frame.pts is not None
    return frame.pts


class ThreadNoting(ViewRenderer):
    """A real renderer that notes which threads it was made and used on."""

    def __init__(self, layout_name: str, width: int, height: int) -> None:
        self.made_on = threading.get_ident()
        self.drawn_on: set[int] = set()
        super().__init__(layout_name, width, height)

    def draw(self, figures: Iterable[Figure], camera: CameraView) -> Frame:
        self.drawn_on.add(threading.get_ident())
        return super().draw(figures, camera)


class Speaking:
    """An expert's scene: its mouth level follows a list, noting the thread it is asked on."""

    def __init__(self, levels: Sequence[float] = (0.0,)) -> None:
        self.levels = levels
        self.calls = 0
        self.threads: set[int] = set()

    def __call__(self) -> tuple[Sequence[Figure], CameraView]:
        self.threads.add(threading.get_ident())
        level = self.levels[self.calls % len(self.levels)]
        self.calls += 1
        return [EXPERT._replace(mouth=level)], portrait_camera(EXPERT.pos, EXPERT.yaw_deg)


@pytest.fixture
async def track_parts() -> AsyncIterator[list[RenderedVideoTrack]]:
    made: list[RenderedVideoTrack] = []
    yield made
    for track in made:
        track.stop()


async def test_frames_are_paced_on_the_90khz_clock(
    track_parts: list[RenderedVideoTrack],
) -> None:
    renderers: list[ThreadNoting] = []

    def make() -> ThreadNoting:
        renderers.append(ThreadNoting("private_room", 96, 64))
        return renderers[-1]

    scene = Speaking((0.0, 0.5, 1.0))
    track = RenderedVideoTrack(make, scene, fps=15)
    track_parts.append(track)
    loop = asyncio.get_running_loop()
    began = loop.time()
    frames = [await asyncio.wait_for(track.recv(), DEADLINE) for _ in range(6)]
    elapsed = loop.time() - began

    assert all(isinstance(f, VideoFrame) for f in frames)
    assert {(f.width, f.height, f.format.name) for f in frames} == {(96, 64, "yuv420p")}
    assert all(f.time_base == VIDEO_TIME_BASE for f in frames)
    pts = [f.pts for f in frames]
    assert pts == [i * VIDEO_CLOCK // 15 for i in range(6)]
    assert elapsed >= 5 / 15 - 0.02  # paced, not as fast as the renderer goes
    # The scene is read on the loop; the renderer is made and used on one other thread.
    assert scene.threads == {threading.get_ident()}
    [renderer] = renderers
    assert renderer.drawn_on == {renderer.made_on}
    assert renderer.made_on != threading.get_ident()


async def test_a_late_frame_skips_slots_instead_of_sending_a_backlog(
    track_parts: list[RenderedVideoTrack],
) -> None:
    renderer = ViewRenderer("private_room", 96, 64)

    def scene() -> tuple[Sequence[Figure], CameraView]:
        if track.frames == 1:
            time.sleep(0.3)  # the loop held up for longer than four frames
        return [], default_camera(renderer.layout)

    track = RenderedVideoTrack(renderer, scene, fps=15)
    track_parts.append(track)
    pts = [_pts(await asyncio.wait_for(track.recv(), DEADLINE)) for _ in range(4)]
    steps = [b - a for a, b in itertools.pairwise(pts)]
    assert all(s > 0 and s % (VIDEO_CLOCK // 15) == 0 for s in steps), steps
    assert track.skipped >= 3
    assert max(steps) >= 4 * VIDEO_CLOCK // 15
    track.stop()
    renderer.close()


async def test_a_stopped_track_ends(track_parts: list[RenderedVideoTrack]) -> None:
    track = RenderedVideoTrack(lambda: ViewRenderer("private_room", 64, 48), Speaking())
    track_parts.append(track)
    await asyncio.wait_for(track.recv(), DEADLINE)
    track.stop()
    with pytest.raises(MediaStreamError):
        await asyncio.wait_for(track.recv(), DEADLINE)


async def test_an_expert_portrait_reaches_a_viewer_through_the_hub_as_vp8() -> None:
    hub = MediaHub(video_qualities={"portrait": Quality("portrait", 300_000)})
    scene = Speaking((0.0, 0.3, 0.8, 1.0, 0.5))
    track = RenderedVideoTrack(lambda: ViewRenderer("private_room", 160, 120), scene, fps=15)
    try:
        source = hub.add_source("expert:bonds", track)
        viewer = hub.subscribe("expert:bonds", "flat-client")
        decoder = av.CodecContext.create("libvpx", "r")
        pictures: list[VideoFrame] = []
        packets = []
        while len(pictures) < 8:
            packet = await asyncio.wait_for(viewer.recv(), DEADLINE)
            packets.append(packet)
            pictures += [f for f in decoder.decode(packet) if isinstance(f, VideoFrame)]
        assert not bytes(packets[0])[0] & 1  # VP8 frame tag: a keyframe first
        assert all(len(bytes(p)) > 0 for p in packets)
        assert {(p.width, p.height) for p in pictures} == {(160, 120)}
        # The mouth moves: decoded pictures differ from one another.
        planes = [p.to_ndarray(format="gray").astype(np.int16) for p in pictures]
        assert max(np.abs(a - planes[0]).max() for a in planes[1:]) > 20
        stats = source.stats()
        assert stats.lanes["portrait"].encodes >= 8
        assert scene.threads == {threading.get_ident()}
    finally:
        await hub.close()
