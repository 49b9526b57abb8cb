"""A NumPy engine's checkpoint is a torch.nn checkpoint: strip ``rnn.`` and
``torch.nn.LSTM/GRU/RNN(...).load_state_dict(..., strict=True)`` accepts it and computes
the same outputs; the torch engine loads it whole and computes them too."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from rnnlab.model import ModelSpec  # noqa: E402
from rnnlab.numpy.engine import NumpyEngine  # noqa: E402
from rnnlab.torch.engine import TorchEngine  # noqa: E402


@pytest.mark.parametrize(
    ("cell", "nonlinearity", "torch_class"),
    [("lstm", "tanh", "LSTM"), ("gru", "tanh", "GRU"), ("rnn", "relu", "RNN")],
)
def test_numpy_state_dict_loads_strictly_into_torch_nn_with_the_same_outputs(
    cell, nonlinearity, torch_class
):
    spec = ModelSpec(
        input_size=3, output_size=2, input_kind="dense", loss="mse", cell=cell,
        nonlinearity=nonlinearity, hidden_size=5, num_layers=2, bidirectional=True,
        init="torch", dtype="float64",
    )  # fmt: skip
    engine = NumpyEngine(spec, seed=4)
    weights = engine.state_dict()
    kw = {"nonlinearity": nonlinearity} if cell == "rnn" else {}
    rnn = getattr(torch.nn, torch_class)(
        3, 5, num_layers=2, bidirectional=True, dtype=torch.float64, **kw
    )
    stripped = {k.removeprefix("rnn."): torch.tensor(v) for k, v in weights.items()}
    stripped = {k: v for k, v in stripped.items() if not k.startswith("head.")}
    rnn.load_state_dict(stripped, strict=True)

    x = np.random.default_rng(0).normal(size=(7, 2, 3))
    expected, _ = engine.forward(x)
    with torch.no_grad():
        h, _ = rnn(torch.tensor(x))  # (T, B, 2H)
        out = h @ torch.tensor(weights["head.weight"]).T + torch.tensor(weights["head.bias"])
    np.testing.assert_allclose(out.numpy(), expected, rtol=0, atol=1e-12)

    twin = TorchEngine(spec, seed=99, backend="native")
    twin.load_state_dict(weights)
    np.testing.assert_allclose(twin.forward(x)[0], expected, rtol=0, atol=1e-12)


def test_rnnlab_and_its_numpy_engine_never_import_torch():
    import subprocess
    import sys

    code = (
        "import sys, rnnlab, rnnlab.numpy, rnnlab.numpy.engine, rnnlab.engine, rnnlab.model\n"
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
