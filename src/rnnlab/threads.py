"""How many threads NumPy's BLAS and torch may use: ``--threads`` of train and bench.

Both libraries start a pool with one thread per core, and their idle threads spin for a
while before they sleep. That is right for one job on a quiet machine and very wrong for
two: on 2 cores, two ``rnnlab train chars`` runs side by side made about 850 tokens/s each,
their threads waiting on threads the other job had descheduled; with ``--threads 1`` each,
about 72,000.
"""

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from threadpoolctl import threadpool_limits

# torch sizes its pool from OMP_NUM_THREADS when it is imported, so a limit set before an
# import that happens inside the ``with`` block (the torch engine is built lazily) needs it.
TORCH_ENV = "OMP_NUM_THREADS"


@contextmanager
def thread_limit(threads: int | None) -> Iterator[None]:
    """Within the block, BLAS/OpenMP pools (threadpoolctl) and torch use ``threads`` threads.

    None changes nothing. torch is limited whether it is already imported
    (``torch.set_num_threads``, restored on exit) or imported inside the block (through
    ``OMP_NUM_THREADS``; it keeps the limit). The environment is restored on exit.
    """
    if threads is None:
        yield
        return
    torch = sys.modules.get("torch")  # None when absent, blocked or not imported yet
    before = torch.get_num_threads() if torch else None
    env_before = os.environ.get(TORCH_ENV)
    if torch:
        torch.set_num_threads(threads)
    os.environ[TORCH_ENV] = str(threads)
    try:
        with threadpool_limits(limits=threads):
            yield
    finally:
        if env_before is None:
            os.environ.pop(TORCH_ENV, None)
        else:
            os.environ[TORCH_ENV] = env_before
        if torch:
            torch.set_num_threads(before)
