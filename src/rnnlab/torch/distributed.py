"""Data-parallel training with DistributedDataParallel (gloo on the CPU, nccl on GPUs).

Launch one process per device with torchrun, which sets RANK, WORLD_SIZE, LOCAL_RANK,
MASTER_ADDR and MASTER_PORT::

    torchrun --nproc_per_node 2 --standalone train.py

and in each process::

    rank, world = init_from_env()
    engine = TorchEngine(spec, distributed=True, ...)
    result = engine.train_step(shard(global_batch, rank, world), state)
    if is_rank0():
        save(...)

Every rank starts from the same weights (the seed, and DDP broadcasts rank 0's at wrapping),
computes the gradient of its shard and DDP averages the gradients, so every rank applies the
same update: the one of the whole global batch. The engine divides each rank's loss sum by
the global count of loss terms, so that holds for padded shards of unequal counts too.
"""

import atexit
import os

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from rnnlab.batch import shard  # noqa: F401  (engine-neutral; part of the launch recipe above)

ENV_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


def init_from_env(backend: str | None = None) -> tuple[int, int]:
    """Join the process group torchrun describes; (rank, world_size).

    Outside torchrun (no WORLD_SIZE in the environment) this is a single process: (0, 1),
    and no group is created. ``backend`` defaults to nccl when CUDA is available, else gloo.
    """
    if dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    if "WORLD_SIZE" not in os.environ:
        return 0, 1
    missing = [v for v in ENV_VARS if v not in os.environ]
    if missing:
        raise RuntimeError(
            f"distributed launch is missing environment variable(s) {missing}; "
            "start the processes with torchrun"
        )
    if backend is None:
        backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend == "nccl":  # one GPU per process, chosen by LOCAL_RANK
        torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
    dist.init_process_group(backend=backend)
    # Leave the group before the interpreter tears down: a gloo group still alive at exit
    # can abort the process ("terminate called without an active exception"), seen when
    # one rank exits while the other is still writing its results.
    atexit.register(_leave)
    return dist.get_rank(), dist.get_world_size()


def _leave() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def is_rank0() -> bool:
    """True in the process that should log and save (also when not distributed)."""
    return not dist.is_initialized() or dist.get_rank() == 0


def require_process_group() -> int:
    """The world size; initialises from torchrun's environment if needed."""
    if not dist.is_initialized():
        init_from_env()
    if not dist.is_initialized():
        raise RuntimeError(
            "distributed=True needs a process group: launch with torchrun (which sets "
            "WORLD_SIZE, RANK, ...) or call torch.distributed.init_process_group first"
        )
    return dist.get_world_size()


def local_device(device: torch.device) -> torch.device:
    """cuda means this process's GPU (LOCAL_RANK) in a distributed run."""
    if device.type == "cuda" and device.index is None:
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    return device


def wrap_ddp(model: torch.nn.Module, device: torch.device) -> DistributedDataParallel:
    """The model wrapped for data-parallel training (gradients averaged in backward)."""
    device_ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=device_ids)


def all_reduce_sum(value: torch.Tensor) -> torch.Tensor:
    """The sum of a tensor over every rank (a new tensor; the argument is left alone)."""
    total = value.detach().clone()
    dist.all_reduce(total, op=dist.ReduceOp.SUM)
    return total


def any_rank(flag: bool) -> bool:
    """Whether ``flag`` is true on any rank: every rank must stop at the same step, so a
    signal that reached one rank stops them all (an all-reduce of one number per step)."""
    return bool(all_reduce_sum(torch.tensor([float(flag)])).item() > 0)
