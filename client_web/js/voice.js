// Questions by voice, the pure half (tested under Node; room_voice.js draws it). Someone in a
// headset cannot type: they hold a button or a controller's trigger while they speak
// (push-to-talk), or let every sentence count as a question while no advisor is speaking
// (hands-free). The server transcribes what our microphone sends over WebRTC and answers the
// speaker alone with `heard`: what it understood and what became of it.

import { deviceCause } from "./media.js";
import { HEARD_STATES, VOICE_MODES } from "./messages.js";

// `voice.mode`: `off` (the server's default: speech is only heard by people), `ptt`, `free`.
// `heard.st`: asked (it went through as a question), confirm (too unsure: ask us first),
// type (a language it cannot transcribe), cut (over 30 s), none (nothing usable).

/** Roles whose speech may become a question: those who may both ask and speak, less the
 * advisor, whose speech is for the customer (and pauses hands-free listening). */
const VOICE_ROLES = new Set(["customer", "guest"]);

export function voiceAllowed(role) {
  return VOICE_ROLES.has(role);
}

/**
 * What the server is told about the push-to-talk button, from what the person does. Several
 * things can hold it at once (the pointer, the space bar, either VR controller): the server
 * hears `ptt {on: true}` when the first is pressed, `{on: false}` when the last is let go,
 * and only while our microphone really reaches it (`ready`), since speech sent before the
 * peer is up never arrives. `send(msg)` returns false when the message could not go out.
 */
export class PushToTalk {
  constructor(send) {
    this.send = send;
    this.mode = "off";
    this.held = new Set();
    this.ready = false;
    this.told = false; // the last `ptt.on` the server received
  }

  get pressed() {
    return this.held.size > 0;
  }

  /** `source` starts holding; false (and nothing held) in hands-free mode, where speech
   * needs no button. The first press switches the server from `off` to `ptt`. */
  press(source) {
    if (this.mode === "free") return false;
    this.held.add(source);
    if (this.mode === "off") this.setMode("ptt");
    this.sync();
    return true;
  }

  release(source) {
    this.held.delete(source);
    this.sync();
  }

  /** Everything lets go: the window lost focus, the pointer was cancelled, the link dropped. */
  releaseAll() {
    this.held.clear();
    this.sync();
  }

  /** Whether our microphone is live and connected to the server. */
  setReady(ready) {
    this.ready = ready;
    this.sync();
  }

  setMode(mode) {
    if (!VOICE_MODES.includes(mode)) throw new RangeError(`unknown voice mode ${mode}`);
    if (mode === this.mode) return;
    if (mode !== "ptt") {
      // Let go first, so that the server never sees a button held in another mode.
      this.held.clear();
      this.sync();
    }
    this.mode = mode;
    this.send({ t: "voice", mode });
    this.sync();
  }

  /** The connection dropped: the server forgot the button with it. */
  lost() {
    this.told = false;
  }

  /** A new connection is a new member on the server, back at `off` with nothing held. */
  reconnected() {
    this.told = false;
    if (this.mode !== "off") this.send({ t: "voice", mode: this.mode });
    this.sync();
  }

  sync() {
    const on = this.mode === "ptt" && this.ready && this.held.size > 0;
    if (on !== this.told && this.send({ t: "ptt", on }) !== false) this.told = on;
  }
}

/** The hands-free toggle: on from `off` or `ptt`, and back to push-to-talk. */
export function toggledMode(mode) {
  return mode === "free" ? "ptt" : "free";
}

/**
 * How the hold-to-ask button looks: `hidden` for roles whose speech is never a question,
 * `disabled` in hands-free mode, `pressed` while held, and the i18n key of its label.
 * `starting`: held, but the microphone does not reach the server yet.
 */
export function holdButton({ role, mode, pressed, ready }) {
  if (!voiceAllowed(role)) return { hidden: true, disabled: true, pressed: false, label: "voice.hold" };
  if (mode === "free") return { hidden: false, disabled: true, pressed: false, label: "voice.free-listening" };
  if (pressed && !ready) return { hidden: false, disabled: false, pressed: true, label: "voice.starting" };
  if (pressed) return { hidden: false, disabled: false, pressed: true, label: "voice.listening" };
  return { hidden: false, disabled: false, pressed: false, label: "voice.hold" };
}

/**
 * The "Heard" line for a `heard` message: the i18n key of its wording (given `{text}`),
 * whether it asks "Did you mean …?" with Yes and No, and whether the person should type.
 * Unknown states read as nothing heard.
 */
export function heardLine(msg) {
  const st = HEARD_STATES.includes(msg?.st) ? msg.st : "none";
  const text = typeof msg?.text === "string" ? msg.text.trim() : "";
  if ((st === "asked" || st === "confirm" || st === "cut") && !text) {
    return { st: "none", key: "voice.heard-none", text, confirm: false, type: false };
  }
  return { st, key: `voice.heard-${st}`, text, confirm: st === "confirm", type: st === "type" };
}

/** The `ask` a "Yes" to "Did you mean …?" sends: the words the server heard, as typed. */
export function confirmAsk(msg) {
  const text = (msg?.text ?? "").trim();
  return text ? { t: "ask", text } : null;
}

// The voice panel words media.js's causes in fewer, shorter sentences.
const VOICE_CAUSES = {
  "not-allowed": "denied",
  "not-found": "missing",
  overconstrained: "missing",
  "not-readable": "busy",
};

/**
 * Why a microphone or camera could not be opened, from the DOMException name getUserMedia
 * rejected with: "denied", "missing", "busy" or "other". Pages word it (`voice.mic-…`,
 * `media.why-…`); the raw name ("NotFoundError") helps nobody.
 */
export function deviceProblem(name) {
  return VOICE_CAUSES[deviceCause(name)] ?? "other";
}
