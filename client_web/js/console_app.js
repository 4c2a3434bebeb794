// The advisor console: presence (available, busy, away), the live queue of customers who
// asked for a person, and accepting one, which opens their room in a new tab with the
// short-lived room token the server issued for it; the advisor joins it with camera and
// microphone (unless they untick that), and records the session from the room's tools.
// Appointments: the advisor publishes free slots, sees who booked them, and withdraws or
// moves them; times are entered and shown in the advisor's own time zone, sent in UTC.

import { fromLocalInput, refusalText, toLocalInput, until, when, zone } from "./appointments.js";
import { ConsoleSession } from "./connection.js";
import { CloseCode, ErrorCode } from "./codec.js";
import { byId, el } from "./dom.js";
import { applyStatic, mountLangChooser, onLangChange, specialty, t, toggleLang } from "./i18n.js";
import { fragmentParams, roomLink, sameOriginSocket } from "./link_params.js";
import { accessibilityOn, applyAccessibility, loadPref, savePref } from "./prefs.js";

const LINK_KEY = "wealthroom.console";

function readToken() {
  const fromLink = fragmentParams().token;
  if (fromLink) sessionStorage.setItem(LINK_KEY, fromLink);
  // Out of the address bar: the console stays open for hours, in view of others.
  history.replaceState(null, "", location.pathname);
  return fromLink || sessionStorage.getItem(LINK_KEY) || "";
}

const state = {
  status: "connecting",
  closeCode: null,
  name: "",
  presence: null,
  pages: [],
  accepted: [],
  slots: [],
  errors: [],
};

const token = readToken();
const session = new ConsoleSession(sameOriginSocket("/console"), token);
const requested = new Map(); // page id -> the page as it was when we accepted it

window.wealthroomConsole = { state, session, debug: { cut: (options) => session.cut(options), resume: () => session.resume() } };

// --- status and presence -------------------------------------------------------------------

function renderStatus() {
  const status = byId("status");
  status.dataset.state = state.status;
  const code = state.closeCode;
  status.textContent =
    state.status === "joined"
      ? t("status.connected")
      : state.status === "reconnecting"
        ? t("status.reconnecting")
        : state.status === "closed"
          ? code === CloseCode.TOKEN_EXPIRED
            ? t("status.expired")
            : code === CloseCode.TOKEN_INVALID
              ? t("status.invalid")
              : t("status.closed")
          : t("status.connecting");
}

session.on("status", ({ state: s, code }) => {
  state.status = s;
  if (s === "closed") state.closeCode = code ?? null;
  renderStatus();
});

session.on("console", (msg) => {
  state.name = msg.name;
  state.presence = session.presence ?? msg.state;
  byId("advisor-name").textContent = `· ${msg.name}`;
  byId("skills").textContent = [msg.skills.map(specialty).join(", "), msg.langs.join(", ")].filter(Boolean).join(" · ");
  renderPresence();
});

function renderPresence() {
  for (const input of document.querySelectorAll('input[name="presence"]')) input.checked = input.value === state.presence;
}

byId("presence").addEventListener("change", (e) => {
  state.presence = e.target.value;
  session.setPresence(e.target.value);
});

// --- the queue -------------------------------------------------------------------------------

session.on("pages", (msg) => {
  state.pages = msg.pages;
  renderPages();
});

function renderPages() {
  const now = Date.now();
  byId("pages").replaceChildren(
    ...state.pages.map((p) => {
      const waited = Math.max(0, Math.round((now - p.at) / 60000));
      return el(
        "li",
        { class: "page-card", dataset: { page: p.id, room: p.room } },
        el("span", { class: "title" }, `${p.customer} · ${specialty(p.sp)} · ${p.lang}`),
        el("span", { class: "profile" }, p.risk ? t("advisor.profile", { risk: p.risk }) : t("advisor.profile-unknown")),
        el("span", {}, p.first ? t("console.first") : p.why),
        p.product ? el("span", { class: "muted" }, t("console.product", { product: p.product })) : null,
        p.brief ? briefing(p.brief) : null,
        el("span", { class: "muted" }, `${p.room} · ${t("console.waiting", { min: waited })}`),
        el(
          "div",
          { class: "row" },
          el("button", { type: "button", class: "primary accept", onclick: () => accept(p) }, t("console.accept")),
          p.first ? el("button", { type: "button", class: "decline", onclick: () => session.decline(p.id) }, t("console.decline")) : null,
        ),
      );
    }),
  );
  byId("pages-empty").hidden = state.pages.length > 0;
}

/** What the room told us before we walk in: the talk so far, products, suitability. */
function briefing(brief) {
  const turns = brief.turns.map((turn) =>
    el(
      "li",
      { class: turn.cut ? "brief-turn cut" : "brief-turn" },
      el("span", { class: "brief-q" }, turn.q),
      el(
        "span",
        { class: "brief-a muted" },
        `${specialtyList(turn.by)}: ${turn.a || t("console.brief-unanswered")}`,
        turn.cut ? ` (${t("console.brief-interrupted")})` : "",
      ),
    ),
  );
  const products = brief.products.map((p) => el("li", {}, `${p.name || p.id} · R${p.risk}`));
  const decisions = brief.decisions.map((d) =>
    el("li", {}, `${specialty(d.sp)}${d.product ? ` · ${d.product}` : ""} · ${d.verdict}: ${d.why}`),
  );
  return el(
    "details",
    { class: "brief" },
    el("summary", {}, t("console.brief", { n: brief.turns.length })),
    el("ol", { class: "brief-turns" }, ...turns),
    products.length ? el("p", { class: "muted" }, t("console.brief-products")) : null,
    products.length ? el("ul", {}, ...products) : null,
    decisions.length ? el("p", { class: "muted" }, t("console.brief-decisions")) : null,
    decisions.length ? el("ul", {}, ...decisions) : null,
  );
}

function specialtyList(by) {
  return by
    .split(",")
    .map((s) => (s === "concierge" ? s : specialty(s)))
    .join(", ");
}

setInterval(renderPages, 30000);

// Advisors meet customers face to face: the room opens with camera and microphone unless
// the advisor chose otherwise (kept for the next pages).
const joinMedia = byId("join-media");
joinMedia.checked = loadPref("joinMedia") !== "off";
joinMedia.addEventListener("change", () => savePref("joinMedia", joinMedia.checked ? "on" : "off"));

function accept(page) {
  requested.set(page.id, page);
  session.accept(page.id);
}

session.on("accepted", (msg) => {
  const page = requested.get(msg.page) ?? state.pages.find((p) => p.id === msg.page);
  const href = roomLink({
    room: msg.room,
    token: msg.token,
    ws: msg.url,
    customer: page?.customer,
    risk: page?.risk,
    page: msg.page,
    media: joinMedia.checked ? "1" : undefined,
  });
  state.accepted.push({ page: msg.page, room: msg.room, href });
  state.presence = "busy"; // the server marks an advisor who took a page busy
  renderPresence();
  showToast(t("console.accepted"), false);
  // Also a link to click, in case the browser held back the new tab.
  const link = el("a", { href, target: "_blank", rel: "noopener", class: "open-room" }, t("console.open"));
  byId("pages").prepend(el("li", { class: "page-card" }, el("span", { class: "title" }, `${page?.customer ?? msg.room}`), link));
  window.open(href, "_blank", "noopener");
});

session.on("error", (err) => {
  state.errors.push(err);
  showToast(err.code === ErrorCode.NO_SUCH_PAGE ? t("console.taken") : refusalText(err), true);
});

// --- appointment slots -------------------------------------------------------------------------

session.on("slots", (msg) => {
  state.slots = msg.slots;
  renderSlots();
});

function slotState(s) {
  if (s.st === "free") return t("console.slot-free");
  const key = s.st === "booked" ? "console.slot-booked" : "console.slot-honoured";
  return t(key, { customer: s.customer ?? "" });
}

function renderSlots() {
  byId("slots").replaceChildren(
    ...state.slots.map((s) => {
      const moveTo = el("input", { type: "datetime-local", class: "move-to", value: toLocalInput(s.start) });
      const active = s.st !== "honoured";
      return el(
        "li",
        { class: "page-card", dataset: { slot: s.id, st: s.st } },
        el("span", { class: "title" }, `${when(s.start)} – ${until(s.end)}`),
        el("span", {}, slotState(s)),
        active
          ? el(
              "div",
              { class: "row" },
              el("label", {}, t("console.slot-move"), " ", moveTo),
              el(
                "button",
                { type: "button", class: "move", onclick: () => session.moveSlot(s.id, fromLocalInput(moveTo.value)) },
                t("appt.move"),
              ),
              el("button", { type: "button", class: "cancel", onclick: () => session.cancelSlot(s.id) }, t("appt.cancel")),
            )
          : null,
      );
    }),
  );
  byId("slots-empty").hidden = state.slots.length > 0;
  byId("slot-zone").textContent = t("appt.zone", { zone: zone() });
}

byId("slot-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const start = fromLocalInput(byId("slot-start").value);
  const minutes = Number(byId("slot-length").value);
  session.offer(start, start + minutes * 60000);
});

// --- page chrome -----------------------------------------------------------------------------

let toastTimer = null;

function showToast(text, isError) {
  const toast = byId("toast");
  toast.textContent = text;
  toast.dataset.kind = isError ? "error" : "info";
  toast.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (toast.hidden = true), 5000);
}

const a11yToggle = byId("a11y-toggle");
function setAccessibility(on) {
  applyAccessibility(on);
  a11yToggle.setAttribute("aria-pressed", String(on));
}
a11yToggle.addEventListener("click", () => setAccessibility(!document.documentElement.classList.contains("a11y")));
byId("lang-toggle").addEventListener("click", toggleLang);
mountLangChooser(byId("lang-choice"));
onLangChange(() => {
  renderStatus();
  renderPages();
  renderSlots();
});

applyStatic(document);
setAccessibility(accessibilityOn());
if (token) {
  session.start();
} else {
  state.status = "closed";
  byId("status").dataset.state = "closed";
  byId("status").textContent = t("status.no-token");
}
