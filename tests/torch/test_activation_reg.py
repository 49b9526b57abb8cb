"""AR and TAR in the torch engine equal the NumPy engine's (float64): the training loss,
every gradient and one whole optimizer step, for both backends, one and two directions, a
classifier on padded sequences and a per-step language model, under the masked dropouts
(the same seed draws the same masks in both engines)."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from rnnlab.batch import Batch  # noqa: E402
from rnnlab.model import ModelSpec  # noqa: E402
from rnnlab.numpy.engine import NumpyEngine  # noqa: E402
from rnnlab.torch.engine import TorchEngine  # noqa: E402
from tests.torch.test_engine import assert_same_weights  # noqa: E402

T, B, V = 6, 3, 7
REG = {"activation_reg": 2.0, "temporal_activation_reg": 1.0}
MASKED = {"embedding_dropout": 0.1, "input_dropout": 0.2, "locked_dropout": 0.4,
          "weight_drop": 0.3}  # fmt: skip
OPTIONS = dict(seed=2, optimizer="adam", lr=0.05)


def make_spec(kind: str, backend: str, bidirectional: bool, **kw) -> ModelSpec:
    """A classifier ("last" readout, 3 classes) or a per-step language model; two layers
    where the backend can put a locked mask between them (scratch), else one."""
    classifier = kind == "classifier"
    return ModelSpec(
        input_size=V, output_size=3 if classifier else V, hidden_size=4,
        num_layers=2 if backend == "scratch" else 1, bidirectional=bidirectional,
        input_kind="embedding", embedding_dim=5, readout="last" if classifier else "per_step",
        dtype="float64", **{**MASKED, **REG, **kw},
    )  # fmt: skip


def make_batch(kind: str) -> Batch:
    rng = np.random.default_rng(0)
    ids = rng.integers(0, V, (T, B))
    if kind == "classifier":  # padded sequences, one answer each
        return Batch(ids, rng.integers(0, 3, (1, B)), np.ones((1, B), bool), np.array([6, 2, 4]))
    return Batch(ids, rng.integers(0, V, (T, B)), np.ones((T, B), bool))  # a chunk: no lengths


@pytest.mark.parametrize("kind", ["classifier", "language"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("backend", ["scratch", "native"])
def test_the_engines_agree_on_loss_gradients_and_a_step(kind, bidirectional, backend):
    spec, batch = make_spec(kind, backend, bidirectional), make_batch(kind)
    loss, grads, _, _ = NumpyEngine(spec, **OPTIONS).loss_and_grads(batch)
    stepped = NumpyEngine(spec, **OPTIONS)
    r = stepped.train_step(batch)
    eng = TorchEngine(spec, backend=backend, **OPTIONS)
    t = eng.train_step(batch)

    assert t.loss == pytest.approx(loss, abs=1e-12) and r.loss == loss
    assert t.grad_norm == pytest.approx(r.grad_norm, abs=1e-12)
    t_grads = {name: p.grad.numpy() for name, p in eng.model.named_parameters()}
    assert set(t_grads) == set(grads)
    for name in grads:
        np.testing.assert_allclose(t_grads[name], grads[name], rtol=0, atol=1e-12, err_msg=name)
    assert_same_weights(eng.state_dict(), stepped.state_dict(), 1e-12)

    # the penalties are really in it: the same model and masks without them trains otherwise
    plain = make_spec(kind, backend, bidirectional, activation_reg=0.0, temporal_activation_reg=0.0)
    t_plain = TorchEngine(plain, backend=backend, **OPTIONS).train_step(batch)
    assert t.loss - t_plain.loss > 0.01
    assert not math.isclose(t.grad_norm, t_plain.grad_norm, rel_tol=1e-3)


@pytest.mark.parametrize("backend", ["scratch", "native"])
def test_evaluation_reports_the_task_loss_only(backend):
    spec, batch = make_spec("classifier", backend, True), make_batch("classifier")
    plain = make_spec("classifier", backend, True, activation_reg=0.0, temporal_activation_reg=0.0)
    a = TorchEngine(spec, backend=backend, **OPTIONS).evaluate(batch).loss
    assert a == TorchEngine(plain, backend=backend, **OPTIONS).evaluate(batch).loss
    assert a == pytest.approx(NumpyEngine(spec, **OPTIONS).evaluate(batch).loss, abs=1e-12)


def test_compile_gives_the_same_steps_with_the_penalties():
    spec, batch = make_spec("language", "scratch", False), make_batch("language")
    plain = TorchEngine(spec, **OPTIONS)
    compiled = TorchEngine(spec, compile="aot_eager", **OPTIONS)
    for _ in range(2):
        a, b = plain.train_step(batch), compiled.train_step(batch)
        assert math.isclose(a.loss, b.loss, rel_tol=1e-12)
    assert_same_weights(compiled.state_dict(), plain.state_dict(), 1e-12)
