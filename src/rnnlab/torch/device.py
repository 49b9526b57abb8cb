"""Where the torch engine runs: "cpu", "cuda", "cuda:N" or "auto"."""

import torch

from rnnlab.errors import InputError

DEVICES = ("cpu", "cuda", "cuda:N", "auto")


def resolve_device(device: str | torch.device) -> torch.device:
    """ "cpu", "cuda", "cuda:N" or "auto" (cuda when available) as a torch.device."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        resolved = None
    if resolved is None or resolved.type not in ("cpu", "cuda"):
        raise ValueError(f"unknown device {device!r}; choose one of {', '.join(DEVICES)}")
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise InputError(
                f"device {device!r} asked for, but this PyTorch ({torch.__version__}) sees no "
                "CUDA GPU; use device 'cpu' (or 'auto', which falls back to the CPU)"
            )
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise InputError(
                f"device {device!r} asked for, but only {torch.cuda.device_count()} "
                "CUDA device(s) are visible"
            )
    return resolved
