// The chart panels: which metrics of metrics.jsonl each one draws, and how several runs
// share one uPlot chart. uPlot wants one x array for all series, so every run's records are
// joined on "step" (null where a run has no value there; spanGaps draws across the nulls,
// which is what evaluation series, logged every --eval-every steps, need).
"use strict";

const DASHED = [6, 4];
const DOTTED = [2, 4];

const PANELS = [
  { id: "panel-loss", series: [
      { key: "loss", label: "train" },
      { key: "val_loss", label: "val", dash: DASHED, points: true },
      { key: "optimal_loss", label: "optimum", dash: DOTTED, width: 1 }] },
  { id: "panel-bits", hideEmpty: true, series: [
      { key: "bits_per_token", label: "train" },
      { key: "val_bits_per_token", label: "val", dash: DASHED, points: true }] },
  { id: "panel-accuracy", hideEmpty: true, series: [
      { key: "val_accuracy", label: "val", points: true },
      { key: "val_macro_f1", label: "macro-F1", dash: DASHED, points: true },
      { key: "val_majority_baseline", label: "majority", dash: DOTTED, width: 1 }] },
  { id: "panel-decoding", hideEmpty: true, series: [
      { key: "val_exact_match", label: "exact match", points: true },
      { key: "val_token_error_rate", label: "token errors", dash: DASHED, points: true },
      { key: "val_wer", label: "WER", dash: DASHED, points: true },
      { key: "val_per", label: "PER", dash: DOTTED, points: true },
      { key: "val_mirror_attention", label: "mirrored attention", dash: DOTTED, width: 1 }] },
  { id: "panel-recall", hideEmpty: true, series: [
      { key: "val_recall_accuracy", label: "recall", points: true },
      { key: "val_sequence_accuracy", label: "whole", dash: DASHED, points: true }] },
  { id: "panel-grad", log: true, series: [{ key: "grad_norm", label: "norm" }] },
  { id: "panel-lr", series: [{ key: "lr", label: "lr" }] },
  { id: "panel-speed", series: [{ key: "tokens_per_s", label: "tokens/s" }] },
];

// runs: [{id, color, records}] -> {data: [steps, ...columns], columns: [{run, spec}]}
function joinRuns(runs, panel) {
  const steps = new Set();
  const columns = [];
  for (const run of runs) {
    for (const spec of panel.series) {
      const values = new Map();
      for (const r of run.records) {
        const v = r[spec.key];
        if (typeof v === "number" && isFinite(v) && (!panel.log || v > 0)) values.set(r.step, v);
      }
      if (values.size === 0) continue;
      values.forEach((_, step) => steps.add(step));
      columns.push({ run, spec, values });
    }
  }
  const xs = Array.from(steps).sort((a, b) => a - b);
  const data = [xs, ...columns.map(c => xs.map(x => (c.values.has(x) ? c.values.get(x) : null)))];
  return { data, columns };
}

class ChartPanel {
  constructor(panel) {
    this.panel = panel;
    this.el = document.getElementById(panel.id);
    const title = document.createElement("h2");
    title.textContent = this.el.dataset.title;
    this.box = document.createElement("div");
    this.box.className = "chart";
    this.el.append(title, this.box);
    this.chart = null;
    this.signature = "";
  }

  update(runs) {
    const { data, columns } = joinRuns(runs, this.panel);
    const signature = columns.map(c => c.run.id + "/" + c.spec.key + "/" + c.run.color).join(",");
    this.el.hidden = columns.length === 0 && this.panel.hideEmpty === true;
    this.el.dataset.series = String(columns.length);
    this.el.dataset.points = String(data[0].length);
    if (columns.length === 0) {
      this.destroy();
      this.box.innerHTML = '<div class="empty">no data yet</div>';
      return;
    }
    if (this.chart && signature === this.signature) {
      this.chart.setData(data);
      return;
    }
    this.destroy();
    this.box.innerHTML = "";
    this.signature = signature;
    this.chart = new uPlot(this.options(columns), data, this.box);
  }

  options(columns) {
    const several = new Set(columns.map(c => c.run.id)).size > 1;
    return {
      width: Math.max(300, this.box.clientWidth || 420),
      height: 240,
      scales: { x: { time: false }, y: this.panel.log ? { distr: 3 } : {} },
      axes: [{ label: "step" }, { size: 72 }],
      legend: { live: true },
      series: [
        { label: "step" },
        ...columns.map(c => ({
          label: several ? `${c.run.id} ${c.spec.label}` : c.spec.label,
          stroke: c.run.color,
          width: c.spec.width || 1.6,
          dash: c.spec.dash,
          spanGaps: true,
          points: { show: c.spec.points === true, size: 4 },
        })),
      ],
    };
  }

  resize() {
    if (this.chart) this.chart.setSize({ width: Math.max(300, this.box.clientWidth), height: 240 });
  }

  destroy() {
    if (this.chart) this.chart.destroy();
    this.chart = null;
    this.signature = "";
  }
}
