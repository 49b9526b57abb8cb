"""Finite-difference gradient checking for the NumPy engine (float64).

A layer's backward pass is right when, for a scalar loss L, every analytic gradient equals
the central difference ``(L(θ + ε) - L(θ - ε)) / 2ε`` element by element. The error is
reported per tensor as

    relative error = max |analytic - numeric| / max(max |analytic|, max |numeric|, 1e-12)

i.e. the worst element's error measured against the tensor's own scale, which (unlike a
per-element ratio) does not blow up on entries that happen to be near zero.

The loss used for recurrent layers is random and linear in everything the layer returns:
``L = Σ M ⊙ Wy ⊙ y + Σ Wh ⊙ h_n (+ Σ Wc ⊙ c_n)`` with a random 0/1 mask M — so gradient
flows into the outputs *and* the final states, and masked positions are exercised.
"""

from dataclasses import replace
from typing import NamedTuple

import numpy as np

from rnnlab.errors import InputError
from rnnlab.numpy.finite_difference import (
    GradcheckResult,
    GradcheckRow,
    numerical_gradient,
    relative_error,
)


def check_recurrent(
    layer,
    batch_size: int = 3,
    seq_len: int = 5,
    use_lengths: bool = False,
    seed: int = 0,
    bound: float = 1e-6,
) -> list[GradcheckResult]:
    """Gradcheck every parameter of a float64 recurrent ``layer`` and its x, h0 (and c0).

    Biases and initial states are made non-zero, the loss is the masked random linear form
    above, and with ``use_lengths`` the batch is padded to varied lengths.
    """
    if layer.dtype != np.float64:
        raise TypeError(f"gradcheck needs a float64 layer, got {layer.dtype}")
    rng = np.random.default_rng(seed)
    for p in layer.params.values():  # non-zero biases, weights large enough to matter
        p[...] = rng.uniform(-0.6, 0.6, p.shape)
    B, T = batch_size, seq_len
    x_shape = (B, T, layer.input_size) if layer.batch_first else (T, B, layer.input_size)
    x = rng.normal(size=x_shape)
    state = layer.zero_state(B)
    parts = state if isinstance(state, tuple) else (state,)
    for s in parts:
        s[...] = rng.normal(scale=0.5, size=s.shape)
    lengths = rng.integers(1, T + 1, size=B) if use_lengths else None
    if lengths is not None:
        lengths[0] = T  # at least one full-length sequence
    y, _, _ = layer.forward(x, state, lengths=lengths)
    w_y = rng.normal(size=y.shape) * (rng.random(y.shape) < 0.7)  # masked loss weights
    w_s = [rng.normal(size=s.shape) for s in parts]

    def loss() -> float:
        y, state_n, _ = layer.forward(x, state, lengths=lengths)
        finals = state_n if isinstance(state_n, tuple) else (state_n,)
        return float(np.sum(w_y * y) + sum(np.sum(w * s) for w, s in zip(w_s, finals, strict=True)))

    _, state_n, cache = layer.forward(x, state, lengths=lengths)
    dstate_n = tuple(w_s) if isinstance(state_n, tuple) else w_s[0]
    dx, dstate0, grads = layer.backward(w_y, dstate_n, cache)
    dparts = dstate0 if isinstance(dstate0, tuple) else (dstate0,)

    results = [
        GradcheckResult(name, relative_error(grads[name], numerical_gradient(loss, p)), bound)
        for name, p in layer.params.items()
    ]
    results.append(GradcheckResult("x", relative_error(dx, numerical_gradient(loss, x)), bound))
    for label, s, ds in zip(layer.cell.state_names, parts, dparts, strict=True):
        err = relative_error(ds, numerical_gradient(loss, s))
        results.append(GradcheckResult(f"{label}0", err, bound))
    return results


def check_model(
    spec,
    batch_size: int = 3,
    seq_len: int = 5,
    use_lengths: bool = False,
    seed: int = 0,
    bound: float = 1e-6,
    eps: float = 1e-6,
) -> list[GradcheckResult]:
    """Gradcheck every parameter of a whole float64 model of ``spec`` — its parts composed
    (input, stack, readout, head) — through the engine's own loss on a random batch.

    The targets are one per step, or one per sequence (shape (1, B)) for a readout that
    answers once; with ``use_lengths`` the batch is padded to varied lengths. A spec with
    the masked dropouts of :mod:`rnnlab.masks` is checked in training mode under one fixed
    draw of its masks (embedding, locked, weight-drop), as a training step would see them;
    its plain ``dropout`` must be 0, as it would draw new masks on every call. A spec with
    AR or TAR is checked in training mode too, its loss the task's plus the penalties.
    """
    from rnnlab.batch import Batch
    from rnnlab.masks import MaskSource
    from rnnlab.numpy.losses import model_loss
    from rnnlab.numpy.model import Model

    if spec.dtype != "float64":
        raise TypeError(f"gradcheck needs a float64 model, got {spec.dtype}")
    if spec.dropout:
        raise ValueError("gradcheck needs dropout 0: its masks change on every call")
    rng = np.random.default_rng(seed)
    model = Model(spec, seed=seed)
    for p in model.params.values():
        p[...] = rng.uniform(-0.6, 0.6, p.shape)
    B, T = batch_size, seq_len
    if spec.input_kind == "dense":
        inputs = rng.normal(size=(T, B, spec.input_size))
    else:
        inputs = rng.integers(0, spec.input_size, size=(T, B))
    lengths = rng.integers(1, T + 1, size=B) if use_lengths else None
    if lengths is not None:
        lengths[0] = T  # at least one full-length sequence
    steps = 1 if spec.one_per_sequence else T
    shape = (steps, B) if spec.loss == "cross_entropy" else (steps, B, spec.output_size)
    targets = (
        rng.integers(0, spec.output_size, size=shape)
        if spec.loss == "cross_entropy"
        else rng.normal(size=shape)
    )
    mask = np.ones((steps, B), bool)
    if lengths is not None and steps == T:
        mask = np.arange(T)[:, None] < lengths[None, :]
    batch = Batch(inputs, targets, mask, lengths)
    masks = MaskSource(spec, seed).draw(B)  # None without masked dropouts
    train = masks is not None or spec.penalises_activations  # else evaluation mode

    def loss() -> float:
        out, _, cache = model.forward(batch.inputs, train=train, lengths=lengths, masks=masks)
        return model_loss(spec.loss, out, batch.targets, batch.mask)[0] + cache["flow"].penalty

    out, _, cache = model.forward(batch.inputs, train=train, lengths=lengths, masks=masks)
    grads, _ = model.backward(model_loss(spec.loss, out, batch.targets, batch.mask)[1], cache)
    return [
        GradcheckResult(
            name, relative_error(grads[name], numerical_gradient(loss, p, eps=eps)), bound
        )
        for name, p in model.params.items()
    ]


# ------------------------------------------------------------------ the `rnnlab gradcheck` sweep
class GradcheckConfig(NamedTuple):
    cell: str  # a ModelSpec cell name
    nonlinearity: str
    num_layers: int
    bidirectional: bool
    use_lengths: bool
    readout: str = "per_step"  # another one: the whole model is checked (check_model)
    masked: bool = False  # a whole embedding model with every masked dropout of rnnlab.masks
    penalised: bool = False  # the masked model with AR and TAR in its loss (activation_reg)

    @property
    def label(self) -> str:
        cell = f"rnn_{self.nonlinearity}" if self.cell == "rnn" else self.cell
        if self.readout != "per_step":
            cell = f"{cell}→{self.readout}"
        if self.penalised:
            return f"{cell}+ar/tar"
        return f"{cell}+masks" if self.masked else cell


def gradcheck_configs(cells=None) -> list[GradcheckConfig]:
    """Every cell × layers {1, 2} × directions {1, 2}, plus a padded-lengths case per cell
    and a whole padded 2-layer bidirectional embedding model under embedding, locked and
    weight-drop masks ("+masks"); then, for the LSTM, every other readout in a whole
    bidirectional padded model, and the "+masks" model with AR and TAR in its loss
    ("+ar/tar"), per step and as a classifier (readout "last")."""
    from rnnlab.model import CELLS
    from rnnlab.readouts import READOUTS

    variants = [("rnn", "tanh"), ("rnn", "relu")] + [(c, "tanh") for c in CELLS if c != "rnn"]
    labels = {f"rnn_{n}" if c == "rnn" else c: (c, n) for c, n in variants}
    if cells:
        unknown = [c for c in cells if c not in labels and c not in ("rnn", "seq2seq")]
        if unknown:
            raise InputError(f"--cell {unknown[0]!r} is unknown; choose from {', '.join(labels)}")
        wanted = {labels[c] for c in cells if c in labels}
        if "rnn" in cells:
            wanted |= {("rnn", "tanh"), ("rnn", "relu")}
        variants = [v for v in variants if v in wanted]
    configs = []
    for cell, nonlinearity in variants:
        for layers in (1, 2):
            for bidirectional in (False, True):
                configs.append(GradcheckConfig(cell, nonlinearity, layers, bidirectional, False))
        configs.append(GradcheckConfig(cell, nonlinearity, 2, True, True))
        configs.append(GradcheckConfig(cell, nonlinearity, 2, True, True, masked=True))
        if cell == "lstm":
            for readout in READOUTS:
                if readout != "per_step":
                    configs.append(GradcheckConfig(cell, nonlinearity, 1, True, True, readout))
            for readout in ("per_step", "last"):
                configs.append(
                    GradcheckConfig(cell, nonlinearity, 2, True, True, readout, penalised=True)
                )
    if not cells or "seq2seq" in cells:  # the encoder–decoders, whole (a Seq2SeqSpec each)
        from rnnlab.numpy.seq2seq_gradcheck import seq2seq_configs

        configs += seq2seq_configs(hidden_size=2)
    return configs


def run_gradchecks(
    configs, input_size=3, hidden_size=4, seq_len=5, batch_size=3, bound=1e-6, seed=0
) -> list[GradcheckRow]:
    """Run :func:`check_recurrent` for each configuration; one row per configuration."""
    from rnnlab.model import MASKED_DROPOUTS, ModelSpec
    from rnnlab.numpy.model import build_recurrent

    rows = []
    for k, config in enumerate(configs):
        if not isinstance(config, GradcheckConfig):  # an encoder–decoder's Seq2SeqSpec
            from rnnlab.numpy.seq2seq_gradcheck import seq2seq_row

            rows.append(seq2seq_row(config, seed=seed + k, bound=bound))
            continue
        spec = ModelSpec(
            input_size=input_size,
            output_size=1,
            cell=config.cell,
            nonlinearity=config.nonlinearity,
            hidden_size=hidden_size,
            num_layers=config.num_layers,
            bidirectional=config.bidirectional,
            dtype="float64",
        )
        if config.masked or config.penalised:
            spec = replace(
                spec,
                output_size=input_size,
                input_kind="embedding",
                embedding_dim=hidden_size,
                **{name: 0.3 for name in MASKED_DROPOUTS},
            )
            if config.penalised:  # large enough to weigh as much as the task's loss
                spec = replace(
                    spec, readout=config.readout, activation_reg=2.0, temporal_activation_reg=1.0
                )
            # the masks zero parts of the model, leaving tensors (peepholes) whose gradients
            # are small next to a difference quotient's rounding at ε = 1e-6; ε = 1e-5
            # keeps both rounding and truncation below 1e-8 of their scale
            args = (spec, batch_size, seq_len, config.use_lengths)
            results = check_model(*args, seed=seed + k, bound=bound, eps=1e-5)
        elif config.readout != "per_step":
            spec = replace(spec, readout=config.readout, output_size=3, input_kind="dense")
            results = check_model(
                spec, batch_size, seq_len, config.use_lengths, seed=seed + k, bound=bound
            )
        else:
            layer = build_recurrent(spec, seed=seed + k)
            results = check_recurrent(
                layer, batch_size, seq_len, config.use_lengths, seed=seed + k, bound=bound
            )
        worst = max(results, key=lambda r: r.error)
        rows.append(
            GradcheckRow(
                cell=config.label,
                num_layers=config.num_layers,
                directions=2 if config.bidirectional else 1,
                lengths=config.use_lengths,
                tensors=len(results),
                worst=worst.name,
                error=worst.error,
                passed=all(r.passed for r in results),
                details={r.name: r.error for r in results},
            )
        )
    return rows
