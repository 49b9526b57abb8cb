// One step of a one-unit LSTM, in float64 (every JavaScript number is one), written as the
// NumPy engine writes it (rnnlab/numpy/lstm.py, step_forward; gate order i, f, g, o):
//
//   z_k = x·W_ih[k] + b_ih[k] + h_{t-1}·W_hh[k] + b_hh[k]      k = i, f, g, o
//   i = σ(z_i)   f = σ(z_f)   g = tanh(z_g)   o = σ(z_o)
//   c_t = f·c_{t-1} + i·g
//   h_t = o·tanh(c_t)
//
// σ is computed as ½(1 + tanh(z/2)), as rnnlab.numpy.activations.sigmoid does, and the sums
// in the same order as NumPy's, so the page's numbers equal the engine's to rounding (the
// browser test proves 1e-12).
"use strict";

const GATES = ["i", "f", "g", "o"];

function sigmoid(z) {
  return (Math.tanh(z * 0.5) + 1.0) * 0.5;
}

// p: {x, h, c, W_ih: [4], W_hh: [4], b_ih: [4], b_hh: [4]} -> every intermediate value.
function lstmUnitStep(p) {
  const z = GATES.map((_, k) => p.x * p.W_ih[k] + p.b_ih[k] + p.h * p.W_hh[k] + p.b_hh[k]);
  const i = sigmoid(z[0]), f = sigmoid(z[1]), g = Math.tanh(z[2]), o = sigmoid(z[3]);
  const kept = f * p.c;       // f ⊙ c_{t-1}: what the forget gate keeps of the old cell
  const written = i * g;      // i ⊙ g: what the input gate writes
  const c = kept + written;
  const tanhC = Math.tanh(c);
  const h = o * tanhC;
  return { z, i, f, g, o, kept, written, c, tanhC, h };
}
