"""The thin view and the pose data channel in a real browser: Debian's Chromium (fake camera
and microphone) against a real server that draws the room for the thin client.

What the page shows is read from the page itself (the thin view's ``<video>``, pixels drawn
from it onto a canvas, the incoming tracks' ``inbound-rtp`` statistics); what the server got
is read from its metrics (``wealthroom_datagrams_in``: frames that came on a data channel).
Waiting is always on a condition, never a sleep; any console error fails the test.
"""

from __future__ import annotations

import math
import re
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import BrowserContext, Page

from rooms.roles import Role
from server.app import WealthroomServer
from tests.browser.pages import (
    CHROMIUM,
    MEDIA_WAIT_MS,
    Watch,
    join_media,
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

# The thin view's picture, sampled small: grey levels of a 64x36 copy of the current frame.
PICTURE = """() => {
  const v = document.querySelector('[data-testid=thin-video]');
  const c = new OffscreenCanvas(64, 36);
  const g = c.getContext('2d', { willReadFrequently: true });
  g.drawImage(v, 0, 0, 64, 36);
  const px = g.getImageData(0, 0, 64, 36).data;
  const out = [];
  for (let i = 0; i < px.length; i += 4) out.push((px[i] + px[i + 1] + px[i + 2]) / 3);
  return out;
}"""


# Is head `h` (window.wealthroom.head) turned to heading `yaw`, within a quantisation step?
FACING = """const facing = (h, yaw) =>
  h !== null && Math.abs(Math.atan2(Math.sin(h.yaw - yaw), Math.cos(h.yaw - yaw))) < 0.05;"""


def datagrams(server: WealthroomServer) -> float:
    """Frames the server has taken from members' data channels."""
    server.metrics.flush()
    value = server.metrics.registry.get_sample_value("wealthroom_datagrams_in_total")
    return value or 0.0


def difference(a: list[float], b: list[float]) -> float:
    """Mean absolute difference of two sampled pictures, in grey levels."""
    return sum(abs(x - y) for x, y in zip(a, b, strict=True)) / len(a)


async def drag(page: Page, selector: str, dx: float, dy: float = 0.0) -> None:
    box = await page.locator(selector).bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    await page.mouse.move(x, y)
    await page.mouse.down()
    for step in range(1, 21):
        await page.mouse.move(x + dx * step / 20, y + dy * step / 20)
    await page.mouse.up()


async def frames_after(page: Page, n: int) -> None:
    await page.wait_for_function(
        "(n) => window.wealthroom.thin.picture().frames > n", arg=n, timeout=MEDIA_WAIT_MS
    )


async def lane_rate(page: Page, *, turning: bool) -> dict[str, float]:
    """The picture's received bytes and decoded frames a second over six seconds, measured
    from its ``inbound-rtp`` figures once the lane has settled (two seconds); ``turning``:
    the head turns a radian a second meanwhile, so that every frame is a new picture."""
    rate: dict[str, float] = await page.evaluate(
        """async (turning) => {
          const thin = window.wealthroom.thin;
          const row = async () =>
            (await window.wealthroom.media.inbound()).find((r) => r.src === 'view');
          const wait = (ms) => new Promise((ok) => setTimeout(ok, ms));
          const turn = turning ? setInterval(() => {
            thin.lookAt(thin.info.look.yaw + 0.1, thin.info.look.pitch);
          }, 100) : null;
          await wait(2000);
          const a = await row();
          const t0 = performance.now();
          await wait(6000);
          const b = await row();
          clearInterval(turn);
          const s = (performance.now() - t0) / 1000;
          return { bytes: Math.round((b.bytesReceived - a.bytesReceived) / s),
                   fps: (b.framesDecoded - a.framesDecoded) / s, width: b.frameWidth };
        }""",
        turning,
    )
    return rate


async def test_the_thin_view_plays_the_server_drawn_room_turns_with_a_drag_and_carries_voices(
    media_server: WealthroomServer, mint_media: Mint, media_context: BrowserContext, watch: Watch
) -> None:
    # Someone to hear: the advisor joins with the fake microphone (it beeps).
    advisor = await open_room(
        media_context,
        watch,
        room_link(media_server, mint_media(role=Role.ADVISOR, name="Ms Chan")) + "&media=audio",
        "advisor",
    )
    await advisor.wait_for_function(
        "() => window.wealthroom.state.media?.connection === 'connected'", timeout=MEDIA_WAIT_MS
    )
    advisor_member = await advisor.evaluate("() => window.wealthroom.state.member")

    started = time.monotonic()
    link = room_link(media_server, mint_media(name="Ann", risk=3)) + "&view=thin"
    customer = await open_room(media_context, watch, link, "Ann")
    # The server's picture instead of the page's own drawing.
    await customer.wait_for_function(
        "() => { const p = window.wealthroom.thin.picture(); return p.frames > 0 && p.w > 0; }",
        timeout=MEDIA_WAIT_MS,
    )
    first_frame_s = time.monotonic() - started
    picture = await customer.evaluate("() => window.wealthroom.thin.picture()")
    assert (picture["w"], picture["h"]) == (640, 360)
    assert await customer.locator("#thin-video").is_visible()
    assert not await customer.locator("#scene").is_visible()
    assert await customer.locator("#thin-button").get_attribute("aria-pressed") == "true"
    assert await customer.locator("#thin-button").inner_text() == "Full 3D view"
    media = await customer.evaluate("() => window.wealthroom.state.media")
    assert media["view"] == "thin"
    assert [e["src"] for e in media["incoming"] if e["kind"] == "video"] == ["view"]
    info = await customer.evaluate("() => window.wealthroom.thin.info")
    print(
        f"thin view: first picture {first_frame_s:.2f} s after opening the link"
        f" ({info['firstFrameMs']} ms after asking for it)"
    )

    # Everyone's voices: the advisor's microphone arrives with sound in it.
    await wait_inbound(
        customer, rf"^m{advisor_member}\.a$", "s.packetsReceived > 50 && s.totalSamplesReceived > 0"
    )
    await wait_heard(customer, rf"^m{advisor_member}\.a$")

    # A still head gets a still picture; a drag turns it, and the server draws the room anew.
    frames = (await customer.evaluate("() => window.wealthroom.thin.picture()"))["frames"]
    await frames_after(customer, frames + 5)
    still_a = await customer.evaluate(PICTURE)
    frames = (await customer.evaluate("() => window.wealthroom.thin.picture()"))["frames"]
    await frames_after(customer, frames + 5)
    still_b = await customer.evaluate(PICTURE)
    before = await customer.evaluate("() => window.wealthroom.thin.info.look")
    sent_before = datagrams(media_server)
    await drag(customer, "#thin-video", 260.0)
    after = await customer.evaluate("() => window.wealthroom.thin.info.look")
    assert after["yaw"] < before["yaw"] - 0.8, (before, after)
    # The server has the new heading: the advisor's page shows the customer turned.
    member = await customer.evaluate("() => window.wealthroom.state.member")
    await advisor.wait_for_function(
        f"([m, yaw]) => {{ {FACING} return facing(window.wealthroom.head(m), yaw); }}",
        arg=[member, after["yaw"]],
        timeout=MEDIA_WAIT_MS,
    )
    # ... it came on the data channel ...
    assert datagrams(media_server) > sent_before
    stats = await customer.evaluate("() => window.wealthroom.stats().sent")
    assert stats["dc"] > 0
    assert stats["dc"] == stats["pose"], "with the channel open, no pose went on the WebSocket"
    # ... and the picture the page plays is another one.
    frames = (await customer.evaluate("() => window.wealthroom.thin.picture()"))["frames"]
    await frames_after(customer, frames + 8)
    turned = await customer.evaluate(PICTURE)
    noise = difference(still_a, still_b)
    change = difference(still_b, turned)
    print(f"picture: still {noise:.2f} grey levels apart, turned {change:.2f}")
    assert change > max(8.0, 5 * noise), (noise, change)

    # A phone's gyroscope takes over from where the member looks; turning the phone 30° to
    # the left turns the head with it, and the server has it.
    orient = "([a, b, g]) => window.dispatchEvent(new DeviceOrientationEvent('deviceorientation',"
    orient += " { alpha: a, beta: b, gamma: g, absolute: false }))"
    looking = await customer.evaluate("() => window.wealthroom.thin.info.look")
    await customer.evaluate(orient, [10.0, 90.0, 0.0])
    held = await customer.evaluate("() => window.wealthroom.thin.info")
    assert held["gyro"] is True
    assert abs(held["look"]["yaw"] - looking["yaw"]) < 1e-6
    await customer.evaluate(orient, [40.0, 90.0, 0.0])
    turned_by_phone = await customer.evaluate("() => window.wealthroom.thin.info.look")
    assert abs(turned_by_phone["yaw"] - looking["yaw"] - math.pi / 6) < 1e-3
    await advisor.wait_for_function(
        f"([m, yaw]) => {{ {FACING} return facing(window.wealthroom.head(m), yaw); }}",
        arg=[member, turned_by_phone["yaw"]],
        timeout=MEDIA_WAIT_MS,
    )

    # The lanes: the same picture at each quality, moved without a new offer.
    rates: dict[str, dict[str, float]] = {}
    for quality in ("high", "low"):
        offers = await customer.evaluate("() => window.wealthroom.state.media.offers")
        await customer.evaluate("(q) => window.wealthroom.thin.setLane(q)", quality)
        await customer.wait_for_function(
            "(q) => window.wealthroom.state.media.q === q", arg=quality
        )
        rates[quality] = await lane_rate(customer, turning=False)
        rates[f"{quality}, turning"] = await lane_rate(customer, turning=True)
        assert await customer.evaluate("() => window.wealthroom.state.media.offers") == offers
    print(f"thin view bytes a second: {rates}")
    assert 0 < rates["low, turning"]["bytes"] < rates["high, turning"]["bytes"], rates

    # Left to itself the lane follows the link: clean windows bring the picture back up to
    # high; loss (made up here, on the figures the page reads) takes it down to low, and the
    # server sends the smaller picture.
    await customer.evaluate("() => window.wealthroom.thin.auto()")
    await customer.wait_for_function(
        "() => window.wealthroom.state.media.q === 'high'", timeout=MEDIA_WAIT_MS
    )
    await customer.evaluate(
        """() => {
          const media = window.wealthroom.media;
          const measured = media.inbound.bind(media);
          let lost = 0;
          media.inbound = async () => (await measured()).map((r) =>
            r.src === 'view' ? { ...r, packetsLost: r.packetsLost + (lost += 40) } : r);
        }"""
    )
    await customer.wait_for_function(
        "() => window.wealthroom.state.media.q === 'low'", timeout=MEDIA_WAIT_MS
    )
    switches = await customer.evaluate("() => window.wealthroom.thin.info.switches")
    assert [s["quality"] for s in switches] == ["high", "low"], switches
    assert switches[-1]["loss"] > 0.05
    await wait_inbound(customer, "^view$", "s.frameWidth === 426")

    # Back to the page's own 3D view: the canvas returns, the server's picture goes.
    await customer.click("#thin-button")
    assert await customer.locator("#scene").is_visible()
    await customer.wait_for_function(
        "() => !window.wealthroom.state.media.incoming.some(e => e.src === 'view')",
        timeout=MEDIA_WAIT_MS,
    )
    assert await customer.locator("#thin-button").inner_text() == "Low-bandwidth view"
    # ... and the button brings the server's picture back on the same peer.
    offers = await customer.evaluate("() => window.wealthroom.state.media.offers")
    await customer.click("#thin-button")
    await customer.wait_for_function(
        "(n) => { const m = window.wealthroom.state.media;"
        " return m.offers > n && m.incoming.some(e => e.src === 'view'); }",
        arg=offers,
        timeout=MEDIA_WAIT_MS,
    )
    frames = (await customer.evaluate("() => window.wealthroom.thin.picture()"))["frames"]
    await frames_after(customer, frames + 5)
    assert not await customer.locator("#scene").is_visible()

    # The arrow keys turn the head too.
    yaw = (await customer.evaluate("() => window.wealthroom.thin.info.look"))["yaw"]
    await customer.focus("#thin-video")
    await customer.keyboard.press("ArrowLeft")
    turned_by_key = (await customer.evaluate("() => window.wealthroom.thin.info.look"))["yaw"]
    assert abs(turned_by_key - yaw - 0.2) < 1e-6

    # A dropped connection: the page comes back in the thin view and the picture resumes.
    await customer.evaluate("() => window.wealthroom.debug.cut()")
    await customer.wait_for_function("() => window.wealthroom.state.status === 'reconnecting'")
    await customer.wait_for_function("() => window.wealthroom.joined")
    await customer.wait_for_function(
        "() => { const m = window.wealthroom.state.media; return m.view === 'thin'"
        " && m.connection === 'connected' && m.incoming.some(e => e.src === 'view'); }",
        timeout=MEDIA_WAIT_MS,
    )
    frames = (await customer.evaluate("() => window.wealthroom.thin.picture()"))["frames"]
    await frames_after(customer, frames + 5)
    watch.assert_clean()


async def test_a_desktop_page_sends_poses_on_the_data_channel_once_media_is_up(
    media_server: WealthroomServer, mint_media: Mint, media_context: BrowserContext, watch: Watch
) -> None:
    link = room_link(media_server, mint_media(name="Ann", risk=3))
    customer = await open_room(media_context, watch, link, "Ann")
    # The page opens through one's own eyes, where a drag turns the head.
    await customer.wait_for_function("() => window.wealthroom.head(window.wealthroom.state.member)")

    # No media: poses go on the WebSocket.
    await drag(customer, "#scene", 200.0)
    await customer.wait_for_function("() => window.wealthroom.stats().sent.pose > 0")
    sent = await customer.evaluate("() => window.wealthroom.stats().sent")
    assert sent["dc"] == 0
    assert datagrams(media_server) == 0

    # Media up: the peer's data channel opens and the poses take it.
    await join_media(customer, "#mic-button")
    await customer.wait_for_function("() => window.wealthroom.state.media.channel === 'open'")
    await drag(customer, "#scene", -200.0)
    await customer.wait_for_function("(n) => window.wealthroom.stats().sent.dc > n", arg=sent["dc"])
    assert datagrams(media_server) > 0
    # The server applied them: the page's replica has the head where the drag turned it.
    await customer.wait_for_function(
        f"""() => {{ {FACING}
          const w = window.wealthroom;
          return facing(w.head(w.state.member), w.scene.look.yaw);
        }}""",
        timeout=MEDIA_WAIT_MS,
    )

    # Media stopped: back to the WebSocket.
    await customer.evaluate("() => window.wealthroom.media.stop()")
    sent = await customer.evaluate("() => window.wealthroom.stats().sent")
    on_channel = datagrams(media_server)
    await drag(customer, "#scene", 200.0)
    await customer.wait_for_function(
        "(n) => window.wealthroom.stats().sent.pose > n", arg=sent["pose"]
    )
    after = await customer.evaluate("() => window.wealthroom.stats().sent")
    assert after["dc"] == sent["dc"]
    assert datagrams(media_server) == on_channel
    watch.assert_clean()


# Each voice whose source matches `pattern`: is its panner where its speaker's head is (the
# page's replica), to the millimetre?
PANNED = """(pattern) => window.wealthroom.voices().filter((v) => new RegExp(pattern).test(v.src))
  .some((v) => v.panner && v.head && v.panner.every((c, i) => Math.abs(c - v.head[i]) < 0.001)
    && v.target.every((c, i) => Math.abs(c - v.head[i]) < 0.001))"""


async def voice(page: Page, pattern: str) -> dict[str, Any]:
    rows: list[dict[str, Any]] = await page.evaluate("() => window.wealthroom.voices()")
    return next(v for v in rows if re.match(pattern, v["src"]))


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="experts speak with espeak-ng")
async def test_each_voice_is_panned_at_its_speakers_head_and_follows_it(
    media_server: WealthroomServer, mint_media: Mint, media_context: BrowserContext, watch: Watch
) -> None:
    advisor = await open_room(
        media_context,
        watch,
        room_link(media_server, mint_media(role=Role.ADVISOR, name="Ms Chan")) + "&media=audio",
        "advisor",
    )
    advisor_member = await advisor.evaluate("() => window.wealthroom.state.member")
    link = room_link(media_server, mint_media(name="Ann", risk=3)) + "&media=listen"
    customer = await open_room(media_context, watch, link, "Ann")
    mic = rf"^m{advisor_member}\.a$"
    await customer.wait_for_function(PANNED, arg=mic, timeout=MEDIA_WAIT_MS)
    first = await voice(customer, mic)
    own = await customer.evaluate("() => window.wealthroom.head(window.wealthroom.state.member)")
    assert first["listener"] == own["pos"], "the listener is the member's own head"

    # The advisor leans to one side: the panner follows the head.
    await advisor.evaluate(
        """() => {
          const w = window.wealthroom;
          const h = w.head(w.state.member);
          w.session.offerPose({ p: [h.pos[0] + 0.3, h.pos[1], h.pos[2] - 0.2], q: [0, 0, 0, 1] });
          w.session.flushPose(performance.now() + 1e6);
        }"""
    )
    await customer.wait_for_function(
        f"""([pattern, x]) => ({PANNED})(pattern) && window.wealthroom.voices()
          .some((v) => new RegExp(pattern).test(v.src) && v.panner[0] > x + 0.25)""",
        arg=[mic, first["panner"][0]],
        timeout=MEDIA_WAIT_MS,
    )
    moved = await voice(customer, mic)
    print(f"advisor's voice panned at {first['panner']} then {moved['panner']}")

    # Once the page has been used, the sound plays; the advisor's beeps light them up.
    await customer.mouse.click(5, 300)
    await customer.wait_for_function(
        "(m) => window.wealthroom.state.people.some((p) => p.member === m && p.speaking)",
        arg=advisor_member,
        timeout=MEDIA_WAIT_MS,
    )
    advisor_entity = await customer.evaluate(
        "(m) => window.wealthroom.state.people.find((p) => p.member === m).entity", advisor_member
    )
    # ... and its name tag in the room is lit.
    await customer.wait_for_function(
        "(e) => window.wealthroom.scene.speakingShown().includes(e)",
        arg=advisor_entity,
        timeout=MEDIA_WAIT_MS,
    )

    # An expert answers from its spot.
    await customer.fill("#message", "What about my bonds?")
    await customer.click("#send-ask")
    await customer.wait_for_function(PANNED, arg=r"^e\d+\.a$", timeout=MEDIA_WAIT_MS)
    expert = await voice(customer, r"^e\d+\.a$")
    spots = await customer.evaluate("() => window.wealthroom.scene.layout.expert_spots")
    print(f"expert's voice at {expert['panner']}; spots {spots}")
    assert expert["entity"] is not None
    x, _, z = expert["panner"]
    assert any(abs(s["pos"][0] - x) < 0.01 and abs(s["pos"][2] - z) < 0.01 for s in spots)
    watch.assert_clean()
