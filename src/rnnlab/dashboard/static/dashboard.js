// The dashboard page: polls /api/runs every POLL_MS, fetches what changed (metrics from the
// last record it has, probe.json when its version changes), and redraws. Polling rather than
// server-sent events keeps the server a plain read-only file reader, and a poll a second and
// a half is "within seconds" of each line the trainer writes.
"use strict";

const POLL_MS = 1500;
const COLOURS = ["#2864c8", "#d9480f", "#2b8a3e", "#862e9c", "#c2255c", "#0b7285", "#e67700",
                 "#5c940d", "#364fc7", "#a61e4d"];

const state = {
  runs: new Map(),  // id -> {id, summary, records, metricsVersion, probe, probeVersion, color, shown}
  order: [],
  gateRun: null,
  followLatest: true,
  example: 0,  // the example a classifier's or an encoder–decoder's probe panel shows
  studies: [],
};
const charts = PANELS.map(p => new ChartPanel(p));
let hoverLookup = null, attentionLookup = null;

async function getJSON(url) {
  const response = await fetch(url, { cache: "no-store" });
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

async function poll() {
  try {
    const { runs } = await getJSON("/api/runs");
    await Promise.all(runs.map(refreshRun));
    state.order = runs.map(r => r.id);
    state.studies = (await getJSON("/api/studies")).studies;
    document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString();
  } catch (err) {
    document.getElementById("updated").textContent = "server unreachable (" + err.message + "); retrying";
  }
  render();
  setTimeout(poll, POLL_MS);
}

async function refreshRun(summary) {
  let run = state.runs.get(summary.id);
  if (!run) {
    run = { id: summary.id, records: [], metricsVersion: null, probe: null, probeVersion: null,
            color: COLOURS[state.runs.size % COLOURS.length], shown: true };
    state.runs.set(summary.id, run);
  }
  run.summary = summary;
  run.error = summary.error || null;
  if (summary.metrics_version !== run.metricsVersion) {
    try {
      const m = await getJSON(`/api/runs/${encodeURIComponent(run.id)}/metrics?since=${run.records.length}`);
      // Fewer records than we hold: the log was cut back (a resumed run); start again.
      run.records = m.count < run.records.length ? (await getJSON(`/api/runs/${encodeURIComponent(run.id)}/metrics`)).records
                                                 : run.records.concat(m.records);
      run.metricsVersion = summary.metrics_version;
    } catch (err) { run.error = err.message; }
  }
  if (summary.probe_version !== run.probeVersion) {
    try {
      run.probe = summary.probe_version ? await getJSON(`/api/runs/${encodeURIComponent(run.id)}/probe`) : null;
      run.probeVersion = summary.probe_version;
    } catch (err) { run.error = err.message; }
  }
}

function render() {
  renderRunTable();
  const shown = state.order.map(id => state.runs.get(id)).filter(r => r && r.shown);
  charts.forEach(c => c.update(shown));
  renderStudies(state.studies);
  renderGates();
}

function statusText(s) {
  if (s.status === "training") return "training";
  if (s.status === "stopped") {
    const why = s.stop_reason ? `: ${s.stop_reason}` : (s.step != null && s.step === s.planned_steps ? ": finished" : "");
    return `stopped${why}`;
  }
  return s.status;
}

function renderRunTable() {
  const body = document.querySelector("#runs tbody");
  document.getElementById("no-runs").hidden = state.order.length > 0;
  body.innerHTML = "";
  for (const id of state.order) {
    const run = state.runs.get(id), s = run.summary;
    const tr = document.createElement("tr");
    tr.dataset.run = id;
    const box = document.createElement("input");
    box.type = "checkbox";
    box.checked = run.shown;
    box.title = "show this run in the charts";
    box.addEventListener("change", () => { run.shown = box.checked; render(); });
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = run.color;
    const model = s.cell ? `${s.cell} ${s.hidden_size}×${s.num_layers}` : "";
    const cells = [[box, swatch], s.name, s.task || "", model, s.engine || "", null,
                   s.step != null ? String(s.step) : ""];
    cells.forEach((content, k) => {
      const td = document.createElement("td");
      if (k === 5) {
        const badge = document.createElement("span");
        badge.className = "status " + s.status;
        badge.textContent = statusText(s);
        td.append(badge);
        if (run.error) {
          const e = document.createElement("div");
          e.className = "error";
          e.textContent = run.error;
          td.append(e);
        }
      } else if (Array.isArray(content)) td.append(...content);
      else td.textContent = content;
      tr.append(td);
    });
    body.append(tr);
  }
}

function renderGates() {
  const select = document.getElementById("gate-run");
  const probed = state.order.filter(id => {
    const p = state.runs.get(id).probe;
    return p && p.evals && p.evals.length > 0;
  });
  if (select.dataset.options !== probed.join(",")) {
    select.innerHTML = "";
    probed.forEach(id => select.append(new Option(id, id)));
    select.dataset.options = probed.join(",");
  }
  if (!probed.includes(state.gateRun)) {  // the first run that writes text, else the first
    const writes = probed.filter(id => state.runs.get(id).probe.evals.some(e => typeof e.sample === "string"));
    state.gateRun = writes[0] || probed[0] || null;
  }
  select.value = state.gateRun || "";
  const slider = document.getElementById("eval-slider");
  const canvas = document.getElementById("heatmap");
  const sample = document.getElementById("sample");
  if (!state.gateRun) {
    document.getElementById("gate-caption").textContent = "no evaluation has written a probe yet";
    document.getElementById("eval-label").textContent = "";
    sample.textContent = "no sample yet";
    canvas.dataset.drawn = "";
    canvas.hidden = true;  // not an empty white block under the caption
    return;
  }
  const probe = state.runs.get(state.gateRun).probe;
  const last = probe.evals.length - 1;
  slider.max = String(last);
  if (state.followLatest) slider.value = String(last);
  const k = Math.min(Number(slider.value), last);
  const record = probe.evals[k];
  document.getElementById("eval-label").textContent = `${k + 1} of ${last + 1} · step ${record.step}`;
  const kind = probe.kind || "per_step";
  const examples = probe.examples || [];
  state.example = Math.min(state.example, Math.max(0, examples.length - 1));
  chooseExample(kind === "per_step" ? [] : examples);
  document.getElementById("probe-title").textContent = {
    per_step: "Inside the model: the probe text at each evaluation",
    classifier: "The classifier at each evaluation: its answers, and its gates on the chosen example",
    seq2seq: "The encoder–decoder at each evaluation: its outputs and attention",
  }[kind] || "Inside the model";
  document.getElementById("part-classifier").hidden = kind !== "classifier";
  document.getElementById("part-seq2seq").hidden = kind !== "seq2seq";
  document.getElementById("panel-samples").hidden = kind !== "per_step";
  const drawn = `${state.gateRun}@${record.step}`;
  if (kind === "classifier") {
    renderClassifier(probe, record, state.example, selectExample);
    document.getElementById("part-classifier").dataset.drawn = drawn;
    const example = examples[state.example];
    drawGates(canvas, { ...probe, tokens: example ? example.tokens : [] },
              (record.examples || [])[state.example] || {}, drawn + "#" + state.example,
              `example ${state.example + 1}'s ${example ? example.tokens.length : 0} tokens`);
  } else if (kind === "seq2seq") {
    attentionLookup = renderSeq2seq(probe, record, state.example, selectExample);
    const map = document.getElementById("attention-map");
    map.dataset.drawn = attentionLookup ? drawn + "#" + state.example : "";
    document.getElementById("part-seq2seq").dataset.drawn = drawn;
    document.getElementById("part-gates").hidden = true;
    canvas.dataset.drawn = "";
  } else {
    drawGates(canvas, probe, record, drawn, `the first ${probe.tokens.length} tokens of the validation text`);
    sample.textContent = typeof record.sample === "string" ? record.sample
                                                         : "(this task writes no text: no sample)";
    sample.dataset.step = String(record.step);
  }
}

// The gate heatmap of one record (per-step: the probe text; classifier: one example).
function drawGates(canvas, probe, record, drawn, what) {
  const part = document.getElementById("part-gates");
  const hasGates = record.gate_values || record.h || record.c;
  part.hidden = !hasGates;
  if (!hasGates) {
    canvas.dataset.drawn = "";
    return;
  }
  document.getElementById("gate-caption").textContent =
    `${probe.cell} layer ${probe.layer}, units ${probe.units[0]}–${probe.units[probe.units.length - 1]}, ` +
    `on ${what}. Gates: dark = closed (0), yellow = open (1); candidate and cell: blue < 0 < red. ` +
    "Hover for values.";
  canvas.hidden = false;
  hoverLookup = drawHeatmap(canvas, probe, record);
  canvas.dataset.drawn = drawn;
}

function chooseExample(examples) {
  const choice = document.getElementById("example-choice");
  const select = document.getElementById("probe-example");
  choice.hidden = examples.length === 0;
  // Compared by their text, not their count: another run's examples are other tokens.
  const labels = examples.map((e, k) => `${k + 1}: ${(e.tokens || e.source || []).slice(0, 8).join(" ")}`);
  if (select.dataset.options !== JSON.stringify(labels)) {
    select.innerHTML = "";
    labels.forEach((label, k) => select.append(new Option(label, String(k))));
    select.dataset.options = JSON.stringify(labels);
  }
  select.value = String(state.example);
}

function selectExample(k) {
  state.example = k;
  renderGates();
}

document.getElementById("gate-run").addEventListener("change", e => {
  state.gateRun = e.target.value;
  state.followLatest = true;
  state.example = 0;
  renderGates();
});
document.getElementById("probe-example").addEventListener("change", e => selectExample(Number(e.target.value)));
document.getElementById("attention-map").addEventListener("mousemove", e => {
  const rect = e.target.getBoundingClientRect();
  const text = attentionLookup && attentionLookup(e.clientX - rect.left, e.clientY - rect.top);
  document.getElementById("attention-hover").textContent = text || "\u00a0";
});
document.getElementById("eval-slider").addEventListener("input", e => {
  state.followLatest = Number(e.target.value) === Number(e.target.max);
  renderGates();
});
document.getElementById("heatmap").addEventListener("mousemove", e => {
  const rect = e.target.getBoundingClientRect();
  const text = hoverLookup && hoverLookup(e.clientX - rect.left, e.clientY - rect.top);
  document.getElementById("heatmap-hover").textContent = text || "\u00a0";
});
window.addEventListener("resize", () => charts.forEach(c => c.resize()));
poll();
