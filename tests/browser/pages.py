"""Shared by the browser tests: Debian's Chromium and its flags, a watch on each page for
console errors and uncaught exceptions, and opening the customer's room or the console."""

from __future__ import annotations

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
