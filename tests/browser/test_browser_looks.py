"""How the room looks to the people in it, in Debian's Chromium: nobody sees their own head,
each enters through their own eyes at their own place, and neither a camera panel nor a name
tag covers the wall screen, in every layout."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from rooms.roles import Role
from scenes.layout import known_layouts, load_layout
from server.app import WealthroomServer
from tests.browser.pages import (
    ARGS,
    CHROMIUM,
    VIEWPORT,
    Watch,
    assert_dressed,
    figures,
    open_room,
    room_link,
)
from tests.browser.test_browser import png_pixels
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


def _rows_down(png: bytes) -> np.ndarray:
    """A screenshot's pixels, first row at the top (Panda3D's images start at the bottom)."""
    return png_pixels(png)[::-1]


async def _frames_after(page: Page, n: int = 3) -> None:
    """Wait until ``n`` more frames are drawn: what was just changed is on the canvas."""
    start = await page.evaluate("() => window.wealthroom.stats().frames")
    await page.wait_for_function(f"() => window.wealthroom.stats().frames >= {start + n}")


async def _own_figure(page: Page) -> dict[str, Any]:
    await page.wait_for_function("() => window.wealthroom.scene.ownFigure() !== null")
    figure: dict[str, Any] = await page.evaluate("() => window.wealthroom.scene.ownFigure()")
    return figure


async def test_the_customer_never_sees_her_own_head(
    server: WealthroomServer, mint: Mint, context: BrowserContext, watch: Watch
) -> None:
    page = await open_room(context, watch, room_link(server, mint(name="Ann", risk=3)), "Ann")
    figure = await _own_figure(page)
    assert (figure["drawn"], figure["head"]) == (False, False)
    await page.wait_for_function("() => window.wealthroom.scene.viewMode === 'seat'")

    # The overview, from behind the customer's chair: her head would be in the lower centre.
    await page.click("#view-toggle")
    assert (await page.evaluate("() => window.wealthroom.scene.cameraPose()"))["mode"] == "room"
    figure = await _own_figure(page)
    assert (figure["drawn"], figure["head"]) == (False, False)
    head = await page.evaluate(
        "() => window.wealthroom.scene.pixelOf(window.wealthroom.scene.ownHead().pos)"
    )
    width, height = await page.evaluate(
        "() => [document.getElementById('scene').clientWidth,"
        " document.getElementById('scene').clientHeight]"
    )
    assert abs(head["x"] - width / 2) < width / 4, head
    assert head["y"] > height / 2, head
    await _frames_after(page)
    shown = _rows_down(await page.locator("#scene").screenshot())
    await page.evaluate("() => window.wealthroom.scene.forceOwnFigure(true)")
    await _frames_after(page)
    with_head = _rows_down(await page.locator("#scene").screenshot())
    # Drawn, her figure is the avatar model, seated in her chair, its head joint at full size;
    # hidden again, the head joint is scaled to nothing.
    (own,) = [f for f in await figures(page) if f["entity"] == figure["entity"]]
    assert (own["drawn"], own["head"], own["seated"]) == (True, True, True), own
    assert assert_dressed([own], server.rooms["demo"].room.scene) == 1
    await page.evaluate("() => window.wealthroom.scene.forceOwnFigure(false)")
    (own,) = [f for f in await figures(page) if f["entity"] == figure["entity"]]
    assert (own["drawn"], own["head"]) == (False, False), own

    # Around where her head projects, the picture with her figure differs from the page's own
    # (the head is what is in the way there), and the page's own shows the room's colours.
    # The eyes are the pose's point; the head's middle is a little above them on the page.
    x, y, r = round(head["x"]), round(head["y"]) - 12, 12
    patch = (slice(max(0, y - r), y + r), slice(max(0, x - r), x + r))
    changed = np.abs(with_head[patch].astype(int) - shown[patch].astype(int)).max(axis=2) > 24
    assert changed.mean() > 0.5, f"only {changed.mean():.0%} of the head's place changed"
    background = np.array([0x1B, 0x17, 0x12])
    assert (np.abs(shown[patch].astype(int) - background).sum(axis=2) > 24).mean() > 0.9
    watch.assert_clean()


async def test_the_advisor_enters_at_her_place_looking_at_the_customer(
    server: WealthroomServer, mint: Mint, context: BrowserContext, watch: Watch
) -> None:
    await open_room(context, watch, room_link(server, mint(name="Ann", risk=3)), "Ann")
    token = mint(name="Ms Chan", role=Role.ADVISOR)
    advisor = await open_room(context, watch, room_link(server, token), "advisor")
    figure = await _own_figure(advisor)
    assert (figure["drawn"], figure["head"]) == (False, False)
    await advisor.wait_for_function("() => window.wealthroom.scene.viewMode === 'seat'")
    await _frames_after(advisor)
    camera = await advisor.evaluate("() => window.wealthroom.scene.cameraPose()")
    assert camera["mode"] == "seat"
    layout = load_layout("private_room")
    spot = layout.advisor_spot
    customer = layout.seat("seat-customer")
    assert spot is not None
    assert np.hypot(camera["pos"][0] - spot.pos[0], camera["pos"][2] - spot.pos[2]) < 0.05
    # Looking along the floor towards the customer's chair.
    towards = np.array(customer.pos) - np.array(spot.pos)
    towards /= np.linalg.norm(towards)
    look = np.array(camera["dir"])
    look[1] = 0
    look /= np.linalg.norm(look)
    assert float(look @ towards) > 0.95, camera
    watch.assert_clean()


SHOW_CAMERA = """async (entity) => {
  // A camera panel for the advisor, fed by a canvas as a camera would feed it.
  const canvas = document.createElement('canvas');
  canvas.width = 320; canvas.height = 180;
  const ctx = canvas.getContext('2d');
  const paint = () => { ctx.fillStyle = '#3a7'; ctx.fillRect(0, 0, 320, 180);
                        requestAnimationFrame(paint); };
  paint();
  const stream = canvas.captureStream(15);
  const video = document.createElement('video');
  video.muted = true;
  video.srcObject = stream;
  await video.play();
  window.wealthroom.scene.setVideo(entity, video);
  // And its tile over the view, as the page shows an advisor's camera.
  const tile = document.createElement('figure');
  tile.className = 'video-tile advisor';
  const copy = document.createElement('video');
  copy.muted = true;
  copy.srcObject = stream;
  tile.append(copy);
  document.getElementById('video-tiles').append(tile);
  await copy.play();
}"""


TILE_BOXES = """() => [...document.querySelectorAll('.video-tile')].map((t) => {
  const r = t.getBoundingClientRect();
  return { tile: t.className, x: r.left, y: r.top, w: r.width, h: r.height };
})"""


def _apart(a: dict[str, float], b: dict[str, float]) -> bool:
    return (
        a["x"] + a["w"] <= b["x"]
        or b["x"] + b["w"] <= a["x"]
        or a["y"] + a["h"] <= b["y"]
        or b["y"] + b["h"] <= a["y"]
    )


@pytest.mark.parametrize("layout", sorted(known_layouts()))
async def test_no_camera_panel_or_name_tag_covers_the_wall_screen(
    server: WealthroomServer, mint: Mint, context: BrowserContext, watch: Watch, layout: str
) -> None:
    room = f"looks-{layout}"
    ann = mint(room, name="Ann", risk=3, layout=layout)
    customer = await open_room(context, watch, room_link(server, ann, room), "Ann")
    token = mint(room, name="Ms Chan", role=Role.ADVISOR, layout=layout)
    advisor = await open_room(context, watch, room_link(server, token, room), "advisor")
    entity = (await _own_figure(advisor))["entity"]
    await customer.wait_for_function("() => window.wealthroom.scene.viewMode === 'seat'")
    await customer.fill("#message", "I want to talk to all of you")
    await customer.click("#send-ask")
    await customer.wait_for_function("() => window.wealthroom.state.experts.length >= 2")
    # The people and the experts are the avatar model, each dressed from its own look.
    await customer.wait_for_function(
        "() => window.wealthroom.figures().filter(f => f.kind === 'expert').length >= 2"
    )
    drawn = await figures(customer)
    assert assert_dressed(drawn, server.rooms[room].room.scene) >= 4, drawn
    await customer.evaluate(SHOW_CAMERA, entity)
    await customer.wait_for_function("() => window.wealthroom.videos().some(v => v.drawn)")
    # Through her own eyes, and in the overview the layout gives (the screen in full view).
    for mode in ("seat", "room"):
        if (await customer.evaluate("() => window.wealthroom.scene.viewMode")) != mode:
            await customer.click("#view-toggle")
        await _frames_after(customer)
        seen = await customer.evaluate("() => window.wealthroom.scene.overlays()")
        tiles = await customer.evaluate(TILE_BOXES)
        assert tiles, "the advisor's camera tile is on the page"
        if mode == "room":
            assert seen["screens"], "the overview shows the wall screen"
            assert seen["panels"], "and the advisor's camera panel"
            assert len(seen["tags"]) >= 3, "and the names above heads"
        for screen in seen["screens"]:
            for box in seen["panels"] + seen["tags"] + tiles:
                assert _apart(screen, box), (mode, screen, box)
    watch.assert_clean()


async def test_the_room_loads_when_its_people_cannot_be_drawn(
    server: WealthroomServer, mint: Mint, context: BrowserContext, watch: Watch
) -> None:
    """Without the people's model (tools/build_avatars.py) the room still loads: the member
    enters through her own eyes, a note says what failed, and no figure is drawn."""
    page = watch.attach(await context.new_page(), "Ann")
    await page.route("**/scenes/assets/avatar.glb", lambda route: route.fulfill(status=404))
    await page.goto(room_link(server, mint(name="Ann", risk=3)))
    await page.wait_for_function("() => window.wealthroom && window.wealthroom.joined")
    await page.wait_for_function("() => window.wealthroom.scene.viewMode === 'seat'")
    toast = page.locator("#toast")
    await toast.wait_for(state="visible")
    assert "avatar.glb" in await toast.inner_text()
    await _frames_after(page)
    assert await figures(page) == []
    assert (await page.evaluate("() => window.wealthroom.scene.ownFigure()")) is None
    # The room is there, and the states are followed: her own avatar is in the scene.
    assert await page.evaluate("() => window.wealthroom.scene.layout !== null")
    assert (await page.evaluate("() => window.wealthroom.stats()"))["entities"] >= 1
    # What the page reported: the missing file, and the room's note on it; nothing else.
    assert any("could not load the room" in problem for problem in watch.problems)
    for problem in watch.problems:
        assert "404" in problem or "could not load the room" in problem, problem
