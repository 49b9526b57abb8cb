"""``rnnlab inspect`` of an encoder–decoder: its parts in the order data flows through them,
each with its output shape (time-major: S source steps, T target steps, B batch) and its
parameter count, read off the state_dict's names (``encoder.rnn.*``, ``bridge.*``...)."""

import math

from rnnlab.seq2seq.spec import Seq2SeqSpec
from rnnlab.summary import SummaryRow


def summarize_seq2seq(spec: Seq2SeqSpec) -> list[SummaryRow]:
    shapes = spec.parameter_shapes()

    def count(prefix: str) -> int:
        return sum(math.prod(s) for name, s in shapes.items() if name.startswith(prefix))

    W, H_d, V_t = spec.memory_width, spec.decoder_hidden_size, spec.target_vocab
    directions = "bidirectional " if spec.bidirectional else ""
    attention = {"none": "no attention (a plain encoder–decoder)",
                 "bahdanau": f"Bahdanau attention (A = {spec.attention_size})",
                 "dot": "Luong dot attention", "general": "Luong general attention"}  # fmt: skip
    feeding = ", input feeding" if spec.input_feeding else ""
    return [
        SummaryRow("encoder embedding", f"(S, B, {spec.embedding_dim})",
                   count("encoder.embedding.")),
        SummaryRow(f"encoder {directions}{spec.cell} × {spec.num_layers}", f"(S, B, {W})",
                   count("encoder.rnn.")),
        SummaryRow(f"bridge ({spec.bridge})", f"({spec.decoder_layers}, B, {H_d})",
                   count("bridge.")),
        SummaryRow("decoder embedding", f"(T, B, {spec.embedding_dim})",
                   count("decoder.embedding.")),
        SummaryRow(f"decoder {spec.cell} × {spec.decoder_layers} (input "
                   f"{spec.decoder_input_size})", f"(T, B, {H_d})", count("decoder.rnn.")),
        SummaryRow(attention[spec.attention] + feeding, f"(T, B, {H_d})", count("attention.")),
        SummaryRow("head", f"(T, B, {V_t})", count("head.")),
    ]  # fmt: skip
