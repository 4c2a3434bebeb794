// Small DOM helpers. Text always goes in through textContent (never innerHTML): names, chat
// and answers come from other people and from models.

/** `el("p", {class: "x", onclick: fn}, "text", child)`: an element with attributes and children. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`missing element #${id}`);
  return node;
}

/** Local time of a server timestamp (Unix ms), hours and minutes: as the browser writes times,
 * unless the page is in Chinese (a Chinese page in an English browser would show "AM"). */
export function clock(ms) {
  const lang = globalThis.document?.documentElement.lang ?? "";
  const locales = lang.startsWith("zh") ? [lang] : [];
  return new Date(ms).toLocaleTimeString(locales, { hour: "2-digit", minute: "2-digit" });
}
