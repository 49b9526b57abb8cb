"""Gate activation statistics and cell-state traces: what the gates of a model are doing.

A gate that sits near 0 or 1 for most inputs is *saturated*: it acts as a fixed switch and
passes almost no gradient to its pre-activation (σ' = σ(1 - σ) ≈ 0 there). A forget gate
saturated high is what lets an LSTM remember; an input gate saturated low means nothing is
written. Pure functions of the activation arrays of a :class:`~rnnlab.diagnostics.probe.Probe`.

Saturation thresholds: a sigmoid gate (values in (0, 1)) is saturated below 0.05 or above
0.95, where σ' < 0.048, under a fifth of its peak 0.25; a tanh gate (values in (-1, 1),
LSTM's candidate g and GRU's n) below -0.95 or above 0.95, where tanh' < 0.0975, under a
tenth of its peak 1.
"""

import numpy as np

# Gate order and activation of each cell's gates (torch.nn's order).
GATE_NAMES = {
    "lstm": ("i", "f", "g", "o"),
    "peephole_lstm": ("i", "f", "g", "o"),
    "layernorm_lstm": ("i", "f", "g", "o"),
    "gru": ("r", "z", "n"),
    "rnn": (),
}
TANH_GATES = {"g", "n"}
SIGMOID_THRESHOLDS = (0.05, 0.95)
TANH_THRESHOLDS = (-0.95, 0.95)


def gate_statistics(
    gates: np.ndarray, cell: str, valid: np.ndarray | None = None
) -> dict[str, dict[str, float]]:
    """Mean, standard deviation and saturation of each gate of one layer.

    Args:
        gates: (T, B, G·H) activated gates in the cell's order (LSTM i, f, g, o; GRU r, z, n).
        cell: the cell name ("lstm", "gru", "peephole_lstm", "layernorm_lstm"; "rnn" has none).
        valid: optional (T, B) bool; only True steps count (skip the padding of a batch).

    Returns:
        gate -> {"mean", "std", "saturated_low", "saturated_high"}, the last two the fractions
        of activations beyond the thresholds in this module's docstring.
    """
    if cell not in GATE_NAMES:
        raise ValueError(f"gate_statistics: unknown cell {cell!r}; known: {', '.join(GATE_NAMES)}")
    names = GATE_NAMES[cell]
    if not names:
        return {}
    gates = np.asarray(gates)
    if gates.ndim != 3 or gates.shape[-1] % len(names):
        raise ValueError(
            f"gate_statistics expected {cell} gates of shape (T, B, {len(names)}·H), "
            f"got {gates.shape}"
        )
    if valid is not None:
        valid = np.asarray(valid, dtype=bool)
        if valid.shape != gates.shape[:2]:
            raise ValueError(
                f"gate_statistics expected valid of shape {gates.shape[:2]}, got {valid.shape}"
            )
        gates = gates[valid]  # (N, G·H): the real steps only
    blocks = np.split(gates.reshape(-1, gates.shape[-1]), len(names), axis=-1)  # each (N, H)
    stats = {}
    for name, values in zip(names, blocks, strict=True):
        low, high = TANH_THRESHOLDS if name in TANH_GATES else SIGMOID_THRESHOLDS
        stats[name] = {
            "mean": float(values.mean()),
            "std": float(values.std()),
            "saturated_low": float((values < low).mean()),
            "saturated_high": float((values > high).mean()),
        }
    return stats


def split_gates(gates: np.ndarray, cell: str) -> dict[str, np.ndarray]:
    """(T, B, G·H) → gate name -> (T, B, H), in the cell's gate order."""
    names = GATE_NAMES[cell]
    if not names:
        return {}
    return dict(zip(names, np.split(np.asarray(gates), len(names), axis=-1), strict=True))


def cell_trace(cells: np.ndarray, b: int = 0) -> np.ndarray:
    """The cell state c_t of sequence ``b`` over time: (T, B, H) → (T, H)."""
    cells = np.asarray(cells)
    if cells.ndim != 3:
        raise ValueError(f"cell_trace expected cells of shape (T, B, H), got {cells.shape}")
    if not 0 <= b < cells.shape[1]:
        raise ValueError(
            f"cell_trace: sequence b={b} is out of range for a batch of {cells.shape[1]}"
        )
    return cells[:, b, :]  # (T, H)
