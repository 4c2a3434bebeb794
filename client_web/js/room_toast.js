// The room page's passing notes: one line at a time, gone after a few seconds.

import { byId } from "./dom.js";

let toastTimer = null;

export function showToast(text) {
  const toast = byId("toast");
  toast.textContent = text;
  toast.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (toast.hidden = true), 5000);
}
