"""The room page in traditional Chinese as Hong Kong writes it (zh-HK), in a real Chromium: a
Cantonese customer's link opens in it, the hand-off reason and the AI label read in it (no
English left over), and the chooser switches between the three languages."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, async_playwright

from avatars.script import to_hk
from server.app import WealthroomServer
from tests.browser.pages import ARGS, CHROMIUM, VIEWPORT, Watch, open_room, room_link
from tests.conftest import Mint

WAIT_MS = 20_000
LANG_NAME_ZH = "简体中文"
# What the page would show in English or in simplified Chinese had anything been missed.
LEFTOVERS = re.compile(
    r"AI-generated|A human advisor|complex product|human advisor explains|Talk to a person"
    r"|找真人顾问|这是复杂产品|将由真人顾问|\b[AP]M\b"
)

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="needs Debian's chromium (scripts/system-packages)"
)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        await chromium.close()


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    # An English browser: the token's Cantonese is what makes the page traditional Chinese.
    ctx = await browser.new_context(viewport=VIEWPORT, locale="en-US")  # type: ignore[arg-type]
    ctx.set_default_timeout(WAIT_MS)
    yield ctx
    await ctx.close()


async def test_a_cantonese_customer_reads_the_room_in_traditional_chinese(
    server: WealthroomServer, mint: Mint, context: BrowserContext, watch: Watch
) -> None:
    link = room_link(server, mint(name="Ann", language="yue"))
    page = await open_room(context, watch, link, "Ann")
    assert await page.evaluate("() => document.documentElement.lang") == "zh-Hant-HK"
    assert await page.locator("#lang-choice").input_value() == "zh-HK"
    assert await page.locator("#help-button").inner_text() == "找真人顧問"
    assert await page.locator("#send-ask").inner_text() == "請教專家"

    # A complex product for a customer whose risk profile is not assessed: a person takes over.
    await page.fill("#message", "我想了解下累計期權")
    await page.click("#send-ask")
    note = page.locator("#log li.answer .handoff-note")
    await note.wait_for(state="visible")
    assert await note.inner_text() in (
        "將由真人顧問接手：這是複雜產品，須由真人顧問講解",
        "將由真人顧問接手：您尚未完成風險承受能力評估",
    )
    labels = await page.locator("#log li.answer .ai-label").all_inner_texts()
    assert labels
    assert set(labels) == {"AI生成"}
    await page.locator("#handoff").wait_for(state="visible")
    assert await page.locator("#handoff").inner_text() in (
        "正在為您尋找顧問…",
        "暫時沒有空閒的顧問，您仍在排隊中。",
    )
    shown = await page.locator("body").inner_text()
    assert LEFTOVERS.search(shown) is None, LEFTOVERS.search(shown)
    # Nothing in simplified characters but the chooser's own name for simplified Chinese.
    shown = shown.replace(LANG_NAME_ZH, "")
    assert to_hk(shown) == shown, [a for a, b in zip(shown, to_hk(shown), strict=True) if a != b]

    # The chooser: simplified Chinese, English, and back; the choice outlives a reload.
    await page.select_option("#lang-choice", "zh")
    assert await page.locator("#help-button").inner_text() == "找真人顾问"
    assert await note.inner_text() in (
        "将由真人顾问接手：这是复杂产品，须由真人顾问讲解",
        "将由真人顾问接手：您尚未完成风险承受能力评估",
    )
    await page.select_option("#lang-choice", "en")
    assert await page.locator("#help-button").inner_text() == "Talk to a person"
    assert set(await page.locator("#log li.answer .ai-label").all_inner_texts()) == {"AI-generated"}
    await page.select_option("#lang-choice", "zh-HK")
    await page.goto(link)
    await page.wait_for_function("() => window.wealthroom && window.wealthroom.joined")
    assert await page.locator("#help-button").inner_text() == "找真人顧問"
    watch.assert_clean()


async def test_a_hong_kong_browser_opens_the_room_in_traditional_chinese(
    server: WealthroomServer, mint: Mint, browser: Browser, watch: Watch
) -> None:
    ctx = await browser.new_context(viewport=VIEWPORT, locale="zh-HK")  # type: ignore[arg-type]
    ctx.set_default_timeout(WAIT_MS)
    try:
        page = await open_room(ctx, watch, room_link(server, mint(name="Bo")), "Bo")
        assert await page.locator("#lang-choice").input_value() == "zh-HK"
        assert await page.locator("#help-button").inner_text() == "找真人顧問"
        watch.assert_clean()
    finally:
        await ctx.close()
