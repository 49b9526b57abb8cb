"""`torchrun -m rnnlab train ... --engine torch`: two CPU processes (gloo) train on halves of
each global batch and end with the weights of one process training on whole batches; only
rank 0 writes the run directory."""

import os
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from safetensors.numpy import load_file  # noqa: E402

ARGS = ["train", "anbn", "--engine", "torch", "--dtype", "float64", "--steps", "8",
        "--batch-size", "16", "--hidden", "8", "--eval-every", "4", "--save-every", "4",
        "--log-every", "4", "--quiet"]  # fmt: skip


def test_two_process_training_equals_one_process(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("WORLD_SIZE", None)
    single = tmp_path / "single"
    subprocess.run(
        [sys.executable, "-m", "rnnlab", *ARGS, "--out", str(single)],
        env=env,
        check=True,
        timeout=120,
    )
    ddp = tmp_path / "ddp"
    launch = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
    ]
    result = subprocess.run(
        [*launch, "-m", "rnnlab", *ARGS, "--out", str(ddp)],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    a = load_file(str(single / "model.safetensors"))
    b = load_file(str(ddp / "model.safetensors"))
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_allclose(b[name], a[name], rtol=0, atol=1e-10, err_msg=name)
    lines = (ddp / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == len((single / "metrics.jsonl").read_text().splitlines()), "one writer"
