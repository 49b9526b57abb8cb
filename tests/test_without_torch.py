"""The NumPy engine, the trainer and the CLI must work where PyTorch is not installed.

A subprocess makes ``import torch`` fail (``sys.modules["torch"] = None`` is how Python
marks a module as unimportable), then imports rnnlab, trains, checkpoints and evaluates.
"""

import json
import subprocess
import sys

SCRIPT = r"""
import sys
sys.modules["torch"] = None  # any `import torch` now raises ImportError
import numpy as np
import rnnlab, rnnlab.numpy
from rnnlab.cli import main
from rnnlab.numpy import LSTM

layer = LSTM(3, 4, num_layers=2, bidirectional=True, seed=0)
y, (h, c), cache = layer.forward(np.zeros((5, 2, 3), np.float32))
layer.backward(np.ones_like(y), None, cache)
out = sys.argv[1]
code = main(["train", "anbn", "--steps", "6", "--eval-every", "3", "--save-every", "3",
             "--hidden", "8", "--out", out, "--quiet"])
assert code == 0, code
code = main(["evaluate", out, "--json"])
assert code == 0, code
code = main(["train", "anbn", "--engine", "torch", "--steps", "2", "--out", out + "-t", "--quiet"])
assert code == 2, code  # a clear 'needs PyTorch' error, not a crash
loaded = [m for m, v in sys.modules.items() if v is not None and m.split(".")[0] == "torch"]
assert not loaded, loaded
"""


def test_numpy_engine_trainer_and_cli_run_without_torch(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "run")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    metrics = json.loads(lines[-1])
    assert metrics["split"] == "val" and "optimal_loss" in metrics
    assert "needs PyTorch" in result.stderr
