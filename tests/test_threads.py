"""thread_limit: the BLAS pools and torch run at the given thread count inside, as before after."""

import importlib.util
import os
import subprocess
import sys

import pytest
from threadpoolctl import threadpool_info

from rnnlab.threads import TORCH_ENV, thread_limit

needs_torch = pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="needs PyTorch")


def blas_threads() -> list[int]:
    return [pool["num_threads"] for pool in threadpool_info()]


def test_none_changes_nothing():
    before, env = blas_threads(), os.environ.get(TORCH_ENV)
    with thread_limit(None):
        assert blas_threads() == before and os.environ.get(TORCH_ENV) == env


def test_the_blas_pools_and_the_environment_are_limited_inside_and_restored_after(monkeypatch):
    monkeypatch.setenv(TORCH_ENV, "7")
    before = blas_threads()
    assert before, "NumPy's BLAS should show up in threadpoolctl"
    with thread_limit(1):
        assert blas_threads() == [1] * len(before)
        assert os.environ[TORCH_ENV] == "1"
    assert blas_threads() == before and os.environ[TORCH_ENV] == "7"
    monkeypatch.delenv(TORCH_ENV)
    with thread_limit(1):
        pass
    assert TORCH_ENV not in os.environ


@pytest.mark.torch
@needs_torch
def test_an_imported_torch_is_limited_and_restored():
    import torch

    before = torch.get_num_threads()
    with thread_limit(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


@pytest.mark.torch
@needs_torch
def test_torch_imported_inside_the_block_gets_the_limit():
    # The torch engine imports torch lazily, after `rnnlab train --threads` has set the limit.
    code = (
        "import sys; from rnnlab.threads import thread_limit\n"
        "assert 'torch' not in sys.modules\n"
        "with thread_limit(1):\n"
        "    import torch\n"
        "    print(torch.get_num_threads())\n"
    )
    env = {k: v for k, v in os.environ.items() if k != TORCH_ENV}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip() == "1"
