"""Finite-difference gradient check of the whole NumPy encoder–decoder (float64).

Every parameter — source and target embeddings, both stacks, the bridge, the attention and
the head — is checked against central differences of the model's own loss, the masked
cross-entropy over the real target tokens, on a batch padded on both sides (the sources
and the targets have varied lengths; one of each is full length). The rows of
``rnnlab gradcheck`` for the encoder–decoder come from :func:`seq2seq_configs`.
"""

import numpy as np

from rnnlab.numpy.finite_difference import (
    GradcheckResult,
    GradcheckRow,
    numerical_gradient,
    relative_error,
)
from rnnlab.seq2seq.batch import make_batch
from rnnlab.seq2seq.spec import Seq2SeqSpec

# The attention's gradients are small beside a loss of order 1 (1e-4 of it at these sizes),
# so the step is wider than the layers' 1e-6: round-off, O(1e-16 / ε) of the loss, would
# otherwise be seen, while the truncation error, O(ε²), stays below the bound (1e-5).
EPS = 1e-4


def random_pairs(rng, batch_size, source_len, target_len, source_vocab, target_vocab):
    """Random id sequences, padded lengths: the first source and target are full length."""
    src_lengths = rng.integers(1, source_len + 1, size=batch_size)
    tgt_lengths = rng.integers(0, target_len, size=batch_size)  # + <eos> = 1..target_len
    src_lengths[0], tgt_lengths[-1] = source_len, target_len - 1
    sources = [list(rng.integers(0, source_vocab, size=n)) for n in src_lengths]
    targets = [list(rng.integers(2, target_vocab, size=n)) for n in tgt_lengths]
    return sources, targets


def check_seq2seq(
    spec: Seq2SeqSpec,
    batch_size: int = 3,
    source_len: int = 5,
    target_len: int = 4,
    seed: int = 0,
    bound: float = 1e-5,
) -> list[GradcheckResult]:
    """Gradcheck every parameter of a float64 encoder–decoder of ``spec`` through its loss.

    The weights are drawn U(±1), the attention's U(±2) (non-zero biases, large enough to
    matter); the target
    ids 0 and 1 are <bos> and <eos>.
    """
    from rnnlab.numpy.seq2seq import Seq2SeqModel

    if spec.dtype != "float64":
        raise TypeError(f"gradcheck needs a float64 model, got {spec.dtype}")
    rng = np.random.default_rng(seed)
    model = Seq2SeqModel(spec, seed=seed)
    for name, p in model.params.items():
        # attention weights are drawn wider: with small ones every score is nearly equal,
        # the softmax's gradient tiny, and central differences would measure round-off
        scale = 2.0 if name.startswith("attention.") else 1.0
        p[...] = rng.uniform(-scale, scale, p.shape)
    sources, targets = random_pairs(
        rng, batch_size, source_len, target_len, spec.source_vocab, spec.target_vocab
    )
    batch = make_batch(sources, targets, bos=0, eos=1)

    def loss() -> float:
        logits, _ = model.forward(batch, train=False)
        return model.loss(logits, batch)[0]

    logits, cache = model.forward(batch, train=False)
    grads = model.backward(model.loss(logits, batch)[1], cache)
    return [
        GradcheckResult(name, relative_error(grads[name], numerical_gradient(loss, p, EPS)), bound)
        for name, p in model.params.items()
    ]


def seq2seq_configs(hidden_size: int = 3) -> list[Seq2SeqSpec]:
    """The encoder–decoders ``rnnlab gradcheck`` checks: every attention (and none), Luong
    with input feeding, bidirectional 2-layer encoders, each cell kind, the zeros bridge."""
    H = hidden_size
    small = dict(source_vocab=5, target_vocab=6, hidden_size=H, embedding_dim=H, dtype="float64")
    two_way = dict(small, bidirectional=True, num_layers=2)  # decoder: 2 layers of 2H
    return [
        Seq2SeqSpec(**small),
        Seq2SeqSpec(**two_way, attention="bahdanau"),
        Seq2SeqSpec(**two_way, attention="dot"),
        Seq2SeqSpec(**two_way, attention="dot", input_feeding=True),
        Seq2SeqSpec(**two_way, attention="general", input_feeding=True, cell="gru"),
        Seq2SeqSpec(**small, attention="general", cell="rnn", bridge="zeros"),
        Seq2SeqSpec(**small, attention="none", cell="gru", bidirectional=True),
    ]


def seq2seq_row(spec: Seq2SeqSpec, seed: int = 0, bound: float = 1e-6) -> GradcheckRow:
    """One ``rnnlab gradcheck`` row: a small padded batch (B = 2, S = 4, T = 3). The bound
    is at least 1e-5, this check's finite-difference step's accuracy (see :data:`EPS`)."""
    results = check_seq2seq(spec, 2, 4, 3, seed=seed, bound=max(bound, 1e-5))
    worst = max(results, key=lambda r: r.error)
    return GradcheckRow(
        cell=seq2seq_label(spec),
        num_layers=spec.num_layers,
        directions=spec.directions,
        lengths=True,
        tensors=len(results),
        worst=worst.name,
        error=worst.error,
        passed=all(r.passed for r in results),
        details={r.name: r.error for r in results},
    )


def seq2seq_label(spec: Seq2SeqSpec) -> str:
    """A gradcheck row's name: ``seq2seq lstm bahdanau``, ``… dot+feed``, ``… zeros``."""
    parts = [f"seq2seq {spec.cell} {spec.attention}"]
    if spec.input_feeding:
        parts.append("+feed")
    if spec.bridge == "zeros":
        parts.append(" zeros")
    return "".join(parts)
