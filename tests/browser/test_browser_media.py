"""Voice, video and recording in a real browser: Debian's Chromium (fake camera and microphone)
driven by Playwright, against a real server on a loopback port whose WebRTC peers forward
what each page sends to the others.

What a page receives is read from the page itself: the advisor's ``<video>`` element (decoded
frames, size, play position) and each incoming track's ``inbound-rtp`` statistics (packets,
samples, audio energy). Waiting is always on a condition in the page, never a sleep; any
console error or uncaught exception in any page fails the test.
"""

from __future__ import annotations

import base64
import shutil
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import BrowserContext, Page

from rooms.audit import MemoryAuditLog
from rooms.roles import Role
from server.app import WealthroomServer
from tests.browser.pages import (
    CHROMIUM,
    MEDIA_WAIT_MS,
    Watch,
    assert_dressed,
    figures,
    join_media,
    open_console,
    open_room,
    room_link,
    wait_heard,
    wait_inbound,
)
from tests.conftest import Mint

pytestmark = [
    pytest.mark.media,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason="needs Debian's chromium (scripts/system-packages)"
    ),
]

# Source of the advisor's camera as the customer's page received it, and its <video>.
ADVISOR_VIDEO = "document.querySelector('[data-testid=advisor-video]')"

# Pixels of a screenshot of the 3D view (the page's own PNG, decoded by the page) that are
# near black: the stage's background, which only shows where the compositor left the WebGL
# canvas undrawn. For each camera tile over the canvas, the fraction of such pixels in the
# rectangle the tile mirrors to across the canvas's horizontal midline (a WebGL canvas is
# upside down until composited: a hole punched for an opaque overlay but cut from the
# unflipped picture lands there), and over the whole canvas outside the tiles.
SCENE_BLACK = """async ([png, box]) => {
  const bytes = Uint8Array.from(atob(png), (c) => c.charCodeAt(0));
  const image = await createImageBitmap(new Blob([bytes], { type: "image/png" }));
  const g = new OffscreenCanvas(image.width, image.height).getContext("2d");
  g.drawImage(image, 0, 0);
  const px = g.getImageData(0, 0, image.width, image.height).data;
  const sx = image.width / box.width;
  const sy = image.height / box.height;
  const tiles = [...document.querySelectorAll(".video-tile:not([hidden]) video")]
    .map((v) => v.getBoundingClientRect())
    .map((r) => ({ x0: r.left - box.x, x1: r.right - box.x,
                   y0: r.top - box.y, y1: r.bottom - box.y }))
    .filter((r) => r.x1 > 0 && r.x0 < box.width && r.y1 > 0 && r.y0 < box.height);
  const black = (i) => px[i] <= 6 && px[i + 1] <= 6 && px[i + 2] <= 6;
  const inside = (r, x, y) => x >= r.x0 && x < r.x1 && y >= r.y0 && y < r.y1;
  const count = (test) => {
    let n = 0, dark = 0;
    for (let y = 0; y < image.height; y += 2)
      for (let x = 0; x < image.width; x += 2) {
        if (!test(x / sx, y / sy)) continue;
        n++;
        if (black((y * image.width + x) * 4)) dark++;
      }
    return n ? dark / n : 0;
  };
  const mirrored = tiles.map((r) => {
    const m = { x0: r.x0 + 4, x1: r.x1 - 4, y0: box.height - r.y1 + 4, y1: box.height - r.y0 - 4 };
    return count((x, y) => inside(m, x, y) && !tiles.some((t) => inside(t, x, y)));
  });
  const outside = count((x, y) => !tiles.some((t) => inside(t, x, y)));
  return { tiles: tiles.length, mirrored, outside };
}"""


async def scene_black(page: Page) -> dict[str, Any]:
    """Near-black fractions of the 3D view as the screen shows it (see SCENE_BLACK)."""
    canvas = page.locator("#scene")
    box = await canvas.bounding_box()
    assert box is not None
    png = await page.screenshot(clip=box)
    result: dict[str, Any] = await page.evaluate(
        SCENE_BLACK, [base64.b64encode(png).decode("ascii"), box]
    )
    return result


async def person(page: Page, name: str) -> dict[str, Any]:
    people: list[dict[str, Any]] = await page.evaluate("() => window.wealthroom.state.people")
    return next(p for p in people if p["name"] == name)


async def test_the_customer_sees_and_hears_the_advisor_through_the_server(
    media_server: WealthroomServer, mint_media: Mint, media_context: BrowserContext, watch: Watch
) -> None:
    link = room_link(media_server, mint_media(name="Ann", risk=3))
    customer = await open_room(media_context, watch, link, "Ann")
    # Before media: the two large buttons, labelled; a customer may send both.
    assert await customer.locator("#mic-button").inner_text() == "Join with microphone"
    assert await customer.locator("#cam-button").inner_text() == "Join with camera"
    await join_media(customer, "#cam-button")
    assert await customer.locator("#mic-button").get_attribute("aria-pressed") == "true"
    assert await customer.locator("#mic-button").inner_text() == "Microphone on"

    # The advisor's link joins with camera and microphone by itself.
    advisor_token = mint_media(role=Role.ADVISOR, name="Ms Chan")
    advisor = await open_room(
        media_context, watch, room_link(media_server, advisor_token) + "&media=1", "advisor"
    )
    await advisor.wait_for_function(
        "() => window.wealthroom.state.media?.connection === 'connected'", timeout=MEDIA_WAIT_MS
    )

    # The customer's page plays the advisor's camera: decoded frames keep coming.
    await customer.wait_for_function(
        f"() => {{ const v = {ADVISOR_VIDEO}; return v && v.videoWidth > 0"
        " && v.getVideoPlaybackQuality().totalVideoFrames > 0; }",
        timeout=MEDIA_WAIT_MS,
    )
    first = await customer.evaluate(
        f"() => {{ const v = {ADVISOR_VIDEO}; const q = v.getVideoPlaybackQuality();"
        " return {frames: q.totalVideoFrames, dropped: q.droppedVideoFrames, t: v.currentTime,"
        " w: v.videoWidth, h: v.videoHeight, src: v.dataset.src}; }"
    )
    await customer.wait_for_function(
        f"(n) => {ADVISOR_VIDEO}.getVideoPlaybackQuality().totalVideoFrames >= n",
        arg=first["frames"] + 30,
        timeout=MEDIA_WAIT_MS,
    )
    later = await customer.evaluate(
        f"() => {{ const v = {ADVISOR_VIDEO};"
        " return {frames: v.getVideoPlaybackQuality().totalVideoFrames, t: v.currentTime}; }"
    )
    assert first["w"] > 0
    assert first["h"] > 0
    assert later["t"] > first["t"]
    advisor_member = await advisor.evaluate("() => window.wealthroom.state.member")
    assert first["src"] == f"m{advisor_member}.v"
    print(
        f"advisor video at the customer: {first['w']}x{first['h']},"
        f" frames {first['frames']} -> {later['frames']},"
        f" t {first['t']:.2f} -> {later['t']:.2f} s"
    )
    # ... and on a panel above the advisor's head in the room.
    await customer.wait_for_function(
        "() => window.wealthroom.videos().some(v => v.drawn && v.width > 0)"
    )
    # The camera tiles over the room leave the room drawn everywhere: no black hole in the 3D
    # view (the stage's background) where the compositor culled the canvas under a tile.
    black = await scene_black(customer)
    print(f"near-black in the 3D view: {black}")
    assert black["tiles"] >= 1
    assert all(f < 0.05 for f in black["mirrored"]), black
    assert black["outside"] < 0.002, black

    # The advisor's voice arrives, is decoded and sounds (the fake microphone beeps).
    audio = await wait_inbound(
        customer, rf"^m{advisor_member}\.a$", "s.packetsReceived > 50 && s.totalSamplesReceived > 0"
    )
    voice = await wait_heard(customer, rf"^m{advisor_member}\.a$")
    print(f"advisor audio at the customer: {audio[0]}, heard at level {voice['heard']:.3f}")

    # Both ways: the advisor receives the customer's camera and voice.
    customer_member = await customer.evaluate("() => window.wealthroom.state.member")
    await wait_inbound(advisor, rf"^m{customer_member}\.v$", "s.framesDecoded > 10")
    await wait_inbound(advisor, rf"^m{customer_member}\.a$", "s.totalSamplesReceived > 0")

    # Everyone sees who has a microphone and camera on; muting shows at once.
    await customer.wait_for_function(
        "() => window.wealthroom.state.people.some("
        "p => p.name === 'Ms Chan' && p.mic === 'on' && p.cam === 'on')"
    )
    await customer.click("#mic-button")
    assert await customer.locator("#mic-button").get_attribute("aria-pressed") == "false"
    assert await customer.locator("#mic-button").inner_text() == "Microphone off"
    await advisor.wait_for_function(
        "() => window.wealthroom.state.people.some(p => p.name === 'Ann' && p.mic === 'off')"
    )
    assert (await person(advisor, "Ann"))["cam"] == "on"
    await customer.click("#cam-button")
    await advisor.wait_for_function(
        "() => window.wealthroom.state.people.some(p => p.name === 'Ann' && p.cam === 'off')"
    )

    # A dropped connection kills the peer; the page starts media again by itself, and the
    # advisor's picture comes back.
    offers = await customer.evaluate("() => window.wealthroom.state.media.offers")
    await customer.evaluate("() => window.wealthroom.debug.cut()")
    await customer.wait_for_function("() => window.wealthroom.state.status === 'reconnecting'")
    await customer.wait_for_function("() => window.wealthroom.joined")
    await customer.wait_for_function(
        "(n) => { const m = window.wealthroom.state.media;"
        " return m.offers >= 1 && m.connection === 'connected' && m.offers !== n; }",
        arg=offers,
        timeout=MEDIA_WAIT_MS,
    )
    frames = await customer.evaluate(
        f"() => {ADVISOR_VIDEO}?.getVideoPlaybackQuality().totalVideoFrames ?? 0"
    )
    await customer.wait_for_function(
        f"(n) => {{ const v = {ADVISOR_VIDEO};"
        " return v && v.getVideoPlaybackQuality().totalVideoFrames > n + 10; }",
        arg=frames,
        timeout=MEDIA_WAIT_MS,
    )
    # Still muted after the reconnect: the new peer was told.
    new_member = await customer.evaluate("() => window.wealthroom.state.member")
    await advisor.wait_for_function(
        "(m) => window.wealthroom.state.people.some("
        "p => p.member === m && p.mic === 'off' && p.cam === 'off')",
        arg=new_member,
    )
    watch.assert_clean()


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="experts speak with espeak-ng")
async def test_the_customer_hears_the_expert_answer_and_sees_its_mouth_move(
    media_server: WealthroomServer, mint_media: Mint, media_context: BrowserContext, watch: Watch
) -> None:
    customer = await open_room(
        media_context, watch, room_link(media_server, mint_media(name="Ann", risk=3)), "Ann"
    )
    await join_media(customer, "#mic-button")
    # A guest may speak but has no camera button.
    guest_link = room_link(media_server, mint_media(role=Role.GUEST, name="Bo"))
    guest = await open_room(media_context, watch, guest_link, "Bo")
    assert await guest.locator("#mic-button").is_visible()
    assert not await guest.locator("#cam-button").is_visible()
    await guest.close()

    await customer.fill("#message", "What about my bonds?")
    await customer.click("#send-ask")
    await customer.locator("#log li.answer").first.wait_for(state="visible")
    expert = await customer.evaluate(
        "() => window.wealthroom.state.experts.find(e => e.sp === 'bonds').id"
    )
    # The expert's voice is an incoming track of its own; it carries the spoken answer.
    rows = await wait_inbound(customer, rf"^e{expert}\.a$", "s.totalSamplesReceived > 0")
    assert rows[0]["ent"] == expert
    voice = await wait_heard(customer, rf"^e{expert}\.a$")
    assert voice["entity"] == expert
    # While it speaks, its mouth opens (mo from the server) and the figure's mouth follows:
    # the face's mouth_open morph of the avatar model.
    await customer.wait_for_function(
        "(e) => window.wealthroom.mouths().some(m => m.entity === e && m.mo > 0 && m.open > 0)",
        arg=expert,
        timeout=MEDIA_WAIT_MS,
    )
    await customer.wait_for_function(
        "(e) => window.wealthroom.figures().some(f => f.entity === e && f.face.mouth_open > 0)",
        arg=expert,
        timeout=MEDIA_WAIT_MS,
    )
    # Every figure is the model dressed from its look (the expert's persona's, the customer's
    # own, seated, hidden from herself), and nobody else's mouth moves.
    drawn = await figures(customer)
    scene = media_server.rooms["demo"].room.scene
    assert assert_dressed(drawn, scene) >= 2, drawn
    assert {f["kind"] for f in drawn} >= {"avatar", "expert"}, drawn
    assert sorted({f["seated"] for f in drawn}) == [False, True], drawn
    assert all(f["face"]["mouth_open"] == 0 for f in drawn if f["kind"] != "expert"), drawn
    # An answer begins with a small gesture; everyone breathes and blinks at their own pace,
    # and nobody but the expert gestured.
    await customer.wait_for_function(
        "(e) => window.wealthroom.lives().some(f => f.entity === e && f.answers >= 1)", arg=expert
    )
    lives = await customer.evaluate("() => window.wealthroom.lives()")
    assert all(f["answers"] == 0 for f in lives if f["kind"] != "expert"), lives
    # Someone blinks within a few seconds (each figure every 3 to 5 s), and breaths move on.
    await customer.wait_for_function("() => window.wealthroom.lives().some(f => f.lids > 0)")
    later = await customer.evaluate("() => window.wealthroom.lives()")
    assert {f["entity"]: f["breath"] for f in later} != {f["entity"]: f["breath"] for f in lives}
    print(f"expert voice at the customer: {rows[0]}, heard at level {voice['heard']:.3f}")
    watch.assert_clean()


async def test_the_advisor_records_and_the_customer_acknowledges_the_notice(
    media_server: WealthroomServer, mint_media: Mint, media_context: BrowserContext, watch: Watch
) -> None:
    console = await open_console(media_server, media_context, watch)
    assert await console.locator("#join-media").is_checked()
    await console.locator('input[name="presence"][value="busy"]').check()
    await console.locator('input[name="presence"][value="available"]').check()

    link = room_link(media_server, mint_media(name="Ann", risk=2))
    customer = await open_room(media_context, watch, link, "Ann")
    await join_media(customer, "#mic-button")
    await customer.click("#help-button")

    card = console.locator(".page-card", has=console.locator(".accept"))
    async with media_context.expect_page() as opened:
        await card.locator(".accept").click()
    advisor = watch.attach(await opened.value, "advisor")
    await advisor.wait_for_function("() => window.wealthroom && window.wealthroom.joined")
    # From the console the advisor arrives with camera and microphone.
    await advisor.wait_for_function(
        "() => { const m = window.wealthroom.state.media;"
        " return m && m.connection === 'connected' && m.send.length === 2; }",
        timeout=MEDIA_WAIT_MS,
    )
    record = advisor.locator("#record-button")
    assert await record.inner_text() == "Record"
    await record.click()

    # The customer is told before anything is kept, and acknowledges.
    dialog = customer.locator("#consent-dialog")
    await dialog.wait_for(state="visible")
    notice = await customer.locator("#consent-notice").inner_text()
    assert "recorded" in notice
    assert "days" in await customer.locator("#consent-days").inner_text()
    indicator = customer.locator("#rec-indicator")
    assert await indicator.is_visible()
    assert await indicator.inner_text() == "Recording"
    await customer.click("#consent-ok")
    await dialog.wait_for(state="hidden")
    assert await indicator.is_visible()
    rec = await customer.evaluate("() => window.wealthroom.state.recording")
    assert rec["seen"] is True
    # A line said after the acknowledgement comes back only once the room has read both.
    await customer.fill("#message", "noted")
    await customer.press("#message", "Enter")
    await customer.locator("#log li.chat", has_text="noted").wait_for()

    # The advisor's page shows it too, and the button stops it.
    await advisor.locator("#rec-indicator").wait_for(state="visible")
    assert await record.inner_text() == "Stop recording"
    assert await record.get_attribute("aria-pressed") == "true"
    audit = media_server.audit
    assert isinstance(audit, MemoryAuditLog)
    seen = [e for e in audit.entries if e["action"] == "recording.seen"]
    assert any(e["detail"].get("rec") == rec["rec"] for e in seen), seen
    await record.click()
    await indicator.wait_for(state="hidden")
    await customer.locator("#log li.recording", has_text="Recording stopped").wait_for()
    assert await record.inner_text() == "Record"

    # The customer, who came with the microphone alone, adds the camera: the server offers
    # again, the page attaches the camera without adding its microphone a second time, and
    # the advisor sees the customer.
    assert await customer.locator("#cam-button").inner_text() == "Join with camera"
    offers = await customer.evaluate("() => window.wealthroom.state.media.offers")
    await customer.click("#cam-button")
    await customer.wait_for_function(
        "(n) => { const m = window.wealthroom.state.media;"
        " return m.offers > n && m.sending.video !== undefined; }",
        arg=offers,
        timeout=MEDIA_WAIT_MS,
    )
    sending = await customer.evaluate(
        "() => window.wealthroom.media.pc.getSenders().filter(s => s.track).map(s => s.track.kind)"
    )
    assert sorted(sending) == ["audio", "video"]
    customer_member = await customer.evaluate("() => window.wealthroom.state.member")
    await wait_inbound(advisor, rf"^m{customer_member}\.v$", "s.framesDecoded > 10")

    # In Chinese, the same controls.
    await customer.click("#lang-toggle")
    assert await customer.locator("#mic-button").inner_text() == "麦克风已开"
    assert await customer.locator("#cam-button").inner_text() == "摄像头已开"
    watch.assert_clean()
