// The customer's appointments: the times advisors published, booking one, moving or cancelling
// a booking, and, when one is due, the reminder with the way into the room. Opened from a
// booking link the bank sends (`book.html#token=...`) or from the room page (its room token).

import { CloseCode } from "./codec.js";
import { refusalText, until, when, zone } from "./appointments.js";
import { BookingSession } from "./connection.js";
import { byId, el } from "./dom.js";
import { applyStatic, onLangChange, t, toggleLang } from "./i18n.js";
import { fragmentParams, roomLink, sameOriginSocket, tokenClaims } from "./link_params.js";
import { accessibilityOn, applyAccessibility } from "./prefs.js";

const LINK_KEY = "wealthroom.booking";

function readToken() {
  const fromLink = fragmentParams().token;
  if (fromLink) sessionStorage.setItem(LINK_KEY, fromLink);
  history.replaceState(null, "", location.pathname);
  return fromLink || sessionStorage.getItem(LINK_KEY) || "";
}

const token = readToken();
const state = { status: "connecting", closeCode: null, slots: [], moving: null, reminders: [], errors: [] };
const session = new BookingSession(sameOriginSocket("/book"), token);
window.wealthroomBooking = { state, session };

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

// What the customer did themselves, so that a booking gone or moved otherwise is said aloud:
// the advisor withdrew or moved it.
const own = new Set();

function noticeChanges(before, after) {
  for (const old of before.filter((s) => s.st === "booked")) {
    const now = after.find((s) => s.id === old.id);
    const gone = !now || now.st === "free";
    const moved = !gone && now.start !== old.start;
    if (!gone && !moved) continue;
    if (own.delete(old.id)) continue; // the customer's own doing
    if (gone) showToast(t("appt.withdrawn", { adv: old.adv, at: when(old.start) }), false);
    else showToast(t("appt.moved", { adv: old.adv, at: when(now.start) }), false);
  }
}

session.on("slots", (msg) => {
  noticeChanges(state.slots, msg.slots);
  state.slots = msg.slots;
  if (state.moving && !msg.slots.some((s) => s.id === state.moving && s.st === "booked")) state.moving = null;
  render();
});

function span(slot) {
  return `${when(slot.start)} – ${until(slot.end)}`;
}

function render() {
  const mine = state.slots.filter((s) => s.st !== "free");
  const free = state.slots.filter((s) => s.st === "free");
  byId("mine").replaceChildren(
    ...mine.map((s) =>
      el(
        "li",
        { class: "page-card", dataset: { slot: s.id, st: s.st } },
        el("span", { class: "title" }, span(s)),
        el("span", {}, t("appt.with", { adv: s.adv })),
        s.st === "booked"
          ? el(
              "div",
              { class: "row" },
              el(
                "button",
                { type: "button", class: "move", onclick: () => startMove(s.id) },
                state.moving === s.id ? t("appt.pick") : t("appt.move"),
              ),
              el("button", { type: "button", class: "cancel", onclick: () => mine(s.id) && session.cancel(s.id) }, t("appt.cancel")),
            )
          : el("span", { class: "muted" }, t("appt.now")),
      ),
    ),
  );
  byId("mine-empty").hidden = mine.length > 0;
  byId("free").replaceChildren(
    ...free.map((s) =>
      el(
        "li",
        { class: "page-card", dataset: { slot: s.id } },
        el("span", { class: "title" }, span(s)),
        el("span", {}, t("appt.with", { adv: s.adv })),
        el(
          "div",
          { class: "row" },
          el(
            "button",
            { type: "button", class: "primary book", onclick: () => choose(s.id) },
            state.moving ? t("appt.move-here") : t("appt.book"),
          ),
        ),
      ),
    ),
  );
  byId("free-empty").hidden = free.length > 0;
  byId("zone").textContent = t("appt.zone", { zone: zone() });
}

function startMove(slot) {
  state.moving = state.moving === slot ? null : slot;
  render();
}

/** Note a change the customer makes to their own booking (not news to tell them). */
function mine(slot) {
  own.add(slot);
  return true;
}

function choose(slot) {
  if (state.moving) {
    mine(state.moving);
    session.move(state.moving, slot);
    state.moving = null;
  } else {
    session.book(slot);
  }
}

session.on("appointment", (msg) => {
  state.reminders.push(msg);
  const href = roomLink({ room: msg.room, token: msg.token, ws: msg.url });
  byId("reminder").replaceChildren(
    el("span", {}, t("appt.reminder", { adv: msg.adv, at: when(msg.start) })),
    " ",
    msg.token ? el("a", { href, class: "open-room" }, t("appt.enter")) : null,
  );
  byId("reminder").hidden = false;
});

session.on("error", (err) => {
  state.errors.push(err);
  own.clear();
  showToast(refusalText(err), true);
});

let toastTimer = null;
function showToast(text, isError) {
  const toast = byId("toast");
  toast.textContent = text;
  toast.dataset.kind = isError ? "error" : "info";
  toast.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (toast.hidden = true), 6000);
}

const a11yToggle = byId("a11y-toggle");
function setAccessibility(on) {
  applyAccessibility(on);
  a11yToggle.setAttribute("aria-pressed", String(on));
}
a11yToggle.addEventListener("click", () => setAccessibility(!document.documentElement.classList.contains("a11y")));
byId("lang-toggle").addEventListener("click", toggleLang);
onLangChange(() => {
  renderStatus();
  render();
});

applyStatic(document);
setAccessibility(accessibilityOn());
const name = tokenClaims(token).name;
if (name) byId("customer-name").textContent = `· ${name}`;
if (token) {
  session.start();
} else {
  state.status = "closed";
  byId("status").dataset.state = "closed";
  byId("status").textContent = t("status.no-token");
}
