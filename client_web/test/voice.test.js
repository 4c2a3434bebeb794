// The pure half of questions by voice (voice.js): what the server is told as the button, the
// space bar and the controllers are held and let go, the hands-free switch, how the button
// and the "Heard" line read, and the words for a microphone that could not be opened.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";

import { decode, encode, Direction } from "../js/codec.js";
import {
  PushToTalk,
  confirmAsk,
  deviceProblem,
  heardLine,
  holdButton,
  toggledMode,
  voiceAllowed,
} from "../js/voice.js";

/** A PushToTalk whose messages land in `sent`, each encoded as the wire would take it. */
function recorder({ connected = true } = {}) {
  const sent = [];
  const link = { connected };
  const ptt = new PushToTalk((msg) => {
    encode(msg);
    if (!link.connected) return false;
    sent.push(msg);
    return true;
  });
  return { ptt, sent, link };
}

describe("push-to-talk", () => {
  test("the first press switches the server to ptt; on and off follow the microphone", () => {
    const { ptt, sent } = recorder();
    assert.equal(ptt.press("pointer1"), true);
    // The microphone does not reach the server yet: speech now would be lost.
    assert.deepEqual(sent, [{ t: "voice", mode: "ptt" }]);
    ptt.setReady(true);
    assert.deepEqual(sent.slice(1), [{ t: "ptt", on: true }]);
    ptt.release("pointer1");
    assert.deepEqual(sent.slice(2), [{ t: "ptt", on: false }]);
    ptt.press("pointer1");
    ptt.release("pointer1");
    assert.deepEqual(sent.slice(3), [
      { t: "ptt", on: true },
      { t: "ptt", on: false },
    ]);
  });

  test("held by several things at once, it is let go with the last", () => {
    const { ptt, sent } = recorder();
    ptt.setReady(true);
    ptt.press("key");
    ptt.press("xr0.trigger");
    ptt.press("key"); // a repeat is the same hold
    ptt.release("key");
    assert.equal(ptt.pressed, true);
    ptt.release("xr0.trigger");
    assert.equal(ptt.pressed, false);
    assert.deepEqual(sent, [
      { t: "voice", mode: "ptt" },
      { t: "ptt", on: true },
      { t: "ptt", on: false },
    ]);
    ptt.release("key"); // letting go of nothing says nothing
    assert.equal(sent.length, 3);
  });

  test("released before the microphone came up, nothing was on", () => {
    const { ptt, sent } = recorder();
    ptt.press("pointer1");
    ptt.release("pointer1");
    ptt.setReady(true);
    assert.deepEqual(sent, [{ t: "voice", mode: "ptt" }]);
  });

  test("the microphone dropping while held lets go on the server", () => {
    const { ptt, sent } = recorder();
    ptt.setReady(true);
    ptt.press("pointer1");
    ptt.setReady(false);
    assert.deepEqual(sent.at(-1), { t: "ptt", on: false });
    ptt.setReady(true); // still held: on again
    assert.deepEqual(sent.at(-1), { t: "ptt", on: true });
  });

  test("hands-free needs no button, and switching to it lets go first", () => {
    const { ptt, sent } = recorder();
    ptt.setReady(true);
    ptt.press("key");
    ptt.setMode(toggledMode(ptt.mode));
    assert.equal(ptt.mode, "free");
    assert.deepEqual(sent.slice(-2), [
      { t: "ptt", on: false },
      { t: "voice", mode: "free" },
    ]);
    assert.equal(ptt.press("pointer1"), false);
    assert.equal(ptt.pressed, false);
    ptt.setMode(toggledMode(ptt.mode));
    assert.deepEqual(sent.at(-1), { t: "voice", mode: "ptt" });
    ptt.setMode("ptt");
    assert.deepEqual(sent.at(-1), { t: "voice", mode: "ptt" }, "the same mode is not sent twice");
    assert.throws(() => ptt.setMode("loud"), RangeError);
  });

  test("after a reconnect the new member hears the mode again, and the button if held", () => {
    const { ptt, sent, link } = recorder();
    ptt.setMode("free");
    link.connected = false;
    ptt.lost();
    ptt.setMode("ptt"); // not delivered
    ptt.press("key");
    ptt.setReady(true); // not delivered either
    link.connected = true;
    sent.length = 0;
    ptt.reconnected();
    assert.deepEqual(sent, [
      { t: "voice", mode: "ptt" },
      { t: "ptt", on: true },
    ]);
  });

  test("off stays unsaid after a reconnect", () => {
    const { ptt, sent } = recorder();
    ptt.reconnected();
    assert.deepEqual(sent, []);
  });
});

describe("the hold-to-ask button", () => {
  test("only those whose speech may be a question see it", () => {
    for (const role of ["customer", "guest"]) assert.equal(voiceAllowed(role), true);
    for (const role of ["advisor", "observer", "bot", null]) {
      assert.equal(voiceAllowed(role), false);
      assert.equal(holdButton({ role, mode: "off", pressed: false, ready: false }).hidden, true);
    }
  });

  test("its label and pressed state follow the hold", () => {
    const base = { role: "customer", mode: "ptt", pressed: false, ready: true };
    assert.deepEqual(holdButton(base), { hidden: false, disabled: false, pressed: false, label: "voice.hold" });
    assert.equal(holdButton({ ...base, pressed: true }).label, "voice.listening");
    assert.equal(holdButton({ ...base, pressed: true }).pressed, true);
    assert.equal(holdButton({ ...base, pressed: true, ready: false }).label, "voice.starting");
    assert.deepEqual(holdButton({ ...base, mode: "free" }), {
      hidden: false,
      disabled: true,
      pressed: false,
      label: "voice.free-listening",
    });
  });
});

describe("the heard line", () => {
  const heard = (st, text = "what about my bonds") => ({ t: "heard", text, conf: 0.9, lang: "en", st });

  test("each state has its own wording; only confirm asks back", () => {
    for (const st of ["asked", "confirm", "type", "cut", "none"]) {
      const line = heardLine(heard(st));
      assert.equal(line.key, `voice.heard-${st}`);
      assert.equal(line.confirm, st === "confirm");
      assert.equal(line.type, st === "type");
    }
  });

  test("a question without words reads as nothing heard", () => {
    assert.equal(heardLine(heard("asked", "  ")).key, "voice.heard-none");
    assert.equal(heardLine(heard("confirm", "")).confirm, false);
    assert.equal(heardLine({ t: "heard", st: "later" }).key, "voice.heard-none");
  });

  test("yes asks the words heard, as an ordinary question", () => {
    const ask = confirmAsk(heard("confirm", " what about my bonds "));
    assert.deepEqual(ask, { t: "ask", text: "what about my bonds" });
    encode(ask);
    assert.equal(confirmAsk(heard("confirm", "")), null);
  });

  test("the messages are in the catalogue both ways", () => {
    const frame = encode({ t: "heard", text: "你好", conf: 0.4, lang: "zh", st: "confirm" }, Direction.SERVER);
    assert.deepEqual(decode(frame), { t: "heard", text: "你好", conf: 0.4, lang: "zh", st: "confirm" });
    assert.deepEqual(decode(encode({ t: "voice", mode: "free" }), Direction.CLIENT), { t: "voice", mode: "free" });
    assert.deepEqual(decode(encode({ t: "ptt", on: true }), Direction.CLIENT), { t: "ptt", on: true });
    assert.throws(() => encode({ t: "voice", mode: "loud" }));
    assert.throws(() => encode({ t: "heard", text: "", conf: 1.5, lang: "en", st: "none" }, Direction.SERVER));
  });
});

describe("a microphone that could not be opened", () => {
  test("is said in words, never by the browser's error name", () => {
    assert.equal(deviceProblem("NotAllowedError"), "denied");
    assert.equal(deviceProblem("SecurityError"), "denied");
    assert.equal(deviceProblem("NotFoundError"), "missing");
    assert.equal(deviceProblem("OverconstrainedError"), "missing");
    assert.equal(deviceProblem("NotReadableError"), "busy");
    assert.equal(deviceProblem(null), "other");
    assert.equal(deviceProblem("TypeError"), "other");
  });
});

describe("the wording", () => {
  // i18n.js reads the browser's language when loaded, so its tables are read as text here.
  const source = readFileSync(new URL("../js/i18n.js", import.meta.url), "utf8");
  const zhAt = source.indexOf("\n  zh: {");
  const keys = (part) => new Set([...part.matchAll(/^ {4}"([\w.-]+)":/gm)].map((m) => m[1]));
  const en = keys(source.slice(0, zhAt));
  const zh = keys(source.slice(zhAt));

  test("every key the panel can show is in English and Chinese", () => {
    const base = { role: "customer", ready: true };
    const wanted = new Set(["voice.title", "voice.free", "voice.free-title", "voice.yes", "voice.no", "voice.declined"]);
    for (const mode of ["off", "ptt", "free"]) {
      for (const pressed of [false, true]) {
        for (const ready of [false, true]) wanted.add(holdButton({ ...base, mode, pressed, ready }).label);
      }
    }
    for (const st of ["asked", "confirm", "type", "cut", "none"]) wanted.add(heardLine({ st, text: "x" }).key);
    for (const name of ["NotAllowedError", "NotFoundError", "NotReadableError", "Other"]) {
      wanted.add(`voice.mic-${deviceProblem(name)}`);
      wanted.add(`media.why-${deviceProblem(name)}`);
    }
    for (const key of wanted) {
      assert.ok(en.has(key), `${key} in English`);
      assert.ok(zh.has(key), `${key} in Chinese`);
    }
  });
});
