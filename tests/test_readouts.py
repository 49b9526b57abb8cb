"""A model is a composition of parts: a readout defined here, in the test file, registered
in the three registries, trains and gradchecks in both engines with no model class edited."""

import numpy as np
import pytest

from rnnlab import readouts
from rnnlab.batch import Batch
from rnnlab.engine import build_engine
from rnnlab.errors import InputError
from rnnlab.model import ModelSpec
from rnnlab.numpy import readouts as numpy_readouts
from rnnlab.numpy.gradcheck import check_model


# ----------------------------------------------------------------------------- the new part
class GainedLast:
    """r_b = g ⊙ y_{T, b}: the last step's output times a learned gain g (W,).

    ∂L/∂g = Σ_b ∂L/∂r_b ⊙ y_{T, b};   ∂L/∂y_{T, b} = ∂L/∂r_b ⊙ g; zero at other steps.
    """

    def __init__(self, width, directions, dtype, seed=None):
        self.params = {"gain": np.ones(width, dtype=dtype)}

    def forward(self, y, lengths=None):
        return (self.params["gain"] * y[-1])[None], y

    def backward(self, dr, y):
        dy = np.zeros_like(y)
        dy[-1] = dr[0] * self.params["gain"]
        return dy, {"gain": (dr[0] * y[-1]).sum(axis=0)}


def torch_gained_last():
    import torch
    from torch import nn

    class TorchGainedLast(nn.Module):
        def __init__(self, width, directions, **factory):
            super().__init__()
            self.gain = nn.Parameter(torch.ones(width, **factory))

        def forward(self, y, lengths=None):
            return (self.gain * y[-1])[None]

    return TorchGainedLast


@pytest.fixture
def gained_last(monkeypatch):
    """Register the new readout in the engine-neutral registry and in both engines."""
    kind = readouts.ReadoutKind(
        "gained_last", "the last step times a gain", True, lambda width: {"gain": (width,)}
    )
    monkeypatch.setitem(readouts.READOUTS, kind.name, kind)
    monkeypatch.setitem(numpy_readouts.NUMPY_READOUTS, kind.name, GainedLast)
    try:
        from rnnlab.torch import readouts as torch_readouts
    except ImportError:
        pass
    else:
        monkeypatch.setitem(torch_readouts.TORCH_READOUTS, kind.name, torch_gained_last())
    return kind.name


def sign_task(seed: int, B: int = 32, T: int = 6):
    """Class 1 when the sequence's features sum to more than 0: a classifier's toy task."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(T, B, 2))
    targets = (x.sum(axis=(0, 2)) > 0).astype(np.int64)[None]  # (1, B)
    return Batch(x, targets, np.ones((1, B), bool))


def spec_with(readout: str, dtype="float64", **kw) -> ModelSpec:
    return ModelSpec(
        input_size=2, output_size=2, hidden_size=8, input_kind="dense", readout=readout,
        dtype=dtype, **kw,
    )  # fmt: skip


# ----------------------------------------------------------------------------- the proofs
def test_the_registered_part_joins_the_spec(gained_last):
    spec = spec_with(gained_last)
    assert spec.one_per_sequence
    shapes = spec.parameter_shapes()
    assert shapes["readout.gain"] == (8,)
    assert list(shapes).index("readout.gain") == list(shapes).index("head.weight") - 1
    assert build_engine(spec, "numpy").state_dict().keys() == shapes.keys()


def test_an_unregistered_readout_is_one_clear_error():
    with pytest.raises(
        InputError, match="readout must be one of per_step, last, final_state, mean, max"
    ):
        spec_with("gained_last")


def test_the_new_part_gradchecks_in_numpy(gained_last):
    results = check_model(spec_with(gained_last, num_layers=2), use_lengths=False, seed=3)
    assert {r.name for r in results} >= {"readout.gain", "rnn.weight_hh_l1", "head.weight"}
    for r in results:
        assert r.passed, (r.name, r.error)


@pytest.mark.parametrize("readout", ["gained_last", "last", "final_state", "mean", "max"])
def test_torch_gradients_equal_numpy_ones(gained_last, readout):
    """The NumPy gradients are the finite differences' (above); torch's autograd through
    its modules gives the same, in float64, for every parameter of the composed model."""
    pytest.importorskip("torch")
    spec = spec_with(readout, bidirectional=readout != "gained_last")
    batch = sign_task(0, B=5)
    lengths = None if readout == "gained_last" else np.array([6, 3, 1, 6, 4])
    batch = batch._replace(lengths=lengths)
    numpy_engine, torch_engine = build_engine(spec, "numpy"), build_engine(spec, "torch")
    rng = np.random.default_rng(1)
    weights = {k: rng.uniform(-0.5, 0.5, v.shape) for k, v in numpy_engine.state_dict().items()}
    numpy_engine.load_state_dict(weights)
    torch_engine.load_state_dict(weights)
    loss, grads, _, out = numpy_engine.loss_and_grads(batch, train=False)

    from rnnlab.torch.losses import loss_sum

    torch_engine.module.eval()
    result, _ = torch_engine._run(batch.inputs, None, batch.lengths)  # (1, B, O)
    np.testing.assert_allclose(result.detach().numpy(), out, rtol=1e-12, atol=1e-13)
    total, n = loss_sum(spec.loss, result, batch.targets, batch.mask)
    (total / n).backward()
    assert float((total / n).detach()) == pytest.approx(loss, rel=1e-12)
    for name, param in torch_engine.model.named_parameters():
        np.testing.assert_allclose(
            param.grad.numpy(), grads[name], rtol=1e-9, atol=1e-12, err_msg=name
        )


@pytest.mark.parametrize("engine", ["numpy", "torch"])
def test_a_model_with_the_new_part_trains(gained_last, engine):
    """Adam on the sign task: both engines learn it, and in float64 take the same path."""
    if engine == "torch":
        pytest.importorskip("torch")
    spec = spec_with(gained_last)
    trained = build_engine(spec, engine, seed=0, optimizer="adam", lr=0.02, grad_clip=1.0)
    reference = build_engine(spec, "numpy", seed=0, optimizer="adam", lr=0.02, grad_clip=1.0)
    held_out = sign_task(999, B=256)
    before = trained.evaluate(held_out).loss
    for step in range(150):
        batch = sign_task(step)
        result = trained.train_step(batch)
        expected = reference.train_step(batch)
        assert result.updated
        assert result.loss == pytest.approx(expected.loss, rel=1e-8)
    after = trained.evaluate(held_out)
    accuracy = np.mean(after.outputs[0].argmax(-1) == held_out.targets[0])
    assert after.loss < 0.5 * before and accuracy > 0.9
    gain = trained.state_dict()["readout.gain"]
    assert not np.allclose(gain, 1.0)  # the part's own parameter learned too
