// The page's settings in the top bar: large text and the language.

import { byId } from "./dom.js";
import { mountLangChooser, toggleLang } from "./i18n.js";
import { applyAccessibility } from "./prefs.js";

export function mountSettings({ scene }) {
  const a11yToggle = byId("a11y-toggle");

  function setAccessibility(on) {
    applyAccessibility(on);
    a11yToggle.setAttribute("aria-pressed", String(on));
    scene.setLabelScale(on ? 1.5 : 1);
  }

  a11yToggle.addEventListener("click", () => setAccessibility(!document.documentElement.classList.contains("a11y")));
  byId("lang-toggle").addEventListener("click", toggleLang);
  mountLangChooser(byId("lang-choice"));

  return { setAccessibility };
}
