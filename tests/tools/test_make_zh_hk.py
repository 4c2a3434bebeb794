"""The Hong Kong interface strings (tools/make_zh_hk.py) and the server's hand-off words for
Cantonese speakers: generated files current, every text in traditional characters, and every
reason the server says known to the browser in that script too."""

from __future__ import annotations

import pytest

from avatars import suitability
from avatars.expertise import concierge_reply
from avatars.script import to_hk, to_simplified
from rooms import handoff_words
from tools import make_zh_hk


def test_the_committed_zh_hk_strings_are_what_the_tool_writes() -> None:
    source = make_zh_hk.SOURCE.read_text(encoding="utf-8")
    assert make_zh_hk.TARGET.read_text(encoding="utf-8") == make_zh_hk.render(source), (
        "client_web/js/strings_zh_hk.js is stale: run python -m tools.make_zh_hk"
    )


def test_every_zh_string_has_a_hong_kong_one_in_traditional_characters() -> None:
    source = make_zh_hk.SOURCE.read_text(encoding="utf-8")
    simplified = make_zh_hk.simplified_strings(source)
    assert len(simplified) > 150
    rendered = make_zh_hk.render(source)
    for key, text in simplified.items():
        hk = make_zh_hk.KEEP.get(key) or make_zh_hk.hong_kong(text)
        assert to_hk(hk) == hk, key
        assert f'"{key}": ' in rendered
    # Hong Kong's own words, not the mainland's in traditional characters.
    assert "視頻" not in rendered
    assert "攝像頭" not in rendered
    assert "鏈接" not in rendered


@pytest.mark.parametrize(
    "reason",
    [
        handoff_words.ASKED,
        handoff_words.INTEREST,
        suitability.COMPLEX,
        suitability.NOT_ASSESSED,
        suitability.ABOVE_PROFILE,
    ],
)
def test_a_cantonese_speaker_reads_hand_off_reasons_in_traditional_characters(
    reason: str,
) -> None:
    cantonese = handoff_words.said(reason, "yue")
    mandarin = handoff_words.said(reason, "zh")
    assert cantonese == to_hk(mandarin) != mandarin
    assert to_simplified(cantonese) == mandarin
    # The room page knows the text (to show it in whichever language the reader chose).
    assert f'["{cantonese}", "reason.' in make_zh_hk.SOURCE.read_text(encoding="utf-8")


def test_the_concierge_answers_a_cantonese_speaker_in_traditional_characters() -> None:
    text = concierge_reply("yue").text
    assert text == to_hk(concierge_reply("zh").text) != concierge_reply("zh").text
    assert "找真人顧問" in text
