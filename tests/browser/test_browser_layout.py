"""What large text does to the room page: the newest line of the conversation stays in view,
and the names above heads do not cover each other. Real Chromium, as tests/browser/pages.py
sets it up."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from server.app import WealthroomServer
from tests.browser.pages import ARGS, CHROMIUM, VIEWPORT, Watch, open_room, room_link
from tests.conftest import Mint

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="needs Debian's chromium (scripts/system-packages)"
)


@pytest.fixture
async def context() -> AsyncIterator[BrowserContext]:
    async with async_playwright() as pw:
        browser: Browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        ctx = await browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
        ctx.set_default_timeout(20_000)
        yield ctx
        await browser.close()


NEWEST_IN_VIEW = """() => {
  const log = document.getElementById('log');
  const last = log.lastElementChild;
  if (!last) return null;
  const box = log.getBoundingClientRect();
  const line = last.getBoundingClientRect();
  const bottom = Math.min(box.bottom, window.innerHeight);
  // All of it in the log's visible part; or, taller than that, from its beginning.
  const whole = line.top >= box.top - 1 && line.bottom <= bottom + 1;
  const start = Math.abs(line.top - box.top) <= 1 && line.height > bottom - box.top;
  return whole || start;
}"""


async def _ask(page: Page, text: str, answers: int) -> None:
    await page.fill("#message", text)
    await page.click("#send-ask")
    await page.wait_for_function(f"() => window.wealthroom.state.answers.length >= {answers}")


async def test_with_large_text_the_newest_answer_stays_in_view_and_names_do_not_overlap(
    server: WealthroomServer, mint: Mint, context: BrowserContext, watch: Watch
) -> None:
    page = await open_room(context, watch, room_link(server, mint(name="Ann", risk=3)), "Ann")
    await page.click("#a11y-toggle")
    for n, question in enumerate(["What about bonds?", "And funds?", "Any insurance?"], 1):
        await _ask(page, question, n)
        # The answer is drawn, then laid out in large text: the log follows it down.
        await page.wait_for_function(NEWEST_IN_VIEW)
    # Large text switched on after the answers: still the newest line in view.
    await page.click("#a11y-toggle")
    await page.click("#a11y-toggle")
    await page.wait_for_function(NEWEST_IN_VIEW)

    # Experts side by side behind the table (as many as the room holds), their names and AI
    # labels in large text, seen in the overview (where they stand closest on the page).
    await page.wait_for_function("() => window.wealthroom.scene.viewMode === 'seat'")
    await page.click("#view-toggle")
    await page.fill("#message", "I want to talk to all of you")
    await page.click("#send-ask")
    await page.wait_for_function(
        "() => window.wealthroom.state.experts.length >= 3"
        " && window.wealthroom.scene.tagBoxes.length >= 3"
    )
    await page.wait_for_function(NEWEST_IN_VIEW)
    boxes = await page.evaluate("() => window.wealthroom.scene.tagBoxes")
    assert any(b["lift"] > 0 for b in boxes), boxes  # some would have covered another
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            apart = (
                a["x"] + a["w"] <= b["x"]
                or b["x"] + b["w"] <= a["x"]
                or a["y"] + a["h"] <= b["y"]
                or b["y"] + b["h"] <= a["y"]
            )
            assert apart, (a, b)
    watch.assert_clean()
