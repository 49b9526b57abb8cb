"""``rnnlab bench``: the report holds every requested row — positive, finite times, ratios to
torch.nn from the same run, generation, peak memory — and bad input is one line with exit 2.

No timing thresholds here (DESIGN.md): how fast an engine is belongs to the benchmark.
Commands run in-process through ``rnnlab.cli.main`` on small shapes with ``--quick``.
"""

import importlib.util
import json
import math
import subprocess
import sys
import time
from itertools import product
from pathlib import Path

import pytest

from rnnlab.bench import (
    NAMED_SHAPES,
    Shape,
    measure_memory,
    paired_ratio,
    parse_shape,
    time_calls,
    time_rounds,
    training_flops,
)
from rnnlab.cli import main
from rnnlab.errors import InputError

HAS_TORCH = importlib.util.find_spec("torch") is not None
needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="needs PyTorch")
QUICK = ["bench", "--quick", "--json", "--threads", "1"]
SHAPES = ["2,4,5,6,onehot", "3,2,4,5"]
DEFAULT_ENGINES = ["numpy", "torch-scratch", "torch-native", "torch.nn"]
HAS_PROC = Path("/proc/self/clear_refs").exists()


def bench_json(capsys, *args: str) -> dict:
    code = main([*QUICK, *args])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def positive(x) -> bool:
    return x is not None and math.isfinite(x) and x > 0


# --------------------------------------------------------------------------- the pieces
def test_named_shapes_are_those_of_the_issue():
    assert NAMED_SHAPES["tiny"] == Shape("tiny", 1, 25, 65, 100, onehot=True)
    assert NAMED_SHAPES["A"] == Shape("A", 32, 100, 64, 128)
    assert NAMED_SHAPES["B"] == Shape("B", 64, 100, 128, 256)


def test_parse_shape_reads_names_and_dense_or_onehot_dimensions():
    assert parse_shape("a") is NAMED_SHAPES["A"] and parse_shape(" Tiny ") is NAMED_SHAPES["tiny"]
    assert parse_shape("4, 10, 8, 16") == Shape("4,10,8,16", 4, 10, 8, 16, onehot=False)
    assert parse_shape("4,10,8,16,dense") == Shape("4,10,8,16", 4, 10, 8, 16, onehot=False)
    assert parse_shape("4,10,8,16,onehot") == Shape("4,10,8,16,onehot", 4, 10, 8, 16, True)


@pytest.mark.parametrize("text", ["1,2,3", "1,2,3,4,5", "1,2,0,4", "a,b,c,d", "-1,2,3,4", "C"])
def test_parse_shape_refuses_what_is_not_a_shape(text):
    with pytest.raises(InputError, match="B,T,I,H"):
        parse_shape(text)


def test_training_flops_count_three_times_the_forward_products():
    # tiny LSTM: 2·T·B·4H·(I + H) = 2·25·1·400·165 and head 2·T·B·H·O = 2·25·1·100·65
    assert training_flops("lstm", NAMED_SHAPES["tiny"]) == 3 * (3_300_000 + 325_000)
    shape = Shape("s", 2, 3, 5, 7)
    head = 2 * 3 * 2 * 7 * 5
    for cell, gates in (("lstm", 4), ("gru", 3), ("rnn", 1)):
        assert training_flops(cell, shape) == 3 * (2 * 3 * 2 * gates * 7 * (5 + 7) + head)


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


# --------------------------------------------------------------------------- the command
@pytest.mark.torch
@needs_torch
def test_json_has_every_cell_shape_and_engine_with_ratios_and_generation(capsys):
    report = bench_json(
        capsys, *[a for s in SHAPES for a in ("--shape", s)], "--cell", "lstm,gru,rnn",
        "--no-memory",
    )  # fmt: skip
    rows = report["training"]
    names = {s: parse_shape(s).name for s in SHAPES}
    assert [(r["cell"], r["shape"], r["engine"]) for r in rows] == [
        (cell, names[s], engine)
        for cell, s, engine in product(["lstm", "gru", "rnn"], SHAPES, DEFAULT_ENGINES)
    ]
    for row in rows:
        assert positive(row["ms_per_step"]) and row["ms_min"] <= row["ms_per_step"]
        assert row["runs"] >= 2 and positive(row["gflops"]) and positive(row["peak_fraction"])
        tokens = row["batch"] * row["seq_len"]
        assert row["tokens_per_s"] == pytest.approx(tokens / row["ms_per_step"] * 1e3)
        assert positive(row["ratio_to_torch_nn"]), row["ratio_note"]
        assert row["memory_mib"] is None and "--no-memory" in row["memory_note"]
        if row["engine"] == "torch.nn":
            assert row["ratio_to_torch_nn"] == 1.0
    assert report["settings"]["threads"] == 1 and report["settings"]["dtype"] == "float32"
    assert positive(report["machine"]["matmul_peak_gflops"])
    assert report["machine"]["torch"]
    generation = report["generation"]["rows"]
    assert [g["engine"] for g in generation] == DEFAULT_ENGINES
    for g in generation:
        assert g["length"] == 50 and positive(g["chars_per_s"]) and positive(g["ratio_to_torch_nn"])
        assert g["chars_per_s"] == pytest.approx(1e3 / g["ms_per_char"])


@pytest.mark.skipif(not HAS_PROC, reason="peak memory needs Linux /proc")
def test_peak_memory_is_measured_per_row_and_grows_with_the_shape(capsys):
    report = bench_json(
        capsys, "--shape", "2,4,5,6", "--shape", "16,50,64,128", "--engines", "numpy",
        "--no-generation",
    )  # fmt: skip
    small, large = report["training"]
    assert small["memory_note"] == large["memory_note"] == "VmHWM"
    assert 0 <= small["memory_mib"] < large["memory_mib"]
    # the large step keeps at least its gate activations (T, B, 4H) float32: 1.6 MB
    assert large["memory_mib"] > 50 * 16 * 4 * 128 * 4 / 2**20
    assert "VmHWM" in report["memory_method"]


@pytest.mark.skipif(not HAS_PROC, reason="peak memory needs Linux /proc")
def test_a_failed_memory_measurement_is_na_with_its_reason():
    mib, note = measure_memory("numpy", "lstm", Shape("bad", 1, 2, 3, 0), threads=1)
    assert mib is None
    assert note.startswith("n/a: the measuring process failed") and "hidden_size" in note


def test_without_torch_nn_in_the_run_the_ratio_says_why(capsys):
    report = bench_json(capsys, "--shape", "2,4,5,6", "--engines", "numpy", "--no-memory")
    (row,) = report["training"]
    (gen,) = report["generation"]["rows"]
    for r in (row, gen):
        assert r["ratio_to_torch_nn"] is None and r["ratio_note"].startswith("n/a")
        assert "not in --engines" in r["ratio_note"] or "not installed" in r["ratio_note"]


def test_the_table_for_people_shows_rows_peak_and_ratios(capsys):
    engines = "numpy,torch.nn" if HAS_TORCH else "numpy"
    code = main(["bench", "--quick", "--threads", "1", "--shape", "2,4,5,6,onehot",
                 "--engines", engines, "--no-memory"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    for text in ("matmul peak", "GFLOP/s", "ms/step", "time ÷ torch.nn", "generation", "numpy"):
        assert text in out
    if HAS_TORCH:
        assert "torch.nn" in out and "1.00×" in out


NO_TORCH = r"""
import json, sys
sys.modules["torch"] = None  # any `import torch` now raises ImportError
from rnnlab.cli import main
code = main(["bench", "--quick", "--json", "--threads", "1", "--shape", "2,4,5,6"])
assert code == 0, code
code = main(["bench", "--quick", "--engines", "numpy,torch.nn", "--shape", "2,4,5,6"])
assert code == 2, code
loaded = [m for m, v in sys.modules.items() if v is not None and m.split(".")[0] == "torch"]
assert not loaded, loaded
"""


def test_without_torch_only_numpy_is_measured_and_the_ratio_says_why(tmp_path):
    done = subprocess.run([sys.executable, "-c", NO_TORCH], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["machine"]["torch"] is None
    assert [r["engine"] for r in report["training"]] == ["numpy"]
    assert [r["engine"] for r in report["generation"]["rows"]] == ["numpy"]
    for row in [*report["training"], *report["generation"]["rows"]]:
        assert row["ratio_to_torch_nn"] is None
        assert row["ratio_note"] == "n/a: PyTorch is not installed"
    if HAS_PROC:  # the numpy row's memory process needs no torch either
        assert report["training"][0]["memory_note"] == "VmHWM"
    (line,) = done.stderr.strip().splitlines()
    assert "--engines torch.nn needs PyTorch" in line


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--shape", "1,2,3"], "--shape '1,2,3'"),
        (["--shape", "2,4,x,6"], "--shape '2,4,x,6'"),
        (["--shape", "2,4,0,6,onehot"], "B,T,I,H"),
        (["--engines", "numpy,jax"], "--engines 'jax'"),
        (["--engines", ""], "--engines"),
        (["--cell", "lstm,transformer"], "--cell 'transformer'"),
        (["--threads", "0"], "--threads must be at least 1"),
        (["--repeats", "0"], "--repeats must be at least 1"),
        (["--warmup", "-1"], "--warmup must be at least 0"),
        (["--min-time", "-2"], "--min-time"),
        (["--threads", "two"], "--threads"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(capsys, args, says):
    assert main(["bench", "--quick", *args]) == 2
    captured = capsys.readouterr()
    (line,) = captured.err.strip().splitlines()
    assert line.startswith("rnnlab") and says in line
    assert captured.out == ""


@pytest.mark.slow
@pytest.mark.torch
@needs_torch
def test_the_compiled_engine_is_measured_when_asked_for(capsys):
    engines = "torch-scratch-compiled,torch.nn"
    report = bench_json(capsys, "--shape", "1,3,4,5", "--engines", engines, "--no-memory")
    assert [r["engine"] for r in report["training"]] == ["torch-scratch-compiled", "torch.nn"]
    assert all(positive(r["ratio_to_torch_nn"]) for r in report["training"])
    assert positive(report["generation"]["rows"][0]["chars_per_s"])
