"""Shared by the browser tests: Debian's Chromium and its flags, a watch on each page for
console errors and uncaught exceptions, opening the customer's room or the console, and what
the page's figures are made of."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from playwright.async_api import BrowserContext, ConsoleMessage, Page

from avatars.specialties import Specialty
from server.app import WealthroomServer

if TYPE_CHECKING:
    from scenes.scene import Scene

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


async def wait_async(
    page: Page, expression: str, arg: Any = None, *, timeout_ms: int = MEDIA_WAIT_MS
) -> Any:
    """Wait until the async JavaScript function ``expression`` resolves to a truthy value, and
    return that value. Playwright's ``wait_for_function`` does not await the promise an async
    predicate returns: a promise is truthy, so it would return at once whatever the check."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_ms / 1000
    while not (value := await page.evaluate(expression, arg)):
        if loop.time() >= deadline:
            raise TimeoutError(f"not true within {timeout_ms} ms: {expression}")
        await page.wait_for_timeout(250)  # the statistics it reads change a few times a second
    return value


async def wait_heard(page: Page, pattern: str, above: float = 0.01) -> dict[str, Any]:
    """Wait until the voice whose source matches ``pattern`` sounds in the page's Web Audio
    (its level above ``above``), which is what the person hears: the ``<audio>`` elements are
    muted, so the inbound statistics' audio energy stays zero."""
    found = await page.wait_for_function(
        """([pattern, above]) => window.wealthroom.voices()
             .find((v) => new RegExp(pattern).test(v.src) && v.heard > above) ?? null""",
        arg=[pattern, above],
        timeout=MEDIA_WAIT_MS,
    )
    voice: dict[str, Any] = await found.json_value()
    return voice


async def wait_inbound(page: Page, pattern: str, condition: str) -> list[dict[str, Any]]:
    """Wait until an incoming track whose source matches ``pattern`` has statistics ``s`` for
    which ``condition`` (JavaScript) holds."""
    try:
        await wait_async(
            page,
            f"""async (pattern) => {{
              const rows = await window.wealthroom.media.inbound();
              return rows.some((s) => new RegExp(pattern).test(s.src) && ({condition}));
            }}""",
            pattern,
        )
    except TimeoutError as exc:
        raise TimeoutError(f"{condition} never held; {pattern}: {await inbound(page, '')}") from exc
    return await inbound(page, pattern)


# The people of the room: one rigged glTF humanoid (tools/build_avatars.py), its joints.
FIGURE_MODEL = "/scenes/assets/avatar.glb"
FIGURE_JOINTS = 17


async def figures(page: Page) -> list[dict[str, Any]]:
    """Each figure the page draws, as the model shows it (``window.wealthroom.figures()``)."""
    drawn: list[dict[str, Any]] = await page.evaluate("() => window.wealthroom.figures()")
    return drawn


def assert_dressed(drawn: list[dict[str, Any]], scene: Scene) -> int:
    """Every figure in ``drawn`` (``figures()``) whose entity the server's ``scene`` still has is
    the avatar model, dressed from that entity's look and posed as it sits or stands: only the
    hair mesh of its style shown, the build's and the face shape's morph weights, the height's
    scale, and thighs along the figure's forward when seated, down when standing. Returns how
    many it checked."""
    checked = 0
    for fig in drawn:
        ent = scene.entities.get(fig["entity"])
        if ent is None:  # gone from the room since the page drew it
            continue
        look, where = ent.look, (fig["entity"], fig["kind"])
        assert fig["model"] == FIGURE_MODEL, where
        assert (fig["joints"], fig["skinned"] >= 10) == (FIGURE_JOINTS, True), (where, fig)
        assert fig["hairShown"] == ([] if look.hair == "none" else [look.hair]), (where, look)
        weights = {"broad": float(look.body == "broad"), "slim": float(look.body == "slim")}
        assert {k: fig["body"][k] for k in weights} == weights, (where, look, fig["body"])
        shapes = {k: float(look.face == k) for k in ("round", "square", "heart", "long")}
        assert {k: fig["face"][k] for k in shapes} == shapes, (where, look, fig["face"])
        assert abs(fig["scale"] - (look.height or 170) / 170) < 0.002, (where, look, fig)
        seated = bool(ent.seat)
        assert (fig["seated"], fig["sitting"]) == (seated, seated), (where, fig)
        forward = fig["forward"]
        for thigh in fig["thighs"]:
            if seated:  # along the floor, the way the figure faces
                along = sum(a * b for a, b in zip(thigh, forward, strict=True))
                assert along > 0.95, (where, thigh, forward)
                assert abs(thigh[1]) < 0.1, (where, thigh)
            else:
                assert thigh[1] < -0.95, (where, thigh)
        checked += 1
    return checked
