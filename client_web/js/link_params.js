// What a link carries after `#`: room, token and the like. The fragment never leaves the
// browser (no request, no server log, no Referer), which is why tokens travel there.

/** The fragment's parameters (`#room=demo&token=...`) as a plain object. */
export function fragmentParams(hash = location.hash) {
  return Object.fromEntries(new URLSearchParams(hash.replace(/^#/, "")));
}

/**
 * The claims of a JWT, read without checking the signature: only for showing the name the
 * bank put in it. The server is what verifies tokens.
 */
export function tokenClaims(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const padded = part + "=".repeat((4 - (part.length % 4)) % 4);
    const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return {};
  }
}

/** ws(s)://host/<path> on the server the page came from. */
export function sameOriginSocket(path) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${path}`;
}

/** A room page link (for an advisor after accepting a page), its data in the fragment. */
export function roomLink(params) {
  const fragment = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== null));
  return `/room.html#${fragment}`;
}
