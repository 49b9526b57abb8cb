// The memory study panel: a study.json (`rnnlab study copy`, validated by the server,
// rnnlab.dashboard.study) drawn as recall against delay, one line per cell with ±std error
// bars and each finished seed as a dot, and a table of recall mean ± std per delay and cell
// with how many seeds are done. It redraws whenever the file changes (after every run).
"use strict";

const CELL_COLOURS = { rnn: "#d9480f", lstm: "#2864c8", gru: "#2b8a3e" };
const OTHER_COLOURS = ["#862e9c", "#c2255c", "#0b7285", "#e67700"];
const studyViews = new Map();  // study id -> {el, chart, signature, version}

function cellColour(cell, k) {
  return CELL_COLOURS[cell] || OTHER_COLOURS[k % OTHER_COLOURS.length];
}

function tableEntry(study, delay, cell) {
  return (study.table || []).find(r => r.delay === delay && r.cell === cell) || null;
}

function runsOf(study, delay, cell) {
  return (study.runs || []).filter(r => r.delay === delay && r.cell === cell);
}

function renderStudies(studies) {
  const panel = document.getElementById("panel-study");
  const box = document.getElementById("studies");
  panel.hidden = studies.length === 0;
  const seen = new Set();
  for (const found of studies) {
    seen.add(found.id);
    let view = studyViews.get(found.id);
    if (!view) {
      view = { el: document.createElement("div"), chart: null, signature: "", version: null };
      view.el.className = "study";
      view.el.dataset.study = found.id;
      box.append(view.el);
      studyViews.set(found.id, view);
    }
    if (view.version === found.version && view.error === (found.error || null)) continue;
    view.version = found.version;
    view.error = found.error || null;
    if (found.error) {
      if (view.chart) view.chart.destroy();
      view.chart = null;
      view.signature = "";
      view.el.innerHTML = "";
      const e = document.createElement("p");
      e.className = "error";
      e.textContent = `${found.id}: ${found.error}`;
      view.el.append(e);
      continue;
    }
    drawStudy(view, found);
  }
  for (const [id, view] of studyViews) {
    if (!seen.has(id)) { if (view.chart) view.chart.destroy(); view.el.remove(); studyViews.delete(id); }
  }
}

function drawStudy(view, found) {
  const study = found.study;
  const delays = study.delays.slice().sort((a, b) => a - b);
  const cells = study.cells;
  const signature = JSON.stringify([delays, cells]);
  if (view.signature !== signature) {
    if (view.chart) view.chart.destroy();
    view.el.innerHTML = "";
    view.caption = document.createElement("p");
    view.caption.className = "muted";
    view.plot = document.createElement("div");
    view.plot.className = "study-chart";
    view.table = document.createElement("table");
    view.table.className = "study-table";
    const wrap = document.createElement("div");
    wrap.className = "study-grid";
    wrap.append(view.plot, view.table);
    view.el.append(view.caption, wrap);
    view.signature = signature;
    view.chart = null;
  }
  const done = study.runs.filter(r => r.status === "done").length;
  const running = study.runs.filter(r => r.status === "running").map(r => r.run);
  view.caption.textContent =
    `${found.id}: the ${study.study} task, ${cells.join(", ")} at delays ${delays.join(", ")}, ` +
    `${study.seeds.length} seed${study.seeds.length === 1 ? "" : "s"} each` +
    (study.engine ? `, engine ${study.engine}` : "") + ` · ${done} of ${study.runs.length} runs done` +
    (running.length ? ` · running: ${running.join(", ")}` : "") +
    " · error bars: ±1 std over seeds; dots: single seeds";
  const means = cells.map(c => delays.map(d => { const e = tableEntry(study, d, c); return e ? e.recall_mean : null; }));
  const stds = cells.map(c => delays.map(d => { const e = tableEntry(study, d, c); return e ? e.recall_std : null; }));
  const seeds = cells.map(c => delays.map(d => runsOf(study, d, c).filter(r => r.status === "done" && r.recall !== null).map(r => r.recall)));
  const data = [delays, ...means];
  view.extra = { stds, seeds };
  if (view.chart) view.chart.setData(data);
  else view.chart = new uPlot(studyOptions(view, cells), data, view.plot);
  view.plot.dataset.points = String(means.flat().filter(v => v !== null).length);
  fillStudyTable(view.table, study, delays, cells);
}

function studyOptions(view, cells) {
  return {
    width: 560,
    height: 260,
    scales: { x: { time: false }, y: { range: [0, 1.05] } },
    axes: [{ label: "delay (steps)" }, { label: "recall", size: 56 }],
    legend: { live: false },
    series: [
      { label: "delay" },
      ...cells.map((c, k) => ({ label: c, stroke: cellColour(c, k), width: 2, spanGaps: true,
                                points: { show: true, size: 7, fill: cellColour(c, k) } })),
    ],
    hooks: { draw: [u => drawErrorBars(u, view.extra, cells)] },
  };
}

// ±std bars with caps, and one small hollow dot per finished seed, in each cell's colour.
function drawErrorBars(u, extra, cells) {
  if (!extra) return;
  const ctx = u.ctx, px = devicePixelRatio || 1;
  ctx.save();
  ctx.lineWidth = 1.5 * px;
  cells.forEach((cell, k) => {
    const colour = cellColour(cell, k), s = k + 1;
    ctx.strokeStyle = colour;
    u.data[0].forEach((delay, j) => {
      const x = u.valToPos(delay, "x", true) + (k - (cells.length - 1) / 2) * 4 * px;
      const mean = u.data[s][j], std = extra.stds[k][j];
      if (mean !== null && std !== null && std > 0) {
        const lo = u.valToPos(Math.max(0, mean - std), "y", true), hi = u.valToPos(Math.min(1, mean + std), "y", true);
        ctx.beginPath();
        ctx.moveTo(x, lo); ctx.lineTo(x, hi);
        ctx.moveTo(x - 4 * px, lo); ctx.lineTo(x + 4 * px, lo);
        ctx.moveTo(x - 4 * px, hi); ctx.lineTo(x + 4 * px, hi);
        ctx.stroke();
      }
      for (const r of extra.seeds[k][j]) {
        ctx.beginPath();
        ctx.arc(x + 7 * px, u.valToPos(r, "y", true), 2.5 * px, 0, 2 * Math.PI);
        ctx.stroke();
      }
    });
  });
  ctx.restore();
}

function fillStudyTable(table, study, delays, cells) {
  table.innerHTML = "";
  const head = table.createTHead().insertRow();
  for (const name of ["delay", ...cells]) {
    const th = document.createElement("th");
    th.textContent = name;
    head.append(th);
  }
  const body = table.createTBody();
  for (const delay of delays) {
    const tr = body.insertRow();
    tr.insertCell().textContent = String(delay);
    cells.forEach(cell => {
      const td = tr.insertCell();
      const runs = runsOf(study, delay, cell);
      const finished = runs.filter(r => r.status === "done").length;
      const entry = tableEntry(study, delay, cell);
      const mean = entry && entry.recall_mean !== null ? entry.recall_mean.toFixed(3) : "—";
      const std = entry && entry.recall_std !== null ? ` ± ${entry.recall_std.toFixed(3)}` : "";
      td.textContent = `${mean}${std}`;
      const n = document.createElement("span");
      n.className = "muted";
      n.textContent = ` (${finished} of ${study.seeds.length} seeds)`;
      td.append(n);
      td.dataset.cell = `${delay}/${cell}`;
      if (runs.some(r => r.status === "running")) td.classList.add("running");
      td.title = runs.map(r => `${r.run}: ${r.status}` + (r.recall !== null ? `, recall ${r.recall}` : "")).join("\n");
    });
  }
}
