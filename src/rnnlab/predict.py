"""What a trained classifier says about new texts: a label, every class's probability and,
with the attention readout, how much weight each token got.

The probabilities are the softmax of the head's logits z (computed as exp(z - max z) so a
large logit cannot overflow); the label is the most probable class. The attention weights
α_t (Σ_t α_t = 1 over the text's real tokens) are the readout's own — what the model
averaged its states with — not a post-hoc attribution: a token with a large α_t shaped the
answer through its state h_t, which has read the tokens around it too.
"""

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from rnnlab.errors import InputError

BATCH_SIZE = 64  # texts per forward pass


class Prediction(NamedTuple):
    text: str
    label: str
    probabilities: dict[str, float]  # class name -> probability, in the classes' id order
    tokens: list[str]  # the tokens the model read (after --max-len; unseen ones as written)
    weights: list[float] | None  # attention weight per token (None: not an attention readout)

    def to_dict(self) -> dict:
        d = {"text": self.text, "label": self.label, "probabilities": self.probabilities}
        if self.weights is not None:
            d["attention"] = [[t, w] for t, w in zip(self.tokens, self.weights, strict=True)]
        return d


def softmax(logits: np.ndarray) -> np.ndarray:
    """(B, K) probabilities of (B, K) logits, in float64."""
    z = np.asarray(logits, dtype=np.float64)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def check_classifier(task, spec, run) -> None:
    """InputError unless ``run`` is a text classifier (the tasks with texts to read)."""
    if not spec.one_per_sequence:
        raise InputError(
            f"{run} is not a classifier (readout {spec.readout!r}: it answers at every step); "
            "predict needs a run of sentiment or classify; use rnnlab generate"
        )
    if not hasattr(task, "texts_batch"):
        raise InputError(
            f"{run} classifies {task.name} sequences, not texts; predict reads texts "
            "(runs of sentiment or classify); use rnnlab evaluate"
        )


def predict(engine, task, texts: Sequence[str]) -> list[Prediction]:
    """Each text's label, probabilities and (attention readout) token weights."""
    names = list(task.label_names)
    results = []
    for start in range(0, len(texts), BATCH_SIZE):
        chunk = list(texts[start : start + BATCH_SIZE])
        batch = task.texts_batch(chunk)  # InputError for an empty text
        logits, weights = engine.answer(batch.inputs, batch.lengths)  # (B, K), (T, B) | None
        if not np.isfinite(logits).all():
            raise InputError(
                "the model's answers are not finite numbers (its weights diverged); "
                "use --best or retrain the run"
            )
        probabilities = softmax(logits)  # (B, K)
        for b, text in enumerate(chunk):
            n = int(batch.lengths[b])
            chances = probabilities[b].tolist()  # (K,) floats
            results.append(
                Prediction(
                    text=text,
                    label=names[int(probabilities[b].argmax())],
                    probabilities=dict(zip(names, chances, strict=True)),
                    tokens=task.tokens(text),
                    weights=None if weights is None else [float(w) for w in weights[:n, b]],
                )
            )
    return results


def texts_from_file(path: str, stream=None) -> list[str]:
    """One text per line of ``path`` (``-``: ``stream``, standard input); InputError for a
    file that is not UTF-8 text or a line with nothing to classify."""
    if path == "-":
        content = stream.read()
    else:
        try:
            with open(path, encoding="utf-8") as f:
                content = f.read()
        except UnicodeDecodeError as exc:
            raise InputError(
                f"--file '{path}' is not UTF-8 text (byte {exc.start}); save it as UTF-8"
            ) from exc
    lines = content.splitlines()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            raise InputError(f"--file '{path}' line {number} is empty; one text a line, please")
    if not lines:
        raise InputError(f"--file '{path}' has no texts; write one text a line")
    return lines
