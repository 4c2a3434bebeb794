"""Avatars of a replicated room state as figures for the offscreen renderer."""

from __future__ import annotations

import math
from collections.abc import Iterable

from avatars.appearance import DEFAULT_LOOK, restyle
from avatars.placement import EYE_SEATED_MM, EYE_STANDING_MM
from protocol.messages import MOUTH_LEVELS, Ent
from protocol.pose import AvatarPose
from protocol.quantise import unpack_quat
from scenes.render import RGB, Figure


def figures_from_state(ents: Iterable[Ent]) -> list[Figure]:
    """One figure per avatar in a snapshot's entities: feet, facing, its look (colours, hair,
    build, height), name and, for a digital expert, its AI label."""
    figures = []
    for ent in ents:
        if ent.x is None:
            continue
        head = AvatarPose.unpack(ent.x).head
        x, y, z = head.pos
        eye = EYE_SEATED_MM if ent.s else EYE_STANDING_MM
        qx, qy, qz, qw = unpack_quat(head.rot)
        yaw = math.degrees(math.atan2(2 * (qw * qy + qx * qz), 1 - 2 * (qx * qx + qy * qy)))
        look = restyle(DEFAULT_LOOK, ent.a)
        feet = (x / 1000, max(0, y - eye) / 1000, z / 1000)
        figures.append(
            Figure(
                feet,
                yaw,
                _rgb(look.top),
                ent.n or "",
                skin=_rgb(look.skin),
                hair=_rgb(look.hair_color),
                mouth=(ent.mo or 0) / MOUTH_LEVELS,
                hairstyle=look.hair or "short",
                build=look.body or "average",
                height_cm=look.height or 170,
                bottom=_rgb(look.bottom),
                accent=_rgb(look.accent),
                face=look.face or "oval",
                # As the browser: an expert's label goes with its figure, nobody else's.
                ai_label=(ent.l or "") if ent.k == "expert" else "",
            )
        )
    return figures


def _rgb(colour: str | None) -> RGB:
    hex_ = colour or "#808080"
    return (int(hex_[1:3], 16) / 255, int(hex_[3:5], 16) / 255, int(hex_[5:7], 16) / 255)
