// The probe of models that answer once per sequence or decode a sequence: a few fixed
// validation examples (rnnlab.train.probe_examples).
//  * a classifier: each example's tokens (shaded by the attention readout's weight α_t when
//    it has one), its true and predicted label, and the class probabilities;
//  * an encoder–decoder: each source, its reference and the greedy output, and the attention
//    matrix α of the chosen example drawn as a heatmap (source tokens across, output down).
// Everything from the run is put in the page as text (textContent), never as HTML.
"use strict";

const ATT_CELL = 22, ATT_LEFT = 70, ATT_TOP = 26;

function cellText(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

// A row of token chips; with weights, each chip's background is α / max α in blue.
function tokenChips(tokens, weights, cut) {
  const td = document.createElement("td");
  td.className = "tokens";
  const top = weights ? Math.max(...weights, 1e-9) : 1;
  tokens.forEach((tok, t) => {
    const chip = document.createElement("span");
    chip.className = "tok";
    chip.textContent = tok.length > 3 ? tok.slice(0, 24) : shownToken(tok);
    if (weights && typeof weights[t] === "number") {
      chip.style.background = `rgba(40, 100, 200, ${(0.85 * weights[t] / top).toFixed(3)})`;
      chip.title = `α = ${weights[t]}`;
    }
    td.append(chip);
  });
  if (cut) td.append(Object.assign(document.createElement("span"), { className: "muted", textContent: ` … (${cut} tokens)` }));
  return td;
}

function probabilityBars(labels, probabilities, truth) {
  const td = document.createElement("td");
  td.className = "probs";
  const order = probabilities.map((p, k) => k).sort((a, b) => probabilities[b] - probabilities[a]);
  for (const k of order.slice(0, 5)) {  // the five likeliest classes
    const row = document.createElement("div");
    row.className = "prob";
    const name = document.createElement("span");
    name.textContent = labels[k] !== undefined ? labels[k] : String(k);
    const wrap = document.createElement("span");
    wrap.className = "bar-wrap";
    const bar = document.createElement("span");
    bar.className = "bar" + (k === truth ? " truth" : "");
    bar.style.width = `${Math.round(100 * probabilities[k])}%`;
    wrap.append(bar);
    const value = document.createElement("span");
    value.textContent = probabilities[k].toFixed(3);
    row.append(name, wrap, value);
    td.append(row);
  }
  return td;
}

function exampleRow(body, k, selected, onSelect, cells) {
  const tr = document.createElement("tr");
  tr.dataset.example = String(k);
  if (k === selected) tr.className = "selected";
  tr.addEventListener("click", () => onSelect(k));
  tr.append(cellText(String(k + 1)), ...cells);
  body.append(tr);
}

function renderClassifier(probe, record, selected, onSelect) {
  const body = document.querySelector("#cls-examples tbody");
  body.innerHTML = "";
  const labels = probe.labels || [];
  let right = 0;
  (probe.examples || []).forEach((example, k) => {
    const answer = (record.examples || [])[k] || {};
    const truth = example.label, predicted = answer.predicted;
    if (predicted === truth) right += 1;
    const cut = example.length > example.tokens.length ? example.length : 0;
    exampleRow(body, k, selected, onSelect, [
      tokenChips(example.tokens, answer.attention, cut),
      cellText(labels[truth] !== undefined ? labels[truth] : String(truth)),
      cellText(predicted === undefined ? "" : (labels[predicted] !== undefined ? labels[predicted] : String(predicted)),
               predicted === truth ? "right" : "wrong"),
      probabilityBars(labels, answer.probabilities || [], truth),
    ]);
  });
  const attention = (record.examples || []).some(a => Array.isArray(a.attention));
  document.getElementById("cls-caption").textContent =
    `· ${right} of ${(probe.examples || []).length} right · readout ${probe.readout}` +
    (attention ? " · token shading: the attention readout's weight α_t" : "") + " · click a row for its gates";
}

function renderSeq2seq(probe, record, selected, onSelect) {
  const body = document.querySelector("#s2s-examples tbody");
  body.innerHTML = "";
  const srcSep = probe.source_separator || "", tgtSep = probe.target_separator || "";
  (probe.examples || []).forEach((example, k) => {
    const out = (record.examples || [])[k] || { output: [] };
    const text = out.output.join(tgtSep) + (out.ended ? "" : " …");
    const same = out.ended && out.output.join("\u0000") === example.reference.join("\u0000");
    exampleRow(body, k, selected, onSelect, [
      cellText(example.source.join(srcSep), "mono"),
      cellText(example.reference.join(tgtSep), "mono"),
      cellText(text, "mono " + (same ? "right" : "wrong")),
    ]);
  });
  const canvas = document.getElementById("attention-map");
  const example = (probe.examples || [])[selected];
  const out = (record.examples || [])[selected];
  if (!example || !out || !Array.isArray(out.attention)) {
    canvas.hidden = true;
    canvas.dataset.drawn = "";
    document.getElementById("attention-caption").textContent =
      probe.attention === "none" ? "this model has no attention (a plain encoder–decoder)" : "no attention weights in this evaluation";
    return null;
  }
  canvas.hidden = false;
  const rows = out.output.concat(out.ended ? ["<eos>"] : []).slice(0, out.attention.length);
  document.getElementById("attention-caption").textContent =
    `example ${selected + 1}: ${probe.attention} attention α of each output step (down) over the source (across); ` +
    "dark = 0, yellow = 1. Hover for values.";
  return drawAttention(canvas, example.source, rows, out.attention);
}

// Draws α (rows: output steps, columns: source tokens) and returns a hover lookup.
function drawAttention(canvas, source, outputs, matrix) {
  const ctx = canvas.getContext("2d");
  const S = source.length, N = matrix.length;
  canvas.width = ATT_LEFT + S * ATT_CELL + 8;
  canvas.height = ATT_TOP + N * ATT_CELL + 4;
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.font = "12px ui-monospace, Menlo, Consolas, monospace";
  ctx.fillStyle = "#1d1d1f";
  ctx.textAlign = "center";
  source.forEach((tok, j) => ctx.fillText(shownToken(tok), ATT_LEFT + j * ATT_CELL + ATT_CELL / 2, 16));
  ctx.textAlign = "right";
  outputs.forEach((tok, i) => ctx.fillText(tok.length > 3 ? tok.slice(0, 8) : shownToken(tok), ATT_LEFT - 6, ATT_TOP + i * ATT_CELL + ATT_CELL / 2 + 4));
  matrix.forEach((row, i) => row.forEach((v, j) => {
    ctx.fillStyle = sigmoidColour(v);
    ctx.fillRect(ATT_LEFT + j * ATT_CELL, ATT_TOP + i * ATT_CELL, ATT_CELL - 1, ATT_CELL - 1);
  }));
  return (x, y) => {
    const j = Math.floor((x - ATT_LEFT) / ATT_CELL), i = Math.floor((y - ATT_TOP) / ATT_CELL);
    if (i < 0 || i >= N || j < 0 || j >= S || matrix[i][j] === undefined) return null;
    return `output ${i + 1} (${JSON.stringify(outputs[i])}) on source ${j + 1} (${JSON.stringify(source[j])}): α = ${matrix[i][j]}`;
  };
}
