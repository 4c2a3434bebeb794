"""Guests and the customer's record in a real browser (Debian's Chromium via Playwright): the
customer invites from the room (link and QR code), the guest arrives by the link and agrees to
the notice, the customer removes the guest, and the summary downloaded in the browser has the
hash the audit chain holds. Waiting is on conditions in the pages, never a sleep."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, async_playwright

from server.app import WealthroomServer
from tests.browser.pages import ARGS, CHROMIUM, VIEWPORT, Watch, open_room, room_link
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
    ctx = await browser.new_context(viewport=VIEWPORT, accept_downloads=True)  # type: ignore[arg-type]
    ctx.set_default_timeout(WAIT_MS)
    yield ctx
    await ctx.close()


def _audited(server: WealthroomServer, action: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = server.audit.entries  # type: ignore[attr-defined]
    return [e for e in entries if e["action"] == action]


async def test_the_customer_invites_a_guest_by_link_and_qr_code_then_removes_them(
    server: WealthroomServer, mint: Mint, context: BrowserContext, watch: Watch
) -> None:
    ann = await open_room(context, watch, room_link(server, mint(name="Ann")), "Ann")
    await ann.click("#invite-button")
    await ann.select_option("#invite-uses", "1")
    await ann.click("#invite-create")
    qr = ann.locator("#invite-qr")
    await qr.wait_for(state="visible")
    await ann.wait_for_function("() => document.getElementById('invite-qr').naturalWidth > 50")
    url = await ann.locator("#invite-link").input_value()
    assert url.startswith(f"{server.base_url}/room.html#room=demo&invite=")

    bo = watch.attach(await context.new_page(), "Bo")
    await bo.goto(url)
    await bo.wait_for_function("() => window.wealthroom && window.wealthroom.joined")
    assert await bo.evaluate("() => window.wealthroom.state.role") == "guest"
    notice = bo.locator("#guest-notice-dialog")
    await notice.wait_for(state="visible")
    assert "guest" in await bo.locator("#guest-notice").inner_text()
    await bo.click("#guest-notice-ok")
    # A reload in the same tab is the same guest, not a second use of a one-use link.
    first = await bo.evaluate("() => window.wealthroom.state.member")
    await bo.reload()
    await bo.wait_for_function("() => window.wealthroom && window.wealthroom.joined")
    assert await bo.evaluate("() => window.wealthroom.state.member") != first
    assert await bo.evaluate("() => window.wealthroom.state.role") == "guest"
    await bo.locator("#guest-notice-dialog").wait_for(state="visible")
    await bo.click("#guest-notice-ok")
    # A guest has no invite, summary or portfolio button.
    for button in ("#invite-button", "#summary-button", "#portfolio-button"):
        assert not await bo.locator(button).is_visible()
    notices = _audited(server, "guest.notice")
    assert [e["detail"]["member"] for e in notices] == [
        first,
        await bo.evaluate("() => window.wealthroom.state.member"),
    ]
    assert notices[0]["actor"] == notices[1]["actor"]  # one guest, one use

    # The customer's page reloaded: the guest already there and the invitation are listed.
    await ann.reload()
    await ann.wait_for_function("() => window.wealthroom && window.wealthroom.joined")
    await ann.click("#invite-button")
    await ann.locator("#invite-list li[data-st=open]").wait_for(state="visible")
    guest = ann.locator("#guest-list li[data-member] button")
    await guest.wait_for(state="visible")
    await guest.click()
    await bo.wait_for_function("() => window.wealthroom.session.state === 'closed'")
    assert "removed" in await bo.locator("#status").inner_text()
    await ann.wait_for_function(
        "() => [...window.wealthroom.state.invitations.values()].every(i => i.st === 'revoked')"
    )
    await ann.wait_for_function(
        "() => document.querySelectorAll('#guest-list li[data-member]').length === 0"
    )
    watch.assert_clean()


async def test_the_summary_downloaded_in_chromium_has_the_hash_in_the_audit(
    server: WealthroomServer, mint: Mint, context: BrowserContext, watch: Watch
) -> None:
    token = mint(subject="cust-ann", name="Ann", risk=3)
    ann = await open_room(context, watch, room_link(server, token), "Ann")
    await ann.fill("#message", "What about US Treasury bonds?")
    await ann.click("#send-ask")
    await ann.locator("#log li.answer").first.wait_for(state="visible")
    async with ann.expect_download() as info:
        await ann.click("#summary-button")
    download = await info.value
    path = await download.path()
    body = await asyncio.to_thread(path.read_bytes)
    sha = hashlib.sha256(body).hexdigest()
    assert download.suggested_filename == "wealthroom-demo-en.md"
    text = body.decode()
    assert text.startswith("# Session summary")
    assert "What about US Treasury bonds?" in text
    assert "AI-generated" in text
    await ann.wait_for_function("() => window.wealthroom.state.summary !== null")
    seen = await ann.evaluate("() => window.wealthroom.state.summary")
    assert seen["sha256"] == seen["server"] == sha
    (filed,) = _audited(server, "summary.issued")
    assert (filed["actor"], filed["detail"]["sha256"]) == ("cust-ann", sha)
    watch.assert_clean()
