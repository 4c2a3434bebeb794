"""Server-rendered video: a room drawn by :class:`scenes.view_renderer.ViewRenderer` as a track.

Two uses, both hub sources (``MediaHub.add_source``) so that each picture is encoded once per
quality whatever the audience:

- a thin client (a weak phone, a 5G headset) gets the room from its member's own head pose
  (:func:`thin_view_camera`), typically 640x360 at 15 fps, one source per thin member;
- flat clients see a digital expert's head and shoulders (:func:`portrait_camera`) with its
  mouth moving while it speaks (``Figure.mouth``), one source per expert shared by all.

The track asks its ``scene`` callback what to draw on the event loop (where the room's state
lives), then draws in a single worker thread: the software rasteriser takes milliseconds that
the loop must not lose, and Panda3D objects must stay on one thread. Frames are paced at
``fps`` with aiortc's 90 kHz video clock; when drawing falls behind, frames are skipped
rather than delivered late, so the clock keeps pace with the wall.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from fractions import Fraction

from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av.video.frame import VideoFrame

from protocol.quantise import Quat, Vec3
from scenes.render import CameraView, Figure
from scenes.view_renderer import ViewRenderer

VIDEO_CLOCK = 90_000
VIDEO_TIME_BASE = Fraction(1, VIDEO_CLOCK)
# Pitch is kept off the vertical: looking straight up or down has no "up" to aim the camera by.
MAX_PITCH_DEG = 85.0
THIN_FOV_DEG = 60.0
PORTRAIT_FOV_DEG = 36.0
PORTRAIT_DISTANCE_M = 1.25
STANDING_HEAD_M = 1.63  # the centre of a standing figure's head (scenes/render.py)

Scene = Callable[[], tuple[Sequence[Figure], CameraView]]
RendererFactory = Callable[[], ViewRenderer]


def render_thread() -> ThreadPoolExecutor:
    """A fresh single-thread executor, the one place a track's renderer is used."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="render")


class RenderedVideoTrack(MediaStreamTrack):
    """Video frames of ``scene()`` as drawn by a renderer, at ``fps``.

    ``renderer`` is a :class:`ViewRenderer` or a factory for one; a factory is called in the
    render thread on the first frame, so that the renderer is made and used on one thread.
    ``executor`` must run one job at a time (several tracks may share one); without it the
    track starts its own thread and shuts it down on :meth:`stop`.
    """

    kind = "video"

    def __init__(
        self,
        renderer: ViewRenderer | RendererFactory,
        scene: Scene,
        *,
        fps: float = 15.0,
        executor: Executor | None = None,
    ) -> None:
        super().__init__()
        if not fps > 0:
            raise ValueError("fps must be positive")
        self.fps = fps
        self._make = renderer if callable(renderer) else None
        self._renderer = renderer if isinstance(renderer, ViewRenderer) else None
        self._scene = scene
        self._own_executor = executor is None
        self._executor = executor or render_thread()
        self._start: float | None = None  # wall time of frame index 0
        self._index = 0
        self.frames = 0
        self.skipped = 0  # frame slots passed over because drawing fell behind

    async def recv(self) -> VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        pts = await self._next_slot()
        figures, camera = self._scene()
        loop = asyncio.get_running_loop()
        frame = await loop.run_in_executor(self._executor, self._draw, list(figures), camera)
        if self.readyState != "live":
            raise MediaStreamError
        frame.pts = pts
        frame.time_base = VIDEO_TIME_BASE
        self.frames += 1
        return frame

    def stop(self) -> None:
        if self.readyState == "live":
            if self._make is not None:  # a renderer this track made is this track's to free
                self._executor.submit(self._close_renderer)
            if self._own_executor:
                self._executor.shutdown(wait=False)
        super().stop()

    async def _next_slot(self) -> int:
        """Wait for the next frame's time; its pts on the 90 kHz clock."""
        now = time.monotonic()
        if self._start is None:
            self._start = now
        due = self._start + self._index / self.fps
        if due > now:
            await asyncio.sleep(due - now)
            if self.readyState != "live":
                raise MediaStreamError
        else:
            # Late by a frame or more: jump to the current slot, never send a backlog.
            behind = math.floor((now - self._start) * self.fps) - self._index
            if behind > 0:
                self._index += behind
                self.skipped += behind
        pts = round(self._index * VIDEO_CLOCK / self.fps)
        self._index += 1
        return pts

    def _draw(self, figures: list[Figure], camera: CameraView) -> VideoFrame:
        renderer = self._renderer_here()
        rgb = renderer.draw(figures, camera)
        # Converted here, off the loop; the encoder would otherwise do it in the hub's thread.
        return VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")

    def _renderer_here(self) -> ViewRenderer:
        if self._renderer is None:
            assert self._make is not None
            self._renderer = self._make()
        return self._renderer

    def _close_renderer(self) -> None:
        if self._renderer is not None:
            self._renderer.close()


def thin_view_camera(
    head_pos: Vec3, head_quat: Quat, *, fov_deg: float = THIN_FOV_DEG
) -> CameraView:
    """What a member sees from its head pose (wire frame: metres, Y up, yaw 0 along -Z).

    Roll is dropped (the picture stays level) and pitch is kept within ±85 degrees. The
    scene drawn with it should leave out the member's own figure, which the eye is inside.
    """
    forward = _rotate(head_quat, (0.0, 0.0, -1.0))
    horizontal = math.hypot(forward[0], forward[2])
    pitch = math.atan2(forward[1], horizontal)
    limit = math.radians(MAX_PITCH_DEG)
    pitch = min(max(pitch, -limit), limit)
    yaw = math.atan2(-forward[0], -forward[2]) if horizontal > 1e-9 else 0.0
    direction = (
        -math.sin(yaw) * math.cos(pitch),
        math.sin(pitch),
        -math.cos(yaw) * math.cos(pitch),
    )
    target = (head_pos[0] + direction[0], head_pos[1] + direction[1], head_pos[2] + direction[2])
    return CameraView(head_pos, target, fov_deg)


def portrait_camera(
    expert_pos: Vec3,
    expert_yaw_deg: float,
    *,
    head_height: float = STANDING_HEAD_M,
    distance: float = PORTRAIT_DISTANCE_M,
) -> CameraView:
    """Head and shoulders of a figure standing at ``expert_pos``, seen from in front of it.

    ``head_height`` is above the feet: 1.63 m standing; a seated figure's is 1.2 m.
    """
    yaw = math.radians(expert_yaw_deg)
    facing = (-math.sin(yaw), -math.cos(yaw))  # where the figure looks, on the floor
    x, y, z = expert_pos
    eye = (x + facing[0] * distance, y + head_height, z + facing[1] * distance)
    # Aimed a little below the head: the shoulders come into the picture, and the name tag
    # with the AI label above the head stays in it.
    target = (x, y + head_height - 0.05, z)
    return CameraView(eye, target, PORTRAIT_FOV_DEG)


def _rotate(q: Quat, v: Vec3) -> Vec3:
    """``v`` rotated by unit quaternion ``q`` (x, y, z, w)."""
    qx, qy, qz, qw = q
    # v + 2w (u x v) + 2 u x (u x v), with u the vector part.
    cx = qy * v[2] - qz * v[1]
    cy = qz * v[0] - qx * v[2]
    cz = qx * v[1] - qy * v[0]
    return (
        v[0] + 2 * (qw * cx + qy * cz - qz * cy),
        v[1] + 2 * (qw * cy + qz * cx - qx * cz),
        v[2] + 2 * (qw * cz + qx * cy - qy * cx),
    )


__all__ = [
    "RenderedVideoTrack",
    "Scene",
    "portrait_camera",
    "render_thread",
    "thin_view_camera",
]
