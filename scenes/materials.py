"""Materials for Panda3D's software renderer, which has no shaders: glTF's PBR materials are
turned into classic lit ones, and colours given as they should look under the room's lights."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from panda3d.core import LColor, Material, MaterialAttrib, NodePath

RGB = tuple[float, float, float]


def srgb(c: float) -> float:
    """Linear to sRGB: glTF factors are linear, tinydisplay writes what it computes."""
    c = min(max(c, 0.0), 1.0)
    return c * 12.92 if c <= 0.0031308 else 1.055 * c ** (1 / 2.4) - 0.055


def classic_material(pbr: Any) -> Any:
    """A fixed-function material that looks like the PBR one under plain lights."""
    base = pbr.get_base_color() if pbr.has_base_color() else LColor(1, 1, 1, 1)
    rgb = [srgb(base[i]) for i in range(3)]
    shiny = (1.0 - pbr.get_roughness()) * pbr.get_metallic()
    material = Material(pbr.get_name())
    material.set_diffuse(LColor(*rgb, base[3]))
    material.set_ambient(LColor(*rgb, 1.0))
    material.set_specular(LColor(*(0.03 + 0.6 * shiny * c for c in rgb), 1.0))
    material.set_shininess(8.0 + 60.0 * shiny)
    if pbr.has_emission():
        emission = pbr.get_emission()
        material.set_emission(LColor(*(srgb(emission[i]) for i in range(3)), 1.0))
    return material


def matte(rgb: RGB, name: str = "matte") -> Any:
    """A material that shows ``rgb`` (sRGB) under the room's lights.

    Draw it under a white scene colour: tinydisplay multiplies the lit result by the scene
    colour once more, so a plain ``set_color`` came out squared (a dark suit, 0.23 grey, as
    0.03: near black).
    """
    material = Material(name)
    material.set_ambient(LColor(*rgb, 1))
    material.set_diffuse(LColor(*rgb, 1))
    return material


def replace_materials(model: NodePath, make: Callable[[Any], Any]) -> None:
    """Swap every material under ``model`` for ``make(material)``, once per material name."""
    made: dict[str, Any] = {}
    for holder in model.find_all_matches("**/+GeomNode"):
        node = holder.node()
        for i in range(node.get_num_geoms()):
            state = node.get_geom_state(i)
            attrib = state.get_attrib(MaterialAttrib)
            if attrib is None or attrib.get_material() is None:
                continue
            source = attrib.get_material()
            key = source.get_name()
            if key not in made:
                made[key] = make(source)
            node.set_geom_state(i, state.set_attrib(MaterialAttrib.make(made[key])))
