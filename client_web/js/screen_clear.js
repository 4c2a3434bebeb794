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
 * past the nearer edge of the screen it covers, then past any other it then meets, going on
 * the same way. With `bounds` (the view), a way that would leave them loses to one that does
 * not, however much nearer.
 */
export function sideStep(box, screens, gap = 4, bounds = null) {
  if (!screens.some((s) => overlaps(box, s, gap))) return 0;
  const ways = [-1, 1].map((way) => stepWay(box, screens, gap, way));
  const inside = (dx) => !bounds || (box.x + dx >= bounds.x && box.x + dx + box.w <= bounds.x + bounds.w);
  const fits = ways.filter(inside);
  const pool = fits.length ? fits : ways;
  return pool.reduce((a, b) => (Math.abs(b) < Math.abs(a) ? b : a));
}

function stepWay(box, screens, gap, way) {
  let dx = 0;
  for (let moves = 0; moves <= screens.length; moves++) {
    const moved = { ...box, x: box.x + dx };
    const hit = screens.find((s) => overlaps(moved, s, gap));
    if (!hit) return dx;
    dx += way < 0 ? hit.x - gap - (moved.x + moved.w) : hit.x + hit.w + gap - moved.x;
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

// The camera tiles' column over the view sits on a rail at one side of it: bottom right, else
// bottom left, else top right (the experts' list holds the top left); where every side would
// cover a screen (a big one seen from near, the seminar's), smaller tiles.
export const RAILS = ["right-bottom", "left-bottom", "right-top"];
export const RAIL_MARGIN = 16;
export const COMPACT = 176 / 288; // the compact tiles' width to the advisor's usual one (the style's)

/** How much of the screens `box` covers, in square pixels. */
export function coveredArea(box, screens) {
  let area = 0;
  for (const s of screens) {
    const w = Math.min(box.x + box.w, s.x + s.w) - Math.max(box.x, s.x);
    const h = Math.min(box.y + box.h, s.y + s.h) - Math.max(box.y, s.y);
    if (w > 0 && h > 0) area += w * h;
  }
  return area;
}

/**
 * Where the tiles' column goes: `here` its box now (on `rail`, compact or not), `stage` the
 * view's box, `bottomGap` the bottom rails' gap above the view's bottom edge. The first rail
 * (full size first) that covers no screen, else the one covering least; {rail, compact}.
 */
export function chooseRail({ here, stage, rail, compact, bottomGap }, screens) {
  const full = compact ? { w: here.w / COMPACT, h: here.h / COMPACT } : { w: here.w, h: here.h };
  const boxAt = (name, scale) => {
    const w = full.w * scale;
    const h = full.h * scale;
    const x = name.startsWith("left") ? stage.x + RAIL_MARGIN : stage.x + stage.w - RAIL_MARGIN - w;
    const y = name.endsWith("top") ? stage.y + RAIL_MARGIN : stage.y + stage.h - bottomGap - h;
    return { x, y, w, h };
  };
  let best = { rail, compact, area: coveredArea(here, screens) };
  for (const small of [false, true]) {
    for (const name of RAILS) {
      const area = coveredArea(boxAt(name, small ? COMPACT : 1), screens);
      if (area < best.area) best = { rail: name, compact: small, area };
    }
    if (best.area === 0) break;
  }
  return { rail: best.rail, compact: best.compact };
}
