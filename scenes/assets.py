"""Room geometry from the layouts' glTF assets, and the people's rigged figure, loaded by
Panda3D (panda3d-gltf) once per process and shared: every room of a layout holds an instance,
not a copy; every figure copies the one model."""

from __future__ import annotations

from functools import cache
from importlib import resources

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


@cache
def figure_model() -> NodePath:
    """The people's figure (``assets/avatar.glb``) as loaded, Z-up: copy it, never pose it."""
    path = resources.files("scenes") / "assets" / "avatar.glb"
    return NodePath(gltf.load_model(str(path)))
