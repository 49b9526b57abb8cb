"""Optimizers over a dict of parameter arrays: SGD (momentum, Nesterov), Adam, AdamW.

Each updates the parameter arrays IN PLACE, so every layer holding those arrays sees the new
values, and follows torch.optim's documented algorithm step for step (per parameter θ with
gradient g at step t = 1, 2, ...):

SGD (weight decay λ, momentum μ, dampening τ):
    g ← g + λθ
    b ← g                         at t = 1 (no dampening on the first step)
    b ← μb + (1 - τ)g             at t > 1
    g ← g + μb  (Nesterov)   or   g ← b
    θ ← θ - lr·g

Adam (L2 penalty λ added to the gradient):
    g ← g + λθ
    m ← β₁m + (1 - β₁)g,   v ← β₂v + (1 - β₂)g²
    θ ← θ - (lr / (1 - β₁ᵗ)) · m / (√v / √(1 - β₂ᵗ) + ε)

AdamW (decoupled weight decay): first θ ← θ(1 - lr·λ), then Adam's update with λ = 0.
The bias corrections divide out the (1 - βᵗ) weight that zero-initialised averages are short
of; ε is added after the correction of √v, as torch does.

``state_dict()`` returns (tensors, meta): the moment buffers as arrays keyed
``"exp_avg.<name>"``, ``"exp_avg_sq.<name>"`` or ``"momentum_buffer.<name>"``, and a
JSON-serialisable dict (optimizer name, step count, hyperparameters). ``load_state_dict``
restores both exactly, so a resumed run continues bitwise.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from rnnlab.checkpoint_checks import check_optimizer_state
from rnnlab.optimizers import BUFFERS, HYPERPARAMETERS, OPTIMIZERS


class Optimizer:
    """What every optimizer shares: the parameters, ``lr``, a step count and moment buffers."""

    name = "optimizer"
    buffer_names: tuple[str, ...] = ()
    hyper_names: tuple[str, ...] = ()

    def __init__(self, params: dict[str, np.ndarray], lr: float) -> None:
        if lr < 0.0:
            raise ValueError(f"{type(self).__name__}: lr must be >= 0, got {lr}")
        self.params = params
        self.lr = lr
        self.step_count = 0
        # buffers[kind][param name] -> array; filled lazily on the first step, like torch.
        self.buffers: dict[str, dict[str, np.ndarray]] = {kind: {} for kind in self.buffer_names}

    def step(self, grads: dict[str, np.ndarray]) -> None:
        """Apply one update with ``grads`` (same keys and shapes as ``params``; not modified)."""
        self._check_grads(grads)
        self.step_count += 1
        for name, param in self.params.items():
            self._update(name, param, grads[name])

    def _update(self, name: str, param: np.ndarray, grad: np.ndarray) -> None:
        raise NotImplementedError

    def _check_grads(self, grads: dict[str, np.ndarray]) -> None:
        if grads.keys() != self.params.keys():
            missing = sorted(self.params.keys() - grads.keys())
            extra = sorted(grads.keys() - self.params.keys())
            raise ValueError(
                f"{type(self).__name__}.step: gradients must have the parameters' keys; "
                f"missing {missing}, unexpected {extra}"
            )
        for name, param in self.params.items():
            if grads[name].shape != param.shape:
                raise ValueError(
                    f"{type(self).__name__}.step: gradient {name!r} has shape "
                    f"{grads[name].shape}, parameter has {param.shape}"
                )

    def hyperparameters(self) -> dict[str, Any]:
        """``lr`` and the optimizer's other settings, as JSON-serialisable values."""
        hyper: dict[str, Any] = {"lr": float(self.lr)}
        for key in self.hyper_names:
            value = getattr(self, key)
            hyper[key] = list(value) if isinstance(value, tuple) else value
        return hyper

    def state_dict(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """(tensors, meta): copies of the moment buffers, and step count plus hyperparameters."""
        tensors = {
            f"{kind}.{name}": buf.copy()
            for kind, per_param in self.buffers.items()
            for name, buf in per_param.items()
        }
        meta = {"optimizer": self.name, "step": self.step_count, **self.hyperparameters()}
        return tensors, meta

    def load_state_dict(self, tensors: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        """Restore a ``state_dict()``: buffers, step count and hyperparameters (lr included).

        The state comes from a checkpoint, so it is checked first
        (:func:`rnnlab.checkpoint_checks.check_optimizer_state`).
        """
        shapes = {name: param.shape for name, param in self.params.items()}
        check_optimizer_state(self.name, self.buffer_names, self.hyper_names, shapes, tensors, meta)
        buffers: dict[str, dict[str, np.ndarray]] = {kind: {} for kind in self.buffer_names}
        for key, value in tensors.items():
            kind, _, name = key.partition(".")
            buffers[kind][name] = np.array(value, dtype=self.params[name].dtype)  # a copy
        self.buffers = buffers
        self.step_count = meta["step"]
        self.lr = meta["lr"]
        for key in self.hyper_names:
            value = meta[key]
            setattr(self, key, tuple(value) if isinstance(value, list) else value)


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, Nesterov momentum and L2 decay."""

    name = "sgd"
    buffer_names = BUFFERS["sgd"]
    hyper_names = HYPERPARAMETERS["sgd"]

    def __init__(
        self,
        params: dict[str, np.ndarray],
        lr: float,
        momentum: float = 0.0,
        dampening: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        if momentum < 0.0 or weight_decay < 0.0:
            raise ValueError(
                f"SGD: momentum and weight_decay must be >= 0, got {momentum}, {weight_decay}"
            )
        if nesterov and (momentum <= 0.0 or dampening != 0.0):
            raise ValueError("SGD: Nesterov momentum requires momentum > 0 and dampening = 0")
        self.momentum = momentum
        self.dampening = dampening
        self.nesterov = nesterov
        self.weight_decay = weight_decay

    def _update(self, name: str, param: np.ndarray, grad: np.ndarray) -> None:
        g = grad
        if self.weight_decay != 0.0:
            g = g + self.weight_decay * param  # L2 penalty's gradient
        if self.momentum != 0.0:
            bufs = self.buffers["momentum_buffer"]
            if name not in bufs:
                bufs[name] = g.copy()  # b₁ = g₁
            else:
                b = bufs[name]
                b *= self.momentum
                b += (1.0 - self.dampening) * g  # b ← μb + (1 - τ)g
            b = bufs[name]
            g = g + self.momentum * b if self.nesterov else b
        param -= self.lr * g


class Adam(Optimizer):
    """Adam (Kingma & Ba) with torch's bias corrections; weight_decay is an L2 term in g."""

    name = "adam"
    buffer_names = BUFFERS["adam"]
    hyper_names = HYPERPARAMETERS["adam"]
    decoupled = False  # AdamW sets True: decay the weights, not the gradient
    default_weight_decay = 0.0  # AdamW's is 1e-2, as torch's

    def __init__(
        self,
        params: dict[str, np.ndarray],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float | None = None,
    ) -> None:
        """``weight_decay`` None means the class's ``default_weight_decay`` (torch's)."""
        super().__init__(params, lr)
        if weight_decay is None:
            weight_decay = self.default_weight_decay
        if not all(0.0 <= b < 1.0 for b in betas) or len(betas) != 2:
            raise ValueError(
                f"{type(self).__name__}: betas must be two values in [0, 1), got {betas}"
            )
        if eps < 0.0 or weight_decay < 0.0:
            raise ValueError(
                f"{type(self).__name__}: eps and weight_decay must be >= 0, "
                f"got {eps}, {weight_decay}"
            )
        self.betas = tuple(betas)
        self.eps = eps
        self.weight_decay = weight_decay
        self._scratch: dict[str, np.ndarray] = {}  # per parameter, for in-place products

    def _update(self, name: str, param: np.ndarray, grad: np.ndarray) -> None:
        beta1, beta2 = self.betas
        t = self.step_count
        g = grad
        if self.weight_decay != 0.0:
            if self.decoupled:
                param *= 1.0 - self.lr * self.weight_decay  # θ ← θ(1 - lr·λ)
            else:
                g = g + self.weight_decay * param  # L2 penalty's gradient
        if name not in self.buffers["exp_avg"]:
            self.buffers["exp_avg"][name] = np.zeros_like(param)  # m₀ = 0
            self.buffers["exp_avg_sq"][name] = np.zeros_like(param)  # v₀ = 0
        m = self.buffers["exp_avg"][name]
        v = self.buffers["exp_avg_sq"][name]
        # Every product goes through one scratch array: no temporaries, which at small sizes
        # cost more than the arithmetic. The operations and their order are the textbook
        # expression's, so the result is the same to the last bit.
        s = self._scratch.get(name)
        if s is None:
            s = self._scratch[name] = np.empty_like(param)
        m *= beta1
        m += np.multiply(g, 1.0 - beta1, out=s)  # m ← β₁m + (1 - β₁)g
        v *= beta2
        np.multiply(g, g, out=s)
        v += np.multiply(s, 1.0 - beta2, out=s)  # v ← β₂v + (1 - β₂)g²
        step_size = self.lr / (1.0 - beta1**t)
        np.sqrt(v, out=s)
        s /= math.sqrt(1.0 - beta2**t)
        s += self.eps  # √v̂ + ε
        np.divide(m, s, out=s)
        param -= np.multiply(s, step_size, out=s)  # θ ← θ - step_size · m / (√v̂ + ε)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): θ shrinks by lr·λ each step."""

    name = "adamw"
    decoupled = True
    default_weight_decay = 1e-2  # torch.optim.AdamW's


def build_optimizer(name: str, params: dict[str, np.ndarray], lr: float, **kw: Any) -> Optimizer:
    """An optimizer by name: "sgd", "adam" or "adamw"; ``kw`` goes to its constructor."""
    classes = {"sgd": SGD, "adam": Adam, "adamw": AdamW}
    if name not in classes:
        raise ValueError(f"unknown optimizer {name!r}; valid optimizers: {', '.join(OPTIMIZERS)}")
    return classes[name](params, lr=lr, **kw)
