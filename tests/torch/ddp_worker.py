"""Data-parallel training run by tests/torch/test_distributed.py under torchrun (not a test).

Each of the processes trains 5 SGD steps on its shard of one fixed global batch and rank 0
writes the final weights and the reported losses to the .npz file named on the command line.
``SPEC``, ``OPTIONS`` and ``global_batch`` are shared with the test's single-process run.
"""

import sys

import numpy as np

from rnnlab.batch import Batch
from rnnlab.model import ModelSpec

SPEC = ModelSpec(
    input_size=5, output_size=5, cell="lstm", hidden_size=4, num_layers=2, bidirectional=True,
    activation_reg=1.0, temporal_activation_reg=0.5, dtype="float64",
)  # fmt: skip
OPTIONS = dict(seed=0, optimizer="sgd", lr=0.5, momentum=0.9, grad_clip=1.0)
STEPS = 5


def global_batch() -> Batch:
    """(T, B) = (6, 6); lengths differ, so the two shards count different numbers of targets."""
    rng = np.random.default_rng(0)
    T, B = 6, 6
    lengths = np.array([6, 6, 5, 2, 1, 3])
    mask = np.arange(T)[:, None] < lengths
    inputs = rng.integers(0, 5, size=(T, B))
    targets = rng.integers(0, 5, size=(T, B))
    return Batch(inputs, targets, mask, lengths)


def train(engine, batch: Batch) -> list[float]:
    state, losses = None, []
    for _ in range(STEPS):
        result = engine.train_step(batch, state)
        state, losses = result.state, [*losses, result.loss]
    return losses


def main(out_path: str) -> None:
    from rnnlab.batch import shard
    from rnnlab.torch.distributed import init_from_env, is_rank0
    from rnnlab.torch.engine import TorchEngine

    rank, world = init_from_env()
    engine = TorchEngine(SPEC, distributed=True, **OPTIONS)
    losses = train(engine, shard(global_batch(), rank, world))
    if is_rank0():
        np.savez(out_path, losses=np.array(losses), **engine.state_dict())


if __name__ == "__main__":
    main(sys.argv[1])
