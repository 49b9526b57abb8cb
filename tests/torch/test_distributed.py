"""Data-parallel training equals single-process training on the whole global batch."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from rnnlab.batch import shard  # noqa: E402
from rnnlab.torch.distributed import init_from_env, is_rank0  # noqa: E402
from rnnlab.torch.engine import TorchEngine  # noqa: E402
from tests.torch.ddp_worker import OPTIONS, SPEC, global_batch, train  # noqa: E402

WORKER = Path(__file__).with_name("ddp_worker.py")


def test_two_processes_train_to_the_single_process_weights(tmp_path):
    """torchrun, 2 processes, gloo, float64: 5 SGD steps on halves of a padded batch.

    The halves count 17 and 6 targets, so this also proves the global loss normalisation
    (a per-rank mean, averaged by DDP, would weight the short half's targets 17/6 times more),
    of the task's loss and of AR and TAR (whose real steps and pairs the halves count
    unequally too).
    Tolerance 1e-12: the only difference is the order of summation in the all-reduce.
    """
    if not torch.distributed.is_available() or not torch.distributed.is_gloo_available():
        pytest.skip("this PyTorch build has no gloo backend")
    out = tmp_path / "weights.npz"
    src = str(Path(__file__).resolve().parents[2] / "src")  # rnnlab, installed or not
    path = os.pathsep.join(p for p in (src, os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": path}
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--standalone",
        str(WORKER), str(out),
    ]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"torchrun failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"

    single = TorchEngine(SPEC, **OPTIONS)
    losses = train(single, global_batch())
    saved = np.load(out)
    np.testing.assert_allclose(saved["losses"], losses, rtol=0, atol=1e-12)
    weights = single.state_dict()
    assert sorted(weights) == sorted(k for k in saved.files if k != "losses")
    for name, value in weights.items():
        np.testing.assert_allclose(saved[name], value, rtol=0, atol=1e-12, err_msg=name)
    assert not np.allclose(
        saved["head.bias"], TorchEngine(SPEC, **OPTIONS).state_dict()["head.bias"]
    )


def test_shards_split_the_batch_along_b_and_cover_it():
    batch = global_batch()
    for world in (1, 2, 4):
        parts = [shard(batch, r, world) for r in range(world)]
        for field in ("inputs", "targets", "mask"):
            joined = np.concatenate([getattr(p, field) for p in parts], axis=1)
            np.testing.assert_array_equal(joined, getattr(batch, field))
        np.testing.assert_array_equal(np.concatenate([p.lengths for p in parts]), batch.lengths)
        sizes = [p.mask.shape[1] for p in parts]
        assert max(sizes) - min(sizes) <= 1
    with pytest.raises(ValueError, match="cannot split a batch of 6 sequences over 7"):
        shard(batch, 0, 7)
    with pytest.raises(ValueError, match="0 <= rank < world_size, got 2 and 2"):
        shard(batch, 2, 2)


def test_outside_torchrun_it_is_one_process(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert init_from_env() == (0, 1)
    assert is_rank0()
    with pytest.raises(RuntimeError, match="distributed=True needs a process group"):
        TorchEngine(SPEC, distributed=True)


def test_incomplete_torchrun_environment_is_named(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    for var in ("RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(RuntimeError, match=r"missing environment variable\(s\) \['RANK'"):
        init_from_env()
