"""Name tags over figures in server-drawn pictures, as the browser draws them (name_tags.js).

A tag is the figure's name on a dark card and, for a digital expert, its AI label (the
entity's ``l``: "AI-generated", "AI生成") on a light badge under the name. The label is a
disclosure and is always drawn in full; the name is shortened with an ellipsis when it is
wider than :data:`MAX_NAME_EM`. The tag turns to face the camera (a billboard) and is drawn
over everything, so that no piece of furniture hides it.

Chinese names and labels need a CJK font: WenQuanYi Micro Hei, which ``scripts/system-packages``
installs. Without it Panda3D's built-in font is used, which draws Latin only; a warning says so
once per process.
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path
from typing import Any

from panda3d.core import DynamicTextFont, Filename, NodePath, SamplerState, TextNode

log = logging.getLogger(__name__)

RGBA = tuple[float, float, float, float]

CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
MAX_NAME_EM = 12.0
# Font texels per em: a tag is 10 to 20 pixels per em on the pictures drawn, and glyphs
# shrunk too far alias (tinydisplay filters textures, but it has no mipmaps here).
PIXELS_PER_EM = 28
NAME_TEXT: RGBA = (1.0, 1.0, 1.0, 1.0)
NAME_CARD: RGBA = (0.05, 0.08, 0.13, 0.85)
LABEL_TEXT: RGBA = (0.024, 0.14, 0.23, 1.0)  # the browser's badge: #06243a on #7fd3ff
LABEL_CARD: RGBA = (0.5, 0.83, 1.0, 1.0)
MARGIN = (0.35, 0.35, 0.16, 0.12)  # left, right, bottom, top, in ems
GAP_EM = 0.12


@cache
def label_font(path: Path = CJK_FONT) -> Any:
    """The font tags are set in, loaded once: ``path``'s, else ``None`` for Panda3D's own."""
    if path.is_file():
        font = DynamicTextFont(Filename.from_os_specific(str(path)), 0)
        if font.is_valid():
            font.set_pixels_per_unit(PIXELS_PER_EM)
            font.set_minfilter(SamplerState.FT_linear)
            font.set_magfilter(SamplerState.FT_linear)
            return font
    log.warning(
        "CJK font %s not found or unreadable: name tags use Panda3D's default font, "
        "which has no Chinese glyphs (install fonts-wqy-microhei)",
        path,
    )
    return None


def name_tag(name: str, ai_label: str = "") -> NodePath:
    """A tag for ``name`` and ``ai_label`` (either may be empty, not both), set in
    :func:`label_font`, its bottom centre at its origin, about an em high per line."""
    shown, label = tag_text(name, ai_label)
    font = label_font()
    tag = NodePath("name-tag")
    bottom = 0.0
    if label:
        bottom = _line(tag, label, LABEL_TEXT, LABEL_CARD, font, bottom) + GAP_EM
    if shown:
        _line(tag, shown, NAME_TEXT, NAME_CARD, font, bottom)
    tag.set_billboard_point_eye()
    tag.set_light_off()
    tag.set_bin("fixed", 10)
    tag.set_depth_test(False)
    tag.set_depth_write(False)
    return tag


def tag_text(name: str, ai_label: str = "") -> tuple[str, str]:
    """What a tag says: (the name, shortened if too wide, the AI label in full)."""
    if not name and not ai_label:
        raise ValueError("a name tag needs a name or a label")
    return (_fitted(name, label_font()) if name else ""), ai_label


def _text(text: str, font: Any) -> TextNode:
    node = TextNode("text")
    if font is not None:
        node.set_font(font)
    node.set_align(TextNode.A_center)
    node.set_text(text)
    return node


def _line(tag: NodePath, text: str, ink: RGBA, card: RGBA, font: Any, bottom: float) -> float:
    """``text`` on its card with the card's bottom edge at ``bottom``; the card's top edge."""
    node = _text(text, font)
    node.set_text_color(*ink)
    node.set_card_color(*card)
    node.set_card_as_margin(*MARGIN)
    frame = node.get_card_actual()
    low, high = float(frame[2]), float(frame[3])
    tag.attach_new_node(node).set_z(bottom - low)
    return bottom + high - low


def _fitted(name: str, font: Any) -> str:
    measure = _text("", font)
    if measure.calc_width(name) <= MAX_NAME_EM:
        return name
    ellipsis = "…" if measure.has_character("…") else "..."
    while name and measure.calc_width(name + ellipsis) > MAX_NAME_EM:
        name = name[:-1]
    return name.rstrip() + ellipsis


__all__ = ["CJK_FONT", "MAX_NAME_EM", "label_font", "name_tag", "tag_text"]
