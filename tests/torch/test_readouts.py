"""The torch readouts equal the NumPy ones, forward and backward, on padded batches."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from rnnlab.numpy.readouts import NUMPY_READOUTS  # noqa: E402
from rnnlab.readouts import READOUTS  # noqa: E402
from rnnlab.torch.readouts import TORCH_READOUTS  # noqa: E402


def test_every_registered_readout_has_a_torch_module():
    assert set(TORCH_READOUTS) == set(READOUTS)


@pytest.mark.parametrize("name", sorted(TORCH_READOUTS))
@pytest.mark.parametrize("directions", [1, 2])
@pytest.mark.parametrize("lengths", [None, [4, 1, 3]], ids=["full", "padded"])
def test_torch_equals_numpy(name, directions, lengths):
    T, B, H = 4, 3, 2
    rng = np.random.default_rng(0)
    y = rng.normal(size=(T, B, directions * H))
    if lengths is not None:
        y *= (np.arange(T)[:, None] < np.array(lengths)[None, :])[..., None]
    weights = rng.normal(size=(T if name == "per_step" else 1, B, directions * H))

    numpy_readout = NUMPY_READOUTS[name](directions * H, directions, np.float64, seed=1)
    r, cache = numpy_readout.forward(y, None if lengths is None else np.array(lengths))
    dy, grads = numpy_readout.backward(weights, cache)

    torch_readout = TORCH_READOUTS[name](directions * H, directions, dtype=torch.float64)
    torch_readout.load_state_dict({k: torch.tensor(v) for k, v in numpy_readout.params.items()})
    y_t = torch.tensor(y, requires_grad=True)
    r_t = torch_readout(y_t, None if lengths is None else torch.tensor(lengths))
    (r_t * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(r_t.detach().numpy(), r, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(y_t.grad.numpy(), dy, rtol=1e-13, atol=1e-14)
    assert set(grads) == {n for n, _ in torch_readout.named_parameters()}
    for n, p in torch_readout.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), grads[n], rtol=1e-12, atol=1e-14, err_msg=n)


def test_attention_keeps_its_weights_zero_on_padding():
    readout = TORCH_READOUTS["attention"](4, 2, dtype=torch.float64)
    readout(torch.randn(5, 3, 4, dtype=torch.float64), torch.tensor([5, 2, 1]))
    alpha = readout.weights  # (T, B)
    torch.testing.assert_close(alpha.sum(dim=0), torch.ones(3, dtype=torch.float64))
    assert (alpha[2:, 1] == 0).all() and (alpha[1:, 2] == 0).all()


@pytest.mark.parametrize("backend", ["scratch", "native"])
@pytest.mark.parametrize("num_layers", [1, 2, 3])
def test_final_state_is_torch_nn_lstm_h_n_on_a_packed_batch(backend, num_layers):
    """The classifier of the tutorials: torch.nn.LSTM over pack_padded_sequence, the head on
    h_n[-2] ‖ h_n[-1]. rnnlab's final_state readout gives it, gradients included (float64)."""
    from torch.nn.utils.rnn import pack_padded_sequence

    from rnnlab.engine import build_engine
    from rnnlab.model import ModelSpec

    spec = ModelSpec(
        input_size=3, output_size=4, hidden_size=5, num_layers=num_layers, bidirectional=True,
        input_kind="dense", readout="final_state", dtype="float64",
    )  # fmt: skip
    engine = build_engine(spec, "torch", seed=0, backend=backend)
    weights = engine.state_dict()
    lstm = torch.nn.LSTM(3, 5, num_layers, bidirectional=True, dtype=torch.float64)
    head = torch.nn.Linear(10, 4, dtype=torch.float64)
    lstm.load_state_dict({k.removeprefix("rnn."): torch.tensor(v) for k, v in weights.items()
                          if k.startswith("rnn.")})  # fmt: skip
    head.load_state_dict({"weight": torch.tensor(weights["head.weight"]),
                          "bias": torch.tensor(weights["head.bias"])})  # fmt: skip

    rng = np.random.default_rng(num_layers)
    x = rng.normal(size=(6, 4, 3))
    lengths = np.array([2, 6, 1, 4])
    targets = np.array([[0, 3, 1, 2]])

    packed = pack_padded_sequence(torch.tensor(x), torch.tensor(lengths), enforce_sorted=False)
    _, (h_n, _) = lstm(packed)
    logits = head(torch.cat([h_n[-2], h_n[-1]], dim=-1))  # (B, O)
    reference = torch.nn.functional.cross_entropy(logits, torch.tensor(targets[0]))
    reference.backward()

    engine.module.eval()
    out, _ = engine._run(x, None, lengths)  # (1, B, O)
    loss = torch.nn.functional.cross_entropy(out[0], torch.tensor(targets[0]))
    loss.backward()
    torch.testing.assert_close(out[0], logits, rtol=1e-12, atol=1e-13)
    grads = dict(lstm.named_parameters(prefix="rnn")) | dict(head.named_parameters(prefix="head"))
    for name, param in engine.model.named_parameters():
        torch.testing.assert_close(param.grad, grads[name].grad, rtol=1e-10, atol=1e-12)
