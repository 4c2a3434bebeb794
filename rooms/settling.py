"""Whether a room's members have caught up with its scene."""

from __future__ import annotations

from rooms.room import Room


def unacked(room: Room) -> list[int]:
    """Members whose acknowledged state is older than the scene: not settled yet."""
    scene = room.scene
    return [mb.id for mb in room.joined if mb.acked is None or scene.changed_since(mb.acked)]
