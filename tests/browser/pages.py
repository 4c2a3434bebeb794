"""Shared by the browser tests: Debian's Chromium and its flags, a watch on each page for
console errors and uncaught exceptions, and opening the customer's room or the console."""

from __future__ import annotations

from typing import Any

from playwright.async_api import BrowserContext, ConsoleMessage, Page

from avatars.specialties import Specialty
from server.app import WealthroomServer

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--no-sandbox",
]
VIEWPORT = {"width": 960, "height": 600}
# WebRTC over loopback with DTLS in Python and software video decoding in the browser: give
# the first frames time on a small machine.
MEDIA_WAIT_MS = 45_000


class Watch:
    """Console errors and uncaught exceptions of every page it is attached to."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def attach(self, page: Page, tag: str) -> Page:
        def console(msg: ConsoleMessage) -> None:
            if msg.type == "error":
                self.problems.append(f"{tag}: console.error: {msg.text}")

        page.on("console", console)
        page.on("pageerror", lambda err: self.problems.append(f"{tag}: uncaught: {err}"))
        return page

    def assert_clean(self) -> None:
        assert self.problems == []


def room_link(server: WealthroomServer, token: str, room: str = "demo") -> str:
    return f"{server.base_url}/room.html#room={room}&token={token}"


async def open_room(context: BrowserContext, watch: Watch, link: str, tag: str) -> Page:
    page = watch.attach(await context.new_page(), tag)
    await page.goto(link)
    await page.wait_for_function("() => window.wealthroom && window.wealthroom.joined")
    return page


async def open_console(server: WealthroomServer, context: BrowserContext, watch: Watch) -> Page:
    """The advisor console of Ms Chan (every skill, English and Chinese), signed in."""
    token = server.tokens.mint_console(
        subject="adv-chan", name="Ms Chan", skills=list(Specialty), languages=["en", "zh"]
    )
    console = watch.attach(await context.new_page(), "console")
    await console.goto(f"{server.base_url}/console.html#token={token}")
    await console.wait_for_function("() => window.wealthroomConsole.state.name === 'Ms Chan'")
    return console


# Inbound statistics of the page's incoming tracks whose source matches `pattern`.
INBOUND = """async (pattern) => {
  const rows = await window.wealthroom.media.inbound();
  return rows.filter((r) => new RegExp(pattern).test(r.src));
}"""


async def join_media(page: Page, button: str) -> None:
    """Press "Join with microphone" or "Join with camera" and wait for the server's offer to
    be answered and the peer connected."""
    await page.click(button)
    await page.wait_for_function(
        "() => { const m = window.wealthroom.state.media;"
        " return m && m.offers > 0 && m.connection === 'connected'; }",
        timeout=MEDIA_WAIT_MS,
    )


async def inbound(page: Page, pattern: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = await page.evaluate(INBOUND, pattern)
    return rows


async def wait_inbound(page: Page, pattern: str, condition: str) -> list[dict[str, Any]]:
    """Wait until an incoming track whose source matches ``pattern`` has statistics ``s`` for
    which ``condition`` (JavaScript) holds."""
    await page.wait_for_function(
        f"""async (pattern) => {{
          const rows = await window.wealthroom.media.inbound();
          return rows.some((s) => new RegExp(pattern).test(s.src) && ({condition}));
        }}""",
        arg=pattern,
        timeout=MEDIA_WAIT_MS,
        polling=250,
    )
    return await inbound(page, pattern)
