"""A Keras-style summary of a model: each layer, its output shape and its parameter count."""

import math
import re
from typing import NamedTuple

from rnnlab.model import ModelSpec


class SummaryRow(NamedTuple):
    layer: str
    output_shape: str
    parameters: int


def summarize(spec: ModelSpec) -> list[SummaryRow]:
    """Rows from input to head; shapes are time-major with symbolic T and B."""
    shapes = spec.parameter_shapes()

    def count(pattern: str) -> int:
        return sum(math.prod(s) for name, s in shapes.items() if re.fullmatch(pattern, name))

    rows = []
    if spec.input_kind == "onehot":
        rows.append(SummaryRow("one-hot input", f"(T, B, {spec.input_size})", 0))
    elif spec.input_kind == "embedding":
        rows.append(
            SummaryRow("embedding", f"(T, B, {spec.embedding_dim})", count(r"embedding\..*"))
        )
    else:
        rows.append(SummaryRow("dense input", f"(T, B, {spec.input_size})", 0))
    width = spec.hidden_size * spec.directions
    cell = f"RNN ({spec.nonlinearity})" if spec.cell == "rnn" else spec.cell.upper()
    for layer in range(spec.num_layers):
        label = f"{cell} layer {layer}" + (", bidirectional" if spec.bidirectional else "")
        rows.append(SummaryRow(label, f"(T, B, {width})", count(rf"rnn\..*_l{layer}(_reverse)?")))
        if spec.dropout:  # between layers, and before the head
            rows.append(SummaryRow(f"dropout p={spec.dropout:g}", f"(T, B, {width})", 0))
    steps = "1" if spec.one_per_sequence else "T"  # a readout may answer once per sequence
    if spec.readout != "per_step":
        label = f"readout ({spec.readout})"
        rows.append(SummaryRow(label, f"({steps}, B, {width})", count(r"readout\..*")))
    head = "head (linear, tied to embedding)" if spec.tie_weights else "head (linear)"
    rows.append(SummaryRow(head, f"({steps}, B, {spec.output_size})", count(r"head\..*")))
    return rows
