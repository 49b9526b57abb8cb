"""A trained text model measured on another text (``rnnlab evaluate RUN --data OTHER.txt``).

The file is read at the run's level and encoded with the run's vocabulary: what the model
never saw becomes ``<unk>``, and is counted. Every token after the first is predicted once,
as in the validation split, with the state carried: the text is cut into ``batch_size``
contiguous rows read ``seq_len`` steps at a time, and the few tokens left after the last
full row continue that row's state in one more, single-row pass. The loss is

    nats/token = -(1/N) Σ_n ln p(x_{n+1} | x_1..x_n),    bits/token = nats/token / ln 2

over the N scored targets. At char and byte level an unknown target is not scored — the
run never learned to predict ``<unk>``, whose probability would then measure nothing but
that — while at word level ``<unk>`` is the vocabulary's word for the rare ones, learned in
training, and is scored like any word. The user named the file, so no fingerprint applies.
"""

import math

import numpy as np

from rnnlab.batch import Batch
from rnnlab.data.corpus import StreamBatches, read_text
from rnnlab.data.vocab import Vocab
from rnnlab.errors import DataError, InputError


def evaluate_other_text(task, engine, path, batch_size: int) -> dict:
    """Metrics of ``engine`` on the text file ``path``, with ``task``'s vocabulary and level.

    Returns ``loss`` (nats per scored target), ``bits_per_token``, ``perplexity``,
    ``tokens`` (scored), ``unknown`` (positions mapped to ``<unk>``), ``unknown_tokens``
    (the first distinct ones, up to 10), ``unscored`` and ``data``.
    """
    vocab = getattr(task, "vocab", None)
    if vocab is None or not getattr(task, "stateful", False):
        raise InputError(f"--data needs a text run (chars, words, bytes), not '{task.name}'")
    text = read_text(path, vocab.level)
    ids = vocab.encode(text)  # (N,) unseen tokens → <unk>
    if len(ids) < 2:
        raise DataError(f"data file '{path}' has {len(ids)} token(s); nothing to predict")
    unknown = ids == Vocab.UNK_ID  # (N,)
    # char/byte runs never learned <unk>: its targets are counted, not scored
    scored = ~unknown if vocab.level in ("char", "byte") else np.ones_like(unknown)
    seq_len = task.options["seq_len"]
    rows = max(1, min(batch_size, (len(ids) - 1) // seq_len))
    stream = StreamBatches(ids, rows, min(seq_len, len(ids) - 1))
    keep = scored[1:]  # (N-1,) one per target
    keep_rows = keep[: rows * stream.row_length].reshape(rows, -1)  # (B, L)
    loss_sum, count, state = 0.0, 0, None
    for k in range(stream.num_batches):
        inputs, targets = stream.batch(k)  # (T_k, B)
        steps = slice(k * stream.seq_len, k * stream.seq_len + inputs.shape[0])
        mask = np.ascontiguousarray(keep_rows[:, steps].T)  # (T_k, B)
        result = engine.evaluate(Batch(inputs, targets, mask), state)
        state = result.state
        loss_sum, count = loss_sum + result.loss * result.count, count + result.count
    used = rows * stream.row_length  # targets covered by the rows; the rest follow row B-1
    if used < len(ids) - 1:
        tail = slice(used, len(ids) - 1)
        inputs = ids[tail].reshape(-1, 1)  # (R, 1)
        targets = ids[used + 1 :].reshape(-1, 1)
        last_row = _row(state, rows - 1)
        result = engine.evaluate(Batch(inputs, targets, keep[tail].reshape(-1, 1)), last_row)
        loss_sum, count = loss_sum + result.loss * result.count, count + result.count
    loss = loss_sum / max(count, 1)
    unseen = vocab.unknown_tokens(text) if unknown.any() else []
    return {
        "loss": loss,
        "bits_per_token": loss / math.log(2),
        "perplexity": math.exp(min(loss, 700.0)),
        "tokens": count,
        "unknown": int(unknown.sum()),
        "unknown_tokens": unseen[:10],
        "unscored": int((~keep).sum()),
        "data": str(path),
    }


def _row(state, b: int):
    """Row ``b`` of a carried state (each part (L·D, B, H)), kept 3-D: (L·D, 1, H)."""
    if isinstance(state, tuple | list):
        return tuple(s[:, b : b + 1] for s in state)
    return state[:, b : b + 1]
