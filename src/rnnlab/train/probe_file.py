"""probe.json: what the model does inside, written at every evaluation, for the dashboard.

At each evaluation the trainer asks the engine for a :class:`~rnnlab.engine.Probe` of one
fixed, short probe text (the start of the first validation sequence, at most
:data:`PROBE_STEPS` steps) and keeps, for the first :data:`PROBE_UNITS` units of the top
layer, every gate's activation, the hidden state h_t and (LSTMs) the cell state c_t; and,
for a model that writes text, a sample drawn with a fixed seed. The dashboard shows the
gates as a heatmap with a slider over evaluations, so one can watch them grow structured.

Why it cannot disturb training or its bitwise resume: the probe runs on a float64 copy of
the weights and the sample with its own seeded generator, so neither touches the engine's
optimizer, weights or dropout generators. The file is not part of a checkpoint (nothing in
state.json records it): it is rewritten whole (atomically, so a reader sees the old or the
new file) with the records of steps before the current one, so a resumed run that
evaluates a step again replaces that record instead of adding a second one.

Models that do not answer at every step get a probe of a few fixed validation examples
instead (:mod:`rnnlab.train.probe_examples`; the header's ``"kind"`` says which): a
classifier's predictions, class probabilities, attention weights and gates; an
encoder–decoder's greedy outputs and attention matrices.

Bounded: values are rounded to 3 decimals, and once :data:`MAX_EVALS` records are kept every
second older one is dropped, so a long run keeps a record of its whole history, ever more
thinly spaced, in under a megabyte (40 records of 48 steps × 10 units × 6 arrays; a
classifier's three examples of at most 48 shown tokens, about three; an encoder–decoder's
two attention matrices of at most 64 × 48, about two): well within the 16 MiB that
:func:`rnnlab.run_files.read_run_file` reads.

A probe is a by-product: :func:`write_probe` never raises (a bidirectional model, whose
gates the probe cannot follow through time, gets a sample only, or a classifier its
predictions only; a full disk skips a write).
"""

from __future__ import annotations

import contextlib
import json
import math
from pathlib import Path

import numpy as np

from rnnlab.atomic_write import atomic_write_bytes
from rnnlab.batch import Batch
from rnnlab.diagnostics.gates import GATE_NAMES, split_gates
from rnnlab.errors import InputError
from rnnlab.run_files import PROBE_FILE, parse_run_json, read_run_file
from rnnlab.train.probe_examples import classifier_probe, seq2seq_probe

PROBE_FORMAT = 1
PROBE_STEPS = 48  # time steps of the probe text
PROBE_UNITS = 10  # units of the top layer shown
MAX_EVALS = 40  # records kept before older ones are thinned out
SAMPLE_LENGTH = 160  # tokens of the sample written at each evaluation
SAMPLE_SEED = 0
DECIMALS = 3


def write_probe(run_dir, engine, task, step: int, eval_batch_size: int) -> bool:
    """Add this evaluation's record to ``run_dir/probe.json``; whether anything was written.

    Never raises for a model or a file it cannot handle: the probe is a by-product.
    """
    try:
        found = _probe_of(engine, task, eval_batch_size)
        if found is None:
            return False
        header, inside = found
        record = {"step": int(step), **inside}
        evals = [e for e in _previous(run_dir, header) if e["step"] < step]
        probe = {**header, "evals": thin([*evals, record])}
        compact = json.dumps(
            probe, separators=(",", ":"), ensure_ascii=False
        )  # a third of indented
        atomic_write_bytes(Path(run_dir) / PROBE_FILE, compact.encode("utf-8") + b"\n")
        return True
    except (OSError, InputError, ValueError, ArithmeticError):  # a disk, a model, a text
        return False


def _probe_of(engine, task, eval_batch_size: int) -> tuple[dict, dict] | None:
    """(header, record without its step) for the model's kind, or None if nothing to say."""
    if hasattr(engine, "probe") and not engine.spec.one_per_sequence:  # a per-step model
        batch = probe_batch(task, eval_batch_size)
        inside = _inside(engine, batch)
        sample = _sample(engine, task)
        if sample is not None:
            inside["sample"] = sample
        return (_header(engine, task, batch), inside) if inside else None
    try:
        if hasattr(engine, "probe"):  # a classifier: its answers to a few examples
            found = classifier_probe(engine, task, PROBE_STEPS, PROBE_UNITS, DECIMALS)
        else:  # an encoder–decoder (no per-step probe): its decodings of a few sources
            found = seq2seq_probe(engine, task, PROBE_STEPS, DECIMALS)
    except Exception:  # a model or a task the probe cannot follow: the run must go on
        return None
    return None if found is None else ({"format": PROBE_FORMAT, **found[0]}, found[1])


def probe_batch(task, eval_batch_size: int, one_per_sequence: bool = False) -> Batch:
    """The probe text: sequence 0 of validation batch 0, cut to PROBE_STEPS steps.

    Validation batches are a pure function of the task, so every evaluation (and every
    session of a resumed run) probes the same text. A classifier's sequence is read whole:
    its one answer needs all of it.
    """
    batch = task.batch("val", 0, eval_batch_size)
    steps = batch.inputs.shape[0] if one_per_sequence else min(batch.inputs.shape[0], PROBE_STEPS)
    answers = 1 if one_per_sequence else steps  # rows of targets and mask
    lengths = None if batch.lengths is None else np.minimum(batch.lengths[:1], steps)  # (1,)
    return Batch(
        inputs=batch.inputs[:steps, :1],  # (T', 1) or (T', 1, I)
        targets=batch.targets[:answers, :1],
        mask=batch.mask[:answers, :1],
        lengths=lengths,
    )


def probe_tokens(task, batch: Batch) -> list[str]:
    """The probe text as one label per step: the vocabulary's tokens, or the input ids."""
    inputs = np.asarray(batch.inputs)
    steps = int(batch.lengths[0]) if batch.lengths is not None else inputs.shape[0]
    if inputs.ndim == 3:  # dense features: the first feature's value
        return [f"{v:.2g}" for v in inputs[:steps, 0, 0].tolist()]
    ids = inputs[:steps, 0].tolist()
    if task.vocab is not None:
        return [task.vocab.tokens[i] for i in ids]
    return [str(i) for i in ids]


def thin(evals: list[dict]) -> list[dict]:
    """At most MAX_EVALS records: drop every second older one, always keeping the newest."""
    while len(evals) > MAX_EVALS:
        evals = [*evals[:-1:2], evals[-1]]
    return evals


def _header(engine, task, batch: Batch) -> dict:
    spec = engine.spec
    units = list(range(min(PROBE_UNITS, spec.hidden_size)))
    return {
        "format": PROBE_FORMAT,
        "cell": spec.cell,
        "layer": spec.num_layers - 1,
        "units": units,
        "gates": list(GATE_NAMES.get(spec.cell, ())),
        "tokens": probe_tokens(task, batch),
    }


def _inside(engine, batch: Batch) -> dict:
    """Gates, h_t and c_t of the shown units, each (T, U) as nested lists; {} if the model
    cannot be probed (bidirectional)."""
    try:
        probe = engine.probe(batch)
    except Exception:  # bidirectional (InputError), or any failure: the run must go on
        return {}
    top = max(probe.hidden)
    steps = int(probe.valid[:, 0].sum())
    U = min(PROBE_UNITS, engine.spec.hidden_size)

    def rounded(values) -> list:
        return np.round(np.asarray(values, np.float64)[:steps, 0, :U], DECIMALS).tolist()

    out = {"h": rounded(probe.hidden[top])}
    if top in probe.cells:
        out["c"] = rounded(probe.cells[top])
    if top in probe.gates:
        gates = split_gates(probe.gates[top], probe.cell)  # name -> (T, B, H)
        out["gate_values"] = {name: rounded(values) for name, values in gates.items()}
    return out


def _sample(engine, task) -> str | None:
    """Text written by the model from the task's usual prime, or None if it writes none."""
    if task.vocab is None or engine.spec.one_per_sequence:
        return None
    if task.model_io().loss != "cross_entropy":
        return None
    from rnnlab.generate import generate

    try:
        pieces = generate(
            engine,
            task.vocab,
            prime=task.default_prime,
            length=SAMPLE_LENGTH,
            seed=SAMPLE_SEED,
            stop_at_eos=task.until_eos,
        )
        return task.default_prime + "".join(pieces)
    except Exception:  # non-finite logits, say: a by-product must not stop the run
        return None


def _previous(run_dir, header: dict) -> list[dict]:
    """The records already in probe.json, if it describes the same probe; else none.

    A damaged or foreign file is simply replaced: it holds nothing training needs.
    """
    with contextlib.suppress(InputError):
        data = read_run_file(run_dir, PROBE_FILE)
        if data is None:
            return []
        old = parse_run_json(data, PROBE_FILE, run_dir)
        same = all(old.get(k) == v for k, v in header.items())
        evals = old.get("evals")
        if same and isinstance(evals, list):
            return [e for e in evals if isinstance(e, dict) and _is_step(e.get("step"))]
    return []


def _is_step(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and math.isfinite(value)
