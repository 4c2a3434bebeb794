"""Authoritative room scene (Panda3D scene graph), layouts, snapshots/deltas and client replicas."""

from scenes.layout import Layout, SpawnPoint, load_layout
from scenes.replica import Replica
from scenes.scene import AVATAR, Entity, Scene, state_digest

__all__ = [
    "AVATAR",
    "Entity",
    "Layout",
    "Replica",
    "Scene",
    "SpawnPoint",
    "load_layout",
    "state_digest",
]
