// The hand-off to a person: the banner that says who is coming, and "Talk to a person".

import { byId } from "./dom.js";
import { t } from "./i18n.js";
import { showToast } from "./room_toast.js";

export function handoffText(msg) {
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

export function mountHandoff({ state, session }) {
  let handoffTimer = null;

  function render() {
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

  // An advisor is handed the conversation when they walk in on a page, or when the customer
  // asks for a person while they are already here: either way the customer is waiting for them.
  session.on("direct", (msg) => {
    if (msg.t === "briefing" && state.role === "advisor") showToast(t("handoff.asked-you"));
  });

  byId("help-button").addEventListener("click", () => {
    if (session.send({ t: "help" })) {
      if (!state.handoff || ["arrived", "cancelled"].includes(state.handoff.st)) {
        state.handoff = { st: "paging" };
        render();
      }
    } else {
      showToast(t("chat.offline"));
    }
  });

  return { render };
}
