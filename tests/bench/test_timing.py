"""Timing: warm-up, repeats and min_time, rounds of settled blocks, and paired ratios."""

import time

from rnnlab.bench.timing import paired_ratio, time_calls, time_rounds


def test_time_calls_warms_up_then_times_at_least_repeats_and_min_time():
    calls = []
    times = time_calls(lambda: calls.append(1), warmup=3, repeats=4)
    assert len(times) == 4 and len(calls) == 7 and all(t >= 0 for t in times)
    calls.clear()
    times = time_calls(lambda: calls.append(1), warmup=0, repeats=1, min_time=0.02)
    assert len(times) == len(calls) > 1  # kept going for 20 ms


def test_time_rounds_runs_blocks_in_rotated_rounds_each_settled_first():
    calls = []
    fns = {name: (lambda name=name: calls.append(name)) for name in "abc"}
    times = time_rounds(fns, warmup=2, repeats=6, rounds=3)
    assert calls[:6] == list("aabbcc")  # warm-up: each function's calls before the next's
    # three rounds, the order rotated; a block is one untimed call, then 6 / 3 timed ones
    assert "".join(calls[6:]) == "aaabbbcccbbbcccaaacccaaabbb"
    assert {name: [len(block) for block in t] for name, t in times.items()} == {
        name: [2, 2, 2] for name in "abc"
    }
    assert all(t >= 0 for blocks in times.values() for block in blocks for t in block)
    assert [len(b) for b in time_rounds(fns, warmup=0, repeats=2, rounds=3)["a"]] == [1, 1]


def test_time_rounds_keeps_going_for_min_time_per_function():
    fns = {"a": lambda: time.sleep(0.001), "b": lambda: None}
    times = time_rounds(fns, warmup=0, repeats=1, min_time=0.03, rounds=3)
    assert len(times["a"]) == 1  # repeats 1: one round
    assert len(times["a"][0]) > 1 and sum(times["a"][0]) >= 0.03 - 0.002


def test_paired_ratio_is_the_median_over_rounds_of_the_block_medians_ratio():
    # block medians 3, 2, 10 against 1, 2, 2: round ratios 3, 1, 5, whose median is 3
    times = [[3.0, 3.0, 9.0], [2.0], [10.0, 1.0, 11.0]]
    reference = [[1.0], [2.0, 2.0, 0.5], [2.0]]
    assert paired_ratio(times, reference) == 3.0
    assert paired_ratio([[2.0], [6.0]], [[1.0], [3.0]]) == 2.0  # a load that triples cancels
