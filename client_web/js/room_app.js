// The room page: joins the room named in the link, draws it, and carries the conversation
// (chat, questions to the digital experts and their answers, the hand-off to a person), the
// step-up before the portfolio, voice and video (the microphone and camera buttons, people's
// cameras, experts' voices, the recording notice), and, for an advisor, the tools to present,
// to call experts and to record.
// Everything it knows is also on `window.wealthroom`, for support staff and for tests.

import { CloseCode, ErrorCode } from "./codec.js";
import { RoomSession } from "./connection.js";
import { byId, clock, el } from "./dom.js";
import { applyStatic, onLangChange, specialty, t, toggleLang } from "./i18n.js";
import { fragmentParams, sameOriginSocket, tokenClaims } from "./link_params.js";
import { RoomMedia } from "./media.js";
import { SPECIALTIES } from "./messages.js";
import { accessibilityOn, applyAccessibility } from "./prefs.js";
import { RoomScene } from "./room_scene.js";
import { codePoints } from "./schema.js";
import { Limits } from "./protocol.js";
import { VrMode, vrSupported } from "./xr.js";

// --- the link ----------------------------------------------------------------------------------

const LINK_KEY = "wealthroom.link";

/** Room, token and the rest from the fragment; kept per tab so that a reload still works,
 * and taken out of the address bar so the token is not copied along with it. */
function readLink() {
  let params = fragmentParams();
  if (params.token) {
    sessionStorage.setItem(LINK_KEY, JSON.stringify(params));
  } else {
    const saved = JSON.parse(sessionStorage.getItem(LINK_KEY) ?? "null");
    if (saved && (!params.room || saved.room === params.room)) params = saved;
  }
  if (params.room) history.replaceState(null, "", `${location.pathname}#room=${encodeURIComponent(params.room)}`);
  return params;
}

const link = readLink();
const claims = link.token ? tokenClaims(link.token) : {};
const roomId = link.room || claims.room || "demo";
const displayName = link.name || claims.name || "Guest";

// --- state, for the page and for whoever inspects it ------------------------------------------------

const state = {
  room: roomId,
  status: "connecting",
  closeCode: null,
  member: null,
  role: null,
  messages: [], // every reliable message, by seq
  chat: [],
  answers: [],
  handoff: null,
  presented: {}, // screen id -> latest presented message
  holdings: null,
  verifiedUntil: null,
  errors: [],
  experts: [],
  people: [], // avatars: {entity, member, name, role, mic, cam}
  recording: null, // {rec, by, days, notice, seen} while the session is recorded
  media: null, // what media runs (RoomMedia.summary())
};

const scene = new RoomScene(byId("scene"));
const session = new RoomSession(link.ws || sameOriginSocket(`/ws/${encodeURIComponent(roomId)}`), link.token ?? "", {
  name: displayName.slice(0, Limits.MAX_NAME_CHARS),
});

window.wealthroom = {
  state,
  session,
  scene,
  get joined() {
    return session.joined;
  },
  get duplicates() {
    return session.duplicates;
  },
  screens: () => scene.screensShown(),
  media: null, // set below
  mouths: () => scene.mouths(),
  videos: () => scene.videosShown(),
  stats: () => ({ ...scene.stats(), sent: { ...session.sent }, tick: session.replica.tick, rate: session.welcome?.rate, poseHz: session.poseHz }),
  debug: {
    /** Cut the connection as a network failure would: the page reconnects by itself
     * (with `{hold: true}`, only when `resume()` is called). */
    cut: (options) => session.cut(options),
    resume: () => session.resume(),
  },
};

// --- status ----------------------------------------------------------------------------------

const statusEl = byId("status");

function closeText(code) {
  switch (code) {
    case CloseCode.TOKEN_EXPIRED:
      return t("status.expired");
    case CloseCode.TOKEN_INVALID:
    case CloseCode.ROOM_NOT_ALLOWED:
      return t("status.invalid");
    case CloseCode.REMOVED:
      return t("status.removed");
    case CloseCode.NORMAL:
      return t("status.left");
    default:
      return t("status.closed");
  }
}

function renderStatus() {
  statusEl.dataset.state = state.status;
  statusEl.textContent =
    state.status === "joined"
      ? t("status.connected")
      : state.status === "reconnecting"
        ? t("status.reconnecting")
        : state.status === "closed"
          ? closeText(state.closeCode)
          : t("status.connecting");
  byId("composer-note").hidden = state.status === "joined" || !byId("message").value;
}

session.on("status", ({ state: s, code }) => {
  state.status = s;
  if (s === "closed") state.closeCode = code ?? null;
  renderStatus();
});

session.on("welcome", (w) => {
  state.member = w.member;
  state.role = w.role;
  scene.setTickHz(w.tick_hz);
  scene.setMember(w.member);
  byId("advisor-panel").hidden = w.role !== "advisor";
  byId("portfolio-button").hidden = w.role !== "customer";
  byId("help-button").hidden = !["customer", "guest"].includes(w.role);
  renderMediaButtons();
});

// --- the 3D room -----------------------------------------------------------------------------

session.on("state", ({ tick }) => {
  scene.onState(tick, session.replica, performance.now() / 1000);
  renderExperts();
  renderPeople();
  byId("stand-button").hidden = !scene.ownSeat();
});

scene.onFrame = () => session.flushPose();

scene.load().catch((err) => {
  console.error("could not load the room's layout", err);
  showToast(String(err.message ?? err));
});

const viewToggle = byId("view-toggle");
viewToggle.addEventListener("click", () => {
  const next = scene.viewMode === "room" ? "seat" : "room";
  if (next === "seat") scene.resetLook();
  scene.setViewMode(next);
  viewToggle.dataset.i18n = next === "room" ? "view.seat" : "view.room";
  viewToggle.textContent = t(viewToggle.dataset.i18n);
});

byId("stand-button").addEventListener("click", () => session.send({ t: "stand" }));

// Click a brass ring on the floor to sit there; drag in seat view to look around.
const canvas = byId("scene");
let drag = null;
canvas.addEventListener("pointerdown", (e) => {
  drag = { x: e.clientX, y: e.clientY, moved: false };
  canvas.setPointerCapture(e.pointerId);
});
canvas.addEventListener("pointermove", (e) => {
  if (!drag) return;
  const dx = e.clientX - drag.x;
  const dy = e.clientY - drag.y;
  if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
  if (scene.viewMode !== "seat" || !drag.moved) return;
  drag.x = e.clientX;
  drag.y = e.clientY;
  scene.look.yaw -= dx * 0.005;
  scene.look.pitch = Math.max(-1.2, Math.min(1.2, scene.look.pitch - dy * 0.005));
  const pose = scene.ownPose();
  if (pose) session.offerPose(pose);
});
canvas.addEventListener("pointerup", (e) => {
  if (drag && !drag.moved) {
    const seat = scene.seatAt(e.clientX, e.clientY);
    if (seat) session.send({ t: "sit", seat });
  }
  drag = null;
});

vrSupported().then((ok) => {
  if (!ok) return;
  const button = byId("vr-button");
  const vr = new VrMode(scene, session, (presenting) => {
    button.dataset.i18n = presenting ? "vr.exit" : "vr.enter";
    button.textContent = t(button.dataset.i18n);
  });
  button.hidden = false;
  button.addEventListener("click", () => vr.toggle().catch((err) => showToast(String(err.message ?? err))));
});

// --- experts in the room (HUD) -------------------------------------------------------------------

let expertsSignature = "";

function renderExperts() {
  const experts = [...session.replica.entities.values()].filter((e) => e.k === "expert");
  state.experts = experts.map((e) => ({ id: e.i, name: e.n, label: e.l, sp: e.sp, e: e.e }));
  const signature = JSON.stringify(state.experts) + document.documentElement.lang;
  if (signature === expertsSignature) return;
  expertsSignature = signature;
  const list = byId("experts");
  list.replaceChildren(
    ...experts.map((e) =>
      el(
        "li",
        { class: "expert-tag", dataset: { entity: e.i, state: e.e ?? "present" } },
        el("span", { class: "name" }, e.n ?? ""),
        el("span", { class: "ai-label" }, e.l ?? "AI"),
        el("span", { class: "muted" }, specialty(e.sp)),
      ),
    ),
  );
  byId("experts-none").hidden = experts.length > 0;
  renderDismissList(experts);
}

// --- the conversation --------------------------------------------------------------------------

const names = new Map(); // member id -> display name
const log = byId("log");

function who(member) {
  if (member === state.member) return t("member.you");
  return names.get(member) ?? session.replica.byMember(member)?.n ?? `#${member}`;
}

/** "you put ..." reads "You put ...": names are filled in mid-template. */
function sentence(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function expertName(entity) {
  if (entity === undefined) return t("answer.concierge");
  const known = state.messages.find((m) => m.t === "expert" && m.e === entity);
  return known?.name ?? session.replica.entities.get(entity)?.n ?? t("answer.concierge");
}

function entryFor(msg) {
  const time = el("time", { class: "time", datetime: new Date(msg.at).toISOString() }, clock(msg.at));
  switch (msg.t) {
    case "chat":
      return el("li", { class: "chat" }, el("span", { class: "who" }, msg.name), el("span", { class: "text" }, msg.text), time);
    case "joined":
      return el("li", { class: "system" }, t("member.joined", { name: msg.name }), time);
    case "left":
      return el("li", { class: "system" }, sentence(t("member.left", { name: who(msg.member) })), time);
    case "asked":
      return el("li", { class: "question" }, t("asked", { name: msg.name, text: msg.text }), time);
    case "expert":
      return el(
        "li",
        { class: "system" },
        msg.st === "arrived"
          ? t("expert.arrived", { name: msg.name, label: msg.label, sp: specialty(msg.sp) })
          : t("expert.left", { name: msg.name }) + (msg.why ? ` (${msg.why})` : ""),
        time,
      );
    case "answer":
      return el(
        "li",
        { class: "answer", dataset: { q: msg.q } },
        el(
          "div",
          { class: "meta" },
          el("span", { class: "who" }, expertName(msg.e)),
          el("span", { class: "ai-label" }, msg.label),
          msg.sp ? el("span", { class: "muted" }, specialty(msg.sp)) : null,
          msg.risk ? el("span", { class: "risk", dataset: { risk: msg.risk } }, t("answer.risk", { risk: msg.risk })) : null,
          time,
        ),
        el("p", { class: "text" }, msg.text),
        msg.src.length ? el("p", { class: "sources" }, t("answer.sources", { src: msg.src.join(", ") })) : null,
        msg.handoff ? el("p", { class: "handoff-note" }, t("answer.handoff", { why: msg.why ?? "" })) : null,
        // Interest in a product goes to an advisor (after the second factor), never to an expert.
        msg.product && state.role === "customer"
          ? el("button", { type: "button", class: "interest", onclick: () => sendInterest(msg.product) }, t("answer.interest"))
          : null,
      );
    case "handoff":
      return el("li", { class: "system" }, handoffText(msg), time);
    case "presented":
      return el(
        "li",
        { class: "system" },
        msg.c ? sentence(t("screen.presented", { name: who(msg.by), title: msg.title })) : t("screen.cleared"),
        time,
      );
    case "recording":
      return el("li", { class: "system recording" }, msg.on ? sentence(t("rec.started", { name: who(msg.by) })) : t("rec.stopped"), time);
    default:
      return null;
  }
}

/** Insert in seq order: replays (a screen shown before we came) can arrive out of order. */
function addEntry(msg) {
  const li = entryFor(msg);
  if (!li) return;
  li.dataset.seq = msg.seq;
  const after = [...log.children].find((c) => Number(c.dataset.seq) > msg.seq);
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  log.insertBefore(li, after ?? null);
  if (atBottom || !after) log.scrollTop = log.scrollHeight;
}

function rerenderLog() {
  log.replaceChildren();
  for (const msg of state.messages) addEntry(msg);
}

session.on("reliable", (msg) => {
  const at = state.messages.findIndex((m) => m.seq > msg.seq);
  state.messages.splice(at < 0 ? state.messages.length : at, 0, msg);
  switch (msg.t) {
    case "chat":
      state.chat.push({ seq: msg.seq, by: msg.by, name: msg.name, text: msg.text, at: msg.at });
      break;
    case "joined":
      names.set(msg.member, msg.name);
      break;
    case "answer":
      state.answers.push(msg);
      break;
    case "handoff":
      state.handoff = msg;
      renderHandoff();
      break;
    case "presented":
      state.presented[msg.screen] = msg;
      scene.setChart(msg);
      break;
    case "expert":
      expertsSignature = "";
      break;
  }
  addEntry(msg);
});

function handoffText(msg) {
  switch (msg.st) {
    case "paging":
      return msg.advisor ? t("handoff.asking", { advisor: msg.advisor }) : t("handoff.paging");
    case "coming": {
      const base = t("handoff.coming", { advisor: msg.advisor || "…" });
      return msg.eta ? `${base} (${t("handoff.eta", { min: Math.max(1, Math.round(msg.eta / 60)) })})` : base;
    }
    case "arrived": {
      const base = msg.advisor ? t("handoff.arrived", { advisor: msg.advisor }) : t("handoff.arrived-anon");
      return msg.read ? `${base}. ${t("handoff.read")}` : base;
    }
    case "unavailable":
      return t("handoff.unavailable");
    default:
      return t("handoff.cancelled");
  }
}

let handoffTimer = null;

function renderHandoff() {
  const banner = byId("handoff");
  const msg = state.handoff;
  // The banner tells the customer who is coming; the advisor is the one coming.
  if (!msg || state.role === "advisor") {
    banner.hidden = true;
    return;
  }
  banner.hidden = false;
  banner.dataset.state = msg.st;
  banner.textContent = handoffText(msg);
  clearTimeout(handoffTimer);
  // Final states stay a while, then make way for the room.
  if (["arrived", "cancelled"].includes(msg.st)) handoffTimer = setTimeout(() => (banner.hidden = true), 15000);
}

// --- composing ------------------------------------------------------------------------------

const message = byId("message");

function sendText(kind) {
  const text = message.value.trim();
  if (!text) return;
  if (kind === "ask" && codePoints(text) > Limits.MAX_QUESTION_CHARS) {
    showToast(t("error.generic", { msg: `≤ ${Limits.MAX_QUESTION_CHARS}` }));
    return;
  }
  // Not connected: the text stays in the box, to be sent when we are back.
  if (!session.joined || !session.send(kind === "ask" ? { t: "ask", text } : { t: "chat", text })) {
    byId("composer-note").hidden = false;
    return;
  }
  message.value = "";
  byId("composer-note").hidden = true;
}

byId("composer").addEventListener("submit", (e) => {
  e.preventDefault();
  sendText("chat");
});
byId("send-ask").addEventListener("click", () => sendText("ask"));
message.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    sendText("chat");
  }
});

byId("help-button").addEventListener("click", () => {
  if (session.send({ t: "help" })) {
    if (!state.handoff || ["arrived", "cancelled"].includes(state.handoff.st)) {
      state.handoff = { st: "paging" };
      renderHandoff();
    }
  } else {
    showToast(t("chat.offline"));
  }
});

// --- step-up and the portfolio ------------------------------------------------------------------

const stepup = byId("stepup-dialog");
let afterVerify = null; // the message to send again once verified

let lastAsked = { t: "portfolio" }; // the sensitive request to repeat once verified

byId("portfolio-button").addEventListener("click", () => {
  lastAsked = { t: "portfolio" };
  session.send(lastAsked);
});

function sendInterest(product) {
  lastAsked = { t: "interest", product };
  session.send(lastAsked);
}

byId("stepup-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const code = byId("stepup-code").value.trim();
  if (!/^[0-9]{6,8}$/.test(code)) return;
  session.send({ t: "verify", code });
});
byId("stepup-cancel").addEventListener("click", () => {
  afterVerify = null;
  stepup.close();
});

function askForCode(retry) {
  afterVerify = retry;
  byId("stepup-error").hidden = true;
  byId("stepup-code").value = "";
  if (!stepup.open) stepup.showModal();
  byId("stepup-code").focus();
}

function stepupError(text) {
  const err = byId("stepup-error");
  err.textContent = text;
  err.hidden = false;
  if (!stepup.open) stepup.showModal();
}

session.on("error", (err) => {
  state.errors.push(err);
  switch (err.code) {
    case ErrorCode.STEP_UP_REQUIRED:
      askForCode(lastAsked);
      return;
    case ErrorCode.NOT_VERIFIED:
      stepupError(t("stepup.wrong"));
      return;
    case ErrorCode.LOCKED_OUT:
      stepupError(t("stepup.locked"));
      return;
    case ErrorCode.MOVED_TOO_FAST:
      return; // the state frames put us back where the server has us
    case ErrorCode.MEDIA_TIMEOUT:
    case ErrorCode.NO_MEDIA_SESSION:
      return; // media asks for a new peer by itself
    case ErrorCode.MEDIA_UNAVAILABLE:
      showToast(t("media.unavailable"));
      return;
    default:
      showToast(t("error.generic", { msg: err.msg }));
  }
});

session.on("direct", (msg) => {
  if (msg.t === "verified") {
    state.verifiedUntil = msg.until;
    stepup.close();
    if (afterVerify) session.send(afterVerify);
    afterVerify = null;
  } else if (msg.t === "holdings") {
    state.holdings = msg;
    renderHoldings();
  }
});

function renderHoldings() {
  const h = state.holdings;
  if (!h) return;
  byId("holdings-profile").textContent = h.risk ? t("portfolio.profile", { risk: h.risk }) : "";
  const body = byId("holdings-table").tBodies[0];
  body.replaceChildren(
    ...(h.items.length
      ? h.items.map((i) =>
          el(
            "tr",
            {},
            el("td", {}, i.name || i.product),
            el("td", {}, el("span", { class: "risk", dataset: { risk: i.risk } }, `R${i.risk}`)),
            el("td", { class: "num" }, `${i.ccy} ${i.value.toLocaleString(undefined, { maximumFractionDigits: 2 })}`),
          ),
        )
      : [el("tr", {}, el("td", { colspan: 3 }, t("portfolio.empty")))]),
  );
  const dialog = byId("holdings-dialog");
  if (!dialog.open) dialog.showModal();
}

// --- advisor tools ----------------------------------------------------------------------------

const chartRows = byId("chart-rows");

function addChartRow(label = "", value = "") {
  chartRows.append(
    el(
      "div",
      { class: "row chart-row" },
      el("input", { class: "chart-label", maxlength: 80, value: label, "aria-label": t("advisor.label") }),
      el("input", { class: "chart-value", type: "number", min: 0, step: "any", value: String(value), "aria-label": t("advisor.value") }),
    ),
  );
}

function renderAdvisorInfo() {
  const customer = link.customer || [...names.entries()].find(([m]) => m !== state.member)?.[1] || "";
  byId("advisor-customer").textContent = customer ? t("advisor.customer", { name: customer }) : "";
  const risk = Number(link.risk);
  byId("advisor-profile").textContent = risk >= 1 && risk <= 5 ? t("advisor.profile", { risk }) : t("advisor.profile-unknown");
}

function setupAdvisorTools() {
  byId("chart-title").value = "Proposed allocation";
  for (const [label, value] of [
    ["Bonds", 55],
    ["Equities", 30],
    ["Cash", 15],
  ])
    addChartRow(label, value);
  byId("chart-add-row").addEventListener("click", () => {
    if (chartRows.children.length < Limits.MAX_CHART_ITEMS) addChartRow();
  });
  byId("present-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const rows = [...chartRows.children]
      .map((r) => [r.querySelector(".chart-label").value.trim(), Number(r.querySelector(".chart-value").value)])
      .filter(([label, value]) => label && Number.isFinite(value) && value >= 0);
    session.send({ t: "present", title: byId("chart-title").value.trim() || "—", labels: rows.map((r) => r[0]), values: rows.map((r) => r[1]) });
  });
  byId("chart-clear").addEventListener("click", () => session.send({ t: "unpresent" }));
  const select = byId("summon-sp");
  select.replaceChildren(...SPECIALTIES.map((sp) => el("option", { value: sp }, specialty(sp))));
  byId("summon-form").addEventListener("submit", (e) => {
    e.preventDefault();
    session.send({ t: "summon", sp: select.value });
  });
  byId("dismiss-all").addEventListener("click", () => session.send({ t: "dismiss", expert: 0 }));
  renderAdvisorInfo();
}

function renderDismissList(experts) {
  byId("dismiss-list").replaceChildren(
    ...experts
      .filter((e) => e.e !== "leaving")
      .map((e) =>
        el(
          "li",
          { class: "row" },
          el("span", {}, `${e.n ?? ""} (${specialty(e.sp)})`),
          el("button", { type: "button", onclick: () => session.send({ t: "dismiss", expert: e.i }) }, t("advisor.dismiss")),
        ),
      ),
  );
}

setupAdvisorTools();

// --- voice and video ----------------------------------------------------------------------------

const media = new RoomMedia(session);
window.wealthroom.media = media;
const micButton = byId("mic-button");
const camButton = byId("cam-button");
const soundButton = byId("sound-button");
const audioOut = byId("audio-out");
const tiles = byId("video-tiles");
const audios = new Map(); // mid -> <audio>
const videoTiles = new Map(); // mid -> {figure, video, entry}
let selfTile = null;

/** What the link asks for: `media=1` joins with everything the role may send, `media=audio`
 * with the microphone only, `media=listen` with neither. */
function linkMedia() {
  switch (link.media) {
    case "1":
    case "on":
      return ["audio", "video"];
    case "audio":
      return ["audio"];
    case "listen":
      return [];
    default:
      return null;
  }
}

function renderMediaButtons() {
  for (const [button, kind] of [
    [micButton, "audio"],
    [camButton, "video"],
  ]) {
    const b = media.buttonState(kind);
    button.hidden = b.hidden;
    button.disabled = b.action === "wait";
    button.dataset.action = b.action ?? "";
    button.dataset.state = b.action === "mute" ? "on" : b.action === "unmute" ? "off" : "none";
    const label = button.querySelector(".media-label");
    label.dataset.i18n = b.label;
    label.textContent = t(b.label);
    // A toggle once running: pressed = on.
    if (b.action === "mute" || b.action === "unmute") {
      button.setAttribute("aria-pressed", String(b.on));
      const name = kind === "audio" ? "mic" : "cam";
      button.title = t(`media.${name}-press-${b.on ? "off" : "on"}`);
    } else {
      button.removeAttribute("aria-pressed");
      button.removeAttribute("title");
    }
  }
  renderSelfView();
  state.media = media.summary();
}

function pressDevice(kind) {
  const b = media.buttonState(kind);
  switch (b.action) {
    case "join":
      // Joining with the camera brings the voice too: a call without sound helps nobody.
      startMedia(kind === "video" ? ["audio", "video"] : ["audio"]);
      break;
    case "add":
      startMedia([...media.sendingKinds, kind]);
      break;
    case "mute":
      media.setMuted(kind, true);
      break;
    case "unmute":
      media.setMuted(kind, false);
      break;
  }
  unlockSound();
}

function startMedia(send) {
  media.start({ send }).catch((err) => showToast(t("media.failed", { msg: String(err?.message ?? err) })));
}

micButton.addEventListener("click", () => pressDevice("audio"));
camButton.addEventListener("click", () => pressDevice("video"));

media.on("state", renderMediaButtons);
media.on("failed", ({ code, msg, devices }) => {
  if (devices) showToast(t("media.no-devices", { msg }));
  else if (code !== ErrorCode.MEDIA_UNAVAILABLE) showToast(t("media.failed", { msg }));
});

/** Our own camera, small and mirrored, so people see what they send. */
function renderSelfView() {
  const track = media.localTrack("video");
  if (!track) {
    selfTile?.remove();
    selfTile = null;
    return;
  }
  if (!selfTile) {
    const video = el("video", { autoplay: true, playsinline: true, "data-testid": "self-video" });
    video.muted = true;
    selfTile = el("figure", { class: "video-tile self" }, video, el("figcaption", { "data-i18n": "media.self" }, t("media.self")));
  }
  const video = selfTile.querySelector("video");
  if (video.srcObject !== media.local) video.srcObject = media.local;
  selfTile.hidden = media.muted.has("video");
  tiles.append(selfTile);
}

// Sound needs the page to have been used once (browsers' autoplay rules): what could not play
// waits for a press of "Turn on sound", or any press at all.
function playAudio(audio) {
  audio.play().then(
    () => (audio.dataset.blocked = ""),
    (err) => {
      if (err?.name !== "NotAllowedError") return;
      audio.dataset.blocked = "1";
      soundButton.hidden = false;
    },
  );
}

function unlockSound() {
  for (const audio of audios.values()) if (audio.dataset.blocked || audio.paused) playAudio(audio);
  soundButton.hidden = true;
}

soundButton.addEventListener("click", unlockSound);
document.addEventListener("pointerdown", () => {
  if (!soundButton.hidden) unlockSound();
});

function entityOf(entry) {
  if (entry.ent !== null && entry.ent !== undefined) return session.replica.entities.get(entry.ent) ?? null;
  return entry.owner === "member" ? session.replica.byMember(entry.id) ?? null : null;
}

media.on("tracks", (entries) => {
  const mids = new Set(entries.map((e) => e.mid));
  for (const [mid, audio] of audios) {
    if (mids.has(mid)) continue;
    audio.srcObject = null;
    audio.remove();
    audios.delete(mid);
  }
  for (const [mid, tile] of videoTiles) {
    if (mids.has(mid)) continue;
    tile.video.srcObject = null;
    tile.figure.remove();
    videoTiles.delete(mid);
  }
  for (const entry of entries) {
    if (entry.kind === "audio") {
      let audio = audios.get(entry.mid);
      if (!audio) {
        audio = el("audio", { autoplay: true, dataset: { mid: entry.mid, src: entry.src } });
        audios.set(entry.mid, audio);
        audioOut.append(audio);
      }
      if (audio.srcObject !== entry.stream) {
        audio.srcObject = entry.stream;
        playAudio(audio);
      }
    } else {
      let tile = videoTiles.get(entry.mid);
      if (!tile) {
        // Muted: the voice comes through its own <audio>; a muted video may always play.
        const video = el("video", { autoplay: true, playsinline: true, dataset: { mid: entry.mid, src: entry.src } });
        video.muted = true;
        tile = { figure: el("figure", { class: "video-tile" }, video, el("figcaption", {}, "")), video, entry };
        videoTiles.set(entry.mid, tile);
      }
      tile.entry = entry;
      if (tile.video.srcObject !== entry.stream) {
        tile.video.srcObject = entry.stream;
        tile.video.play().catch(() => {});
      }
    }
  }
  renderVideos();
  state.media = media.summary();
});

let videosSignature = "";

/** Place each camera: the advisor's first and largest (and on a panel above their head in
 * the room), then the others. Re-run when people change, since a camera may arrive first. */
function renderVideos() {
  const rows = [...videoTiles.values()].map((tile) => {
    const ent = entityOf(tile.entry);
    return { tile, ent, advisor: ent?.r === "advisor" };
  });
  const signature =
    JSON.stringify(rows.map((r) => [r.tile.entry.mid, r.ent?.i, r.ent?.n, r.ent?.mic, r.ent?.cam, r.advisor])) + document.documentElement.lang;
  if (signature === videosSignature) return;
  videosSignature = signature;
  rows.sort((a, b) => Number(b.advisor) - Number(a.advisor));
  let advisorShown = false;
  for (const { tile, ent, advisor } of rows) {
    const main = advisor && !advisorShown;
    advisorShown ||= main;
    tile.figure.classList.toggle("advisor", main);
    if (main) {
      tile.video.id = "advisor-video";
      tile.video.dataset.testid = "advisor-video";
    } else {
      tile.video.removeAttribute("id");
      delete tile.video.dataset.testid;
    }
    const name = ent?.n ? (main ? `${t("media.advisor")} · ${ent.n}` : ent.n) : "";
    const muted = ent?.mic === "off" ? t("media.mic-off") : "";
    tile.figure.querySelector("figcaption").textContent = [name, muted].filter(Boolean).join(" · ");
    tile.video.setAttribute("aria-label", name);
    // A camera switched off sends nothing: its last picture would stand still.
    tile.figure.hidden = ent?.cam === "off";
    tiles.append(tile.figure);
  }
  if (selfTile) tiles.append(selfTile);
  // The room shows each camera above its owner's head.
  const shown = new Set();
  for (const { tile, ent } of rows) {
    if (!ent || tile.entry.owner !== "member" || ent.cam === "off") continue;
    scene.setVideo(ent.i, tile.video);
    shown.add(ent.i);
  }
  for (const { entity } of scene.videosShown()) if (!shown.has(entity)) scene.setVideo(entity, null);
}

/** Everyone with an avatar, with the state of their microphone and camera. */
function renderPeople() {
  state.people = [...session.replica.entities.values()]
    .filter((e) => e.k === "avatar")
    .map((e) => ({ entity: e.i, member: e.m, name: e.n, role: e.r, mic: e.mic ?? "", cam: e.cam ?? "" }));
  if (videoTiles.size) renderVideos();
}

// --- recording ---------------------------------------------------------------------------------

const consent = byId("consent-dialog");
const recordButton = byId("record-button");

function renderRecording() {
  const rec = state.recording;
  byId("rec-indicator").hidden = !rec;
  recordButton.setAttribute("aria-pressed", String(Boolean(rec)));
  recordButton.dataset.i18n = rec ? "advisor.record-stop" : "advisor.record";
  recordButton.textContent = t(recordButton.dataset.i18n);
  if (rec && consent.open) byId("consent-days").textContent = t("rec.days", { days: rec.days });
}

media.on("recording", (msg) => {
  if (!msg.on) {
    if (state.recording?.rec === msg.rec || !state.recording) {
      state.recording = null;
      if (consent.open) consent.close();
    }
    renderRecording();
    return;
  }
  state.recording = { rec: msg.rec, by: msg.by, days: msg.days, notice: msg.notice, seen: media.acknowledged.has(msg.rec) };
  renderRecording();
  if (state.recording.seen) return;
  if (msg.by === state.member) {
    // The advisor who pressed Record knows: their notice counts as seen.
    acknowledgeRecording();
    return;
  }
  byId("consent-notice").textContent = msg.notice;
  byId("consent-days").textContent = t("rec.days", { days: msg.days });
  if (!consent.open) consent.showModal();
  byId("consent-ok").focus();
});

function acknowledgeRecording() {
  const rec = state.recording;
  if (!rec) return;
  media.acknowledge(rec.rec);
  rec.seen = true;
  if (consent.open) consent.close();
}

byId("consent-ok").addEventListener("click", acknowledgeRecording);
byId("consent-leave").addEventListener("click", () => {
  consent.close();
  media.stop();
  session.leave();
});
// Escape closes a dialog; this one must be answered.
consent.addEventListener("cancel", (e) => e.preventDefault());
recordButton.addEventListener("click", () => {
  if (!media.record(!state.recording)) showToast(t("chat.offline"));
});

let linkMediaDone = false;

session.on("status", ({ state: s }) => {
  if (s !== "joined") return;
  const wanted = linkMedia();
  // The link's wish is carried out once; after that the buttons decide.
  if (wanted && !media.running && !linkMediaDone) {
    linkMediaDone = true;
    startMedia(wanted);
  }
});

// --- preferences ---------------------------------------------------------------------------------

const a11yToggle = byId("a11y-toggle");

function setAccessibility(on) {
  applyAccessibility(on);
  a11yToggle.setAttribute("aria-pressed", String(on));
  scene.setLabelScale(on ? 1.5 : 1);
}

a11yToggle.addEventListener("click", () => setAccessibility(!document.documentElement.classList.contains("a11y")));
byId("lang-toggle").addEventListener("click", toggleLang);
onLangChange(() => {
  renderStatus();
  rerenderLog();
  renderHandoff();
  expertsSignature = "";
  renderExperts();
  renderAdvisorInfo();
  renderMediaButtons();
  renderRecording();
  videosSignature = "";
  renderVideos();
  byId("summon-sp").replaceChildren(...SPECIALTIES.map((sp) => el("option", { value: sp }, specialty(sp))));
});

let toastTimer = null;

function showToast(text) {
  const toast = byId("toast");
  toast.textContent = text;
  toast.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (toast.hidden = true), 5000);
}

// --- start -------------------------------------------------------------------------------------

applyStatic(document);
setAccessibility(accessibilityOn());
byId("room-name").textContent = `· ${roomId}`;
document.title = `Wealthroom · ${roomId}`;
window.addEventListener("pagehide", () => {
  media.stop();
  session.leave();
});

if (link.token) {
  session.start();
} else {
  state.status = "closed";
  statusEl.dataset.state = "closed";
  statusEl.textContent = t("status.no-token");
}
