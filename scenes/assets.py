"""Room geometry from the layouts' glTF assets, loaded by Panda3D (panda3d-gltf) once per
process and shared: every room of a layout holds an instance, not a copy."""

from __future__ import annotations

from functools import cache

import gltf  # type: ignore[import-untyped]
from panda3d.core import NodePath

from scenes.layout import load_layout


@cache
def room_model(layout_name: str) -> NodePath:
    """The layout's geometry, Z-up as Panda3D wants it (panda3d-gltf converts from Y-up)."""
    layout = load_layout(layout_name)
    model = NodePath(gltf.load_model(str(layout.asset_path)))
    model.set_name(f"geometry:{layout.name}")
    return model
