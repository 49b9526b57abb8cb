"""How good a classifier's answers are: accuracy, macro-F1, per-class precision and recall,
the confusion matrix, and what guessing the training split's majority class would score.

With ``C[i, j]`` the number of examples of class ``i`` predicted as ``j`` (the confusion
matrix, rows the truth):

    precision_j = C[j, j] / Σ_i C[i, j]      of the examples called j, the share that are j
    recall_i    = C[i, i] / Σ_j C[i, j]      of the examples of class i, the share found
    F1_k        = 2 · precision_k · recall_k / (precision_k + recall_k)
    macro-F1    = the mean of F1_k over the classes present in the truth or the predictions

A ratio with nothing to divide by (no example of a class, nothing predicted as it) is 0, as
scikit-learn's ``zero_division=0`` does. The majority baseline is the accuracy of always
answering the class most frequent in the *training* split: what a model that learned only
the class prior would score on the evaluated split, with no peeking at that split's labels.
"""

from collections.abc import Sequence

import numpy as np


def confusion_matrix(predicted: np.ndarray, target: np.ndarray, num_classes: int) -> np.ndarray:
    """(K, K) int64: ``C[i, j]`` examples of class ``i`` (target) predicted as class ``j``."""
    predicted, target = np.asarray(predicted), np.asarray(target)
    if predicted.shape != target.shape or predicted.ndim != 1:
        raise ValueError(
            f"confusion_matrix needs predicted and target of one shape (N,), "
            f"got {predicted.shape} and {target.shape}"
        )
    counts = np.zeros((num_classes, num_classes), dtype=np.int64)  # (K, K)
    np.add.at(counts, (target, predicted), 1)
    return counts


def classification_scores(
    confusion: np.ndarray, label_names: Sequence[str], majority_class: int
) -> dict[str, float]:
    """accuracy, macro_f1, majority_baseline and ``precision:NAME`` and ``recall:NAME`` per
    class, from a confusion matrix (see the module docstring)."""
    confusion = np.asarray(confusion, dtype=np.int64)  # (K, K)
    if confusion.shape != (len(label_names), len(label_names)):
        raise ValueError(
            f"a confusion matrix for {len(label_names)} classes is ({len(label_names)}, "
            f"{len(label_names)}), got {confusion.shape}"
        )
    hits = np.diag(confusion).astype(np.float64)  # (K,)
    truth, called = confusion.sum(axis=1), confusion.sum(axis=0)  # (K,) each
    precision = _ratio(hits, called)  # (K,)
    recall = _ratio(hits, truth)  # (K,)
    f1 = _ratio(2 * precision * recall, precision + recall)  # (K,)
    present = (truth + called) > 0  # (K,): classes that take part in this evaluation
    total = int(truth.sum())
    scores = {
        "accuracy": float(hits.sum() / max(total, 1)),
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "majority_baseline": float(truth[majority_class] / max(total, 1)),
    }
    for k, name in enumerate(label_names):
        scores[f"precision:{name}"] = float(precision[k])
        scores[f"recall:{name}"] = float(recall[k])
    return scores


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a / b elementwise, 0 where b is 0."""
    return np.divide(a, b, out=np.zeros(len(a)), where=b > 0)
