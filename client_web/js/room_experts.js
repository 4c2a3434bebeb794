// The digital experts in the room, listed over the 3D view (the HUD).

import { byId, el } from "./dom.js";
import { aiLabel, specialty } from "./i18n.js";

/** `onExperts(experts)` gets the expert entities each time the list changes. */
export function mountExperts({ state, session }, { onExperts }) {
  let signature = "";

  function render() {
    const experts = [...session.replica.entities.values()].filter((e) => e.k === "expert");
    state.experts = experts.map((e) => ({ id: e.i, name: e.n, label: e.l, sp: e.sp, e: e.e }));
    const next = JSON.stringify(state.experts) + document.documentElement.lang;
    if (next === signature) return;
    signature = next;
    const list = byId("experts");
    list.replaceChildren(
      ...experts.map((e) =>
        el(
          "li",
          { class: "expert-tag", dataset: { entity: e.i, state: e.e ?? "present" } },
          el("span", { class: "name" }, e.n ?? ""),
          el("span", { class: "ai-label" }, aiLabel(e.l)),
          el("span", { class: "muted" }, specialty(e.sp)),
        ),
      ),
    );
    byId("experts-none").hidden = experts.length > 0;
    onExperts(experts);
  }

  /** Draw again at the next render even if the entities look the same. */
  function invalidate() {
    signature = "";
  }

  return { render, invalidate };
}
