"""The bridge: the decoder's initial state from the encoder's final states.

The encoder's top layer ends, per sequence, in h→_n (the forward direction at its last
real step n) and h←_1 (the reverse direction back at step 1); their concatenation
f = [h→_n; h←_1] (B, W) — f = h→_n for one direction — sums the source up. For each
decoder layer l = 1..L_d, the linear bridge maps it to that layer's initial state:

    s_0^l = tanh(W_h f + b_h)[l]     hidden state, kept in tanh's range like every h
    c_0^l =      W_c f + b_c [l]     cell state (LSTMs), unbounded like every c

with W_h, W_c (L_d·H_d, W), cut into L_d blocks of H_d. Backward, from ds_0 (L_d, B, H_d):

    dz_h = ds_0 ⊙ (1 − s_0²);  dW_h = Σ_b dz_h fᵀ;  db_h = Σ_b dz_h;  df += W_hᵀ dz_h
    dc:  dz_c = dc_0;          dW_c = Σ_b dz_c fᵀ;  db_c = Σ_b dz_c;  df += W_cᵀ dz_c

and df goes back to the top layer's entries of the encoder's ∂L/∂h_n (and ∂L/∂c_n).
The "zeros" bridge starts the decoder from zeros and passes nothing back (Sutskever et
al. fed the final state instead; Bahdanau et al. used the tanh map above).
"""

import math
from typing import NamedTuple

import numpy as np

from rnnlab.numpy.init import make_rng, uniform


class BridgeCache(NamedTuple):
    finals: list  # per state part: (B, W) f, the top layer's final states
    outputs: list  # per state part: (B, L_d·H_d) s_0 (after tanh) or c_0
    encoder_shape: tuple  # (L·D, B, H) of the encoder's state parts


def _parts(state) -> tuple:
    return state if isinstance(state, tuple) else (state,)


def _public(parts: list):
    return tuple(parts) if len(parts) > 1 else parts[0]


class LinearBridge:
    """s_0 = tanh(W_h f + b_h), c_0 = W_c f + b_c (see the module docstring).

    Args:
        state_names: ("hidden",) or ("hidden", "cell"): the cell's state parts.
        encoder_layers, directions: L and D of the encoder; memory_width W = D·H.
        decoder_layers, decoder_hidden: L_d, H_d.
    """

    def __init__(
        self, state_names, encoder_layers, directions, memory_width, decoder_layers,
        decoder_hidden, dtype, seed=None,
    ):  # fmt: skip
        rng = make_rng(seed, None)
        self.state_names = tuple(state_names)
        self.top = [(encoder_layers - 1) * directions + d for d in range(directions)]
        self.decoder_layers, self.decoder_hidden = decoder_layers, decoder_hidden
        out, bound = decoder_layers * decoder_hidden, 1.0 / math.sqrt(memory_width)
        self.params: dict[str, np.ndarray] = {}
        for name in self.state_names:
            self.params[f"{name}.weight"] = uniform((out, memory_width), bound, rng, dtype)
            self.params[f"{name}.bias"] = uniform((out,), bound, rng, dtype)

    def forward(self, encoder_state):
        """The encoder's final state (parts (L·D, B, H)) → the decoder's initial state
        (parts (L_d, B, H_d)), and a cache."""
        parts = _parts(encoder_state)
        B = parts[0].shape[1]
        finals, outputs, state0 = [], [], []
        for name, part in zip(self.state_names, parts, strict=True):
            f = np.concatenate([part[k] for k in self.top], axis=-1)  # (B, W)
            z = f @ self.params[f"{name}.weight"].T + self.params[f"{name}.bias"]  # (B, L_d·H_d)
            out = np.tanh(z) if name == "hidden" else z
            finals.append(f)
            outputs.append(out)
            layers = out.reshape(B, self.decoder_layers, self.decoder_hidden)  # (B, L_d, H_d)
            state0.append(np.ascontiguousarray(layers.transpose(1, 0, 2)))  # (L_d, B, H_d)
        return _public(state0), BridgeCache(finals, outputs, parts[0].shape)

    def backward(self, dstate0, cache: BridgeCache):
        """∂L/∂ decoder initial state → ∂L/∂ encoder final state, grads."""
        grads, dencoder = {}, []
        H = cache.encoder_shape[2]
        for name, d, f, out in zip(
            self.state_names, _parts(dstate0), cache.finals, cache.outputs, strict=True
        ):
            dz = d.transpose(1, 0, 2).reshape(out.shape)  # (B, L_d·H_d)
            if name == "hidden":
                dz = dz * (1.0 - out * out)  # through tanh
            grads[f"{name}.weight"] = dz.T @ f  # (L_d·H_d, W)
            grads[f"{name}.bias"] = dz.sum(axis=0)  # (L_d·H_d,)
            df = dz @ self.params[f"{name}.weight"]  # (B, W)
            dpart = np.zeros(cache.encoder_shape, df.dtype)  # (L·D, B, H)
            for j, k in enumerate(self.top):
                dpart[k] = df[:, j * H : (j + 1) * H]
            dencoder.append(dpart)
        return _public(dencoder), {n: grads[n] for n in self.params}


class ZeroBridge:
    """The decoder starts from zeros; the encoder's final state gets no gradient."""

    def __init__(self, state_names, decoder_layers, decoder_hidden, dtype) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.state_names, self.dtype = tuple(state_names), dtype
        self.shape = (decoder_layers, decoder_hidden)

    def forward(self, encoder_state):
        B = _parts(encoder_state)[0].shape[1]
        L_d, H_d = self.shape
        return _public([np.zeros((L_d, B, H_d), self.dtype) for _ in self.state_names]), None

    def backward(self, dstate0, cache):
        return None, {}
