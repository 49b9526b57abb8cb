// The explorer page: knobs (a range slider and its value) for x, h_{t-1}, c_{t-1} and the 16
// weights, and every number of one LSTM step recomputed in the page (lstm_cell.js) at each
// move; no request per move. Every shown number carries its exact value in data-value, so
// a test can compare the page with the NumPy engine.
"use strict";

const DEFAULTS = {
  x: 0.5, h: 0.1, c: 0.5,
  W_ih: [0.8, 0.5, 1.2, 0.6], W_hh: [0.3, -0.2, 0.9, 0.4],
  b_ih: [0.0, 1.0, 0.0, 0.0], b_hh: [0.0, 0.0, 0.0, 0.0],
};
const TENSORS = ["W_ih", "W_hh", "b_ih", "b_hh"];
const ACTIVATION = { i: "σ", f: "σ", g: "tanh", o: "σ" };
const GATE_TITLE = { i: "input i", f: "forget f", g: "candidate g", o: "output o" };
const knobs = new Map();  // knob id ("x", "W_ih-f", ...) -> its range input
let unitData = null;      // the trained unit's weights, when one is chosen

// A knob's value as shown: at most 4 decimals (a trained weight keeps all its digits in the
// slider itself, which is what the arithmetic reads).
function shortValue(text) { return String(Number(Number(text).toFixed(4))); }

function knob(parent, id, label, min, max, step, value) {
  const row = document.createElement("div");
  row.className = "knob";
  const name = document.createElement("label");
  name.innerHTML = label;  // our own fixed labels, with <sub>
  name.htmlFor = "knob-" + id;
  const input = document.createElement("input");
  Object.assign(input, { type: "range", id: "knob-" + id, min, max, step, value: String(value) });
  const out = document.createElement("output");
  out.id = "value-" + id;
  input.addEventListener("input", () => { out.textContent = shortValue(input.value); update(); });
  out.textContent = shortValue(input.value);
  row.append(name, input, out);
  parent.append(row);
  knobs.set(id, input);
}

function setKnob(id, value) {
  const input = knobs.get(id);
  const lo = Number(input.min), hi = Number(input.max);
  if (value < lo || value > hi) {  // a trained weight beyond the slider: widen it
    input.min = String(Math.min(lo, Math.floor(value)));
    input.max = String(Math.max(hi, Math.ceil(value)));
  }
  input.value = String(value);
  if (Number(input.value) !== value) input.step = "any";  // keep the exact trained value
  input.value = String(value);
  document.getElementById("value-" + id).textContent = shortValue(input.value);
}

function params() {
  const get = id => Number(knobs.get(id).value);
  const p = { x: get("x"), h: get("h"), c: get("c") };
  for (const t of TENSORS) p[t] = GATES.map(g => get(`${t}-${g}`));
  return p;
}

function fmt(v) { return (v < 0 ? "−" : "") + Math.abs(v).toFixed(4); }
function num(v, id) {  // a number as shown, with its exact value for tests
  return `<span class="n"${id ? ` id="${id}"` : ""} data-value="${v}">${fmt(v)}</span>`;
}
function factor(v, id) { return v < 0 ? `(${num(v, id)})` : num(v, id); }  // 0.1·(−0.2), not 0.1·−0.2

function update() {
  const p = params(), s = lstmUnitStep(p);
  const rows = GATES.map((g, k) => {
    const a = s[g];
    const share = g === "g" ? (a + 1) / 2 : a;
    return `<tr data-gate="${g}"><td>${GATE_TITLE[g]}</td>` +
      `<td>${factor(p.x)}·${factor(p.W_ih[k])} + ${factor(p.b_ih[k])} + ${factor(p.h)}·${factor(p.W_hh[k])} + ${factor(p.b_hh[k])}</td>` +
      `<td class="num">${num(s.z[k], "z-" + g)}</td><td>${ACTIVATION[g]}(z) =</td>` +
      `<td class="num">${num(a, "a-" + g)}</td>` +
      `<td><div class="bar-wrap"><div class="bar" style="width:${(100 * share).toFixed(1)}%"></div></div></td></tr>`;
  });
  document.getElementById("gate-rows").innerHTML = rows.join("");
  document.getElementById("eq-c").innerHTML =
    `<b>c<sub>t</sub></b> = f⊙c<sub>t−1</sub> + i⊙g = ${num(s.f)} × ${factor(p.c)} + ${num(s.i)} × ${factor(s.g)}` +
    ` = ${num(s.kept, "kept")} + ${factor(s.written, "written")} = <b>${num(s.c, "c-t")}</b>`;
  document.getElementById("eq-h").innerHTML =
    `<b>h<sub>t</sub></b> = o⊙tanh(c<sub>t</sub>) = ${num(s.o)} × tanh(${num(s.c)}) = ${num(s.o)} × ${num(s.tanhC, "tanh-c")}` +
    ` = <b>${num(s.h, "h-t")}</b>`;
  document.getElementById("reading").textContent =
    `The forget gate keeps ${(100 * s.f).toFixed(0)}% of the old cell, the input gate writes ` +
    `${(100 * s.i).toFixed(0)}% of the candidate ${fmt(s.g)}, and the output gate lets ` +
    `${(100 * s.o).toFixed(0)}% of tanh(c_t) out as h_t.` +
    (s.i < 0.05 && s.f > 0.5 ? " With the input gate shut, the forget gate alone decides: c_t ≈ f·c_{t−1}." : "");
}

function setWeights(w) {
  for (const t of TENSORS) GATES.forEach((g, k) => setKnob(`${t}-${g}`, w[t][k]));
}

function preset(name) {
  const k = { i: 0, f: 1 };
  const w = Object.fromEntries(TENSORS.map(t => [t, GATES.map(g => Number(knobs.get(`${t}-${g}`).value))]));
  const gate = name.endsWith("i") ? k.i : k.f;
  w.W_ih[gate] = 0; w.W_hh[gate] = 0; w.b_hh[gate] = 0;
  w.b_ih[gate] = name.startsWith("open") ? 10 : -10;  // σ(±10) = 1 or 0 to 4.5e-5
  setWeights(w);
  update();
}

// --- a unit of a trained run -------------------------------------------------------------
async function getJSON(url) {
  const r = await fetch(url, { cache: "no-store" });
  const body = await r.json();
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}

async function loadRuns() {
  try {
    const { runs } = await getJSON("/api/runs");
    const source = document.getElementById("source");
    for (const run of runs.filter(r => r.explorable)) {
      source.append(new Option(`run ${run.id}: a unit of its first layer (${run.cell}, H=${run.hidden_size})`, run.id));
    }
  } catch (err) {
    document.getElementById("source-error").textContent = "cannot list runs: " + err.message;
  }
}

async function loadUnit() {
  const run = document.getElementById("source").value;
  const unit = document.getElementById("unit");
  document.getElementById("unit-controls").hidden = !run;
  document.getElementById("source-error").textContent = "";
  if (!run) { unitData = null; setWeights(DEFAULTS); update(); return; }
  try {
    unitData = await getJSON(`/api/runs/${encodeURIComponent(run)}/unit/${Number(unit.value) || 0}`);
  } catch (err) {
    document.getElementById("source-error").textContent = err.message;
    return;
  }
  unit.max = String(unitData.hidden_size - 1);
  const token = document.getElementById("token");
  const keep = token.value;
  token.innerHTML = "";
  unitData.labels.forEach((label, k) => token.append(new Option(JSON.stringify(label), String(k))));
  token.value = keep && Number(keep) < unitData.labels.length ? keep : "0";
  document.getElementById("unit-note").textContent =
    "x scales the chosen token's input (1: the token itself); h(t−1) and c(t−1) are this " +
    "unit's, the other units' held at 0.";
  applyUnit();
}

function applyUnit() {
  if (!unitData) return;
  const k = Number(document.getElementById("token").value);
  setWeights({ W_ih: unitData.w_x[k], W_hh: unitData.w_h, b_ih: unitData.b_ih, b_hh: unitData.b_hh });
  setKnob("x", 1);
  update();
}

function build() {
  const state = document.getElementById("state-knobs");
  knob(state, "x", "input x", -3, 3, 0.01, DEFAULTS.x);
  knob(state, "h", "h<sub>t−1</sub>", -1, 1, 0.01, DEFAULTS.h);
  knob(state, "c", "c<sub>t−1</sub>", -3, 3, 0.01, DEFAULTS.c);
  const weights = document.getElementById("weight-knobs");
  for (const t of TENSORS) {
    const bias = t.startsWith("b");
    GATES.forEach((g, k) => knob(weights, `${t}-${g}`, `${t}[${g}]`, bias ? -10 : -4, bias ? 10 : 4, 0.05, DEFAULTS[t][k]));
  }
  document.getElementById("preset-close-i").addEventListener("click", () => preset("close-i"));
  document.getElementById("preset-open-f").addEventListener("click", () => preset("open-f"));
  document.getElementById("preset-close-f").addEventListener("click", () => preset("close-f"));
  document.getElementById("preset-reset").addEventListener("click", () => {
    if (unitData) { applyUnit(); return; }
    setWeights(DEFAULTS);
    ["x", "h", "c"].forEach(id => setKnob(id, DEFAULTS[id]));
    update();
  });
  document.getElementById("source").addEventListener("change", loadUnit);
  document.getElementById("unit").addEventListener("change", loadUnit);
  document.getElementById("token").addEventListener("change", applyUnit);
  update();
  loadRuns();
}

build();
