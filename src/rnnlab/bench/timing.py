"""Timing for ``rnnlab bench``: timed calls, rounds of settled blocks, and ratios taken
round by round, so that the load of other processes falls on both sides of each ratio."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

ROUNDS = 3  # timing rounds per row (see time_rounds)


def time_calls(fn: Callable[[], object], warmup: int, repeats: int, min_time: float = 0.0):
    """Seconds of each timed call of ``fn``: ``warmup`` untimed calls first, then at least
    ``repeats`` calls and until ``min_time`` seconds have passed (at most 1000 calls)."""
    for _ in range(warmup):
        fn()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < repeats or (time.perf_counter() - start < min_time and len(times) < 1000):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def time_rounds(
    fns: dict[str, Callable[[], object]],
    warmup: int,
    repeats: int,
    min_time: float = 0.0,
    rounds: int = ROUNDS,
) -> dict[str, list[list[float]]]:
    """Seconds of the timed calls of each of ``fns``, as one list per round.

    Each function first gets ``warmup`` untimed calls. Then, ``min(rounds, repeats)`` times,
    each function in turn (the order rotated by one place per round) runs a block: untimed
    calls for ``min_time / 10`` seconds (at least one), then timed calls, at least
    ``repeats / rounds`` of them and for ``min_time / rounds`` seconds.

    Why rounds: on a shared machine, load from other processes comes and goes over seconds;
    functions timed one after the other see different loads, and the ratio of their times
    drifts with it. In rounds, each ratio can be taken within a round (see
    :func:`paired_ratio`). Why blocks with untimed calls first, and not one call each in
    turn: NumPy's BLAS and torch keep their own thread pools, whose threads spin for a
    while after a call; calling the two in alternation makes each run beside the other's
    spinning threads (on 2 cores that made torch.nn's tiny step 4× slower), which no user
    of either one sees.
    """
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    names = list(fns)
    rounds = max(1, min(rounds, repeats))
    calls = -(-repeats // rounds)  # at least repeats calls over all rounds
    seconds = min_time / rounds
    times: dict[str, list[list[float]]] = {name: [] for name in names}
    for r in range(rounds):
        turn = r % len(names)
        for name in names[turn:] + names[:turn]:
            time_calls(fns[name], warmup=0, repeats=1, min_time=min_time / 10)  # settle
            times[name].append(time_calls(fns[name], 0, calls, seconds))
    return times


def every_call(blocks: list[list[float]]) -> list[float]:
    """The times of all rounds' blocks (see :func:`time_rounds`) in one list."""
    return [t for block in blocks for t in block]


def paired_ratio(times: list[list[float]], reference: list[list[float]]) -> float:
    """The median over rounds of (median time ÷ the reference's median time in that round):
    one function against another, each pair measured under the same load (see
    :func:`time_rounds`)."""
    ratios = [
        statistics.median(t) / statistics.median(r) for t, r in zip(times, reference, strict=True)
    ]
    return statistics.median(ratios)
