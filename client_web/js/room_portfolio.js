// The step-up dialog (a second factor before sensitive requests) and what it guards: the
// customer's portfolio and interest in a product.

import { ErrorCode } from "./codec.js";
import { byId, el } from "./dom.js";
import { t } from "./i18n.js";

export function mountPortfolio({ state, session }) {
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

  /** Handles the errors of the second factor; false for any other. */
  function onError(err) {
    switch (err.code) {
      case ErrorCode.STEP_UP_REQUIRED:
        askForCode(lastAsked);
        return true;
      case ErrorCode.NOT_VERIFIED:
        stepupError(t("stepup.wrong"));
        return true;
      case ErrorCode.LOCKED_OUT:
        stepupError(t("stepup.locked"));
        return true;
      default:
        return false;
    }
  }

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

  return { sendInterest, onError };
}
