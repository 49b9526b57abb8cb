"""TorchEngine and NumpyEngine are one engine twice: the same weights after training with
every optimizer, the same losses, gradient norms, clipping and skipping, and checkpoint
state (weights, optimizer moments) that moves between them mid-run."""

import json
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from rnnlab.batch import Batch  # noqa: E402
from rnnlab.engine import build_engine  # noqa: E402
from rnnlab.errors import InputError  # noqa: E402
from rnnlab.model import ModelSpec  # noqa: E402
from rnnlab.numpy.engine import NumpyEngine  # noqa: E402
from rnnlab.torch.engine import TorchEngine  # noqa: E402

T, B, V = 6, 4, 5
LENGTHS = np.array([6, 3, 5, 2])


def char_spec(**kw) -> ModelSpec:
    base = dict(
        input_size=V,
        output_size=V,
        cell="lstm",
        hidden_size=6,
        num_layers=2,
        bidirectional=True,
        input_kind="embedding",
        embedding_dim=12,
        tie_weights=True,
        dtype="float64",
    )
    return ModelSpec(**{**base, **kw})


def padded_batch(seed: int = 0, spec: ModelSpec | None = None) -> Batch:
    """A padded batch whose mask also drops a few real positions (as a task might)."""
    rng = np.random.default_rng(seed)
    mask = np.arange(T)[:, None] < LENGTHS  # (T, B)
    mask[0, 0] = False
    if spec is not None and spec.input_kind == "dense":
        inputs = rng.normal(size=(T, B, spec.input_size))
        targets = rng.normal(size=(T, B, spec.output_size))
    else:
        inputs = rng.integers(0, V, size=(T, B))
        targets = np.where(mask, rng.integers(0, V, size=(T, B)), -1)  # -1 on padding
    return Batch(inputs, targets, mask, LENGTHS)


def assert_same_weights(a: dict, b: dict, tol: float) -> None:
    assert list(a) == list(b)
    for name in a:
        np.testing.assert_allclose(a[name], b[name], rtol=0, atol=tol, err_msg=name)


# --------------------------------------------------------------------------- training
@pytest.mark.parametrize(
    ("optimizer", "options"),
    [
        ("adam", {"weight_decay": 0.01}),
        ("sgd", {"momentum": 0.9, "weight_decay": 0.01}),
        ("adamw", {"weight_decay": 0.1}),
    ],
)
@pytest.mark.parametrize("backend", ["scratch", "native"])
def test_ten_steps_train_to_the_numpy_engines_weights(optimizer, options, backend):
    spec = char_spec()
    kw = dict(seed=3, optimizer=optimizer, lr=0.05, grad_clip=0.5, **options)
    ref, eng = NumpyEngine(spec, **kw), TorchEngine(spec, backend=backend, **kw)
    assert_same_weights(eng.state_dict(), ref.state_dict(), 0.0)  # same seed, same start
    clipped = 0
    state_r = state_t = None
    for step in range(10):
        batch = padded_batch(step % 3)
        r = ref.train_step(batch, state_r)
        t = eng.train_step(batch, state_t)
        assert t.updated and r.updated
        assert math.isclose(t.loss, r.loss, rel_tol=0, abs_tol=1e-10), step
        assert math.isclose(t.grad_norm, r.grad_norm, rel_tol=1e-10), step
        clipped += r.grad_norm > 0.5
        state_r, state_t = (None, None) if step % 2 else (r.state, t.state)  # carry some
    assert clipped >= 3, "the clipping rule must have been exercised"
    assert_same_weights(eng.state_dict(), ref.state_dict(), 1e-9)


@pytest.mark.parametrize("kind", ["onehot", "dense"])
def test_evaluate_and_forward_equal_the_numpy_engine(kind):
    if kind == "onehot":
        spec = ModelSpec(input_size=V, output_size=V, cell="gru", hidden_size=5, dtype="float64")
    else:
        spec = ModelSpec(
            input_size=3, output_size=2, input_kind="dense", loss="mse", cell="rnn",
            hidden_size=5, num_layers=2, dtype="float64",
        )  # fmt: skip
    ref, eng = NumpyEngine(spec, seed=1), TorchEngine(spec, seed=1)
    batch = padded_batch(1, spec)
    r, t = ref.evaluate(batch), eng.evaluate(batch)
    assert math.isclose(t.loss, r.loss, rel_tol=1e-12) and t.count == r.count
    assert isinstance(t.outputs, np.ndarray)
    np.testing.assert_allclose(t.outputs, r.outputs, rtol=0, atol=1e-12)

    out_r, state_r = ref.forward(batch.inputs[:3])  # two chunks with carried state
    out_t, state_t = eng.forward(batch.inputs[:3])
    out_r2, _ = ref.forward(batch.inputs[3:], state_r)
    out_t2, _ = eng.forward(batch.inputs[3:], state_t)
    whole, _ = eng.forward(batch.inputs)
    np.testing.assert_allclose(np.concatenate([out_t, out_t2]), whole, rtol=0, atol=1e-13)
    np.testing.assert_allclose(np.concatenate([out_t, out_t2]), np.concatenate([out_r, out_r2]),
                               rtol=0, atol=1e-12)  # fmt: skip
    _, state_np = eng.forward(batch.inputs[3:], state_r)  # a NumPy state is accepted too
    assert isinstance(state_np, torch.Tensor)


def test_empty_mask_gives_zero_loss_like_numpy():
    spec = char_spec()
    batch = padded_batch()._replace(mask=np.zeros((T, B), bool))
    assert TorchEngine(spec).evaluate(batch).loss == NumpyEngine(spec).evaluate(batch).loss == 0


def test_non_finite_loss_skips_the_update_and_says_so():
    spec = char_spec()
    eng = TorchEngine(spec, optimizer="sgd", lr=0.1)
    weights = eng.state_dict()
    broken = dict(weights, **{"head.bias": np.full(V, np.inf)})
    eng.load_state_dict(broken)
    result = eng.train_step(padded_batch())
    assert not result.updated and not math.isfinite(result.loss)
    assert eng.optimizer_state()[1]["step"] == 0
    after = eng.state_dict()
    for name in weights:
        np.testing.assert_array_equal(after[name], broken[name], err_msg=name)


def test_returned_state_is_detached_and_detach_handles_every_form():
    eng = TorchEngine(char_spec())
    h, c = eng.train_step(padded_batch()).state
    assert not h.requires_grad and not c.requires_grad
    x = torch.ones(2, requires_grad=True) * 2
    assert not eng.detach(x).requires_grad
    assert eng.detach(None) is None
    assert all(not s.requires_grad for s in eng.detach((x, x)))


# --------------------------------------------------------------------------- moving a run
@pytest.mark.parametrize(("optimizer", "options"), [("adam", {}), ("sgd", {"momentum": 0.9})])
def test_optimizer_state_moves_between_engines_mid_run(optimizer, options):
    spec = char_spec()
    kw = dict(seed=0, optimizer=optimizer, lr=0.03, grad_clip=1.0, **options)
    batches = [padded_batch(i % 3) for i in range(10)]
    straight = NumpyEngine(spec, **kw)
    for batch in batches:
        straight.train_step(batch)

    first = NumpyEngine(spec, **kw)  # 5 steps in NumPy ...
    for batch in batches[:5]:
        first.train_step(batch)
    tensors, meta = first.optimizer_state()
    meta = json.loads(json.dumps(meta))  # as a checkpoint stores it
    second = TorchEngine(spec, **{**kw, "seed": 99})  # ... then 5 in torch, fresh start
    second.load_state_dict(first.state_dict())
    second.load_optimizer_state(tensors, meta)
    for batch in batches[5:]:
        second.train_step(batch)
    assert_same_weights(second.state_dict(), straight.state_dict(), 1e-9)

    back = NumpyEngine(spec, **kw)  # and the torch engine's state loads into NumPy
    back.load_state_dict(second.state_dict())
    back.load_optimizer_state(*second.optimizer_state())
    t_tensors, t_meta = second.optimizer_state()
    s_tensors, s_meta = straight.optimizer_state()
    assert t_meta == s_meta and list(t_tensors) == list(s_tensors)
    for key in s_tensors:
        np.testing.assert_allclose(t_tensors[key], s_tensors[key], rtol=0, atol=1e-9)


def test_optimizer_state_rejects_another_optimizer_and_unknown_tensors():
    eng = TorchEngine(char_spec(), optimizer="adam")
    tensors, meta = NumpyEngine(char_spec(), optimizer="sgd", momentum=0.9).optimizer_state()
    with pytest.raises(ValueError, match="cannot load a 'sgd' optimizer state into 'adam'"):
        eng.load_optimizer_state(tensors, meta)
    _, meta = eng.optimizer_state()
    with pytest.raises(ValueError, match=r"unexpected tensor 'exp_avg\.nope'"):
        eng.load_optimizer_state({"exp_avg.nope": np.zeros(1)}, meta)
    with pytest.raises(ValueError, match=r"has shape \(2,\), parameter 'head.bias' has \(5,\)"):
        eng.load_optimizer_state({"exp_avg.head.bias": np.zeros(2)}, meta)


def test_lr_is_read_and_set_like_the_numpy_engine():
    eng = TorchEngine(char_spec(), lr=0.01)
    assert eng.lr == 0.01
    eng.lr = 0.5
    assert eng.lr == 0.5 and eng.optimizer_state()[1]["lr"] == 0.5


@pytest.mark.parametrize("backend", ["scratch", "native"])
def test_rng_state_round_trip_replays_the_same_dropout(backend):
    spec = char_spec(dropout=0.4, tie_weights=False)
    eng = TorchEngine(spec, backend=backend, seed=1)
    batch = padded_batch()
    rng = json.loads(json.dumps(eng.rng_state()))  # JSON-able
    weights = eng.state_dict()
    first = eng.evaluate(batch), eng.train_step(batch), eng.train_step(batch)
    eng.load_state_dict(weights)
    eng.set_rng_state(rng)
    eng.optimizer = type(eng.optimizer)(eng.model.parameters(), lr=eng.lr)  # fresh moments
    eng.step_count = 0
    again = eng.evaluate(batch), eng.train_step(batch), eng.train_step(batch)
    assert [r.loss for r in first] == [r.loss for r in again]
    assert first[1].loss != first[2].loss  # the masks did change between steps


# --------------------------------------------------------------------------- options
def test_compile_gives_the_same_training_steps():
    spec = ModelSpec(input_size=V, output_size=V, hidden_size=4, dtype="float64")
    plain, compiled = TorchEngine(spec), TorchEngine(spec, compile="aot_eager")
    batch = padded_batch()._replace(lengths=None)
    for _ in range(2):
        a, b = plain.train_step(batch), compiled.train_step(batch)
        assert math.isclose(a.loss, b.loss, rel_tol=1e-12)
    assert_same_weights(compiled.state_dict(), plain.state_dict(), 1e-12)


@pytest.mark.slow
def test_compile_with_inductor():
    spec = ModelSpec(input_size=V, output_size=V, hidden_size=4, dtype="float64")
    plain, compiled = TorchEngine(spec), TorchEngine(spec, compile=True)
    batch = padded_batch()._replace(lengths=None)
    assert math.isclose(plain.train_step(batch).loss, compiled.train_step(batch).loss,
                        rel_tol=1e-12)  # fmt: skip


def test_build_engine_makes_a_torch_engine():
    eng = build_engine(char_spec(), "torch", seed=0, backend="native", lr=0.2)
    assert isinstance(eng, TorchEngine) and eng.lr == 0.2
    assert isinstance(eng.model.rnn, torch.nn.LSTM)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"backend": "cudnn"}, "unknown backend 'cudnn'; choose one of scratch, native"),
        ({"device": "tpu"}, "unknown device 'tpu'; choose one of cpu, cuda, cuda:N, auto"),
        ({"device": "mps"}, "unknown device 'mps'; choose one of cpu, cuda, cuda:N, auto"),
        ({"optimizer": "rmsprop"}, "unknown optimizer 'rmsprop'; valid optimizers: sgd, adam"),
        ({"grad_clip": 0.0}, "grad_clip must be > 0 or None, got 0.0"),
    ],
)
def test_bad_options_name_the_valid_choices(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TorchEngine(char_spec(), **kwargs)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_a_gpu_is_a_clear_input_error_and_auto_falls_back():
    with pytest.raises(InputError, match=r"'cuda' asked for, but .* sees no CUDA GPU; use"):
        TorchEngine(char_spec(), device="cuda")
    assert TorchEngine(char_spec(), device="auto").device.type == "cpu"


def test_bad_batches_are_refused_before_they_reach_torch():
    eng = TorchEngine(char_spec())
    batch = padded_batch()
    with pytest.raises(ValueError, match=r"token ids in \[0, 5\), got min 5 max 5"):
        eng.train_step(batch._replace(inputs=np.full((T, B), V)))
    with pytest.raises(TypeError, match="integer token ids, got dtype float64"):
        eng.evaluate(batch._replace(inputs=batch.inputs.astype(float)))
    with pytest.raises(ValueError, match=r"model state_dict mismatch: missing \['head.bias'\]"):
        eng.load_state_dict({k: v for k, v in eng.state_dict().items() if k != "head.bias"})


def test_carried_state_round_trips_through_numpy_for_checkpoints():
    from rnnlab.model import ModelSpec
    from rnnlab.torch.engine import TorchEngine

    spec = ModelSpec(input_size=5, output_size=5, hidden_size=3, num_layers=2, dtype="float64")
    engine = TorchEngine(spec, seed=0)
    _, state = engine.forward(np.zeros((4, 2), dtype=np.int64))
    parts = engine.export_state(state)
    assert [p.shape for p in parts] == [(2, 2, 3), (2, 2, 3)]
    back = engine.import_state(parts)
    for a, b in zip(back, state, strict=True):
        assert torch.equal(a, b)
