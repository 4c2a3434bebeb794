// Preferences kept in the browser between visits (language, accessibility mode). Storage can
// be unavailable (private mode, blocked cookies): then they last for the page only.

const PREFIX = "wealthroom.";

export function loadPref(name) {
  try {
    return localStorage.getItem(PREFIX + name);
  } catch {
    return null;
  }
}

export function savePref(name, value) {
  try {
    localStorage.setItem(PREFIX + name, value);
  } catch {
    // Not persisted; the choice still applies to this page.
  }
}

/** Large text and high contrast: a class on <html> the stylesheet keys on. */
export function applyAccessibility(on) {
  document.documentElement.classList.toggle("a11y", on);
  savePref("a11y", on ? "1" : "0");
}

export function accessibilityOn() {
  return loadPref("a11y") === "1";
}
