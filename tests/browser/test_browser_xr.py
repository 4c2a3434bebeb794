"""A headset in a real browser: Debian's Chromium driven by Playwright, with IWER (the ``iwer``
npm package, Meta's WebXR runtime for emulation) standing in for a Meta Quest 3 and its two
controllers, against a real server on a loopback port, and another member of the room, a
protocol client, whose replica must see the headset's head and hands move.

IWER is injected by the test alone (``add_init_script`` of its UMD build from
``client_web/node_modules``): the page never imports it, and the server does not serve it.
The page finds WebXR as it would in a headset and its "Enter VR" button starts the session.
One session goes through it all: seated at the avatar's eyes, a still view without input,
the head and both hands moving at the other member, the rates, snap turns, the trigger as
push-to-talk, standing up and taking a seat with the trigger, and leaving. What the server
receives is read from the room's host; waiting is on conditions, never on sleeps (the rates
are measured over a window of the page's clock).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from protocol import messages as m
from protocol.codec import decode
from protocol.pose import AvatarPose, HandMode, Part
from protocol.quantise import unpack_quat
from rooms.roles import Role
from server.app import WealthroomServer
from server.room_host import Attachment
from simulator.client import RoomClient
from tests.browser.pages import ARGS, CHROMIUM, Watch, room_link
from tests.conftest import Mint

IWER_BUILD = Path(__file__).resolve().parents[2] / "client_web/node_modules/iwer/build/iwer.min.js"
# Media over loopback with DTLS in Python on a small machine: give the microphone time.
MEDIA_WAIT_MS = 45_000
WAIT_S = 20.0
# How long the rates are measured over, in the page's milliseconds.
WINDOW_MS = 3000

pytestmark = [
    pytest.mark.media,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason="needs Debian's chromium (scripts/system-packages)"
    ),
    pytest.mark.skipif(
        not IWER_BUILD.exists(), reason="needs client_web's npm packages (./scripts/test)"
    ),
]

# A Quest 3 with its Touch Plus controllers, installed over whatever WebXR the browser has
# (forceInstall), before any script of the page runs. `window.sway` moves the head in a
# slow circle, as a person's does, for as long as it is set.
INSTALL_HEADSET = """
window.headset = new IWER.XRDevice(IWER.metaQuest3, { stereoEnabled: false });
window.headset.installRuntime({ forceInstall: true });
(function swaying() {
  const w = window.sway;
  if (w) {
    const a = (performance.now() - w.t0) / 400;
    window.headset.position.set(w.x + 0.04 * Math.cos(a), w.y, w.z + 0.04 * Math.sin(a));
  }
  requestAnimationFrame(swaying);
})();
"""

# Keep every voice, ptt and sit message the page sends, in order, in `window.xrSent`.
RECORD_SENT = """() => {
  const session = window.wealthroom.session;
  const send = session.send.bind(session);
  window.xrSent = [];
  session.send = (msg) => {
    if (["voice", "ptt", "sit"].includes(msg.t)) window.xrSent.push(msg);
    return send(msg);
  };
}"""

XR_VIEWPORT = {"width": 320, "height": 200}
# Point the right controller at the ring of a seat for her role that nobody holds (the ring,
# not its empty middle); return the seat's id. The controller's rotation in the emulator is
# its rotation in the rig: the seated space starts at the headset, which IWER does not turn.
AIM_AT_FREE_SEAT = """async () => {
  const THREE = await import("three");
  const w = window.wealthroom;
  const taken = new Set([...w.session.replica.entities.values()].map((e) => e.s).filter(Boolean));
  const seat = w.scene.layout.seats.find((s) => !taken.has(s.id) && s.roles.includes(w.state.role));
  const entry = w.vr.controllers.find((c) => c.handedness === "right");
  entry.controller.updateMatrixWorld(true);
  const from = new THREE.Vector3().setFromMatrixPosition(entry.controller.matrixWorld);
  const to = new THREE.Vector3(seat.pos[0] + 0.245, seat.pos[1] + 0.015, seat.pos[2]);
  const rigTurn = w.scene.rig.getWorldQuaternion(new THREE.Quaternion()).invert();
  const dir = to.sub(from).normalize().applyQuaternion(rigTurn);
  const q = new THREE.Quaternion().setFromUnitVectors(new THREE.Vector3(0, 0, -1), dir);
  window.headset.controllers.right.quaternion.set(q.x, q.y, q.z, q.w);
  return seat.id;
}"""
VIEW = "() => window.wealthroom.vr.view()"
FRAMES = "() => window.wealthroom.scene.frames"


class Received:
    """What the server's room receives from one member: binary pose frames counted, other
    messages decoded (the room's own host does the real work, unchanged)."""

    def __init__(self) -> None:
        self.member: int | None = None
        self.poses = 0
        self.messages: list[Any] = []

    def wrap(self, receive: Callable[[Attachment, bytes | str], None]) -> Any:
        def counting(att: Attachment, data: bytes | str) -> None:
            if att.member == self.member:
                if isinstance(data, bytes) and data[:1] == b"\x50":
                    self.poses += 1
                else:
                    self.messages.append(decode(data))
            receive(att, data)

        return counting

    def ptt(self) -> list[bool]:
        return [x.on for x in self.messages if isinstance(x, m.PushToTalk)]


@pytest.fixture
async def xr_context() -> AsyncIterator[BrowserContext]:
    async with async_playwright() as pw:
        browser: Browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        # A small window: the headset's view is drawn in software, on a shared machine.
        ctx = await browser.new_context(viewport=XR_VIEWPORT)  # type: ignore[arg-type]
        await ctx.grant_permissions(["microphone"])
        ctx.set_default_timeout(WAIT_S * 1000)
        yield ctx
        await ctx.close()
        await browser.close()


def mm_dist(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    return math.dist(a, b)


def yaw_deg(rot: tuple[float, float, float, float] | list[float]) -> float:
    x, y, z, w = rot
    return math.degrees(math.atan2(2 * (w * y + x * z), 1 - 2 * (x * x + y * y)))


def turned(a: float, b: float) -> float:
    """Degrees from yaw ``a`` to yaw ``b``, in (-180, 180]."""
    return (b - a + 180) % 360 - 180


async def frames_pass(page: Page, count: int) -> None:
    start = await page.evaluate(FRAMES)
    await page.wait_for_function(f"() => window.wealthroom.scene.frames >= {start + count}")


async def someone_walks(client: RoomClient, page: Page, steps: int = 10) -> None:
    """``client`` takes ``steps`` small steps, each seen by ``page`` in a state frame."""
    start = pose_at(client, client.member)
    x, y, z = (v / 1000 for v in start.head.pos)
    for i in range(1, steps + 1):
        tick = await page.evaluate("() => window.wealthroom.session.replica.tick")
        await client.pose((x + 0.02 * i, y, z), unpack_quat(start.head.rot))
        await page.wait_for_function(f"() => window.wealthroom.session.replica.tick > {tick}")


def hands(pose: AvatarPose) -> tuple[Part, Part]:
    assert pose.hands == HandMode.CONTROLLERS
    assert pose.left is not None
    assert pose.right is not None
    return pose.left, pose.right


def pose_at(client: RoomClient, member: int) -> AvatarPose:
    pose = client.replica.pose_of(member)
    assert pose is not None
    return pose


async def test_a_headset_session_seen_by_another_member(
    media_server: WealthroomServer,
    mint_media: Mint,
    xr_context: BrowserContext,
    watch: Watch,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    host = media_server.rooms["demo"]
    received = Received()
    monkeypatch.setattr(host, "receive", received.wrap(host.receive))
    bo = await RoomClient.join(media_server.room_url("demo"), mint_media(role=Role.GUEST), "Bo")

    page = watch.attach(await xr_context.new_page(), "Ann")
    await page.add_init_script(path=str(IWER_BUILD))
    await page.add_init_script(script=INSTALL_HEADSET)
    await page.goto(room_link(media_server, mint_media(name="Ann")))
    await page.wait_for_function(
        "() => window.wealthroom?.joined && window.wealthroom.vr"
        " && window.wealthroom.scene.ownHead() && window.wealthroom.scene.layout"
    )
    await page.evaluate(RECORD_SENT)
    ann: int = await page.evaluate("() => window.wealthroom.state.member")
    received.member = ann
    assert await page.locator("#vr-button").is_visible()
    # The emulator is the test's: the server has no URL for it.
    for url in ("/node_modules/iwer/build/iwer.min.js", "/vendor/iwer/build/iwer.min.js"):
        assert (await page.request.get(media_server.base_url + url)).status == 404

    # Enter VR: seated by default, the view begins at the avatar's eyes.
    eyes = await page.evaluate("() => window.wealthroom.scene.ownHead().pos")
    await page.click("#vr-button")
    await page.wait_for_function(
        "() => window.wealthroom.vr.view().presenting && window.wealthroom.vr.seatPlaced !== null"
    )
    await frames_pass(page, 3)
    view = await page.evaluate(VIEW)
    assert view["space"] == "local"
    assert view["rig"][:3] == pytest.approx(eyes, abs=0.001)
    assert view["head"][:3] == pytest.approx(eyes, abs=0.001)
    assert await page.evaluate("() => window.wealthroom.session.poseHz") == 60

    # Bo sees the head and both controllers.
    await bo.wait_for(
        lambda c: (p := c.replica.pose_of(ann)) is not None and p.hands == HandMode.CONTROLLERS,
        WAIT_S,
    )

    # No camera motion the person did not make: with the headset still, the view stays put
    # while state frames keep arriving (Bo walks about).
    still = await page.evaluate(VIEW)
    await someone_walks(bo, page)
    await frames_pass(page, 10)
    assert await page.evaluate(VIEW) == still

    # The head and both hands move; Bo's replica sees each move by as much (the rig may be
    # turned, so distances, and heights, are what can be compared).
    before = pose_at(bo, ann)
    await page.evaluate(
        """() => {
          const h = window.headset;
          h.position.set(0.2, 1.6, -0.1);
          h.controllers.left.position.set(-0.35, 1.3, -0.3);
          h.controllers.right.position.set(0.45, 1.7, -0.5);
        }"""
    )

    left0, right0 = hands(before)

    def moved(c: RoomClient) -> bool:
        p = c.replica.pose_of(ann)
        if p is None or p.left is None or p.right is None:
            return False
        return (
            abs(mm_dist(p.head.pos, before.head.pos) - 223.6) < 3
            and abs(mm_dist(p.left.pos, left0.pos) - 244.9) < 3
            and abs(mm_dist(p.right.pos, right0.pos) - 300.0) < 3
        )

    await bo.wait_for(moved, WAIT_S)
    after = pose_at(bo, ann)
    left1, right1 = hands(after)
    assert after.head.pos[1] == pytest.approx(before.head.pos[1], abs=2)
    assert left1.pos[1] - left0.pos[1] == pytest.approx(-200, abs=2)
    assert right1.pos[1] - right0.pos[1] == pytest.approx(200, abs=2)

    # The rates: the headset's poses go at its frame rate (up to the page's pose rate), every
    # one reaches the server, and the server sends the room its state at the tick rate.
    tick_hz = media_server.settings.tick_hz
    ann_ent = bo.replica.by_member(ann)
    assert ann_ent is not None
    # Ann's poses as Bo's frames bring them, each counted once (a delta against an older
    # baseline repeats a change Bo has already seen).
    bo_updates = 0
    last_x = ann_ent.x

    def count_updates(msg: Any) -> None:
        nonlocal bo_updates, last_x
        if not isinstance(msg, m.Snapshot | m.Delta):
            return
        for e in msg.ents:
            if e.i == ann_ent.i and e.x is not None and e.x != last_x:
                bo_updates += 1
                last_x = e.x

    start: dict[str, Any] = await page.evaluate(
        """() => {
          const p = window.headset.position;
          window.sway = { t0: performance.now(), x: p.x, y: p.y, z: p.z };
          const w = window.wealthroom;
          return { t: performance.now(), sent: w.session.sent.pose, frames: w.scene.frames };
        }"""
    )
    loop = asyncio.get_running_loop()
    server_start, bo_frames_start, t0 = received.poses, bo.state_frames, loop.time()
    bo.listeners.append(count_updates)
    await page.wait_for_function(f"() => performance.now() >= {start['t'] + WINDOW_MS}")
    end: dict[str, Any] = await page.evaluate(
        """() => {
          window.sway = null;
          const w = window.wealthroom;
          return { t: performance.now(), sent: w.session.sent.pose, frames: w.scene.frames };
        }"""
    )
    bo.listeners.remove(count_updates)
    # The page's counts over the page's window, the server's and Bo's over this side's.
    at_server, bo_frames = received.poses - server_start, bo.state_frames - bo_frames_start
    here_s = loop.time() - t0
    seconds = (end["t"] - start["t"]) / 1000
    sent = end["sent"] - start["sent"]
    xr_frames = end["frames"] - start["frames"]
    print(
        f"headset frames {xr_frames / seconds:.1f}/s, poses sent {sent / seconds:.1f}/s,"
        f" received by the server {at_server / here_s:.1f}/s; the room's state frames to"
        f" Bo {bo_frames / here_s:.1f}/s ({tick_hz} Hz ticks), with Ann's pose"
        f" {bo_updates / here_s:.1f}/s"
    )
    # One pose per headset frame, up to the page's 60 a second on average, all received; the
    # room forwards them at the lesser of that and its tick rate, never one it did not get.
    assert sent >= 0.75 * min(xr_frames, 60 * seconds)
    assert at_server / here_s >= 0.75 * sent / seconds
    assert bo_frames <= tick_hz * here_s + 2
    assert bo_updates <= min(bo_frames, at_server + 2)
    assert bo_updates >= 0.5 * min(at_server, bo_frames)

    # Snap turn: the right stick pushed right turns the view 45 degrees clockwise about the
    # head, once however long it is held; pushed again after the centre, once more.
    await frames_pass(page, 3)
    before_turn = await page.evaluate(VIEW)
    bo_yaw = yaw_deg(unpack_quat(pose_at(bo, ann).head.rot))
    await page.evaluate("() => window.headset.controllers.right.updateAxes('thumbstick', 1, 0)")
    await page.wait_for_function("() => window.wealthroom.vr.view().turns === 1")
    await frames_pass(page, 20)
    assert (await page.evaluate(VIEW))["turns"] == 1
    await page.evaluate("() => window.headset.controllers.right.updateAxes('thumbstick', 0, 0)")
    await frames_pass(page, 3)
    after_turn = await page.evaluate(VIEW)
    for part in ("head", "camera"):
        assert turned(yaw_deg(before_turn[part][3:]), yaw_deg(after_turn[part][3:])) == (
            pytest.approx(-45, abs=0.1)
        )
    assert after_turn["head"][:3] == pytest.approx(before_turn["head"][:3], abs=0.001)
    await bo.wait_for(
        lambda c: abs(turned(bo_yaw, yaw_deg(unpack_quat(pose_at(c, ann).head.rot))) + 45) < 1,
        WAIT_S,
    )
    # And still nothing moves without input after the turn.
    await someone_walks(bo, page)
    await frames_pass(page, 10)
    assert await page.evaluate(VIEW) == after_turn
    await page.evaluate("() => window.headset.controllers.left.updateAxes('thumbstick', -1, 0)")
    await page.wait_for_function("() => window.wealthroom.vr.view().turns === 2")
    await page.evaluate("() => window.headset.controllers.left.updateAxes('thumbstick', 0, 0)")
    await frames_pass(page, 3)
    back = await page.evaluate(VIEW)
    assert turned(yaw_deg(before_turn["head"][3:]), yaw_deg(back["head"][3:])) == (
        pytest.approx(0, abs=0.1)
    )

    # The trigger, pointing at no seat, is push-to-talk: held, the microphone opens and the
    # server hears `ptt on` once it reaches it; let go, `ptt off`.
    await page.evaluate("() => window.headset.controllers.right.updateButtonValue('trigger', 1)")
    await page.wait_for_function(
        "() => window.wealthroom.state.voice?.on === true", timeout=MEDIA_WAIT_MS
    )
    await page.evaluate("() => window.headset.controllers.right.updateButtonValue('trigger', 0)")
    await page.wait_for_function("() => window.wealthroom.state.voice.on === false")
    assert await page.evaluate("() => window.xrSent") == [
        {"t": "voice", "mode": "ptt"},
        {"t": "ptt", "on": True},
        {"t": "ptt", "on": False},
    ]
    await bo.wait_for(lambda c: received.ptt() == [True, False], WAIT_S)

    # Standing up puts the view where the room puts her;
    # the trigger pointed at a free seat's ring takes her there on its release. These are the
    # moves of the view she does not make with her head, and she asked for each.
    await page.evaluate("() => window.wealthroom.vr.ask({ t: 'stand' })")
    await page.wait_for_function("() => window.wealthroom.vr.seatPlaced === ''")
    seat: str = await page.evaluate(AIM_AT_FREE_SEAT)
    await frames_pass(page, 3)
    await page.evaluate("() => window.headset.controllers.right.updateButtonValue('trigger', 1)")
    await frames_pass(page, 3)
    await page.evaluate("() => window.headset.controllers.right.updateButtonValue('trigger', 0)")
    await page.wait_for_function(f"() => window.wealthroom.vr.seatPlaced === {seat!r}")
    assert (await page.evaluate("() => window.xrSent"))[3:] == [{"t": "sit", "seat": seat}]
    await bo.wait_for(lambda c: (e := c.replica.by_member(ann)) is not None and e.s == seat, WAIT_S)
    assert received.ptt() == [True, False]  # pointed at a seat, the trigger does not talk
    await frames_pass(page, 3)
    at_seat = await page.evaluate(VIEW)
    eyes = await page.evaluate("() => window.wealthroom.scene.ownHead().pos")
    seat_pos = await page.evaluate(
        f"() => window.wealthroom.scene.layout.seats.find((s) => s.id === {seat!r}).pos"
    )
    assert at_seat["head"][:3] == pytest.approx(eyes, abs=0.002)
    assert [eyes[0], eyes[2]] == pytest.approx([seat_pos[0], seat_pos[2]], abs=0.05)

    # Leaving VR: the desktop's pose rate again.
    await page.evaluate("() => window.wealthroom.vr.toggle()")
    await page.wait_for_function("() => !window.wealthroom.vr.view().presenting")
    assert await page.evaluate("() => window.wealthroom.session.poseHz") == 30
    assert bo.errors == []
    assert await page.evaluate("() => window.wealthroom.state.errors") == []
    await bo.close()
    watch.assert_clean()
