from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, BrowserContext, async_playwright

from tests.browser.pages import ARGS, CHROMIUM, MEDIA_WAIT_MS, VIEWPORT, Watch


@pytest.fixture
def watch() -> Watch:
    return Watch()


@pytest.fixture
async def media_context() -> AsyncIterator[BrowserContext]:
    """Chromium with a fake camera and microphone it may use."""
    async with async_playwright() as pw:
        browser: Browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        ctx = await browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
        await ctx.grant_permissions(["microphone", "camera"])
        ctx.set_default_timeout(MEDIA_WAIT_MS)
        yield ctx
        await ctx.close()
        await browser.close()
