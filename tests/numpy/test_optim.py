"""Optimizers: torch.optim's trajectories, known first steps, in-place updates, bitwise resume."""

import json
import math

import numpy as np
import pytest

from rnnlab.numpy.optim import SGD, Adam, AdamW, build_optimizer

CONFIGS = [
    ("sgd", {"lr": 0.1}),
    ("sgd", {"lr": 0.05, "momentum": 0.9}),
    ("sgd", {"lr": 0.05, "momentum": 0.9, "dampening": 0.3}),
    ("sgd", {"lr": 0.05, "momentum": 0.8, "nesterov": True}),
    ("sgd", {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.01}),
    ("sgd", {"lr": 0.05, "weight_decay": 0.1}),
    ("adam", {"lr": 0.01}),
    ("adam", {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.05}),
    ("adamw", {"lr": 0.01}),
    ("adamw", {"lr": 0.02, "betas": (0.5, 0.9), "weight_decay": 0.1}),
]
IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in kw.items())}" for name, kw in CONFIGS]


def make_params(seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    shapes = {"weight": (4, 3), "bias": (4,), "rnn.weight_hh_l0": (6, 2)}
    return {k: rng.standard_normal(s).astype(dtype) for k, s in shapes.items()}


def make_grads(steps, seed=1, dtype=np.float64):
    rng = np.random.default_rng(seed)
    shapes = {k: v.shape for k, v in make_params().items()}
    return [
        {k: rng.standard_normal(s).astype(dtype) for k, s in shapes.items()} for _ in range(steps)
    ]


@pytest.mark.parametrize(("name", "kw"), CONFIGS, ids=IDS)
def test_twenty_steps_match_torch_optim(name, kw):
    torch = pytest.importorskip("torch")
    params = make_params()
    tparams = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    ours = build_optimizer(name, params, **kw)
    torch_cls = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}
    theirs = torch_cls[name](list(tparams.values()), **kw)
    for step, grads in enumerate(make_grads(20)):
        if step == 10:  # a scheduler changing lr mid-run
            ours.lr = kw["lr"] / 2
            theirs.param_groups[0]["lr"] = kw["lr"] / 2
        for k, p in tparams.items():
            p.grad = torch.tensor(grads[k])
        ours.step(grads)
        theirs.step()
        for k, p in tparams.items():
            np.testing.assert_allclose(
                params[k], p.detach().numpy(), rtol=0, atol=1e-12, err_msg=f"{k} step {step}"
            )


@pytest.mark.parametrize(("name", "kw"), CONFIGS, ids=IDS)
def test_state_dict_round_trip_resumes_bitwise(name, kw):
    grads = make_grads(20)
    straight_params = make_params()
    straight = build_optimizer(name, straight_params, **kw)
    for g in grads:
        straight.step(g)

    first_params = make_params()
    first = build_optimizer(name, first_params, **kw)
    for g in grads[:10]:
        first.step(g)
    tensors, meta = first.state_dict()
    meta = json.loads(json.dumps(meta))  # must survive state.json
    tensors = {k: v.copy() for k, v in tensors.items()}

    resumed_params = {k: v.copy() for k, v in first_params.items()}
    resumed = build_optimizer(name, resumed_params, lr=123.0)  # hyperparameters come from meta
    resumed.load_state_dict(tensors, meta)
    for g in grads[10:]:
        resumed.step(g)
    for k in straight_params:
        assert np.array_equal(resumed_params[k], straight_params[k]), k


def test_state_dict_names_the_buffers_like_the_contract():
    params = make_params()
    adam = Adam(params)
    sgd = SGD(params, lr=0.1, momentum=0.9)
    assert adam.state_dict()[0] == {}  # nothing before the first step
    g = make_grads(1)[0]
    adam.step(g)
    sgd.step(g)
    tensors, meta = adam.state_dict()
    assert set(tensors) == {f"{kind}.{k}" for kind in ["exp_avg", "exp_avg_sq"] for k in params}
    assert meta == {
        "optimizer": "adam",
        "step": 1,
        "lr": 1e-3,
        "betas": [0.9, 0.999],
        "eps": 1e-8,
        "weight_decay": 0.0,
    }
    assert set(sgd.state_dict()[0]) == {f"momentum_buffer.{k}" for k in params}
    assert tensors["exp_avg.weight"] is not adam.buffers["exp_avg"]["weight"]  # a copy


def test_sgd_momentum_first_step_has_no_dampening():
    # b₁ = g₁ (not (1 - τ) g₁); b₂ = μ b₁ + (1 - τ) g₂.
    p = {"w": np.array([1.0, 2.0])}
    opt = SGD(p, lr=0.1, momentum=0.9, dampening=0.5)
    g1, g2 = np.array([1.0, -1.0]), np.array([2.0, 4.0])
    opt.step({"w": g1})
    np.testing.assert_allclose(p["w"], [1.0 - 0.1, 2.0 + 0.1], rtol=1e-15)
    opt.step({"w": g2})
    b2 = 0.9 * g1 + 0.5 * g2
    np.testing.assert_allclose(p["w"], [0.9, 2.1] - 0.1 * b2, rtol=1e-15)


def test_adam_first_step_is_lr_times_sign_after_bias_correction():
    # After one step m̂ = g and v̂ = g², so Δθ = -lr · g / (|g| + ε).
    g = np.array([3.0, -0.5, 1e-3])
    p = {"w": np.zeros(3)}
    Adam(p, lr=0.1).step({"w": g})
    np.testing.assert_allclose(p["w"], -0.1 * g / (np.abs(g) + 1e-8), rtol=1e-13)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("weight_decay", [0.0, 0.05])
def test_adam_in_place_equals_the_textbook_expression_bitwise(dtype, weight_decay):
    """The scratch-buffer arithmetic is the module docstring's formula, to the last bit."""
    params, grads = make_params(dtype=dtype), make_grads(5, dtype=dtype)
    b1, b2, lr, eps = 0.9, 0.999, 0.01, 1e-8
    expected = {k: v.copy() for k, v in params.items()}
    m = {k: np.zeros_like(v) for k, v in params.items()}
    v = {k: np.zeros_like(x) for k, x in params.items()}
    opt = Adam(params, lr=lr, betas=(b1, b2), eps=eps, weight_decay=weight_decay)
    for t, step_grads in enumerate(grads, start=1):
        opt.step(step_grads)
        for k, theta in expected.items():
            g = step_grads[k] + weight_decay * theta
            m[k] = b1 * m[k] + (1.0 - b1) * g
            v[k] = b2 * v[k] + (1.0 - b2) * (g * g)
            denom = np.sqrt(v[k]) / math.sqrt(1.0 - b2**t) + eps
            theta -= (lr / (1.0 - b1**t)) * (m[k] / denom)
            np.testing.assert_array_equal(params[k], theta, err_msg=f"{k} step {t}")


def test_adam_l2_and_adamw_decoupled_decay_differ_as_documented():
    # Zero gradient: AdamW only shrinks θ by lr·λ; Adam's L2 term becomes a gradient λθ.
    theta = np.array([2.0, -4.0])
    pw, pa = {"w": theta.copy()}, {"w": theta.copy()}
    AdamW(pw, lr=0.1, weight_decay=0.5).step({"w": np.zeros(2)})
    Adam(pa, lr=0.1, weight_decay=0.5).step({"w": np.zeros(2)})
    np.testing.assert_allclose(pw["w"], theta * (1 - 0.1 * 0.5), rtol=1e-15)
    np.testing.assert_allclose(pa["w"], theta - 0.1 * np.sign(theta), rtol=1e-7)


def test_weight_decay_defaults_are_torchs():
    """Adam 0, AdamW 1e-2 (torch.optim's); an explicit value, 0 included, wins."""
    params = {"w": np.ones(2)}
    assert Adam(params).weight_decay == 0.0
    assert AdamW(params).weight_decay == 1e-2
    assert AdamW(params, weight_decay=0.0).weight_decay == 0.0
    assert AdamW(params).hyperparameters()["weight_decay"] == 1e-2


@pytest.mark.parametrize(("name", "kw"), CONFIGS, ids=IDS)
def test_updates_in_place_and_leaves_grads_alone(name, kw):
    params = make_params(dtype=np.float32)
    arrays = dict(params)
    view = params["weight"][0]  # a layer holding part of the same memory
    before = view.copy()
    grads = make_grads(1, dtype=np.float32)[0]
    grads_before = {k: v.copy() for k, v in grads.items()}
    build_optimizer(name, params, **kw).step(grads)
    for k in params:
        assert params[k] is arrays[k]
        assert params[k].dtype == np.float32
        np.testing.assert_array_equal(grads[k], grads_before[k])
    assert not np.array_equal(view, before)


def test_build_optimizer_and_bad_arguments():
    params = make_params()
    assert type(build_optimizer("sgd", params, lr=0.1, momentum=0.5)) is SGD
    assert build_optimizer("sgd", params, lr=0.1, momentum=0.5).momentum == 0.5
    assert type(build_optimizer("adam", params, lr=0.1)) is Adam
    assert type(build_optimizer("adamw", params, lr=0.1)).__name__ == "AdamW"
    with pytest.raises(ValueError, match="valid optimizers: sgd, adam, adamw"):
        build_optimizer("rmsprop", params, lr=0.1)
    with pytest.raises(ValueError, match="Nesterov"):
        SGD(params, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="betas"):
        Adam(params, betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="lr must be >= 0"):
        Adam(params, lr=-1.0)


def test_step_and_load_reject_mismatches():
    params = make_params()
    opt = Adam(params)
    grads = make_grads(1)[0]
    with pytest.raises(ValueError, match=r"missing \['bias'\], unexpected \['b'\]"):
        opt.step({**{k: v for k, v in grads.items() if k != "bias"}, "b": grads["bias"]})
    with pytest.raises(ValueError, match=r"'weight' has shape \(3, 4\)"):
        opt.step({**grads, "weight": grads["weight"].T})
    opt.step(grads)
    tensors, meta = opt.state_dict()
    with pytest.raises(ValueError, match="'adam' optimizer state into 'sgd'"):
        SGD(params, lr=0.1).load_state_dict(tensors, meta)
    with pytest.raises(ValueError, match=r"unexpected tensor 'exp_avg\.nope'"):
        Adam(params).load_state_dict({"exp_avg.nope": np.zeros(1)}, meta)
