"""The browser client in a real browser: Debian's Chromium driven by Playwright, against a real
server on a loopback port.

Software WebGL (SwiftShader) draws the room, so pages are kept small. Waiting is always on a
condition in the page (its ``window.wealthroom`` state or the DOM), never a sleep. Any console
error or uncaught exception in any page fails the test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pyotp
import pytest
from panda3d.core import PNMImage, StringStream, Texture
from playwright.async_api import Browser, BrowserContext, async_playwright

from rooms.roles import Role
from server.app import WealthroomServer
from simulator.client import RoomClient
from tests.browser.pages import (
    ARGS,
    CHROMIUM,
    VIEWPORT,
    Watch,
    open_console,
    open_room,
    room_link,
)
from tests.conftest import Mint

WAIT_MS = 20_000

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
    ctx = await browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    ctx.set_default_timeout(WAIT_MS)
    yield ctx
    await ctx.close()


def png_pixels(png: bytes) -> np.ndarray:
    """RGB pixels of a PNG (Panda3D reads it; the project has no other image library)."""
    image = PNMImage()
    assert image.read(StringStream(png)), "not a PNG"
    texture = Texture()
    texture.load(image)
    data = bytes(texture.getRamImageAs("RGB"))
    return np.frombuffer(data, dtype=np.uint8).reshape(image.getYSize(), image.getXSize(), 3)


async def test_a_customer_sees_the_room_asks_about_bonds_and_an_expert_answers(
    server: WealthroomServer, mint: Mint, context: BrowserContext, watch: Watch
) -> None:
    page = await open_room(context, watch, room_link(server, mint(name="Ann", risk=3)), "Ann")
    assert await page.evaluate("() => window.wealthroom.state.role") == "customer"
    await page.wait_for_function("() => window.wealthroom.stats().frames > 5")

    # The 3D view is drawn: the room's walls, furniture and the customer, not a blank field.
    pixels = png_pixels(await page.locator("#scene").screenshot())
    colours = np.unique((pixels // 16).reshape(-1, 3), axis=0)
    background = np.array([0x1B, 0x17, 0x12])
    drawn = np.abs(pixels.astype(int) - background).sum(axis=2) > 24
    assert len(colours) > 40, f"only {len(colours)} distinct colours"
    assert drawn.mean() > 0.6, f"only {drawn.mean():.0%} of the canvas drawn"

    await page.fill("#message", "What about my bonds?")
    await page.click("#send-ask")
    expert = page.locator("#experts .expert-tag").first
    await expert.wait_for(state="visible")
    await page.locator("#experts .expert-tag .ai-label").first.wait_for(state="visible")
    assert await expert.locator(".ai-label").inner_text() == "AI-generated"
    answer = page.locator("#log li.answer").first
    await answer.wait_for(state="visible")
    assert await answer.locator(".ai-label").inner_text() == "AI-generated"
    state = await page.evaluate("() => window.wealthroom.state")
    assert state["answers"][0]["sp"] == "bonds"
    assert any(e["sp"] == "bonds" for e in state["experts"])
    # The question and the answer are each shown once.
    assert await page.locator("#log li.question").count() == 1
    assert await page.locator("#log li.answer").count() == len(state["answers"])
    # Acks flow back for the state frames the page applied.
    stats = await page.evaluate("() => window.wealthroom.stats()")
    assert stats["sent"]["ack"] > 0
    assert stats["rate"] == 120

    # Through the customer's own eyes (where she enters), dragging turns the head: poses go
    # out, paced.
    await page.wait_for_function("() => window.wealthroom.scene.viewMode === 'seat'")
    box = await page.locator("#scene").bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    await page.mouse.move(x, y)
    await page.mouse.down()
    for step in range(1, 30):
        await page.mouse.move(x + step * 8, y + step, steps=1)
    await page.mouse.up()
    await page.wait_for_function("() => window.wealthroom.stats().sent.pose > 0")
    stats = await page.evaluate("() => window.wealthroom.stats()")
    assert stats["poseHz"] <= stats["rate"] / 2
    assert await page.evaluate("() => window.wealthroom.state.errors.length") == 0
    watch.assert_clean()


async def test_an_advisor_takes_the_page_joins_and_presents_a_chart(
    server: WealthroomServer, mint: Mint, context: BrowserContext, watch: Watch
) -> None:
    console = await open_console(server, context, watch)
    await console.locator('input[name="presence"][value="busy"]').check()
    await console.locator('input[name="presence"][value="available"]').check()

    customer = await open_room(context, watch, room_link(server, mint(name="Ann", risk=2)), "Ann")
    await customer.fill("#message", "Tell me about the Equity accumulator")
    await customer.click("#send-ask")
    await customer.locator("#log li.answer .handoff-note").wait_for(state="visible")

    card = console.locator(".page-card", has=console.locator(".accept"))
    await card.wait_for(state="visible")
    assert "C2" in await card.locator(".profile").inner_text()
    assert "Ann" in await card.inner_text()
    brief = card.locator("details.brief")
    assert "1" in await brief.locator("summary").inner_text()
    assert "Tell me about the Equity accumulator" in (await brief.text_content() or "")
    async with context.expect_page() as opened:
        await card.locator(".accept").click()
    advisor = watch.attach(await opened.value, "advisor")
    await advisor.wait_for_function("() => window.wealthroom && window.wealthroom.joined")
    assert await advisor.evaluate("() => window.wealthroom.state.role") == "advisor"
    assert await advisor.locator("#advisor-panel").is_visible()
    assert "C2" in await advisor.locator("#advisor-profile").inner_text()

    banner = customer.locator("#handoff[data-state='arrived']")
    await banner.wait_for(state="visible")
    assert "Ms Chan" in await banner.inner_text()
    assert "has read our conversation" in await banner.inner_text()

    await advisor.fill("#chart-title", "Your allocation")
    await advisor.click("#chart-show")
    await customer.wait_for_function(
        "() => window.wealthroom.screens().some(s => s.shown?.title === 'Your allocation')"
    )
    shown = await customer.evaluate("() => window.wealthroom.screens()[0].shown")
    assert shown["labels"] == ["Bonds", "Equities", "Cash"]
    await customer.locator("#log li.system", has_text="Your allocation").wait_for()

    # The advisor brings in an insurance expert, then sends every expert away.
    await advisor.select_option("#summon-sp", "insurance")
    await advisor.click("#summon-go")
    await customer.wait_for_function(
        "() => window.wealthroom.state.experts.some(e => e.sp === 'insurance')"
    )
    await advisor.click("#dismiss-all")
    await customer.wait_for_function("() => window.wealthroom.state.experts.length === 0")
    watch.assert_clean()


async def test_a_dropped_connection_comes_back_with_the_history_whole(
    server: WealthroomServer, mint: Mint, context: BrowserContext, watch: Watch
) -> None:
    page = await open_room(context, watch, room_link(server, mint(name="Ann")), "Ann")
    await page.fill("#message", "first line")
    await page.press("#message", "Enter")
    await page.locator("#log li.chat", has_text="first line").wait_for()
    guest = await RoomClient.join(server.room_url("demo"), mint(role=Role.GUEST), "Bo")
    await page.locator("#log li.system", has_text="Bo joined").wait_for()

    # Cut the link and keep it down while Bo speaks: the page must get it on its return.
    await page.evaluate("() => window.wealthroom.debug.cut({ hold: true })")
    await page.wait_for_function("() => window.wealthroom.state.status === 'reconnecting'")
    assert await page.locator("#status").inner_text() == "Reconnecting…"
    await guest.chat("said while you were away")
    await page.fill("#message", "typed while offline")
    await page.click("#send-chat")
    assert await page.input_value("#message") == "typed while offline"
    assert await page.locator("#composer-note").is_visible()

    await page.evaluate("() => window.wealthroom.debug.resume()")
    await page.wait_for_function("() => window.wealthroom.joined")
    await page.locator("#log li.chat", has_text="said while you were away").wait_for()
    await page.click("#send-chat")
    await page.locator("#log li.chat", has_text="typed while offline").wait_for()

    chat = await page.evaluate("() => window.wealthroom.state.chat.map(c => c.text)")
    assert chat == ["first line", "said while you were away", "typed while offline"]
    assert await page.locator("#log li.chat").count() == 3
    seqs = await page.evaluate("() => window.wealthroom.state.messages.map(m => m.seq)")
    assert seqs == sorted(set(seqs))
    await guest.close()
    watch.assert_clean()


async def test_the_portfolio_after_a_second_factor_in_chinese_and_large_text(
    server: WealthroomServer, mint: Mint, context: BrowserContext, watch: Watch
) -> None:
    secret = server.enrolments.enrol("cust-ann")
    link = room_link(server, mint(subject="cust-ann", name="Ann", risk=3))
    page = await open_room(context, watch, link, "Ann")

    await page.click("#portfolio-button")
    dialog = page.locator("#stepup-dialog")
    await dialog.wait_for(state="visible")
    wrong = "000000" if pyotp.TOTP(secret).now() != "000000" else "111111"
    await page.fill("#stepup-code", wrong)
    await page.click("#stepup-confirm")
    await page.locator("#stepup-error").wait_for(state="visible")
    await page.fill("#stepup-code", pyotp.TOTP(secret).now())
    await page.click("#stepup-confirm")
    holdings = page.locator("#holdings-dialog")
    await holdings.wait_for(state="visible")
    assert "C3" in await page.locator("#holdings-profile").inner_text()
    assert await page.locator("#holdings-table tbody tr").count() >= 1
    await holdings.locator("button[type=submit]").click()

    # Interest in a product the expert named: verified already, so straight to an advisor.
    await page.fill("#message", "What about US Treasury bonds?")
    await page.click("#send-ask")
    await page.locator("#log li.answer button.interest").click()
    await page.wait_for_function(
        "() => window.wealthroom.state.messages.some(m => m.t === 'handoff' && m.sp === 'bonds')"
    )
    assert not await dialog.is_visible()

    # Chinese and the accessibility mode, both kept for the next visit.
    await page.click("#lang-toggle")
    assert await page.locator("#help-button").inner_text() == "找真人顾问"
    await page.click("#a11y-toggle")
    assert await page.evaluate("() => document.documentElement.classList.contains('a11y')")
    await page.goto(link)
    await page.wait_for_function("() => window.wealthroom && window.wealthroom.joined")
    assert await page.evaluate("() => document.documentElement.classList.contains('a11y')")
    assert await page.locator("#help-button").inner_text() == "找真人顾问"

    # The big button asks for a person.
    await page.click("#help-button")
    await page.locator("#handoff").wait_for(state="visible")
    await page.wait_for_function(
        "() => window.wealthroom.state.messages.some(m => m.t === 'handoff' && m.st === 'paging')"
    )
    # No advisor is online in this test: the server may already have said so.
    assert await page.locator("#handoff").inner_text() in (
        "正在为您寻找顾问…",
        "暂时没有空闲的顾问，您仍在排队中。",
    )
    watch.assert_clean()
