"""The masked dropouts in the torch engine equal the NumPy engine's given the same masks
(float64: outputs, final states and every gradient), on both backends where they run; the
engines draw the same masks for the same seed, and resume them."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from rnnlab.batch import Batch  # noqa: E402
from rnnlab.errors import InputError  # noqa: E402
from rnnlab.masks import MaskSource  # noqa: E402
from rnnlab.model import ModelSpec  # noqa: E402
from rnnlab.numpy.engine import NumpyEngine  # noqa: E402
from rnnlab.numpy.losses import model_loss  # noqa: E402
from rnnlab.numpy.model import Model  # noqa: E402
from rnnlab.torch.engine import TorchEngine  # noqa: E402
from rnnlab.torch.masked import to_torch  # noqa: E402
from rnnlab.torch.model import TorchModel  # noqa: E402

ALL = {"embedding_dropout": 0.3, "input_dropout": 0.3, "locked_dropout": 0.4, "weight_drop": 0.5}
T, B, V = 6, 3, 7


def make_spec(cell="lstm", num_layers=2, **kw):
    return ModelSpec(input_size=V, output_size=V, cell=cell, hidden_size=5,
                     num_layers=num_layers, bidirectional=True, input_kind="embedding",
                     embedding_dim=4, dtype="float64", **{**ALL, **kw})  # fmt: skip


def numpy_pass(spec, masks, ids, targets, lengths):
    model = Model(spec, seed=1)
    out, state_n, cache = model.forward(ids, lengths=lengths, masks=masks)
    mask = np.arange(T)[:, None] < lengths[None, :]
    _, d_out = model_loss("cross_entropy", out, targets, mask)
    grads, _ = model.backward(d_out, cache)
    return out, state_n, grads


def torch_pass(spec, backend, masks, ids, targets, lengths):
    model = TorchModel(spec, backend, seed=1)
    model.train()
    out, state_n = model(torch.as_tensor(ids), None, torch.as_tensor(lengths),
                         masks=to_torch(masks, "cpu", torch.float64))  # fmt: skip
    mask = torch.as_tensor(np.arange(T)[:, None] < lengths[None, :])
    losses = torch.nn.functional.cross_entropy(
        out.reshape(-1, V), torch.as_tensor(targets).reshape(-1), reduction="none"
    )
    (losses * mask.reshape(-1)).sum().div(mask.sum()).backward()
    grads = {n: p.grad.numpy() for n, p in model.named_parameters()}
    parts = state_n if isinstance(state_n, tuple) else (state_n,)
    return out.detach().numpy(), tuple(s.detach().numpy() for s in parts), grads


@pytest.mark.parametrize(
    ("cell", "backend", "num_layers", "settings"),
    [
        ("lstm", "scratch", 2, {}),
        ("gru", "scratch", 2, {}),
        ("rnn", "scratch", 3, {}),
        ("peephole_lstm", "scratch", 2, {}),  # the per-step autograd path
        ("lstm", "native", 1, {}),  # locked dropout on the output only: one layer
        ("gru", "native", 2, {"locked_dropout": 0.0}),  # weight-drop functionally
    ],
)
def test_the_engines_agree_given_the_same_masks_gradients_included(
    cell, backend, num_layers, settings
):
    spec = make_spec(cell, num_layers, **settings)
    rng = np.random.default_rng(0)
    ids, targets = rng.integers(0, V, (T, B)), rng.integers(0, V, (T, B))
    lengths = np.array([T, 4, 2])
    masks = MaskSource(spec, 5).draw(B)
    out, state_n, grads = numpy_pass(spec, masks, ids, targets, lengths)
    t_out, t_state, t_grads = torch_pass(spec, backend, masks, ids, targets, lengths)
    np.testing.assert_allclose(t_out, out, rtol=0, atol=1e-12)
    for a, b in zip(t_state, state_n if isinstance(state_n, tuple) else (state_n,), strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
    assert set(t_grads) == set(grads)
    for name in grads:
        np.testing.assert_allclose(t_grads[name], grads[name], rtol=0, atol=1e-12, err_msg=name)
    dropped = masks.weight_hh["weight_hh_l0"] == 0
    assert dropped.any() and np.all(grads["rnn.weight_hh_l0"][dropped] == 0)


def test_native_refuses_locked_dropout_between_layers_in_one_line():
    with pytest.raises(InputError, match="--locked-dropout with 2 layers needs --backend scratch"):
        TorchModel(make_spec(), "native")


def test_with_the_same_seed_the_engines_train_on_the_same_masks():
    spec = make_spec(dropout=0.0)
    rng = np.random.default_rng(1)
    batch = Batch(rng.integers(0, V, (T, B)), rng.integers(0, V, (T, B)), np.ones((T, B), bool))
    engines = [NumpyEngine(spec, seed=2), TorchEngine(spec, seed=2)]
    for _ in range(3):  # three steps: three draws, the same in both
        losses = [e.train_step(batch).loss for e in engines]
        assert losses[0] == pytest.approx(losses[1], abs=1e-12)
    a, b = (e.state_dict() for e in engines)
    for name in a:
        np.testing.assert_allclose(a[name], b[name], rtol=0, atol=1e-10, err_msg=name)


@pytest.mark.parametrize("engine_class", [NumpyEngine, TorchEngine])
def test_the_mask_generator_is_in_the_rng_state_only_when_masks_are_used(engine_class):
    assert "masks" not in engine_class(make_spec(**dict.fromkeys(ALL, 0.0))).rng_state()
    spec = make_spec(dropout=0.0)
    rng = np.random.default_rng(3)
    batch = Batch(rng.integers(0, V, (T, B)), rng.integers(0, V, (T, B)), np.ones((T, B), bool))
    engine = engine_class(spec, seed=4)
    saved = engine.rng_state()
    first = engine.train_step(batch).loss
    fresh = engine_class(spec, seed=4)  # the same weights and optimizer state
    fresh.masks.draw(B)  # its generator moved on: another step would drop other things
    fresh.set_rng_state(saved)
    assert fresh.train_step(batch).loss == first
