"""One unit of a trained LSTM, as the cell explorer needs it: four rows of each tensor.

The explorer shows a one-unit LSTM. For unit u of a trained run's first layer it takes, for
each gate k of i, f, g, o (row r = k·H + u of torch.nn's tensors):

* the input weight for every choice of input: with one-hot input the column of
  ``weight_ih_l0`` of that token (x is its one-hot vector, so W_ih x is that column), with
  an embedding ``weight_ih_l0[r] · embedding.weight[token]``, with dense features the weight
  of each feature alone;
* the unit's own recurrent weight ``weight_hh_l0[r, u]`` (the explorer varies this unit's
  h_{t-1} and holds the other units' at 0);
* ``bias_ih_l0[r]`` and ``bias_hh_l0[r]``.

So the page's one-unit arithmetic, with x = 1 for the chosen input, is exactly the real
unit's pre-activations on that input with the rest of h_{t-1} at zero. All in float64.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnnlab.dashboard.runs import read_json
from rnnlab.errors import InputError
from rnnlab.run_files import CONFIG_FILE, MODEL_FILE, VOCAB_FILE, read_run_file

MAX_MODEL_BYTES = 1 << 30
MAX_CHOICES = 20000  # inputs listed (a word vocabulary's first 20,000)
EXPLORABLE = ("lstm",)  # the plain LSTM: the explorer's equations are its equations


def explorable(summary: dict) -> bool:
    """Whether the run list's summary describes a model the explorer can show."""
    return summary.get("cell") in EXPLORABLE and isinstance(summary.get("hidden_size"), int)


def lstm_unit(path: Path, unit: int) -> dict:
    """Unit ``unit`` of the run's layer 0: labels of the inputs, and each gate's weights."""
    model = (read_json(path, CONFIG_FILE) or {}).get("model")
    if not isinstance(model, dict) or model.get("cell") not in EXPLORABLE:
        raise InputError(f"run '{path}' is not a plain LSTM: the explorer shows LSTM units")
    H = model.get("hidden_size")
    if not isinstance(H, int) or not 0 <= unit < H:
        raise InputError(f"unit {unit} is out of range for hidden size {H}")
    weights = _weights(path)
    rows = [k * H + unit for k in range(4)]  # i, f, g, o
    W_ih = _tensor(weights, "rnn.weight_ih_l0", path)[rows]  # (4, I)
    W_hh = _tensor(weights, "rnn.weight_hh_l0", path)[rows]  # (4, H)
    kind = model.get("input_kind", "onehot")
    if kind == "embedding":
        E = _tensor(weights, "embedding.weight", path)  # (V, E)
        w_x = (E[:MAX_CHOICES] @ W_ih.T).T  # (4, V')
    else:
        w_x = W_ih[:, :MAX_CHOICES]  # (4, I'): a one-hot token or one feature
    return {
        "unit": unit,
        "hidden_size": H,
        "labels": _labels(path, kind, w_x.shape[1]),
        "w_x": w_x.T.tolist(),  # per input choice: the 4 gates' input weights
        "w_h": W_hh[:, unit].tolist(),  # (4,) the unit's own recurrent weights
        "b_ih": _tensor(weights, "rnn.bias_ih_l0", path)[rows].tolist(),
        "b_hh": _tensor(weights, "rnn.bias_hh_l0", path)[rows].tolist(),
    }


def _weights(path: Path) -> dict[str, np.ndarray]:
    import safetensors
    import safetensors.numpy

    data = read_run_file(path, MODEL_FILE, limit=MAX_MODEL_BYTES)
    if data is None:
        raise InputError(f"run '{path}' has no {MODEL_FILE} yet (no checkpoint saved)")
    try:
        return safetensors.numpy.load(data)
    except (safetensors.SafetensorError, ValueError, TypeError, KeyError) as e:
        raise InputError(f"{MODEL_FILE} in '{path}' cannot be read; restore it") from e


def _tensor(weights: dict, name: str, path: Path) -> np.ndarray:
    if name not in weights:
        raise InputError(f"{MODEL_FILE} in '{path}' has no tensor '{name}'")
    return np.asarray(weights[name], dtype=np.float64)


def _labels(path: Path, kind: str, count: int) -> list[str]:
    if kind == "dense":
        return [f"feature {k}" for k in range(count)]
    vocab = read_json(path, VOCAB_FILE) or {}
    tokens = vocab.get("tokens")
    if isinstance(tokens, list) and len(tokens) >= count:
        return [str(t) for t in tokens[:count]]
    return [f"token {k}" for k in range(count)]
