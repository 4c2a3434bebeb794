// The wall screen is what a meeting is about: a camera panel or a name tag drawn over it hid
// the middle of the chart being presented. Panels and tags that would cover a screen step
// aside, to whichever side of it is nearer, as onto a rail beside the screen.
//
// Boxes are {x, y, w, h} in the same pixels (which way y runs does not matter here).

/** Whether two boxes cover each other, or come closer than `gap`. */
export function overlaps(a, b, gap = 0) {
  return a.x < b.x + b.w + gap && b.x < a.x + a.w + gap && a.y < b.y + b.h + gap && b.y < a.y + a.h + gap;
}

/**
 * How far along x to move `box` so that it covers none of `screens` (0 when it covers none):
 * past the nearer edge of the screen it covers, then past any other it then meets.
 */
export function sideStep(box, screens, gap = 4) {
  let dx = 0;
  let way = 0; // chosen at the first screen and kept: turning back would land on it again
  for (let moves = 0; moves <= screens.length; moves++) {
    const moved = { ...box, x: box.x + dx };
    const hit = screens.find((s) => overlaps(moved, s, gap));
    if (!hit) return dx;
    const left = hit.x - gap - (moved.x + moved.w);
    const right = hit.x + hit.w + gap - moved.x;
    if (way === 0) way = -left <= right ? -1 : 1;
    dx += way < 0 ? left : right;
  }
  return dx;
}

/** The box around points (each {x, y}); null for none. */
export function boxAround(points) {
  if (points.length === 0) return null;
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  const x = Math.min(...xs);
  const y = Math.min(...ys);
  return { x, y, w: Math.max(...xs) - x, h: Math.max(...ys) - y };
}
