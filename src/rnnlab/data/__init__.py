"""Data: vocabularies, one-hot encoding, synthetic generators, text corpora and batching.

NumPy only; nothing here imports torch.
"""

from rnnlab.data.batching import PaddedBatch, minibatch_indices, pad_batch, unpad_batch
from rnnlab.data.corpus import StreamBatches, default_corpus, read_text, split_stream
from rnnlab.data.encode import from_one_hot, one_hot
from rnnlab.data.synthetic import (
    COPY_BLANK,
    COPY_DELIM,
    COPY_VOCAB_SIZE,
    CopyData,
    SineData,
    anbn_sequences,
    bayes_optimal_loss,
    copy_chance_loss,
    copy_sequences,
    deterministic_mask,
    expected_optimal_loss,
    noisy_sine,
    optimal_token_losses,
    sine_noise_floor,
    split_indices,
)
from rnnlab.data.vocab import LEVELS, Vocab

__all__ = [
    "COPY_BLANK",
    "COPY_DELIM",
    "COPY_VOCAB_SIZE",
    "LEVELS",
    "CopyData",
    "PaddedBatch",
    "SineData",
    "StreamBatches",
    "Vocab",
    "anbn_sequences",
    "bayes_optimal_loss",
    "copy_chance_loss",
    "copy_sequences",
    "default_corpus",
    "deterministic_mask",
    "expected_optimal_loss",
    "from_one_hot",
    "minibatch_indices",
    "noisy_sine",
    "one_hot",
    "optimal_token_losses",
    "pad_batch",
    "read_text",
    "sine_noise_floor",
    "split_indices",
    "split_stream",
    "unpad_batch",
]
