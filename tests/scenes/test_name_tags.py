"""Name tags: the AI label always in full, the name when it fits, Chinese in a font that has it."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from panda3d.core import NodePath, TextNode

from scenes.name_tags import MAX_NAME_EM, label_font, name_tag, tag_text


def _height(tag: NodePath) -> float:
    low, high = tag.get_tight_bounds()
    assert low.z == pytest.approx(0.0, abs=1e-4), "a tag stands on its origin"
    return float(high.z - low.z)


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


def test_the_ai_label_adds_a_line_under_the_name() -> None:
    assert tag_text("王军", "AI生成") == ("王军", "AI生成")
    one, two = _height(name_tag("王军")), _height(name_tag("王军", "AI生成"))
    assert 0.9 < one < 2.0
    assert 2 * one < two < 2 * one + 0.5


def test_a_long_name_is_shortened_to_fit_and_the_label_never_is() -> None:
    long_name = "Wolfeschlegelsteinhausenbergerdorff-Featherstonehaugh of Cholmondeley"
    long_label = "AI-generated digital expert, not a person"
    name, label = tag_text(long_name, long_label)
    assert name.endswith("…")
    assert long_name.startswith(name[:-1])
    measure = TextNode("measure")
    measure.set_font(label_font())
    assert measure.calc_width(name) <= MAX_NAME_EM < measure.calc_width(long_name)
    assert label == long_label
    # Both lines are drawn: the tag is as wide as the label, wider than the name may be.
    low, high = name_tag(long_name, long_label).get_tight_bounds()
    assert high.x - low.x > measure.calc_width(long_label)


def test_a_short_name_is_kept_whole_and_either_part_may_be_alone() -> None:
    assert tag_text("Ann") == ("Ann", "")
    assert tag_text("", "AI生成") == ("", "AI生成")
    assert _height(name_tag("", "AI生成")) == pytest.approx(_height(name_tag("Ann")), abs=0.2)
    with pytest.raises(ValueError, match="name or a label"):
        name_tag("", "")
