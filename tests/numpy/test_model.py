"""The whole NumPy model (input → stack → head) and its engine, proven by finite differences."""

import numpy as np
import pytest

from rnnlab.batch import Batch
from rnnlab.model import ModelSpec
from rnnlab.numpy.engine import NumpyEngine
from rnnlab.numpy.gradcheck import numerical_gradient, relative_error
from rnnlab.numpy.losses import mse, softmax_cross_entropy
from rnnlab.numpy.model import Model

SPECS = {
    "onehot-lstm": ModelSpec(input_size=5, output_size=5, cell="lstm", hidden_size=4),
    "embedding-gru-2layer": ModelSpec(
        input_size=6, output_size=6, cell="gru", hidden_size=3, num_layers=2,
        input_kind="embedding", embedding_dim=4,
    ),
    "tied-bidirectional-rnn": ModelSpec(
        input_size=5, output_size=5, cell="rnn", hidden_size=3, bidirectional=True,
        input_kind="embedding", embedding_dim=6, tie_weights=True,
    ),
    "dense-regression-lstm": ModelSpec(
        input_size=2, output_size=1, cell="lstm", hidden_size=3, input_kind="dense", loss="mse",
    ),
}  # fmt: skip


def _batch(spec: ModelSpec, rng, T=4, B=3) -> Batch:
    mask = rng.random((T, B)) < 0.8
    if spec.input_kind == "dense":
        return Batch(rng.normal(size=(T, B, spec.input_size)), rng.normal(size=(T, B, 1)), mask)
    ids = rng.integers(0, spec.input_size, size=(T, B))
    return Batch(ids, rng.integers(0, spec.output_size, size=(T, B)), mask)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_model_gradients_match_finite_differences(name):
    spec = ModelSpec.from_dict({**SPECS[name].to_dict(), "dtype": "float64"})
    model = Model(spec, seed=1)
    rng = np.random.default_rng(0)
    for p in model.params.values():
        p[...] = rng.uniform(-0.5, 0.5, p.shape)
    batch = _batch(spec, rng)
    loss_fn = softmax_cross_entropy if spec.loss == "cross_entropy" else mse

    def loss() -> float:
        out, _, _ = model.forward(batch.inputs, train=False)
        return loss_fn(out, batch.targets, batch.mask)[0]

    out, _, cache = model.forward(batch.inputs, train=False)
    _, d_out = loss_fn(out, batch.targets, batch.mask)
    grads, _ = model.backward(d_out, cache)
    assert list(grads) == list(model.params)
    for key, p in model.params.items():
        err = relative_error(grads[key], numerical_gradient(loss, p))
        assert err < 1e-6, f"{key}: relative error {err:.2e}"


def test_parameter_names_follow_the_spec():
    for spec in SPECS.values():
        model = Model(spec)
        shapes = {k: v.shape for k, v in model.params.items()}
        assert shapes == spec.parameter_shapes()
        assert sum(v.size for v in model.params.values()) == spec.num_parameters()


def test_tied_weights_share_one_array():
    model = Model(SPECS["tied-bidirectional-rnn"])
    assert "head.weight" not in model.params
    assert model.head.params["weight"] is model.params["embedding.weight"]


def test_engine_train_step_lowers_the_loss_and_skips_non_finite_steps():
    spec = SPECS["onehot-lstm"]
    engine = NumpyEngine(spec, seed=0, optimizer="adam", lr=0.05, grad_clip=1.0)
    batch = _batch(spec, np.random.default_rng(3))
    first = engine.train_step(batch).loss
    for _ in range(30):
        result = engine.train_step(batch)
    assert result.updated and result.loss < 0.5 * first

    weights = engine.state_dict()
    bad = Batch(batch.inputs, batch.targets, batch.mask)
    engine.model.params["head.bias"][0] = np.inf  # poisons the logits → NaN loss
    result = engine.train_step(bad)
    assert not result.updated
    engine.model.params["head.bias"][0] = weights["head.bias"][0]
    for k, v in engine.state_dict().items():
        np.testing.assert_array_equal(v, weights[k], err_msg=f"{k} changed by a skipped step")
