// Guests and the customer's record: the Invite dialog (a link and its QR code from the
// server, the room's invitations to withdraw, the guests in the room to remove), a guest's
// consent notice on arrival, and the summary download.

import { byId, clock, el } from "./dom.js";
import { currentLang, t } from "./i18n.js";
import { showToast } from "./room_toast.js";

export function mountInvite({ link, state, session }) {
  state.invitations = new Map(); // id -> invitation message, newest state
  state.summary = null; // {sha256, bytes, lang} of the last download
  const dialog = byId("invite-dialog");
  let qrUrl = null;
  let guestsShown = null; // which guests the list shows, so that a state frame redraws it only on a change

  byId("invite-button").addEventListener("click", () => {
    render();
    if (!dialog.open) dialog.showModal();
  });
  byId("invite-form").addEventListener("submit", (e) => {
    e.preventDefault();
    session.send({ t: "invite", uses: Number(byId("invite-uses").value) });
  });
  byId("summary-button").addEventListener("click", () => downloadSummary());

  function showLink(inv) {
    byId("invite-link").value = inv.url;
    // The SVG comes from our server; as an image it cannot run anything.
    if (qrUrl) URL.revokeObjectURL(qrUrl);
    qrUrl = URL.createObjectURL(new Blob([inv.qr], { type: "image/svg+xml" }));
    const img = byId("invite-qr");
    img.alt = t("invite.qr");
    img.src = qrUrl;
    byId("invite-new").hidden = false;
  }

  function render() {
    byId("invite-list").replaceChildren(
      ...[...state.invitations.values()].map((inv) =>
        el(
          "li",
          { dataset: { invite: inv.id, st: inv.st } },
          el("span", {}, `${inv.id} · `),
          inv.st === "revoked"
            ? el("span", { class: "muted" }, t("invite.revoked"))
            : [
                el("span", {}, t("invite.until", { time: clock(inv.exp), uses: inv.uses })),
                " ",
                el("button", { type: "button", onclick: () => session.send({ t: "revoke", id: inv.id }) }, t("invite.revoke")),
              ],
        ),
      ),
    );
    renderGuests(true);
  }

  /** The guests in the room, from the replica (so also those who came before this page). */
  function renderGuests(force = false) {
    const guests = state.people.filter((p) => p.role === "guest");
    const shown = guests.map((g) => `${g.member}:${g.name}`).join(",");
    if (!force && (shown === guestsShown || !dialog.open)) return;
    guestsShown = shown;
    byId("guest-list").replaceChildren(
      ...(guests.length
        ? guests.map(({ member, name }) =>
            el(
              "li",
              { dataset: { member } },
              `${name} `,
              el("button", { type: "button", onclick: () => session.send({ t: "remove", member }) }, t("invite.remove")),
            ),
          )
        : [el("li", { class: "muted" }, t("invite.no-guests"))]),
    );
  }

  session.on("direct", (msg) => {
    if (msg.t === "invitation") {
      state.invitations.set(msg.id, msg);
      if (msg.url && msg.qr) showLink(msg);
      if (dialog.open) render();
    } else if (msg.t === "notice" && msg.kind === "guest") {
      byId("guest-notice").textContent = msg.text;
      const notice = byId("guest-notice-dialog");
      if (!notice.open) notice.showModal();
    }
  });

  /** Fetch the summary with the token as a header (never in a URL), save it as a file, and
   * keep its hash: the same the server filed in the audit chain. */
  async function downloadSummary() {
    const lang = currentLang(); // en, zh or zh-HK, as the server writes the summary
    const reply = await fetch(`/summary/${encodeURIComponent(state.room)}?lang=${lang}`, {
      headers: { Authorization: `Bearer ${link.token}` },
      cache: "no-store",
    });
    if (!reply.ok) {
      showToast(t("summary.failed", { status: reply.status }));
      return null;
    }
    const bytes = await reply.arrayBuffer();
    // Web Crypto exists only in secure contexts (HTTPS, localhost): elsewhere the server's hash
    // is all the page can show.
    const digest = crypto.subtle ? await crypto.subtle.digest("SHA-256", bytes) : null;
    const sha256 = digest ? [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("") : null;
    state.summary = { sha256, server: reply.headers.get("X-Summary-SHA256"), bytes: bytes.byteLength, lang };
    const file = URL.createObjectURL(new Blob([bytes], { type: "text/markdown" }));
    const a = el("a", { href: file, download: `wealthroom-${state.room}-${lang}.md` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(file), 60_000);
    return state.summary;
  }

  function onWelcome(role) {
    byId("invite-button").hidden = !["customer", "advisor"].includes(role);
    byId("summary-button").hidden = role !== "customer";
  }

  return { render, renderGuests, onWelcome, downloadSummary };
}
