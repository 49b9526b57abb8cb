// The gate heatmap: one evaluation of probe.json drawn on a canvas. Time (the probe text,
// one column per token) runs left to right; each gate gets a block of rows, one per unit.
// Sigmoid gates (i, f, o; r, z) live in (0, 1): dark = closed, bright = open. The tanh
// ones (g, n) and the states h and c live around 0: blue negative, white 0, red positive.
"use strict";

const CELL_H = 12, LABEL_W = 84, HEADER_H = 22, GAP = 10;
let CELL_W = 20;  // set per drawing: the probe text fills the panel, 14 to 32 px a token
const TANH_LIKE = new Set(["g", "n", "h", "c"]);
const BLOCK_NAMES = { i: "input i", f: "forget f", g: "cand. g", o: "output o",
                      r: "reset r", z: "update z", n: "cand. n", h: "hidden h", c: "cell c" };

function sigmoidColour(v) {  // 0 -> dark blue-purple, 1 -> yellow (a viridis-like ramp)
  const t = Math.min(1, Math.max(0, v));
  const stops = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  const x = t * (stops.length - 1), k = Math.min(stops.length - 2, Math.floor(x)), f = x - k;
  const c = stops[k].map((a, j) => Math.round(a + f * (stops[k + 1][j] - a)));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

function divergingColour(v) {  // -1 blue, 0 white, +1 red (|v| beyond 1 saturates)
  const t = Math.min(1, Math.abs(v));
  const far = v < 0 ? [49, 104, 196] : [200, 50, 45];
  const c = far.map(a => Math.round(255 + t * (a - 255)));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

function shownToken(token) {
  if (token === " ") return "␣";
  if (token === "\n") return "⏎";
  if (token === "\t") return "⇥";
  return token.length > 3 ? token.slice(0, 3) : token;
}

// The blocks drawn for one evaluation: the gates in the cell's order, then c (LSTM) or h.
function heatmapBlocks(probe, record) {
  const blocks = [];
  const gates = record.gate_values || {};
  for (const name of probe.gates || []) if (gates[name]) blocks.push({ name, rows: gates[name] });
  if (record.c) blocks.push({ name: "c", rows: record.c });
  else if (record.h) blocks.push({ name: "h", rows: record.h });
  return blocks;
}

// Draws and returns a lookup (x, y) -> description, for the hover line.
function drawHeatmap(canvas, probe, record) {
  const ctx = canvas.getContext("2d");
  const tokens = probe.tokens || [];
  const blocks = heatmapBlocks(probe, record);
  const units = (probe.units || []).length;
  const T = tokens.length;
  const room = (canvas.parentElement ? canvas.parentElement.clientWidth : 900) - LABEL_W - 8;
  CELL_W = Math.max(14, Math.min(32, Math.floor(room / Math.max(T, 1))));
  canvas.width = LABEL_W + T * CELL_W + 8;
  canvas.height = HEADER_H + blocks.length * (units * CELL_H + GAP) + 4;
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.font = "12px ui-monospace, Menlo, Consolas, monospace";
  ctx.textAlign = "center";
  ctx.fillStyle = "#1d1d1f";
  tokens.forEach((tok, t) => ctx.fillText(shownToken(tok), LABEL_W + t * CELL_W + CELL_W / 2, 14));
  blocks.forEach((block, b) => {
    const top = HEADER_H + b * (units * CELL_H + GAP);
    const colour = TANH_LIKE.has(block.name) ? divergingColour : sigmoidColour;
    ctx.textAlign = "right";
    ctx.fillStyle = "#1d1d1f";
    ctx.fillText(BLOCK_NAMES[block.name] || block.name, LABEL_W - 6, top + units * CELL_H / 2 + 4);
    block.rows.forEach((row, t) => row.forEach((v, u) => {
      ctx.fillStyle = colour(v);
      ctx.fillRect(LABEL_W + t * CELL_W, top + u * CELL_H, CELL_W - 1, CELL_H - 1);
    }));
  });
  return (x, y) => {
    const t = Math.floor((x - LABEL_W) / CELL_W);
    const b = Math.floor((y - HEADER_H) / (units * CELL_H + GAP));
    const u = Math.floor((y - HEADER_H - b * (units * CELL_H + GAP)) / CELL_H);
    if (t < 0 || t >= T || b < 0 || b >= blocks.length || u < 0 || u >= units) return null;
    const v = blocks[b].rows[t] && blocks[b].rows[t][u];
    if (v === undefined) return null;
    const name = BLOCK_NAMES[blocks[b].name] || blocks[b].name;
    return `${name}, unit ${probe.units[u]}, step ${t + 1} (${JSON.stringify(tokens[t])}): ${v}`;
  };
}
