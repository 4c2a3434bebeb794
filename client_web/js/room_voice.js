// Questions by voice: the large "Hold to ask" button (pointer, touch, or the space bar while it
// has focus; in VR, a controller: see xr.js), the hands-free switch, and the "Heard" line the
// server's `heard` fills for the speaker alone, with "Did you mean …?" when it was unsure.
// Holding the button opens the microphone if it is not open yet. The logic is voice.js's.

import { byId } from "./dom.js";
import { t } from "./i18n.js";
import { PushToTalk, confirmAsk, deviceProblem, heardLine, holdButton, toggledMode, voiceAllowed } from "./voice.js";

export function mountVoice({ state, session }, media) {
  const panel = byId("voice-panel");
  const hold = byId("hold-to-ask");
  const holdLabel = hold.querySelector(".hold-label");
  const free = byId("hands-free");
  const heard = byId("heard");
  const heardText = byId("heard-text");
  const confirm = byId("heard-confirm");
  const note = byId("voice-note");

  const ptt = new PushToTalk((msg) => session.send(msg));
  let lastHeard = null; // the latest `heard`, with `reply` ("yes" or "no") once confirmed
  let problem = null; // i18n key: why the microphone could not be opened
  let deviceError = null; // the browser's name for the last failure to open a device

  /** Our microphone is live and reaches the server: speech sent now is heard. */
  function micReady() {
    return (
      Boolean(media.localTrack("audio")) &&
      !media.muted.has("audio") &&
      media.sending.has("audio") &&
      media.pc?.connectionState === "connected"
    );
  }

  function render() {
    const b = holdButton({ role: state.role, mode: ptt.mode, pressed: ptt.pressed, ready: ptt.ready });
    panel.hidden = b.hidden;
    hold.disabled = b.disabled;
    hold.setAttribute("aria-pressed", String(b.pressed));
    hold.dataset.state = b.pressed ? (ptt.ready ? "on" : "starting") : "idle";
    holdLabel.dataset.i18n = b.label;
    holdLabel.textContent = t(b.label);
    free.setAttribute("aria-pressed", String(ptt.mode === "free"));
    free.title = t("voice.free-title");
    renderHeard();
    note.hidden = !problem;
    note.textContent = problem ? t(problem) : "";
    state.voice = { mode: ptt.mode, pressed: ptt.pressed, ready: ptt.ready, on: ptt.told, heard: lastHeard, problem };
  }

  function renderHeard() {
    heard.hidden = !lastHeard;
    if (!lastHeard) return;
    const line = heardLine(lastHeard);
    heard.dataset.st = line.st;
    if (lastHeard.reply === "no") heardText.textContent = t("voice.declined");
    else if (lastHeard.reply === "yes") heardText.textContent = t("voice.heard-asked", { text: line.text });
    else heardText.textContent = t(line.key, { text: line.text });
    confirm.hidden = !line.confirm || Boolean(lastHeard.reply);
  }

  // --- holding -----------------------------------------------------------------------------------

  function press(source) {
    if (!voiceAllowed(state.role) || !ptt.press(source)) return;
    problem = null;
    ensureMicrophone();
    render();
  }

  function release(source) {
    ptt.release(source);
    render();
  }

  /** Open the microphone if it is not (asking the browser's permission), or switch it back on. */
  async function ensureMicrophone() {
    if (media.localTrack("audio")) {
      if (media.muted.has("audio")) media.setMuted("audio", false);
      return;
    }
    if (media.busy) return;
    deviceError = null;
    try {
      await media.start({ send: [...media.sendingKinds, "audio"] });
    } catch (err) {
      deviceError = err?.name ?? null;
    }
    if (media.localTrack("audio")) return;
    problem = `voice.mic-${deviceProblem(deviceError)}`;
    ptt.releaseAll();
    if (ptt.mode === "free") ptt.setMode("ptt");
    render();
  }

  hold.addEventListener("pointerdown", (e) => {
    if (e.button !== 0) return;
    hold.setPointerCapture?.(e.pointerId);
    press(`pointer${e.pointerId}`);
  });
  for (const type of ["pointerup", "pointercancel", "lostpointercapture"]) {
    hold.addEventListener(type, (e) => release(`pointer${e.pointerId}`));
  }
  // A long touch would open the context menu (and cancel the pointer) instead of talking.
  hold.addEventListener("contextmenu", (e) => e.preventDefault());
  hold.addEventListener("keydown", (e) => {
    if (e.key !== " ") return;
    e.preventDefault();
    if (!e.repeat) press("key");
  });
  hold.addEventListener("keyup", (e) => {
    if (e.key !== " ") return;
    e.preventDefault();
    release("key");
  });
  hold.addEventListener("blur", () => release("key"));
  // Switching away while holding: the key-up or pointer-up goes elsewhere.
  window.addEventListener("blur", () => {
    ptt.releaseAll();
    render();
  });

  free.addEventListener("click", () => {
    const next = toggledMode(ptt.mode);
    problem = null;
    ptt.setMode(next);
    if (next === "free") ensureMicrophone();
    render();
  });

  // --- the server's side ---------------------------------------------------------------------------

  byId("heard-yes").addEventListener("click", () => {
    const ask = confirmAsk(lastHeard);
    if (!ask || !session.send(ask)) return;
    lastHeard = { ...lastHeard, reply: "yes" };
    render();
  });
  byId("heard-no").addEventListener("click", () => {
    lastHeard = { ...lastHeard, reply: "no" };
    render();
  });

  session.on("direct", (msg) => {
    if (msg.t !== "heard") return;
    lastHeard = { ...msg };
    render();
  });
  session.on("welcome", render);
  session.on("status", ({ state: s }) => {
    if (s === "joined") ptt.reconnected();
    else ptt.lost();
    render();
  });
  media.on("failed", ({ devices, msg }) => {
    if (devices) deviceError = msg;
  });
  media.on("state", () => {
    // Media stopped altogether (left, or the server has none): nothing is listened to.
    if (!media.running && !media.busy && ptt.mode !== "off") ptt.setMode("off");
    ptt.setReady(micReady());
    render();
  });

  /** A VR controller (`source`) pressed or let go of push-to-talk. */
  function talk(source, on) {
    if (on) press(source);
    else release(source);
  }

  render();
  return { render, talk };
}
