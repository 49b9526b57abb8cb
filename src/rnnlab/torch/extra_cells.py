"""Peephole and LayerNorm LSTM steps for the PyTorch engine, from basic tensor ops.

torch.nn has neither cell, so each is one step function that autograd differentiates; the
equations (and their hand-derived backward passes) are stated in the NumPy files
``rnnlab/numpy/peephole_lstm.py`` and ``rnnlab/numpy/layernorm_lstm.py``, which these equal.
A step reads ``xw_t = x_t W_ihᵀ + b_ih`` (B, 4H), computed for all steps at once by the layer,
and the state ``(h, c)``, each (B, H); gate order i, f, g, o as torch.nn.LSTM.

Peephole LSTM (diagonal peepholes p_i, p_f read c_{t-1}; p_o reads c_t)::

    a = xw_t + h W_hhᵀ + b_hh
    i = σ(a_i + p_i ⊙ c),  f = σ(a_f + p_f ⊙ c),  g = tanh(a_g)
    c' = f ⊙ c + i ⊙ g,    o = σ(a_o + p_o ⊙ c'),  h' = o ⊙ tanh(c')

LayerNorm LSTM (LN over the last axis: γ ⊙ (a - μ)/√(σ² + ε) + β, ε = 1e-5)::

    z = LN(xw_t + h W_hhᵀ + b_hh; γ_g, β_g)        over all 4H entries of a row
    i, f, g, o = σ(z_i), σ(z_f), tanh(z_g), σ(z_o)
    c' = f ⊙ c + i ⊙ g,    h' = o ⊙ tanh(LN(c'; γ_c, β_c))

Extra tensors (keyword arguments of the steps, the same keys and initial values as the
NumPy cells' ``extra_params``; a layer names them ``{key}_l{k}{_reverse}``):

- peephole_lstm: ``weight_peephole_i``, ``weight_peephole_f``, ``weight_peephole_o`` (H), 0;
- layernorm_lstm: ``ln_gates_weight`` (4H) 1, ``ln_gates_bias`` (4H) 0,
  ``ln_cell_weight`` (H) 1, ``ln_cell_bias`` (H) 0.
"""

from collections.abc import Callable

import torch

LAYER_NORM_EPS = 1e-5  # as rnnlab.numpy.layernorm_lstm.LayerNormLSTMCell.eps

State = tuple[torch.Tensor, torch.Tensor]


def peephole_lstm_step(
    xw_t: torch.Tensor,
    state: State,
    w_hh: torch.Tensor,
    b_hh: torch.Tensor,
    *,
    weight_peephole_i: torch.Tensor,
    weight_peephole_f: torch.Tensor,
    weight_peephole_o: torch.Tensor,
) -> State:
    """One peephole-LSTM step: xw_t (B, 4H), state (h, c) each (B, H) -> (h', c')."""
    h, c = state
    a = xw_t + h @ w_hh.T + b_hh  # (B, 4H)
    a_i, a_f, a_g, a_o = a.chunk(4, dim=1)  # each (B, H)
    i = torch.sigmoid(a_i + weight_peephole_i * c)
    f = torch.sigmoid(a_f + weight_peephole_f * c)
    g = torch.tanh(a_g)
    c_new = f * c + i * g  # (B, H)
    o = torch.sigmoid(a_o + weight_peephole_o * c_new)
    h_new = o * torch.tanh(c_new)  # (B, H)
    return h_new, c_new


def layer_norm(a: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """γ ⊙ (a - μ)/√(σ² + ε) + β over the last axis (σ² the biased variance, as torch's LN)."""
    centred = a - a.mean(dim=-1, keepdim=True)  # (B, N)
    variance = (centred * centred).mean(dim=-1, keepdim=True)  # (B, 1)
    return centred * torch.rsqrt(variance + LAYER_NORM_EPS) * weight + bias  # (B, N)


def layernorm_lstm_step(
    xw_t: torch.Tensor,
    state: State,
    w_hh: torch.Tensor,
    b_hh: torch.Tensor,
    *,
    ln_gates_weight: torch.Tensor,
    ln_gates_bias: torch.Tensor,
    ln_cell_weight: torch.Tensor,
    ln_cell_bias: torch.Tensor,
) -> State:
    """One LayerNorm-LSTM step: xw_t (B, 4H), state (h, c) each (B, H) -> (h', c')."""
    h, c = state
    z = layer_norm(xw_t + h @ w_hh.T + b_hh, ln_gates_weight, ln_gates_bias)  # (B, 4H)
    z_i, z_f, z_g, z_o = z.chunk(4, dim=1)  # each (B, H)
    i, f, g, o = torch.sigmoid(z_i), torch.sigmoid(z_f), torch.tanh(z_g), torch.sigmoid(z_o)
    c_new = f * c + i * g  # (B, H), carried un-normalised
    h_new = o * torch.tanh(layer_norm(c_new, ln_cell_weight, ln_cell_bias))  # (B, H)
    return h_new, c_new


EXTRA_STEPS: dict[str, Callable[..., State]] = {
    "peephole_lstm": peephole_lstm_step,
    "layernorm_lstm": layernorm_lstm_step,
}
EXTRA_GATES = {"peephole_lstm": 4, "layernorm_lstm": 4}
EXTRA_STATE_SIZE = {"peephole_lstm": 2, "layernorm_lstm": 2}  # (h, c)


def extra_params(cell_name: str, hidden_size: int) -> dict[str, torch.Tensor]:
    """The initial values (float64) of the tensors a cell adds to torch.nn.LSTM's four."""
    H = hidden_size
    f64 = torch.float64
    if cell_name == "peephole_lstm":  # zero peepholes: the cell starts as a plain LSTM
        return {
            key: torch.zeros(H, dtype=f64)
            for key in ("weight_peephole_i", "weight_peephole_f", "weight_peephole_o")
        }
    if cell_name == "layernorm_lstm":  # gains 1, shifts 0: pure normalisation at the start
        return {
            "ln_gates_weight": torch.ones(4 * H, dtype=f64),
            "ln_gates_bias": torch.zeros(4 * H, dtype=f64),
            "ln_cell_weight": torch.ones(H, dtype=f64),
            "ln_cell_bias": torch.zeros(H, dtype=f64),
        }
    raise ValueError(
        f"extra_params: unknown cell {cell_name!r}; extra cells are {', '.join(EXTRA_STEPS)}"
    )
