"""Whole-sequence LSTM, GRU and Elman recurrences, each with its backward written by hand.

The fast path of :class:`~rnnlab.torch.layers.ScratchRecurrent`;
:mod:`rnnlab.torch.fast.recurrence` wraps these in one ``torch.autograd.Function``. Each
cell has a ``*_forward`` that runs all T steps into preallocated buffers and returns a
named cache, and beside it a ``*_backward`` that runs BPTT over that cache in the same
variable names. The math is that of the step functions in :mod:`rnnlab.torch.cells`, the
definition (the tests prove the two paths equal), arranged so that few, large operations
do the work:

* the input projection ``xw = x W_ihᵀ + b_ih`` (T, B, G·H) arrives computed for all steps;
  a step runs one (B, H)×(H, G·H) matmul forward and one (B, G·H)×(G·H, H) backward, each
  accumulated in place (``addmm_``) into the buffer that already holds the rest of the sum;
* every factor of the backward that needs no gradient from a later step (σ' = σ(1 - σ),
  tanh' = 1 - tanh², products of saved activations) is computed for all T at once before
  the loop, so a backward step is a matmul and two to four element-wise products;
* tanh is computed as 2σ(2x) - 1, the same function: torch's CPU sigmoid kernel is several
  times faster than its tanh, and with the g rows of the LSTM's pre-activation doubled one
  sigmoid covers all four gates;
* Python numbers in the loop are 0-d tensors (``one``, ``two``): torch converts a number
  to a tensor on every call, which costs as much as a small operation.

Arguments: ``xw`` (T, B, G·H), the cell's to overwrite; ``state0`` (h0,) or (h0, c0), each
(B, H); ``w_hh`` (G·H, H); ``b_hh`` (G·H,); ``pad`` a :class:`~rnnlab.torch.padding.Padding`
or None. Padding is a suffix of every sequence: the forward keeps the state there, and the
backward is handed gradients that are zero there, so padding steps contribute nothing.

A forward returns (hs, state_n, cache): hs (T, B, H) the h_t after every step, state_n the
state after the last. A backward takes ``dhs`` (T, B, H), the gradient on each h_t from
outside the recurrence (the final state's included; the backward's to overwrite), and for
the LSTM ``dc_last`` {t: gradient on c_t from outside}; it returns (dxw, da, dstate0): the
gradients on ``xw`` and on the recurrent term ``a_t = h_{t-1} W_hhᵀ + b_hh``, each
(T, B, G·H) — one tensor for LSTM and RNN, whose pre-activation is xw + a — and on the
initial state.
"""

from itertools import pairwise
from typing import NamedTuple

import torch


def constants(like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """1 and 2 as 0-d tensors of ``like``'s dtype and device."""
    return like.new_ones(()), like.new_full((), 2.0)


def tanh(x: torch.Tensor, out: torch.Tensor, one: torch.Tensor, two: torch.Tensor):
    """tanh(x) into ``out`` (which may be x), as 2σ(2x) - 1."""
    return torch.mul(x, two, out=out).sigmoid_().mul_(two).sub_(one)


def backwards(*sequences: torch.Tensor):
    """(t, (a_t, b_t, ...)) for t = T-1 down to 0, over tensors (T, ...): a backward loop."""
    return reversed(list(enumerate(zip(*sequences, strict=True))))


def keep_state_on_padding(pad, t: int, new: torch.Tensor, old: torch.Tensor) -> None:
    """new ← old (in place) where step t is padding."""
    if pad is not None and t >= pad.first_padded:
        torch.where(pad.real[t], new, old, out=new)


# --------------------------------------------------------------------------- LSTM
class LSTMCache(NamedTuple):
    gates: torch.Tensor  # (T, B, 4H) i, f, g, o after their nonlinearities
    c: torch.Tensor  # (T + 1, B, H) c0, c_0, ..., c_{T-1}
    tanh_c: torch.Tensor  # (T, B, H) tanh(c_t)


def lstm_forward(xw, state0, w_hh, b_hh, pad):
    """z = xw_t + h_{t-1} W_hhᵀ + b_hh;  i, f, o = σ(z_i), σ(z_f), σ(z_o);  g = tanh(z_g);
    c_t = f ⊙ c_{t-1} + i ⊙ g;  h_t = o ⊙ tanh(c_t)."""
    T, B, G = xw.shape
    H = G // 4
    one, two = constants(xw)
    double_g = torch.ones(G, 1, dtype=xw.dtype, device=xw.device)  # (4H, 1)
    double_g[2 * H : 3 * H] = 2.0  # tanh(z_g) = 2σ(2 z_g) - 1
    gates = xw.add_(b_hh).mul_(double_g[:, 0])  # (T, B, 4H) xw + b_hh, the g rows doubled
    w_hh_t = (w_hh * double_g).T  # (H, 4H) the g rows doubled
    i, f, g, o = gates.split(H, dim=2)  # each (T, B, H), the gates once activated
    h, c = xw.new_empty(T + 1, B, H), xw.new_empty(T + 1, B, H)
    h[0], c[0] = state0
    tanh_c = xw.new_empty(T, B, H)
    steps = zip(gates, i, f, g, o, h[:-1], h[1:], c[:-1], c[1:], tanh_c, strict=True)
    for t, (gates_t, i_t, f_t, g_t, o_t, h_prev, h_t, c_prev, c_t, tanh_c_t) in enumerate(steps):
        gates_t.addmm_(h_prev, w_hh_t).sigmoid_()  # (B, 4H) z_t, in place, then σ
        g_t.mul_(two).sub_(one)  # 2σ(2 z_g) - 1 = tanh(z_g)
        torch.mul(f_t, c_prev, out=c_t).addcmul_(i_t, g_t)  # (B, H)
        tanh(c_t, tanh_c_t, one, two)
        torch.mul(o_t, tanh_c_t, out=h_t)  # (B, H)
        keep_state_on_padding(pad, t, h_t, h_prev)
        keep_state_on_padding(pad, t, c_t, c_prev)
    return h[1:], (h[-1], c[-1]), LSTMCache(gates, c, tanh_c)


def lstm_backward(dhs, dc_last, cache: LSTMCache, w_hh):
    """dh_t = dhs_t + dz_{t+1} W_hh;  dc_t = dc_{t+1} ⊙ f_{t+1} + dh_t ⊙ o ⊙ tanh'(c_t);
    dz_t = (dc_t ⊙ g ⊙ σ'_i, dc_t ⊙ c_{t-1} ⊙ σ'_f, dc_t ⊙ i ⊙ tanh'_g, dh_t ⊙ tanh c_t ⊙ σ'_o)."""
    gates, c, tanh_c = cache
    T, B, G = gates.shape
    H = G // 4
    one, _ = constants(gates)
    i, f, g, o = gates.split(H, dim=2)  # each (T, B, H)
    dc_per_dh = torch.addcmul(one, tanh_c, tanh_c, value=-1).mul_(o)  # (T, B, H)
    dz_per = torch.addcmul(gates, gates, gates, value=-1)  # (T, B, 4H) σ' = σ(1 - σ) ...
    dz_per_i, dz_per_f, dz_per_g, dz_per_o = dz_per.split(H, dim=2)
    torch.addcmul(one, g, g, value=-1, out=dz_per_g)  # ... but tanh' = 1 - g² for g
    # ∂z_t per unit of dc_t (for i, f, g) or of dh_t (for o)
    dz_per_i.mul_(g), dz_per_f.mul_(c[:-1]), dz_per_g.mul_(i), dz_per_o.mul_(tanh_c)
    dz_per_dc, dz_per_dh = dz_per.view(T, B, 4, H).split((3, 1), dim=2)  # i f g | o
    dz = gates.new_empty(T, B, 4, H)
    dc = gates.new_zeros(B, 1, H)  # dc_t, (B, 1, H) to scale three gates in one product
    f_next = [*f[1:, :, None], None]  # f_{t+1}, (B, 1, H)
    dz_next = [*dz[1:].view(T - 1, B, G), None]  # dz_{t+1}, (B, 4H)
    dh = dhs.view(T, B, 1, H)  # dh_t accumulates in place of dhs_t
    steps = backwards(dhs, dh, dc_per_dh[:, :, None], dz_per_dc, dz_per_dh, *dz.split((3, 1), 2))
    for t, (dhs_t, dh_t, dc_per_dh_t, dz_per_dc_t, dz_per_dh_t, dz_ifg_t, dz_o_t) in steps:
        if t < T - 1:
            dhs_t.addmm_(dz_next[t], w_hh)  # (B, H) dh_t = dhs_t + dz_{t+1} W_hh
            dc.mul_(f_next[t])
        if t in dc_last:
            dc.add_(dc_last[t][:, None])
        dc.addcmul_(dh_t, dc_per_dh_t)
        torch.mul(dc, dz_per_dc_t, out=dz_ifg_t)  # (B, 3, H)
        torch.mul(dh_t, dz_per_dh_t, out=dz_o_t)  # (B, 1, H)
    dz = dz.view(T, B, G)
    return dz, dz, (dz[0] @ w_hh, dc[:, 0] * f[0])  # dh0, dc0 (B, H)


# --------------------------------------------------------------------------- GRU
class GRUCache(NamedTuple):
    rz: torch.Tensor  # (T, B, 2H) r, z
    n: torch.Tensor  # (T, B, H)
    a_n: torch.Tensor  # (T, B, H) h_{t-1} W_hnᵀ + b_hn, which the reset gate scales
    h_prev: torch.Tensor  # (T, B, H) h_{t-1}


def gru_forward(xw, state0, w_hh, b_hh, pad):
    """a = h_{t-1} W_hhᵀ + b_hh;  r, z = σ(xw_r + a_r), σ(xw_z + a_z);
    n = tanh(xw_n + r ⊙ a_n);  h_t = (1 - z) ⊙ n + z ⊙ h_{t-1}."""
    T, B, G = xw.shape
    H = G // 3
    one, two = constants(xw)
    a = b_hh.expand(T, B, G).clone()  # (T, B, 3H) b_hh, then + h_{t-1} W_hhᵀ in place
    rz = xw.new_empty(T, B, 2 * H)
    n = xw.new_empty(T, B, H)
    h = xw.new_empty(T + 1, B, H)
    (h[0],) = state0
    xw_rz, xw_n = xw.split(2 * H, dim=2)  # (T, B, 2H), (T, B, H)
    a_rz, a_n = a.split(2 * H, dim=2)
    r, z = rz.split(H, dim=2)  # each (T, B, H)
    w_hh_t = w_hh.T  # (H, 3H)
    steps = zip(xw_rz, xw_n, a, a_rz, a_n, rz, r, z, n, h[:-1], h[1:], strict=True)
    for t, (xw_rz_t, xw_n_t, a_t, a_rz_t, a_n_t, rz_t, r_t, z_t, n_t, h_prev, h_t) in enumerate(
        steps
    ):
        a_t.addmm_(h_prev, w_hh_t)  # (B, 3H)
        torch.add(xw_rz_t, a_rz_t, out=rz_t).sigmoid_()  # (B, 2H)
        tanh(torch.addcmul(xw_n_t, r_t, a_n_t, out=n_t), n_t, one, two)  # (B, H)
        torch.lerp(n_t, h_prev, z_t, out=h_t)  # n + z ⊙ (h_{t-1} - n)
        keep_state_on_padding(pad, t, h_t, h_prev)
    return h[1:], (h[-1],), GRUCache(rz, n, a_n, h[:-1])


def gru_backward(dhs, dc_last, cache: GRUCache, w_hh):
    """dh_t = dhs_t + dh_{t+1} ⊙ z_{t+1} + da_{t+1} W_hh;  dn'_t = dh_t ⊙ (1 - z) ⊙ tanh'_n;
    dxw_t = (dn'_t ⊙ a_n ⊙ σ'_r, dh_t ⊙ (h_{t-1} - n) ⊙ σ'_z, dn'_t);
    da_t = dxw_t but dn'_t ⊙ r for n."""
    rz, n, a_n, h_prev = cache
    T, B, H = n.shape
    one, _ = constants(n)
    r, z = rz.split(H, dim=2)  # each (T, B, H)
    dxw_per = rz.new_empty(T, B, 3, H)  # ∂xw_t per dh_t
    dxw_per_r, dxw_per_z, dxw_per_n = dxw_per.unbind(2)  # each (T, B, H)
    torch.addcmul(one, n, n, value=-1, out=dxw_per_n).mul_(1 - z)
    torch.addcmul(rz, rz, rz, value=-1, out=dxw_per[:, :, :2].view(T, B, 2 * H))  # σ'
    dxw_per_r.mul_(a_n).mul_(dxw_per_n)
    dxw_per_z.mul_(h_prev - n)
    da_per = dxw_per.clone()  # ∂a_t per dh_t
    da_per[:, :, 2].mul_(r)
    dh = dhs  # dh_t accumulates in place of dhs_t
    da = rz.new_empty(T, B, 3, H)
    z_next, dh_next = [*z[1:], None], [*dh[1:], None]  # z_{t+1}, dh_{t+1}
    da_next = [*da[1:].view(T - 1, B, 3 * H), None]  # da_{t+1}, (B, 3H)
    for t, (dh_t, dh_t_col, da_t, da_per_t) in backwards(dh, dh[:, :, None], da, da_per):
        if t < T - 1:
            dh_t.addmm_(da_next[t], w_hh).addcmul_(dh_next[t], z_next[t])  # (B, H)
        torch.mul(dh_t_col, da_per_t, out=da_t)  # (B, 3, H)
    dxw = dxw_per.mul_(dh[:, :, None]).view(T, B, 3 * H)
    da = da.view(T, B, 3 * H)
    return dxw, da, (torch.addmm(dh[0] * z[0], da[0], w_hh),)  # dh0 (B, H)


# --------------------------------------------------------------------------- Elman RNN
class RNNCache(NamedTuple):
    dphi: torch.Tensor  # (T, B, H) φ'(z_t), from h_t: 1 - h_t² (tanh) or [h_t > 0] (relu)


def rnn_forward(xw, state0, w_hh, b_hh, pad, nonlinearity: str):
    """h_t = φ(xw_t + h_{t-1} W_hhᵀ + b_hh), φ = tanh or relu."""
    T, B, H = xw.shape
    one, two = constants(xw)
    h = xw.new_empty(T + 1, B, H)
    (h[0],) = state0
    torch.add(xw, b_hh, out=h[1:])  # (T, B, H) xw + b_hh, then + h_{t-1} W_hhᵀ in place
    w_hh_t = w_hh.T  # (H, H)
    for t, (h_prev, h_t) in enumerate(pairwise(h)):
        h_t.addmm_(h_prev, w_hh_t)  # (B, H) z_t
        if nonlinearity == "tanh":
            tanh(h_t, h_t, one, two)
        else:
            h_t.relu_()
        keep_state_on_padding(pad, t, h_t, h_prev)
    hs = h[1:]
    if nonlinearity == "tanh":
        dphi = torch.addcmul(one, hs, hs, value=-1)
    else:
        dphi = (hs > 0).to(hs.dtype)
    return hs, (h[-1],), RNNCache(dphi)


def rnn_backward(dhs, dc_last, cache: RNNCache, w_hh):
    """dh_t = dhs_t + dz_{t+1} W_hh;  dz_t = dh_t ⊙ φ'(z_t)."""
    (dphi,) = cache
    T = dphi.shape[0]
    dz = dhs  # dh_t, then dz_t, in place of dhs_t
    dz_next = [*dz[1:], None]  # dz_{t+1}
    for t, (dz_t, dphi_t) in backwards(dz, dphi):
        if t < T - 1:
            dz_t.addmm_(dz_next[t], w_hh)  # (B, H) dh_t = dhs_t + dz_{t+1} W_hh
        dz_t.mul_(dphi_t)
    return dz, dz, (dz[0] @ w_hh,)  # dh0 (B, H)
