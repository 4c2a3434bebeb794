"""A bot's view of the room, drawn offscreen from its replica (scenes/render.py).

The camera sits at the bot's eyes and looks where its head faces, slightly down; every other
avatar and expert in its replica is drawn as a figure, and the wall screens show a chart when
the replica says something is on them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path

from avatars.figures import figures_from_state
from protocol.messages import Ent
from protocol.pose import AvatarPose
from protocol.quantise import mm_to_pos, unpack_quat
from scenes.layout import load_layout
from scenes.render import CameraView, default_camera, render_layout
from simulator.motion import yaw_of

LOOK_AHEAD_M = 4.0
LOOK_DOWN_M = 0.5  # people look at faces and tables, not the far wall's top


def camera_for(ents: Iterable[Ent], member: int) -> CameraView | None:
    own = next((e for e in ents if e.m == member and e.x is not None), None)
    if own is None or own.x is None:
        return None
    head = AvatarPose.unpack(own.x).head
    x, y, z = mm_to_pos(head.pos)
    yaw = yaw_of(unpack_quat(head.rot))
    # Yaw 0 looks along -Z, yaw 90 degrees along -X (scenes/layout.py's convention).
    target = (x - LOOK_AHEAD_M * math.sin(yaw), y - LOOK_DOWN_M, z - LOOK_AHEAD_M * math.cos(yaw))
    return CameraView((x, y, z), target, 62.0)


def render_view(
    layout: str,
    ents: list[Ent],
    member: int,
    out: str | Path,
    *,
    width: int = 960,
    height: int = 540,
) -> Path:
    """Draw ``layout`` as the bot ``member`` sees it (the layout's view if it has no body)."""
    camera = camera_for(ents, member) or default_camera(load_layout(layout))
    others = [e for e in ents if e.k in ("avatar", "expert") and e.m != member]
    showing = any(e.k == "screen" and e.c for e in ents)
    return render_layout(
        layout,
        out,
        width=width,
        height=height,
        camera=camera,
        avatars=figures_from_state(others),
        supersample=2,
        charts=showing,
    )
