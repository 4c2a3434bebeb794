// Allocation charts for the wall screen, drawn on a 2D canvas that becomes the screen's
// texture (and the advisor's preview). A few parts of a whole read best as a donut; many
// items, or items that are not shares of one thing, as bars.

export const PALETTE = ["#c8a951", "#3f7cac", "#5b9a68", "#b5523b", "#8e6bb8", "#4fa3a5", "#d08c3c", "#7a8694", "#a23b72", "#6c8f3c", "#c06c84", "#3b5b92"];

const BACKGROUND = "#0b1a2e";
const INK = "#f4efe3";
const MUTED = "#b8c2cf";

/** Donut for up to six parts, bars beyond. */
export function chartStyle(chart) {
  return chart.labels.length <= 6 ? "donut" : "bars";
}

function formatValue(v) {
  return Number.isInteger(v) ? v.toLocaleString() : v.toLocaleString(undefined, { maximumFractionDigits: 2 });
}

/**
 * Draw `chart` ({title, labels, values}) filling the canvas. An empty title and no items is a
 * cleared screen: the bank's mark on a dark field.
 */
export function drawChart(canvas, chart) {
  const ctx = canvas.getContext("2d");
  const w = canvas.width;
  const h = canvas.height;
  ctx.fillStyle = BACKGROUND;
  ctx.fillRect(0, 0, w, h);
  const unit = h / 20;
  if (!chart || (!chart.title && chart.labels.length === 0)) {
    ctx.fillStyle = "#26405f";
    ctx.font = `600 ${unit * 2}px system-ui, sans-serif`;
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    ctx.fillText("Wealthroom", w / 2, h / 2);
    return;
  }
  ctx.fillStyle = INK;
  ctx.font = `600 ${unit * 1.6}px system-ui, sans-serif`;
  ctx.textAlign = "left";
  ctx.textBaseline = "top";
  ctx.fillText(chart.title, unit * 1.2, unit * 1.1, w - unit * 2.4);
  const area = { x: unit * 1.2, y: unit * 4, w: w - unit * 2.4, h: h - unit * 5.2 };
  if (chart.labels.length === 0) return;
  if (chartStyle(chart) === "donut") drawDonut(ctx, chart, area, unit);
  else drawBars(ctx, chart, area, unit);
}

function drawDonut(ctx, chart, area, unit) {
  const total = chart.values.reduce((a, b) => a + b, 0) || 1;
  const r = Math.min(area.h, area.w * 0.45) / 2;
  const cx = area.x + r + unit;
  const cy = area.y + area.h / 2;
  let angle = -Math.PI / 2;
  chart.values.forEach((v, i) => {
    const sweep = (v / total) * Math.PI * 2;
    ctx.beginPath();
    ctx.moveTo(cx, cy);
    ctx.arc(cx, cy, r, angle, angle + sweep);
    ctx.closePath();
    ctx.fillStyle = PALETTE[i % PALETTE.length];
    ctx.fill();
    angle += sweep;
  });
  ctx.beginPath();
  ctx.arc(cx, cy, r * 0.55, 0, Math.PI * 2);
  ctx.fillStyle = BACKGROUND;
  ctx.fill();
  // Legend: swatch, label, share.
  const lx = cx + r + unit * 2;
  const rowH = Math.min(unit * 2.4, area.h / chart.labels.length);
  const top = cy - (rowH * chart.labels.length) / 2;
  ctx.textBaseline = "middle";
  chart.labels.forEach((label, i) => {
    const y = top + rowH * (i + 0.5);
    ctx.fillStyle = PALETTE[i % PALETTE.length];
    ctx.fillRect(lx, y - unit * 0.5, unit, unit);
    ctx.fillStyle = INK;
    ctx.font = `${unit * 1.1}px system-ui, sans-serif`;
    ctx.textAlign = "left";
    const share = `${Math.round((chart.values[i] / total) * 1000) / 10}%`;
    const room = area.x + area.w - (lx + unit * 1.6);
    ctx.fillText(label, lx + unit * 1.6, y, room * 0.7);
    ctx.fillStyle = MUTED;
    ctx.textAlign = "right";
    ctx.fillText(share, area.x + area.w, y);
  });
}

function drawBars(ctx, chart, area, unit) {
  const max = Math.max(...chart.values, 0) || 1;
  const n = chart.labels.length;
  const slot = area.w / n;
  const barW = slot * 0.62;
  const base = area.y + area.h - unit * 1.6;
  const height = area.h - unit * 3.2;
  ctx.strokeStyle = "#26405f";
  ctx.lineWidth = Math.max(1, unit * 0.08);
  ctx.beginPath();
  ctx.moveTo(area.x, base);
  ctx.lineTo(area.x + area.w, base);
  ctx.stroke();
  chart.values.forEach((v, i) => {
    const x = area.x + slot * i + (slot - barW) / 2;
    const bh = (v / max) * height;
    ctx.fillStyle = PALETTE[i % PALETTE.length];
    ctx.fillRect(x, base - bh, barW, bh);
    ctx.fillStyle = MUTED;
    ctx.font = `${unit * 0.9}px system-ui, sans-serif`;
    ctx.textAlign = "center";
    ctx.textBaseline = "bottom";
    ctx.fillText(formatValue(v), x + barW / 2, base - bh - unit * 0.2, slot);
    ctx.fillStyle = INK;
    ctx.textBaseline = "top";
    ctx.fillText(chart.labels[i], x + barW / 2, base + unit * 0.3, slot * 0.95);
  });
}
