"""Peak memory: measured per row in a fresh process, growing with the shape, or n/a and why."""

import json
from pathlib import Path

import pytest

from rnnlab.bench.cases import Shape
from rnnlab.bench.memory import measure_memory
from rnnlab.cli import main

HAS_PROC = Path("/proc/self/clear_refs").exists()
needs_proc = pytest.mark.skipif(not HAS_PROC, reason="peak memory needs Linux /proc")


@needs_proc
def test_peak_memory_is_measured_per_row_and_grows_with_the_shape(capsys):
    code = main(["bench", "--quick", "--json", "--threads", "1", "--shape", "2,4,5,6",
                 "--shape", "16,50,64,128", "--engines", "numpy", "--no-generation"])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    report = json.loads(captured.out)
    small, large = report["training"]
    assert small["memory_note"] == large["memory_note"] == "VmHWM"
    assert 0 <= small["memory_mib"] < large["memory_mib"]
    # the large step keeps at least its gate activations (T, B, 4H) float32: 1.6 MB
    assert large["memory_mib"] > 50 * 16 * 4 * 128 * 4 / 2**20
    assert "VmHWM" in report["memory_method"]


@needs_proc
def test_a_failed_memory_measurement_is_na_with_its_reason():
    mib, note = measure_memory("numpy", "lstm", Shape("bad", 1, 2, 3, 0), threads=1)
    assert mib is None
    assert note.startswith("n/a: the measuring process failed") and "hidden_size" in note
