"""``rnnlab bench``: the report holds every requested row — positive, finite times, ratios to
torch.nn from the same run, generation — and bad input is one line with exit code 2.

No timing thresholds here (DESIGN.md): how fast an engine is belongs to the benchmark.
Commands run in-process through ``rnnlab.cli.main`` on small shapes with ``--quick``.
"""

import importlib.util
import json
import math
import subprocess
import sys
from itertools import product
from pathlib import Path

import pytest

from rnnlab.bench.cases import parse_shape
from rnnlab.cli import main

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


KEYS = {
    "report": ["settings", "machine", "flops", "memory_method", "training", "generation"],
    "settings": ["dtype", "optimizer", "lr", "threads", "repeats", "warmup", "min_time",
                 "statistic", "engines", "cells", "shapes"],
    "machine": ["cpu_count", "numpy", "torch", "blas", "matmul_peak_gflops", "matmul"],
    "training": ["cell", "shape", "batch", "seq_len", "input_size", "hidden", "input_kind",
                 "engine", "ms_per_step", "ms_min", "runs", "tokens_per_s", "gflop_per_step",
                 "gflops", "peak_fraction", "memory_mib", "memory_note", "ratio_to_torch_nn",
                 "ratio_note"],
    "generation": ["model", "threads", "rows"],
    "generation rows": ["engine", "length", "runs", "chars_per_s", "ms_per_char",
                        "ratio_to_torch_nn", "ratio_note"],
}  # fmt: skip


def test_the_json_report_has_its_documented_keys_in_order(capsys):
    report = bench_json(capsys, "--shape", "2,4,5,6", "--engines", "numpy", "--no-memory")
    assert list(report) == KEYS["report"]
    for part in ("settings", "machine", "generation"):
        assert list(report[part]) == KEYS[part], part
    assert list(report["training"][0]) == KEYS["training"]
    assert list(report["generation"]["rows"][0]) == KEYS["generation rows"]
    assert report["generation"]["model"] == "1-layer LSTM, hidden 256, vocabulary 65, one-hot"
    assert report["settings"]["shapes"] == [
        {"name": "2,4,5,6", "batch": 2, "seq_len": 4, "input_size": 5, "hidden": 6,
         "onehot": False}
    ]  # fmt: skip


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
