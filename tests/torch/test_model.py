"""TorchModel equals the NumPy Model on the same weights: logits, final state and every
gradient, for every input kind, tied weights, both backends and the three cells."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from rnnlab.model import ModelSpec  # noqa: E402
from rnnlab.numpy.model import Model  # noqa: E402
from rnnlab.torch.model import TorchModel  # noqa: E402

V, T, B = 7, 5, 3

SPECS = {
    "onehot": dict(input_size=V, output_size=V),
    "embedding": dict(input_size=V, output_size=4, input_kind="embedding", embedding_dim=3),
    "dense": dict(input_size=3, output_size=2, input_kind="dense", loss="mse"),
    "tied": dict(
        input_size=V, output_size=V, input_kind="embedding", embedding_dim=8, tie_weights=True
    ),
}


def make_spec(kind: str, cell: str, **kw) -> ModelSpec:
    base = dict(cell=cell, hidden_size=4, num_layers=2, bidirectional=True, dtype="float64")
    return ModelSpec(**{**base, **SPECS[kind], **kw})


def make_inputs(spec: ModelSpec, rng) -> np.ndarray:
    if spec.input_kind == "dense":
        return rng.normal(size=(T, B, spec.input_size))
    return rng.integers(0, spec.input_size, size=(T, B))


@pytest.mark.parametrize("kind", list(SPECS))
@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("backend", ["scratch", "native"])
def test_logits_state_and_every_gradient_equal_the_numpy_model(kind, cell, backend):
    spec = make_spec(kind, cell)
    rng = np.random.default_rng(0)
    reference = Model(spec, seed=1)
    for p in reference.params.values():  # non-zero everything, biases included
        p[...] = rng.uniform(-0.6, 0.6, p.shape)
    model = TorchModel(spec, backend)
    model.load_numpy_state_dict(reference.params)

    inputs = make_inputs(spec, rng)
    lengths = np.array([5, 2, 4])
    shape = (spec.num_layers * spec.directions, B, spec.hidden_size)
    n_state = 2 if cell == "lstm" else 1
    state = [rng.normal(size=shape) for _ in range(n_state)]
    out, state_n, cache = reference.forward(
        inputs, tuple(state) if n_state == 2 else state[0], train=True, lengths=lengths
    )
    w_out = rng.normal(size=out.shape)
    w_s = [rng.normal(size=shape) for _ in range(n_state)]
    grads, dstate0 = reference.backward(w_out, cache, tuple(w_s) if n_state == 2 else w_s[0])

    state_t = [torch.tensor(s, requires_grad=True) for s in state]
    inputs_t = torch.tensor(inputs)
    out_t, state_n_t = model(inputs_t, tuple(state_t) if n_state == 2 else state_t[0], lengths)
    state_n_t = state_n_t if n_state == 2 else (state_n_t,)
    loss = (out_t * torch.tensor(w_out)).sum()
    loss = loss + sum((s * torch.tensor(w)).sum() for s, w in zip(state_n_t, w_s, strict=True))
    loss.backward()

    tol = 1e-10
    np.testing.assert_allclose(out_t.detach().numpy(), out, rtol=0, atol=tol, err_msg="logits")
    for s_t, s in zip(state_n_t, state_n if n_state == 2 else (state_n,), strict=True):
        np.testing.assert_allclose(s_t.detach().numpy(), s, rtol=0, atol=tol, err_msg="state")
    for s_t, ds in zip(state_t, dstate0 if n_state == 2 else (dstate0,), strict=True):
        np.testing.assert_allclose(s_t.grad.numpy(), ds, rtol=0, atol=tol, err_msg="dstate0")
    named = dict(model.named_parameters())
    assert list(named) == list(grads)
    for name, p in named.items():
        np.testing.assert_allclose(p.grad.numpy(), grads[name], rtol=0, atol=tol, err_msg=name)


@pytest.mark.parametrize("kind", list(SPECS))
def test_state_dict_names_and_initial_weights_are_the_numpy_models(kind):
    spec = make_spec(kind, "lstm")
    model = TorchModel(spec, seed=5)
    reference = Model(spec, seed=5)
    arrays = model.numpy_state_dict()
    assert list(arrays) == list(reference.params) == list(spec.parameter_shapes())
    for name, value in arrays.items():
        np.testing.assert_array_equal(value, reference.params[name], err_msg=name)
    if spec.tie_weights:
        assert "head.weight" not in arrays
        assert model.head.weight is None
    assert list(TorchModel(spec, "native", seed=5).state_dict()) == list(arrays)


def test_tied_head_reads_the_embedding_matrix():
    model = TorchModel(make_spec("tied", "gru"))
    with torch.no_grad():
        model.embedding.weight.zero_()
    out, _ = model.eval()(torch.zeros(T, B, dtype=torch.int64))
    torch.testing.assert_close(out, model.head.bias.expand(T, B, V), rtol=0, atol=0)


def test_dtype_follows_the_spec():
    model = TorchModel(make_spec("embedding", "gru", dtype="float32"))
    assert {p.dtype for p in model.parameters()} == {torch.float32}
    out, h = model(torch.zeros(T, B, dtype=torch.int64))
    assert out.dtype == h.dtype == torch.float32


def test_dropout_before_the_head_uses_the_models_generator_in_training_only():
    model = TorchModel(make_spec("onehot", "lstm", num_layers=1, dropout=0.5))
    ids = torch.zeros(T, B, dtype=torch.int64)
    model.generator = torch.Generator().manual_seed(0)
    a, _ = model.train()(ids)
    model.generator = torch.Generator().manual_seed(0)
    b, _ = model(ids)
    c, _ = model(ids)
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert not torch.equal(b, c)
    e1, _ = model.eval()(ids)
    e2, _ = model(ids)
    torch.testing.assert_close(e1, e2, rtol=0, atol=0)
    assert model.rnn.generator is model.generator  # the scratch layer draws from it too


def test_load_numpy_state_dict_rejects_wrong_names_and_shapes():
    spec = make_spec("onehot", "lstm")
    model = TorchModel(spec)
    arrays = model.numpy_state_dict()
    with pytest.raises(ValueError, match=r"missing \['head.bias'\]"):
        model.load_numpy_state_dict({k: v for k, v in arrays.items() if k != "head.bias"})
    with pytest.raises(ValueError, match=r"head.bias of shape \(7,\), got \(3,\)"):
        model.load_numpy_state_dict({**arrays, "head.bias": np.zeros(3)})


def test_unknown_backend_names_the_valid_ones():
    with pytest.raises(ValueError, match="unknown backend 'cudnn'; choose one of scratch, native"):
        TorchModel(make_spec("onehot", "lstm"), "cudnn")
