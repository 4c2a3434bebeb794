"""The pictures the server draws for members who do not draw the room themselves.

``portrait``: a digital expert's head and shoulders, its mouth following its speech, for flat
clients (the ``video`` view); one per expert, shared through the hub. ``thin_view``: the room
from a member's own head, for thin clients (the ``thin`` view). Both read the room's state
on the event loop each frame and draw on one shared render thread: Panda3D's objects stay on
one thread, and the software rasteriser's milliseconds stay off the loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from aiortc.mediastreams import MediaStreamTrack

from avatars.figures import figures_from_state
from avatars.placement import EYE_SEATED_MM, EYE_STANDING_MM
from protocol.messages import Ent
from protocol.pose import AvatarPose
from protocol.quantise import mm_to_pos, unpack_quat
from rooms.room import Room
from scenes.render import CameraView, Figure, default_camera
from scenes.view_renderer import ViewRenderer
from server.media.render_track import (
    RenderedVideoTrack,
    Scene,
    portrait_camera,
    render_thread,
    thin_view_camera,
)

THIN_SIZE = (640, 360)
THIN_FPS = 15.0
PORTRAIT_SIZE = (320, 240)
PORTRAIT_FPS = 15.0
HEAD_ABOVE_EYES_M = 0.1


class RoomPictures:
    def __init__(self) -> None:
        self.executor: ThreadPoolExecutor = render_thread()

    def portrait(self, room: Room, entity: int) -> MediaStreamTrack:
        layout = room.scene.layout.name
        width, height = PORTRAIT_SIZE
        return RenderedVideoTrack(
            lambda: ViewRenderer(layout, width, height),
            portrait_scene(room, entity),
            fps=PORTRAIT_FPS,
            executor=self.executor,
        )

    def thin_view(self, room: Room, member: int) -> MediaStreamTrack:
        layout = room.scene.layout.name
        width, height = THIN_SIZE
        return RenderedVideoTrack(
            lambda: ViewRenderer(layout, width, height),
            thin_view_scene(room, member),
            fps=THIN_FPS,
            executor=self.executor,
        )

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)


def portrait_scene(room: Room, entity: int) -> Scene:
    """Expert ``entity`` of ``room``, head and shoulders, with its name and AI label above."""

    def scene() -> tuple[Sequence[Figure], CameraView]:
        ents = room.scene.snapshot()
        expert = next((e for e in ents if e.i == entity), None)
        figures = figures_from_state([expert] if expert is not None else [])
        if not figures or expert is None:
            return [], default_camera(room.scene.layout)
        figure = figures[0]
        eye = (EYE_SEATED_MM if expert.s else EYE_STANDING_MM) / 1000
        view = portrait_camera(figure.pos, figure.yaw_deg, head_height=eye + HEAD_ABOVE_EYES_M)
        return figures, view

    return scene


def thin_view_scene(room: Room, member: int) -> Scene:
    """``room`` from ``member``'s head: everyone else, experts with their AI labels."""

    def scene() -> tuple[Sequence[Figure], CameraView]:
        ents = room.scene.snapshot()
        own = next((e for e in ents if e.m == member and e.k == "avatar"), None)
        others = [e for e in ents if e is not own and e.k in ("avatar", "expert")]
        return figures_from_state(others), _eyes(own) or default_camera(room.scene.layout)

    return scene


def _eyes(ent: Ent | None) -> CameraView | None:
    if ent is None or ent.x is None:
        return None
    head = AvatarPose.unpack(ent.x).head
    return thin_view_camera(mm_to_pos(head.pos), unpack_quat(head.rot))


__all__ = ["RoomPictures", "portrait_scene", "thin_view_scene"]
