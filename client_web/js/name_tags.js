// Names above heads, drawn to a canvas and shown as a sprite that always faces the viewer and
// is never hidden behind furniture. A digital expert's tag carries its AI label on a second
// line, in a colour of its own: the label must be visible whenever the expert is. A person who
// joined with a microphone or camera has its state drawn after the name: green when on, grey
// and struck through when off.

import * as THREE from "three";

const FONT = "system-ui, 'Noto Sans CJK SC', 'PingFang SC', sans-serif";
const PX = 48; // canvas pixels per line of text
// Tags keep one size on screen whatever the distance (a close neighbour's name must not fill
// the view, a far one's must stay readable): sizes are fractions of the view at 1 m.
const VIEW_PER_PX = 0.00072;

function roundRect(ctx, x, y, w, h, r) {
  ctx.beginPath();
  ctx.moveTo(x + r, y);
  ctx.arcTo(x + w, y, x + w, y + h, r);
  ctx.arcTo(x + w, y + h, x, y + h, r);
  ctx.arcTo(x, y + h, x, y, r);
  ctx.arcTo(x, y, x + w, y, r);
  ctx.closePath();
}

const ON = "#7cc58a";
const OFF = "#9aa3ad";
const STRIKE = "#e4735e";

/** A microphone: a capsule on a stand, `s` pixels square, at (x, y) top left. */
function drawMic(ctx, x, y, s) {
  ctx.beginPath();
  ctx.roundRect(x + s * 0.34, y + s * 0.06, s * 0.32, s * 0.54, s * 0.16);
  ctx.fill();
  ctx.beginPath();
  ctx.lineWidth = s * 0.08;
  ctx.arc(x + s * 0.5, y + s * 0.42, s * 0.27, 0, Math.PI);
  ctx.moveTo(x + s * 0.5, y + s * 0.69);
  ctx.lineTo(x + s * 0.5, y + s * 0.88);
  ctx.moveTo(x + s * 0.32, y + s * 0.9);
  ctx.lineTo(x + s * 0.68, y + s * 0.9);
  ctx.stroke();
}

/** A camera: a body with a lens cone to its right. */
function drawCam(ctx, x, y, s) {
  ctx.beginPath();
  ctx.roundRect(x + s * 0.04, y + s * 0.26, s * 0.6, s * 0.48, s * 0.08);
  ctx.fill();
  ctx.beginPath();
  ctx.moveTo(x + s * 0.66, y + s * 0.5);
  ctx.lineTo(x + s * 0.96, y + s * 0.3);
  ctx.lineTo(x + s * 0.96, y + s * 0.7);
  ctx.closePath();
  ctx.fill();
}

function drawDevice(ctx, draw, state, x, y, s) {
  const on = state === "on";
  ctx.fillStyle = on ? ON : OFF;
  ctx.strokeStyle = on ? ON : OFF;
  draw(ctx, x, y, s);
  if (!on) {
    ctx.strokeStyle = STRIKE;
    ctx.lineWidth = s * 0.11;
    ctx.beginPath();
    ctx.moveTo(x + s * 0.1, y + s * 0.92);
    ctx.lineTo(x + s * 0.9, y + s * 0.08);
    ctx.stroke();
  }
}

/**
 * A tag for `name`, with `label` (the AI label) on a line of its own when given, and the
 * microphone and camera states (`mic`, `cam`: "on", "off"; empty or absent: none) after it.
 */
export function makeNameTag(name, { label = null, role = null, mic = "", cam = "" } = {}) {
  const canvas = document.createElement("canvas");
  const ctx = canvas.getContext("2d");
  const nameFont = `600 ${PX * 0.62}px ${FONT}`;
  const labelFont = `700 ${PX * 0.5}px ${FONT}`;
  ctx.font = nameFont;
  const devices = [mic ? [drawMic, mic] : null, cam ? [drawCam, cam] : null].filter(Boolean);
  const icon = PX * 0.56;
  const iconsW = devices.length ? devices.length * (icon + PX * 0.12) + PX * 0.08 : 0;
  const nameW = ctx.measureText(name).width + iconsW;
  ctx.font = labelFont;
  const labelW = label ? ctx.measureText(label).width + PX * 0.5 : 0;
  const pad = PX * 0.35;
  canvas.width = Math.ceil(Math.max(nameW, labelW) + pad * 2);
  canvas.height = Math.ceil(label ? PX * 1.9 : PX * 1.0);

  ctx.fillStyle = role === "advisor" ? "rgba(20, 48, 84, 0.9)" : "rgba(12, 20, 32, 0.82)";
  roundRect(ctx, 0, 0, canvas.width, canvas.height, PX * 0.25);
  ctx.fill();
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  ctx.font = nameFont;
  ctx.fillStyle = "#ffffff";
  ctx.fillText(name, canvas.width / 2 - iconsW / 2, PX * 0.5);
  // The name and the icons are one line, centred together.
  let ix = canvas.width / 2 + (nameW - 2 * iconsW) / 2 + PX * 0.08;
  for (const [draw, state] of devices) {
    drawDevice(ctx, draw, state, ix, PX * 0.5 - icon / 2, icon);
    ix += icon + PX * 0.12;
  }
  if (label) {
    const bw = labelW;
    const bx = (canvas.width - bw) / 2;
    ctx.fillStyle = "#7fd3ff";
    roundRect(ctx, bx, PX * 1.0, bw, PX * 0.72, PX * 0.18);
    ctx.fill();
    ctx.font = labelFont;
    ctx.fillStyle = "#06243a";
    ctx.fillText(label, canvas.width / 2, PX * 1.37);
  }

  const texture = new THREE.CanvasTexture(canvas);
  texture.colorSpace = THREE.SRGBColorSpace;
  texture.minFilter = THREE.LinearFilter;
  const material = new THREE.SpriteMaterial({
    map: texture,
    depthTest: false,
    depthWrite: false,
    transparent: true,
    sizeAttenuation: false,
  });
  const sprite = new THREE.Sprite(material);
  sprite.scale.set(canvas.width * VIEW_PER_PX, canvas.height * VIEW_PER_PX, 1);
  sprite.center.set(0.5, 0);
  sprite.renderOrder = 10;
  sprite.userData.devices = { mic, cam };
  return sprite;
}

/**
 * Lifts (in pixels) that keep name tags from covering each other on screen. `boxes` are the
 * tags where they would be drawn: `{x, y, w, h}` in pixels, `x` the left edge, `y` the bottom
 * edge, y up. The lowest tag on screen (most often the nearest person) stays where it is; each
 * one above it that would overlap a tag already placed moves up just clear of it, `gap` pixels
 * apart. Returns one lift per box, in their order.
 */
export function layoutTags(boxes, gap = 2) {
  const order = boxes.map((b, i) => i).sort((a, b) => boxes[a].y - boxes[b].y || boxes[a].x - boxes[b].x);
  const lifts = new Array(boxes.length).fill(0);
  const placed = [];
  for (const i of order) {
    const b = boxes[i];
    let y = b.y;
    // Each move clears one tag and may meet another above it: at most as many moves as tags.
    for (let moves = 0; moves <= placed.length; moves++) {
      const hit = placed.find((p) => b.x < p.x + p.w && p.x < b.x + b.w && y < p.y + p.h + gap && p.y < y + b.h + gap);
      if (!hit) break;
      y = hit.y + hit.h + gap;
    }
    lifts[i] = y - b.y;
    placed.push({ x: b.x, y, w: b.w, h: b.h });
  }
  return lifts;
}

export function disposeNameTag(sprite) {
  sprite.material.map?.dispose();
  sprite.material.dispose();
}
