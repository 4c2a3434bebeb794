// The connection line in the top bar; the composer's offline note follows it.

import { CloseCode } from "./codec.js";
import { byId } from "./dom.js";
import { t } from "./i18n.js";

function closeText(code) {
  switch (code) {
    case CloseCode.TOKEN_EXPIRED:
      return t("status.expired");
    case CloseCode.TOKEN_INVALID:
    case CloseCode.ROOM_NOT_ALLOWED:
    case CloseCode.LAYOUT_MISMATCH:
      return t("status.invalid");
    case CloseCode.REMOVED:
      return t("status.removed");
    case CloseCode.INVITE_USED_UP:
      return t("status.invite-used");
    case CloseCode.INVITE_REVOKED:
      return t("status.invite-revoked");
    case CloseCode.NORMAL:
      return t("status.left");
    default:
      return t("status.closed");
  }
}

export function mountStatus({ state, session }) {
  const statusEl = byId("status");

  function render() {
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
    render();
  });

  /** A link without a token: nothing to connect with. */
  function noToken() {
    state.status = "closed";
    statusEl.dataset.state = "closed";
    statusEl.textContent = t("status.no-token");
  }

  return { render, noToken };
}
