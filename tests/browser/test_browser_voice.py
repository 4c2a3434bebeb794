"""Questions by voice in a real browser: Debian's Chromium driven by Playwright, its fake
microphone playing espeak-ng reading a banking question, against a real server on a loopback
port that receives the page's microphone over WebRTC.

What the page sends is read from the page (its session's ``send``, wrapped to keep the voice
messages); what it shows, from the DOM. Waiting is always on a condition in the page, never a
sleep; any console error or uncaught exception in any page fails the test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from server.app import WealthroomServer
from server.speech.segmenter import SAMPLE_RATE
from tests.browser.pages import ARGS, CHROMIUM, VIEWPORT, Watch, open_room, room_link, wait_async
from tests.conftest import Mint
from tests.speech_audio import silence, speak_16k, write_wav

# Peers over loopback with DTLS in Python on a small machine: give them time.
MEDIA_WAIT_MS = 45_000
QUESTION = "Can you tell me about bond funds?"

pytestmark = [
    pytest.mark.media,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason="needs Debian's chromium (scripts/system-packages)"
    ),
]

# Keep every voice, ptt and ask message the page sends, in order, in `window.voiceSent`.
RECORD_SENT = """() => {
  const session = window.wealthroom.session;
  const send = session.send.bind(session);
  window.voiceSent = [];
  session.send = (msg) => {
    if (["voice", "ptt", "ask"].includes(msg.t)) window.voiceSent.push(msg);
    return send(msg);
  };
}"""

# Keep every `heard` the page receives in `window.heardAll`.
RECORD_HEARD = """() => {
  window.heardAll = [];
  window.wealthroom.session.on("direct", (msg) => {
    if (msg.t === "heard") window.heardAll.push(msg);
  });
}"""

# Deliver a `heard` to the page as the server would: encoded and decoded by the page's codec.
INJECT_HEARD = """async (msg) => {
  const { Direction, decode, encode } = await import("/js/codec.js");
  window.wealthroom.session.received(decode(encode({ t: "heard", ...msg }, Direction.SERVER)));
}"""

# getUserMedia refusing as a browser does when the person blocks the microphone.
DENY_MICROPHONE = """navigator.mediaDevices.getUserMedia = async () => {
  throw new DOMException("Permission denied", "NotAllowedError");
};"""


@pytest.fixture
def question_wav(tmp_path: Path) -> Path:
    """The fake microphone's input: the question between pauses, 16 kHz mono (Chromium plays
    it in a loop from when the microphone opens)."""
    pcm = np.concatenate((silence(0.6), speak_16k(QUESTION), silence(1.2)))
    return write_wav(tmp_path / "question.wav", pcm, SAMPLE_RATE)


@pytest.fixture
async def voice_context(question_wav: Path) -> AsyncIterator[BrowserContext]:
    async with async_playwright() as pw:
        args = [*ARGS, f"--use-file-for-fake-audio-capture={question_wav}"]
        browser: Browser = await pw.chromium.launch(executable_path=CHROMIUM, args=args)
        ctx = await browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
        await ctx.grant_permissions(["microphone"])
        ctx.set_default_timeout(MEDIA_WAIT_MS)
        yield ctx
        await ctx.close()
        await browser.close()


async def sent(page: Page) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = await page.evaluate("() => window.voiceSent")
    return messages


async def wait_sent(page: Page, count: int) -> list[dict[str, Any]]:
    await page.wait_for_function("(n) => window.voiceSent.length >= n", arg=count)
    return await sent(page)


async def heard_text(page: Page) -> str:
    return await page.locator("#heard-text").inner_text()


async def test_hold_to_ask_hands_free_and_the_heard_line(
    media_server: WealthroomServer, mint_media: Mint, voice_context: BrowserContext, watch: Watch
) -> None:
    # A microphone the person blocked: said in words, and nothing is held.
    bo = watch.attach(await voice_context.new_page(), "Bo")
    await bo.add_init_script(DENY_MICROPHONE)
    await bo.goto(room_link(media_server, mint_media(name="Bo", risk=3)))
    await bo.wait_for_function("() => window.wealthroom && window.wealthroom.joined")
    await bo.evaluate(RECORD_SENT)
    hold = bo.locator("#hold-to-ask")
    await hold.hover()
    await bo.mouse.down()
    note = bo.locator("#voice-note")
    await note.wait_for(state="visible")
    assert "microphone is blocked" in await note.inner_text()
    assert await note.get_attribute("role") == "alert"
    assert await hold.get_attribute("aria-pressed") == "false"
    assert "NotAllowedError" not in await bo.locator("body").inner_text()
    await bo.mouse.up()
    assert await sent(bo) == [{"t": "voice", "mode": "ptt"}]

    # What the server heard is shown to the speaker at once, each outcome in its own words.
    # (Bo's microphone sends nothing, so no `heard` of the server's comes between these.)
    assert await bo.locator("#heard").get_attribute("aria-live") == "polite"
    heard = {"text": "what about my bonds", "conf": 0.92, "lang": "en"}
    await bo.evaluate(INJECT_HEARD, {**heard, "st": "asked"})
    assert await heard_text(bo) == "Heard: “what about my bonds”"
    await bo.evaluate(INJECT_HEARD, {**heard, "st": "cut"})
    assert "cut after 30 seconds" in await heard_text(bo)
    await bo.evaluate(INJECT_HEARD, {"text": "", "conf": 0.0, "lang": "en", "st": "type"})
    assert "Please type your question" in await heard_text(bo)
    await bo.evaluate(INJECT_HEARD, {"text": "", "conf": 0.0, "lang": "en", "st": "none"})
    assert "Nothing clear was heard" in await heard_text(bo)
    await bo.click("#lang-toggle")
    assert await heard_text(bo) == "没有听清。请按住按钮说话，说完再松开。"
    assert await hold.inner_text() == "按住提问"
    await bo.click("#lang-toggle")

    # Unsure: "Did you mean …?"; yes asks it as if typed, and the expert answers.
    await bo.evaluate(INJECT_HEARD, {**heard, "conf": 0.41, "st": "confirm"})
    assert await heard_text(bo) == "Did you mean “what about my bonds”?"
    await bo.locator("#heard-confirm").wait_for(state="visible")
    await bo.click("#heard-yes")
    assert (await wait_sent(bo, 2))[1] == {"t": "ask", "text": "what about my bonds"}
    assert await bo.locator("#heard-confirm").is_hidden()
    assert await heard_text(bo) == "Heard: “what about my bonds”"
    await bo.locator("#experts .expert-tag").first.wait_for(state="visible")
    await bo.locator("#log li.answer").first.wait_for(state="visible")
    assert (await bo.evaluate("() => window.wealthroom.state.answers"))[0]["sp"] == "bonds"
    # No asks nothing.
    await bo.evaluate(INJECT_HEARD, {**heard, "conf": 0.3, "st": "confirm"})
    await bo.click("#heard-no")
    assert await heard_text(bo) == "Not asked. Hold the button to ask again."
    assert len(await sent(bo)) == 2
    await bo.close()

    # Holding opens the microphone; the server hears "on" once the microphone reaches it.
    page = await open_room(
        voice_context, watch, room_link(media_server, mint_media(name="Ann")), "Ann"
    )
    await page.evaluate(RECORD_SENT)
    hold = page.locator("#hold-to-ask")
    assert await hold.inner_text() == "Hold to ask"
    assert await hold.get_attribute("aria-pressed") == "false"
    await hold.hover()
    await page.mouse.down()
    assert await hold.get_attribute("aria-pressed") == "true"
    await page.wait_for_function("() => window.wealthroom.state.voice.on", timeout=MEDIA_WAIT_MS)
    assert await hold.inner_text() == "Listening… let go to send"
    assert await page.locator("#mic-button").inner_text() == "Microphone on"
    await page.mouse.up()
    assert await wait_sent(page, 3) == [
        {"t": "voice", "mode": "ptt"},
        {"t": "ptt", "on": True},
        {"t": "ptt", "on": False},
    ]
    assert await hold.get_attribute("aria-pressed") == "false"

    # The space bar holds it too, while the button has focus.
    await hold.focus()
    await page.keyboard.down(" ")
    await wait_sent(page, 4)
    await page.keyboard.up(" ")
    assert (await wait_sent(page, 5))[3:] == [{"t": "ptt", "on": True}, {"t": "ptt", "on": False}]

    # Hands-free: every sentence is a question, no button; and back.
    free = page.locator("#hands-free")
    await free.click()
    assert (await wait_sent(page, 6))[5] == {"t": "voice", "mode": "free"}
    assert await free.get_attribute("aria-pressed") == "true"
    assert await hold.is_disabled()
    assert await hold.inner_text() == "Hands-free: just speak"
    await free.click()
    assert (await wait_sent(page, 7))[6] == {"t": "voice", "mode": "ptt"}
    assert await free.get_attribute("aria-pressed") == "false"
    assert not await hold.is_disabled()
    watch.assert_clean()


async def test_a_spoken_question_brings_the_expert_who_answers_it(
    media_server: WealthroomServer, mint_media: Mint, voice_context: BrowserContext, watch: Watch
) -> None:
    page = await open_room(
        voice_context, watch, room_link(media_server, mint_media(name="Ann", risk=3)), "Ann"
    )
    await page.evaluate(RECORD_SENT)
    await page.evaluate(RECORD_HEARD)
    await page.locator("#hold-to-ask").hover()
    await page.mouse.down()
    await page.wait_for_function("() => window.wealthroom.state.voice.on", timeout=MEDIA_WAIT_MS)
    # Hold while the fake microphone plays the file round three times (50 audio packets a
    # second), so that two whole readings of the question fall inside the hold.
    seconds = 3 * (0.6 + len(speak_16k(QUESTION)) / SAMPLE_RATE + 1.2)
    start = await page.evaluate("async () => (await window.wealthroom.media.outbound()).audio ?? 0")
    await wait_async(
        page,
        "async (n) => ((await window.wealthroom.media.outbound()).audio ?? 0) >= n",
        start + int(50 * seconds),
    )
    await page.mouse.up()
    assert (await sent(page))[:2] == [{"t": "voice", "mode": "ptt"}, {"t": "ptt", "on": True}]

    # The hold began somewhere in the file's loop: a piece of a reading may be heard first.
    # One whole reading is heard as the question, shown at once, and brings its expert.
    words = await page.wait_for_function(
        """() => window.heardAll.find((h) => h.st === "asked"
             && /\\b(bonds?|funds?)\\b/i.test(h.text))?.text""",
        timeout=MEDIA_WAIT_MS,
    )
    assert await page.locator("#heard").is_visible()
    print(f"heard: {await page.evaluate('() => window.heardAll')}")
    await page.wait_for_function(
        "() => window.wealthroom.state.experts.some((e) => ['bonds', 'funds'].includes(e.sp))"
    )
    await page.locator("#log li.question").first.wait_for(state="visible")
    await page.locator("#log li.answer").first.wait_for(state="visible")
    assert await words.json_value()
    state = await page.evaluate("() => window.wealthroom.state")
    assert {e["sp"] for e in state["experts"]} & {"bonds", "funds"}
    assert state["errors"] == []
    watch.assert_clean()
