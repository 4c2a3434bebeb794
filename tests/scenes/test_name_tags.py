"""Name tags: the AI label always in full, the name when it fits, Chinese in a font that has it."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from panda3d.core import NodePath, TextNode

from scenes.name_tags import MAX_NAME_EM, label_font, name_tag


def _lines(tag: NodePath) -> list[TextNode]:
    """The tag's text lines, top first."""
    found = tag.find_all_matches("**/+TextNode")
    lines = sorted((found[i] for i in range(found.get_num_paths())), key=lambda n: -n.get_z())
    return [line.node() for line in lines]


def test_the_tag_font_has_chinese_glyphs() -> None:
    font = label_font()
    assert font is not None, "fonts-wqy-microhei is installed by scripts/system-packages"
    probe = TextNode("probe")
    probe.set_font(font)
    assert all(probe.has_character(c) for c in "AI生成王军黃志強")


def test_a_missing_font_is_reported_and_left_to_panda3ds_default(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="scenes.name_tags"):
        assert label_font(tmp_path / "missing.ttc") is None
    assert "CJK font" in caplog.text
    assert "missing.ttc" in caplog.text


def test_the_name_sits_over_the_ai_label() -> None:
    name, label = _lines(name_tag("王军", "AI生成"))
    assert (name.get_text(), label.get_text()) == ("王军", "AI生成")
    # Cards do not overlap: the name's bottom edge is above the label's top edge.
    tag = name_tag("王军", "AI生成")
    top, bottom = sorted(tag.find_all_matches("**/+TextNode"), key=lambda n: -n.get_z())
    assert top.get_z() + top.node().get_card_actual()[2] >= (
        bottom.get_z() + bottom.node().get_card_actual()[3]
    )
    assert bottom.get_z() + bottom.node().get_card_actual()[2] == pytest.approx(0.0)


def test_a_long_name_is_shortened_to_fit_and_the_label_never_is() -> None:
    long_name = "Wolfeschlegelsteinhausenbergerdorff-Featherstonehaugh of Cholmondeley"
    long_label = "AI-generated digital expert, not a person"
    name, label = _lines(name_tag(long_name, long_label))
    assert name.get_text().endswith("…")
    assert long_name.startswith(name.get_text()[:-1])
    assert name.get_width() <= MAX_NAME_EM
    assert label.get_text() == long_label


def test_a_short_name_is_kept_whole_and_a_tag_without_a_label_is_the_name_alone() -> None:
    (name,) = _lines(name_tag("Ann"))
    assert name.get_text() == "Ann"
    (label,) = _lines(name_tag("", "AI生成"))
    assert label.get_text() == "AI生成"
    with pytest.raises(ValueError, match="name or a label"):
        name_tag("", "")
