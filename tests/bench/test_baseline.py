"""The torch.nn baseline does the work of an rnnlab training step: from the same weights, the
same loss, the same gradients and the same Adam update; its sampler gives the same logits."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from rnnlab.bench.baseline import TorchNNModel, TorchNNSampler, training_step  # noqa: E402
from rnnlab.bench.cases import LR, Shape, make_batch  # noqa: E402
from rnnlab.engine import build_engine  # noqa: E402

pytestmark = pytest.mark.torch
TOL = {"rtol": 1e-4, "atol": 1e-6}  # float32, summed in different orders


def same_start(spec):
    """An rnnlab NumPy engine and a torch.nn baseline model holding the same weights."""
    engine = build_engine(spec, "numpy", seed=3, optimizer="adam", lr=LR)
    model = TorchNNModel(spec)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in engine.state_dict().items()})
    return engine, model


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("onehot", [True, False], ids=["onehot", "dense"])
def test_a_step_has_the_loss_gradients_and_update_of_an_rnnlab_step(cell, onehot):
    shape = Shape("s", 3, 5, 6, 4, onehot)
    spec, batch = shape.spec(cell), make_batch(shape, seed=1)
    engine, model = same_start(spec)
    step = training_step(model, batch, LR)
    loss, grads, _, _ = engine.loss_and_grads(batch)

    np.testing.assert_allclose(step(), loss, **TOL)
    for name, param in model.named_parameters():
        np.testing.assert_allclose(param.grad.numpy(), grads[name], **TOL, err_msg=name)
    engine.train_step(batch)  # both have now made their first update
    for _ in range(2):  # after the same Adam updates, the same loss again
        np.testing.assert_allclose(engine.train_step(batch).loss, step(), **TOL)
    after = engine.state_dict()
    for name, param in model.named_parameters():  # to a hundredth of an Adam step (lr)
        np.testing.assert_allclose(param.detach().numpy(), after[name], atol=LR / 100, rtol=0)


def test_the_sampler_gives_the_logits_and_state_of_an_rnnlab_model():
    engine, model = same_start(Shape("g", 1, 1, 7, 5, onehot=True).spec("lstm"))
    sampler = TorchNNSampler(model)
    ids = np.array([[1], [4], [2]])  # (T, 1)
    logits, state = sampler.forward(ids)
    expected, _ = engine.forward(ids)
    np.testing.assert_allclose(logits, expected, **TOL)
    more, _ = sampler.forward(np.array([[3]]), state)  # the state carries on
    np.testing.assert_allclose(more, engine.forward(np.array([[1], [4], [2], [3]]))[0][-1:], **TOL)
