"""A room drawn again and again from changing viewpoints: frames for server-rendered video.

    renderer = ViewRenderer("private_room", 640, 360)
    rgb = renderer.draw(figures, camera)  # (360, 640, 3) uint8, top row first

:func:`scenes.render.render_layout` builds a room, an engine and a buffer for one picture.
Here they are built once: the room and its lights stay, the camera is re-aimed, and each
figure's nodes (an :class:`~scenes.render.Avatar`) are kept from frame to frame by look and
only re-posed, so a frame costs the software rasteriser's time and little else.

Panda3D's scene graph and its software renderer are not thread-safe: a renderer must be used
from one thread at a time, the same one that made it is safest, and renderers sharing
geometry (all of them share the figures' shapes) are best driven from one thread.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt
from panda3d.core import GraphicsEngine, LPoint2, LPoint3

from protocol.quantise import Vec3
from scenes.layout import Layout, load_layout
from scenes.render import (
    Avatar,
    CameraView,
    Figure,
    Look,
    aim,
    look,
    offscreen,
    seat_at,
    software_pipe,
    stage,
    viewer_camera,
)

Frame = npt.NDArray[np.uint8]

# Avatars kept for looks that left the picture: someone who steps out of view and back in
# should not cost a rebuild, but a crowd passing through must not grow the cache for ever.
SPARE_AVATARS = 32


class ViewRenderer:
    """One room, one offscreen buffer of ``width`` x ``height``, drawn on demand."""

    def __init__(
        self,
        layout_name: str,
        width: int,
        height: int,
        *,
        charts: bool = False,
        keep_avatars: bool = True,
    ) -> None:
        """``keep_avatars=False`` builds every figure anew each frame (for comparison only)."""
        if width < 1 or height < 1:
            raise ValueError("width and height must be positive")
        self.layout: Layout = load_layout(layout_name)
        self.width, self.height = width, height
        self._scene, self._yup = stage(self.layout, charts=charts)
        self._engine = GraphicsEngine(software_pipe())
        self._buffer, self._texture = offscreen(self._engine, width, height)
        self._camera = viewer_camera(self._scene, self._yup)
        self._buffer.make_display_region().set_camera(self._camera)
        self._shown: dict[Look, list[Avatar]] = {}
        self._spare: dict[Look, list[Avatar]] = {}
        self.keep_avatars = keep_avatars
        self.frames = 0
        self.avatars_built = 0

    def draw(self, figures: Iterable[Figure], camera: CameraView) -> Frame:
        """The room with ``figures`` in it seen from ``camera``: RGB, (height, width, 3)."""
        if self._engine is None:
            raise RuntimeError("the renderer is closed")
        aim(self._camera, camera, self.width / self.height)
        self._place(figures, camera)
        self._engine.render_frame()
        self.frames += 1
        return self._pixels()

    def project(self, point: Vec3) -> tuple[float, float] | None:
        """Where ``point`` (wire frame: metres, Y up) is in the last frame drawn: (column, row)
        in pixels from the top left; ``None`` when it is outside the view."""
        local = self._camera.get_relative_point(self._scene, LPoint3(point[0], -point[2], point[1]))
        film = LPoint2()
        if not self._camera.node().get_lens().project(local, film):
            return None
        return ((film.x + 1) / 2 * self.width, (1 - film.y) / 2 * self.height)

    def close(self) -> None:
        """Free the buffer; from the thread that draws."""
        if self._engine is not None:
            self._engine.remove_all_windows()
            self._engine = None
        self._scene.remove_node()

    def __enter__(self) -> ViewRenderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _place(self, figures: Iterable[Figure], camera: CameraView) -> None:
        shown: dict[Look, list[Avatar]] = defaultdict(list)
        for figure in figures:
            seat = seat_at(self.layout, figure.pos)
            avatar = self._avatar(figure, seated=seat is not None)
            avatar.pose(figure, seat.pos if seat is not None else figure.pos, camera.eye)
            shown[avatar.look].append(avatar)
        for key, avatars in self._shown.items():
            self._spare.setdefault(key, []).extend(avatars)
        for avatars in self._spare.values():
            for avatar in avatars:
                avatar.root.detach_node()
        self._shown = dict(shown)
        self._trim_spares()

    def _avatar(self, figure: Figure, *, seated: bool) -> Avatar:
        key = look(figure, seated=seated)
        # This frame's figures take over last frame's avatars of the same look, if any.
        for pool in (self._shown, self._spare):
            avatars = pool.get(key)
            if avatars and self.keep_avatars:
                avatar = avatars.pop()
                avatar.root.reparent_to(self._yup)
                return avatar
        self.avatars_built += 1
        avatar = Avatar(figure, seated=seated)
        avatar.root.reparent_to(self._yup)
        return avatar

    def _trim_spares(self) -> None:
        self._spare = {key: avatars for key, avatars in self._spare.items() if avatars}
        extra = sum(len(avatars) for avatars in self._spare.values()) - SPARE_AVATARS
        for key in list(self._spare):
            if extra <= 0:
                break
            for avatar in self._spare.pop(key):
                avatar.root.remove_node()
                extra -= 1

    def _pixels(self) -> Frame:
        data = self._texture.get_ram_image_as("RGB")
        if not data:
            raise RuntimeError("the renderer produced no image")
        rows = np.frombuffer(data, dtype=np.uint8).reshape(self.height, self.width, 3)
        # Textures are stored bottom row first; video wants the top row first.
        return np.ascontiguousarray(rows[::-1])


__all__ = ["Frame", "ViewRenderer"]
