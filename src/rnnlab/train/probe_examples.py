"""What probe.json holds for models that do not answer at every step: a few fixed examples.

A **classifier** (a one-per-sequence readout) reads a whole sequence and answers once, so its
probe is :data:`CLASSIFIER_EXAMPLES` fixed validation examples read whole (padded, with
``lengths``): the header names each one's tokens and true label; every evaluation's record
gives, per example, the predicted label, the class probabilities softmax(logits), the
attention readout's weights α_t over the tokens (when the readout has them), and the gates,
h_t and c_t of the top layer's first units over its real tokens (unidirectional models only).

An **encoder–decoder** has no per-step probe: its record is :data:`SEQ2SEQ_EXAMPLES` fixed
validation sources, each with its first reference (in the header), the greedy output and the
attention matrix α (output step × source token) of that decoding — decoded by the task's own
:meth:`~rnnlab.tasks.seq2seq.Seq2SeqTask.decode`, the decoding that evaluation scores.

Bounded: examples of at most :data:`~rnnlab.train.probe_file.PROBE_STEPS` tokens are chosen
where the split has them (else the shortest ones, their tokens, gates and attention cut to that
many with ``"length"`` telling the whole length; the prediction is still of the whole
sequence), and an output keeps at most :data:`MAX_OUTPUT` steps.
"""

from __future__ import annotations

import numpy as np

from rnnlab.diagnostics.gates import GATE_NAMES, split_gates
from rnnlab.tasks.classification import pad_examples

CLASSIFIER_EXAMPLES = 3  # validation examples a classifier's probe follows
SEQ2SEQ_EXAMPLES = 2  # validation sources an encoder–decoder's probe decodes
MAX_OUTPUT = 64  # output steps of a decoding kept


def chosen_examples(lengths: np.ndarray, count: int, max_steps: int) -> list[int]:
    """Indices of ``count`` examples: the first ones of at most ``max_steps`` tokens, in the
    split's order, then (if too few are that short) the shortest of the others."""
    lengths = np.asarray(lengths)
    short = [int(i) for i in np.flatnonzero(lengths <= max_steps)[:count]]
    rest = [int(i) for i in np.argsort(lengths, kind="stable") if i not in short]
    return short + rest[: count - len(short)]


def rounded(values, decimals: int) -> list:
    return np.round(np.asarray(values, np.float64), decimals).tolist()


# --------------------------------------------------------------------------- classifiers
def classifier_probe(engine, task, steps: int, units: int, decimals: int):
    """(header, record without its step) of a classifier's probe, or None without examples."""
    examples = task.splits["val"]
    picked = chosen_examples(examples.lengths, CLASSIFIER_EXAMPLES, steps)
    if not picked:
        return None
    batch = pad_examples([examples.ids[i] for i in picked], examples.labels[picked])
    spec = engine.spec
    U = min(units, spec.hidden_size)
    shown = [min(int(n), steps) for n in batch.lengths]  # tokens shown per example
    header = {
        "kind": "classifier",
        "cell": spec.cell,
        "layer": spec.num_layers - 1,
        "units": list(range(U)),
        "gates": list(GATE_NAMES.get(spec.cell, ())),
        "readout": spec.readout,
        "labels": list(task.label_names),
        "examples": [
            {"tokens": _token_labels(task, ids[:n]), "label": int(label), "length": len(ids)}
            for ids, label, n in zip(
                (examples.ids[i] for i in picked), examples.labels[picked], shown, strict=True
            )
        ],
    }
    logits, alpha = engine.answer(batch.inputs, batch.lengths)  # (B, O), (T, B) or None
    logits = np.asarray(logits, np.float64)
    p = np.exp(logits - logits.max(axis=-1, keepdims=True))  # (B, O)
    p /= p.sum(axis=-1, keepdims=True)
    answers = []
    for b, n in enumerate(shown):
        answer = {"predicted": int(p[b].argmax()), "probabilities": rounded(p[b], decimals)}
        if alpha is not None:
            answer["attention"] = rounded(np.asarray(alpha)[:n, b], decimals)  # (n,)
        answers.append(answer)
    for answer, inside in zip(answers, _classifier_gates(engine, batch, shown, U, decimals),
                              strict=False):  # fmt: skip
        answer.update(inside)
    return header, {"examples": answers}


def _classifier_gates(engine, batch, shown: list[int], U: int, decimals: int) -> list[dict]:
    """Per example: gates, h and c (each (n, U) lists) over its shown tokens; [] if the
    model cannot be probed (bidirectional) or the probe fails: the run must go on."""
    try:
        probe = engine.probe(batch)
    except Exception:
        return []
    top = max(probe.hidden)
    gates = split_gates(probe.gates[top], probe.cell) if top in probe.gates else {}
    out = []
    for b, n in enumerate(shown):

        def cut(values, b=b, n=n) -> list:
            return rounded(np.asarray(values)[:n, b, :U], decimals)  # (n, U)

        inside = {"h": cut(probe.hidden[top])}
        if top in probe.cells:
            inside["c"] = cut(probe.cells[top])
        if gates:
            inside["gate_values"] = {name: cut(values) for name, values in gates.items()}
        out.append(inside)
    return out


def _token_labels(task, ids) -> list[str]:
    """A sequence's tokens by name where the task has a vocabulary, else its ids."""
    ids = [int(i) for i in ids]
    if task.vocab is not None:
        return [task.vocab.tokens[i] for i in ids]
    return [str(i) for i in ids]


# --------------------------------------------------------------------------- seq2seq
def seq2seq_probe(engine, task, steps: int, decimals: int):
    """(header, record without its step) of an encoder–decoder's probe, or None."""
    sources, references = task.references("val")
    picked = chosen_examples([len(s) for s in sources], SEQ2SEQ_EXAMPLES, steps)
    if not picked:
        return None
    chosen = [sources[i] for i in picked]
    header = {
        "kind": "seq2seq",
        "cell": engine.spec.cell,
        "attention": engine.spec.attention,
        "source_separator": task.source_separator,
        "target_separator": task.target_separator,
        "examples": [
            {
                "source": [task.source_tokens[int(t)] for t in source[:steps]],
                "length": len(source),
                "reference": _target_tokens(task, references[i][0]),
            }
            for i, source in zip(picked, chosen, strict=True)
        ],
    }
    # decode() gives every source of a batch (all of these few) the limit of its longest
    # one: an output shorter than that limit is one that wrote <eos>.
    limit = task.max_output_length(max(len(s) for s in chosen))
    outputs = []
    for source, hypothesis in zip(chosen, task.decode(engine, chosen), strict=True):
        tokens = _target_tokens(task, hypothesis.tokens)
        ended = len(hypothesis.tokens) < limit
        output = {"output": tokens[:MAX_OUTPUT], "ended": ended}
        if hypothesis.attention is not None:
            alpha = np.asarray(hypothesis.attention)  # (n + 1, S) a row per step, <eos>'s too
            output["attention"] = rounded(alpha[:MAX_OUTPUT, : min(len(source), steps)], decimals)
        outputs.append(output)
    return header, {"examples": outputs}


def _target_tokens(task, ids) -> list[str]:
    return [task.format_target([int(t)]) for t in ids]
