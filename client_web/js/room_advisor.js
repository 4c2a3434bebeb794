// The advisor's tools: a chart for the wall screen, bringing in and sending away experts.
// (Recording has its own module: every member sees its notice.)

import { byId, el } from "./dom.js";
import { specialty, t } from "./i18n.js";
import { SPECIALTIES } from "./messages.js";
import { Limits } from "./protocol.js";

/** `names` maps member ids to display names (the conversation keeps it). */
export function mountAdvisorTools({ link, state, session }, { names }) {
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

  function renderInfo() {
    const customer = link.customer || [...names.entries()].find(([m]) => m !== state.member)?.[1] || "";
    byId("advisor-customer").textContent = customer ? t("advisor.customer", { name: customer }) : "";
    const risk = Number(link.risk);
    byId("advisor-profile").textContent = risk >= 1 && risk <= 5 ? t("advisor.profile", { risk }) : t("advisor.profile-unknown");
  }

  function renderSpecialties() {
    byId("summon-sp").replaceChildren(...SPECIALTIES.map((sp) => el("option", { value: sp }, specialty(sp))));
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
  renderSpecialties();
  byId("summon-form").addEventListener("submit", (e) => {
    e.preventDefault();
    session.send({ t: "summon", sp: select.value });
  });
  byId("dismiss-all").addEventListener("click", () => session.send({ t: "dismiss", expert: 0 }));
  renderInfo();

  return { renderInfo, renderSpecialties, renderDismissList };
}
