"""What every cell's readable step shares: the affine maps in front of its gates.

Each cell's reference step (:mod:`~rnnlab.numpy.rnn`, :mod:`~rnnlab.numpy.gru`,
:mod:`~rnnlab.numpy.lstm` and the LSTM variants) reads the input x_t and the previous hidden
state h_{t-1} only through torch.nn's four tensors, one affine map for each::

    xw = x_t W_ihᵀ + b_ih          # (B, G·H)
    hw = h_{t-1} W_hhᵀ + b_hh      # (B, G·H)

(the RNN and the LSTMs add them into z = xw + hw; the GRU keeps them apart for its reset
gate). Whatever a cell then does, its backward ends the same way: given dxw = ∂L/∂xw and
dhw = ∂L/∂hw (both are dz where the cell adds the two)::

    dx_t  = dxw W_ih,        dh_{t-1} = dhw W_hh
    dW_ih = dxwᵀ x_t,        dW_hh    = dhwᵀ h_{t-1}
    db_ih = Σ_rows dxw,      db_hh    = Σ_rows dhw

:func:`affine_backward` is these lines. :class:`StepCache` holds what they read and
:class:`StepGrads` what they give; a cell's own step cache and gradients extend the two
with what only that cell has (its activations, ∂L/∂c_{t-1}, its extra tensors).
"""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, kw_only=True)
class StepCache:
    """What :func:`affine_backward` reads; a cell's step cache adds its activations."""

    x_t: np.ndarray  # (B, I)
    h_prev: np.ndarray  # (B, H) h_{t-1}
    W_ih: np.ndarray  # (G·H, I)
    W_hh: np.ndarray  # (G·H, H)


@dataclass(frozen=True, kw_only=True)
class StepGrads:
    """∂L/∂ of x_t, h_{t-1} and torch.nn's four tensors; a cell's grads add its own."""

    dx_t: np.ndarray  # (B, I)
    dh_prev: np.ndarray  # (B, H)
    dW_ih: np.ndarray  # (G·H, I)
    dW_hh: np.ndarray  # (G·H, H)
    db_ih: np.ndarray  # (G·H,)
    db_hh: np.ndarray  # (G·H,)


def affine_backward(dxw, dhw, cache: StepCache, grads_class=StepGrads, **own) -> StepGrads:
    """The module docstring's backward lines, returned as a ``grads_class``.

    Args:
        dxw, dhw: (B, G·H) ∂L/∂xw and ∂L/∂hw (the same array for the RNN and the LSTMs).
        cache: the step's :class:`StepCache` (or a cell's extension of it).
        grads_class: :class:`StepGrads` or a cell's extension of it, whose further fields
            are given by name in ``own`` (e.g. ``dc_prev=``).
    """
    return grads_class(
        dx_t=dxw @ cache.W_ih,  # (B, I)
        dh_prev=dhw @ cache.W_hh,  # (B, H)
        dW_ih=dxw.T @ cache.x_t,  # (G·H, I)
        dW_hh=dhw.T @ cache.h_prev,  # (G·H, H)
        db_ih=dxw.sum(axis=0),  # (G·H,)
        db_hh=dhw.sum(axis=0),
        **own,
    )
