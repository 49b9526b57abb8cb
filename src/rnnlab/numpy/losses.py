"""Losses with their gradients: softmax cross-entropy (classification) and MSE (regression).

Softmax cross-entropy for one position with logits z (V,) and target class y:
    p = softmax(z),   ℓ = -log p_y = log Σ_k exp(z_k) - z_y
    ∂ℓ/∂z_k = p_k - [k = y]
Over positions n with a mask m_n ∈ {0, 1} and N = Σ_n m_n, the loss is the mean
L = (1/N) Σ_n m_n ℓ_n, so ∂L/∂z_n = m_n (p_n - onehot(y_n)) / N.

Numerical stability: log Σ exp(z_k) = c + log Σ exp(z_k - c) with c = max_k z_k, so no
exp overflows (the largest term is exp(0) = 1) and the sum is at least 1 (no log 0).

MSE over elements i with mask m_i and N = Σ_i m_i:
    L = (1/N) Σ_i m_i (ŷ_i - y_i)²,   ∂L/∂ŷ_i = 2 m_i (ŷ_i - y_i) / N.

A mask of all False gives N = 0: the loss is 0.0 and the gradient zero (not 0/0 = NaN).
"""

from __future__ import annotations

import numpy as np


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """log softmax over the last axis, stable for any finite logits: (..., V) -> (..., V)."""
    shifted = logits - logits.max(axis=-1, keepdims=True)  # (..., V), max is 0
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))  # (..., V)


def softmax(logits: np.ndarray) -> np.ndarray:
    """softmax over the last axis: (..., V) -> (..., V), rows sum to 1."""
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))  # (..., V), in (0, 1]
    return e / e.sum(axis=-1, keepdims=True)  # (..., V)


def _check_mask(mask: np.ndarray | None, shape: tuple[int, ...], what: str) -> np.ndarray:
    """The mask as a bool array of ``shape`` (all True when None)."""
    if mask is None:
        return np.ones(shape, dtype=bool)
    mask = np.asarray(mask)
    if mask.dtype != np.bool_:
        raise TypeError(f"{what}: mask must be a bool array, got dtype {mask.dtype}")
    if mask.shape != shape:
        raise ValueError(f"{what}: mask should have shape {shape}, got {mask.shape}")
    return mask


def softmax_cross_entropy(
    logits: np.ndarray, targets: np.ndarray, mask: np.ndarray | None = None
) -> tuple[float, np.ndarray]:
    """Mean cross-entropy over the unmasked positions, and its gradient.

    Args:
        logits: (..., V) float, unnormalised scores.
        targets: (...) int in [0, V); values at masked-out positions are ignored (any value,
            e.g. a padding id of -1, is allowed there).
        mask: (...) bool, True where a position counts; None means every position counts.

    Returns:
        loss: float, (1/N) Σ_unmasked -log softmax(logits)[target], N = unmasked count.
        dlogits: (..., V) in logits' dtype; zero at masked positions.
    """
    targets = np.asarray(targets)
    if not np.issubdtype(targets.dtype, np.integer):
        raise TypeError(f"softmax_cross_entropy: targets must be integers, got {targets.dtype}")
    if logits.ndim < 1 or logits.shape[:-1] != targets.shape:
        raise ValueError(
            "softmax_cross_entropy: logits (..., V) and targets (...) must agree on the leading "
            f"dims, got logits {logits.shape} and targets {targets.shape}"
        )
    mask = _check_mask(mask, targets.shape, "softmax_cross_entropy")
    V = logits.shape[-1]
    counted = targets[mask]  # (N,)
    if counted.size and (counted.min() < 0 or counted.max() >= V):
        raise ValueError(
            f"softmax_cross_entropy: targets must lie in [0, {V}) (V), "
            f"got values from {counted.min()} to {counted.max()}"
        )
    n = int(mask.sum())
    if n == 0:
        return 0.0, np.zeros_like(logits)

    # One row per position: (M, V), M = the product of the leading dims.
    rows = logits.reshape(-1, V)
    y = np.where(mask, targets, 0).reshape(-1)  # (M,) safe index at masked positions
    counted = mask.reshape(-1)  # (M,)
    every = np.arange(y.size)  # (M,)
    shifted = rows - rows.max(axis=1, keepdims=True)  # (M, V), max is 0
    dlogits = np.exp(shifted)  # (M, V) e^shifted, then softmax, then the gradient
    total = dlogits.sum(axis=1, keepdims=True)  # (M, 1)
    nll = np.log(total[:, 0]) - shifted[every, y]  # (M,) -log softmax(logits)[y]
    loss = float(nll[counted].sum() / n)

    dlogits /= total  # (M, V) p = softmax(logits)
    dlogits[every, y] -= 1  # p - onehot(y)
    dlogits *= logits.dtype.type(1.0 / n)  # mean over N positions
    dlogits[~counted] = 0  # masked rows: assigned, not multiplied, so even NaN logits give 0
    return loss, dlogits.reshape(logits.shape)


def mse(
    pred: np.ndarray, target: np.ndarray, mask: np.ndarray | None = None
) -> tuple[float, np.ndarray]:
    """Mean squared error over the unmasked elements (torch's ``MSELoss`` 'mean'), and its gradient.

    Args:
        pred: (...) float predictions.
        target: same shape as ``pred``.
        mask: bool of shape ``pred.shape`` or of its leading dims ``pred.shape[:k]`` (e.g. a
            (T, B) mask for (T, B, D) predictions: a masked (t, b) drops all D elements).
            None means every element counts.

    Returns:
        loss: float, (1/N) Σ_unmasked (pred - target)², N = number of unmasked elements.
        dpred: same shape and dtype as ``pred``; zero at masked elements.
    """
    target = np.asarray(target)
    if pred.shape != target.shape:
        raise ValueError(
            f"mse: pred and target must have one shape, got {pred.shape} and {target.shape}"
        )
    if mask is not None:
        mask = np.asarray(mask)
        mask = _check_mask(mask, pred.shape[: mask.ndim], "mse")
        mask = np.broadcast_to(
            mask.reshape(mask.shape + (1,) * (pred.ndim - mask.ndim)), pred.shape
        )
    else:
        mask = np.ones(pred.shape, dtype=bool)
    n = int(mask.sum())
    if n == 0:
        return 0.0, np.zeros_like(pred)

    diff = np.where(mask, pred - target, 0).astype(pred.dtype, copy=False)  # (...) masked -> 0
    loss = float(np.sum(diff * diff) / n)
    dpred = diff * pred.dtype.type(2.0 / n)  # (...)
    return loss, dpred


def model_loss(loss: str, out: np.ndarray, targets, mask) -> tuple[float, np.ndarray]:
    """A model's loss by its ModelSpec name, mean over the counted positions:
    (loss, ∂loss/∂out). The one place the NumPy engine and its probe pick it."""
    if loss == "cross_entropy":
        return softmax_cross_entropy(out, targets, mask)
    return mse(out, np.asarray(targets, out.dtype), mask)
