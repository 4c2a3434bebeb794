"""The room page in a real browser: time from the link to the first frame of the room, and
frames per second, alone and in a full room, in one run.

A real server in this process and Debian's Chromium (software GL: SwiftShader, as on a machine
without a GPU), the page at 1280x720. Each round opens the customer's room link in a fresh
page and times, on the page's own clock, from navigation start to the joined session and to
the first rendered frame that holds the room's avatars; then counts rendered frames for
``--seconds``. Two scenes alternate round by round: *alone* (the customer only) and *full* (six
members: the customer, an advisor and four guests, who are Python protocol clients moving
their heads at 30 Hz, and three digital experts brought by one question).

    .venv/bin/python -m bench.bench_clients [--rounds 3] [--seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, async_playwright

from rooms.roles import Role
from server.app import WealthroomServer
from server.config import Settings
from simulator.client import RoomClient
from tests.browser.pages import ARGS, CHROMIUM, room_link

SECRET = b"bench-secret-for-clients-0123456789abcdef-01"
VIEWPORT = {"width": 1280, "height": 720}
THREE_EXPERTS = "Tell me about stocks, bonds and insurance"
WAIT_MS = 60_000


def _settings(tmp: Path) -> Settings:
    return Settings(
        host="127.0.0.1",
        port=0,
        demo_room=None,
        audit_path=None,
        totp_path=None,
        factor_path=None,
        recordings_dir=tmp / "recordings",
        speech=False,
    )


async def _sway(client: RoomClient, stop: asyncio.Event, phase: float) -> None:
    """Turn the head a little, at 30 Hz, from where the room put it."""
    me = client.welcome.member if client.welcome else None
    start = time.monotonic()
    while not stop.is_set():
        pose = client.replica.pose_of(me) if me is not None else None
        if pose is not None:
            x, y, z = (v / 1000 for v in pose.head.pos)
            yaw = 0.4 * math.sin(time.monotonic() - start + phase)
            q = (0.0, math.sin(yaw / 2), 0.0, math.cos(yaw / 2))
            await client.pose((x, y, z), q)
        await asyncio.sleep(1 / 30)


async def _round(
    srv: WealthroomServer, browser: Browser, n: int, scene: str, seconds: float
) -> dict[str, Any]:
    room = f"fps-{scene}-{n}"
    others: list[RoomClient] = []
    stop = asyncio.Event()
    swaying: list[asyncio.Task[None]] = []
    if scene == "full":
        for i, role in enumerate([Role.ADVISOR, *[Role.GUEST] * 4]):
            token = srv.tokens.mint(room=room, role=role, subject=f"{role.value}-{i}")
            others.append(await RoomClient.join(srv.room_url(room), token, f"{role.value} {i}"))
        swaying = [asyncio.create_task(_sway(c, stop, i)) for i, c in enumerate(others)]
    token = srv.tokens.mint(room=room, role=Role.CUSTOMER, subject=f"customer-{n}", risk=3)
    context = await browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    context.set_default_timeout(WAIT_MS)
    page = await context.new_page()
    try:
        await page.goto(room_link(srv, token, room))
        await page.wait_for_function("() => window.wealthroom && window.wealthroom.joined")
        joined_ms = await page.evaluate("() => performance.now()")
        people = 1 + len(others)
        drawn = "const s = window.wealthroom.stats(); return s.frames > 0 && s.entities >= "
        await page.wait_for_function(f"() => {{ {drawn}{people}; }}")
        first_ms = await page.evaluate("() => performance.now()")
        if scene == "full":
            await page.fill("#message", THREE_EXPERTS)
            await page.click("#send-ask")
            await page.wait_for_function("() => window.wealthroom.state.experts.length >= 3")
        frames0 = await page.evaluate("() => window.wealthroom.stats().frames")
        t0 = time.monotonic()
        await asyncio.sleep(seconds)  # the measured window: counting what the page draws in it
        frames1 = await page.evaluate("() => window.wealthroom.stats().frames")
        fps = (frames1 - frames0) / (time.monotonic() - t0)
        entities = (await page.evaluate("() => window.wealthroom.stats()"))["entities"]
    finally:
        stop.set()
        await asyncio.gather(*swaying, return_exceptions=True)
        await context.close()
        for c in others:
            await c.close()
    return {
        "scene": scene,
        "joined_ms": joined_ms,
        "first_frame_ms": first_ms,
        "fps": fps,
        "entities": entities,
    }


async def run(rounds: int, seconds: float) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        settings = _settings(Path(tmp))
        async with WealthroomServer(settings, secret=SECRET) as srv, async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                for n in range(rounds):
                    order = ("alone", "full") if n % 2 == 0 else ("full", "alone")
                    for scene in order:
                        rows.append(await _round(srv, browser, n, scene, seconds))
            finally:
                await browser.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    rows = asyncio.run(run(args.rounds, args.seconds))
    head = ("scene", "link->joined ms", "link->first frame ms", "fps", "entities")
    print("{:<6} {:>16} {:>21} {:>6} {:>9}".format(*head))
    medians: dict[str, float] = {}
    for scene in ("alone", "full"):
        mine = [r for r in rows if r["scene"] == scene]
        joined = statistics.median(r["joined_ms"] for r in mine)
        first = statistics.median(r["first_frame_ms"] for r in mine)
        fps = statistics.median(r["fps"] for r in mine)
        medians[scene] = fps
        entities = max(r["entities"] for r in mine)
        print(f"{scene:<6} {joined:>16.0f} {first:>21.0f} {fps:>6.1f} {entities:>9}")
    print(f"fps, full / alone: {medians['full'] / medians['alone']:.2f}")


if __name__ == "__main__":
    main()
