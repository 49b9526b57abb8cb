"""torch.optim's optimizers for the engine, and their state in the NumPy engine's format.

The format is :mod:`rnnlab.numpy.optim`'s (names and buffers from :mod:`rnnlab.optimizers`):
tensors ``{kind}.{parameter name}`` (``exp_avg``, ``exp_avg_sq``, ``momentum_buffer``) and meta
``{"optimizer", "step", "lr", <hyperparameters>}``, so a checkpoint's optimizer moves between
the engines.
"""

import numpy as np
import torch

from rnnlab.checkpoint_checks import check_optimizer_state
from rnnlab.optimizers import BUFFERS, HYPERPARAMETERS, OPTIMIZERS
from rnnlab.update import apply_update


def update_after_backward(parameters, loss_value: float, grad_clip, step) -> tuple[float, bool]:
    """After ``loss.backward()``: the global gradient norm and whether the update was applied
    — :func:`rnnlab.update.apply_update`'s rule (clip, or skip a non-finite step), the
    gradients scaled in place; ``step`` applies the optimizer's update."""
    grads = [p.grad for p in parameters if p.grad is not None]
    norm = float(torch.nn.utils.get_total_norm(grads))
    updated = apply_update(
        loss_value, norm, grad_clip,
        scale_gradients=lambda factor: torch._foreach_mul_(grads, factor), step=step,
    )  # fmt: skip
    return norm, updated


def build_optimizer(name: str, params, lr: float, weight_decay: float, momentum: float):
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    raise ValueError(f"unknown optimizer {name!r}; valid optimizers: {', '.join(OPTIMIZERS)}")


def export_optimizer_state(optimizer, name: str, param_names: list[str], step: int):
    """(tensors, meta) of ``optimizer`` (a torch.optim one named ``name`` over parameters
    called ``param_names``, in order) in the NumPy engine's format."""
    group = optimizer.param_groups[0]
    tensors = {}
    for kind in BUFFERS[name]:  # kind-major, as rnnlab.numpy.optim
        for param_name, param in zip(param_names, group["params"], strict=True):
            buffer = optimizer.state.get(param, {}).get(kind)
            if buffer is not None:
                tensors[f"{kind}.{param_name}"] = buffer.detach().cpu().numpy().copy()
    meta = {"optimizer": name, "step": step, "lr": float(group["lr"])}
    for key in HYPERPARAMETERS[name]:
        value = group[key]
        if isinstance(value, tuple):
            value = [float(v) for v in value]
        elif not isinstance(value, bool):
            value = float(value)  # torch keeps some as ints (dampening=0)
        meta[key] = value
    return tensors, meta


def import_optimizer_state(
    optimizer, name: str, param_names: list[str], tensors: dict[str, np.ndarray], meta: dict
) -> int:
    """Load an :func:`export_optimizer_state` from either engine into ``optimizer``: buffers,
    step, hyperparameters; a CheckpointError for anything that does not fit. Returns the
    step count."""
    params = optimizer.param_groups[0]["params"]
    index = {param_name: i for i, param_name in enumerate(param_names)}
    shapes = dict(zip(param_names, (tuple(p.shape) for p in params), strict=True))
    check_optimizer_state(name, BUFFERS[name], HYPERPARAMETERS[name], shapes, tensors, meta)
    state: dict[int, dict] = {}
    for key, value in tensors.items():
        kind, _, param_name = key.partition(".")
        state.setdefault(index[param_name], {})[kind] = torch.tensor(np.asarray(value))
    step = meta["step"]
    if name != "sgd":  # torch's Adam keeps the step count per parameter
        for entry in state.values():
            entry["step"] = torch.tensor(float(step))
    torch_state = optimizer.state_dict()
    torch_state["state"] = state  # torch casts the buffers to each parameter's dtype/device
    group = torch_state["param_groups"][0]
    group["lr"] = float(meta["lr"])
    for key in HYPERPARAMETERS[name]:
        value = meta[key]
        group[key] = tuple(value) if isinstance(value, list) else value
    optimizer.load_state_dict(torch_state)
    return step
