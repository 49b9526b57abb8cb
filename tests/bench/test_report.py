"""The bench report for people: every row, its numbers and its ratio, or why there is none."""

from rnnlab.bench.report import print_report


def training_row(engine, ms, ratio, note, memory_mib=12.5, memory_note="VmHWM"):
    return {
        "cell": "lstm", "shape": "A", "engine": engine, "ms_per_step": ms,
        "tokens_per_s": 3200 / ms * 1000, "gflops": 10.0, "peak_fraction": 0.0625,
        "memory_mib": memory_mib,
        "memory_note": memory_note, "ratio_to_torch_nn": ratio, "ratio_note": note,
    }  # fmt: skip


REPORT = {
    "settings": {
        "threads": 2,
        "repeats": 5,
        "warmup": 2,
        "shapes": [
            {
                "name": "A",
                "batch": 32,
                "seq_len": 100,
                "input_size": 64,
                "hidden": 128,
                "onehot": False,
            }
        ],
    },
    "machine": {"matmul_peak_gflops": 160.0, "matmul": "NumPy float32 1024³ GEMM", "torch": "2.x"},
    "training": [
        training_row("numpy", 60.0, 1.8, "time ÷ torch.nn's, same run"),
        training_row(
            "torch-native",
            35.0,
            None,
            "n/a: torch.nn not in --engines",
            None,
            "n/a: needs Linux (/proc/self/clear_refs, VmHWM)",
        ),
    ],
    "generation": {
        "model": "1-layer LSTM, hidden 256",
        "threads": 1,
        "rows": [
            {
                "engine": "numpy",
                "chars_per_s": 12345.0,
                "ms_per_char": 0.081,
                "ratio_to_torch_nn": 0.2,
                "ratio_note": "time ÷ torch.nn's, same run",
            },
        ],
    },
    "flops": "matmul only",
    "memory_method": "VmHWM after two steps",
}


def test_the_tables_show_every_row_with_its_numbers_and_ratio(capsys):
    print_report(REPORT)
    out = capsys.readouterr().out
    expected = ["matmul peak: 160.0 GFLOP/s", "ms/step", "time ÷ torch.nn", "60.0", "1.80×",
                "6.2%", "12.5 MiB", "generation: 1-layer LSTM, hidden 256", "12,345", "0.20×",
                "shapes (B×T×I×H): A (32×100×64×128)", "peak mem: VmHWM after"]  # fmt: skip
    for text in expected:
        assert text in out, text


def test_a_missing_ratio_or_memory_shows_why(capsys):
    print_report(REPORT)
    out = capsys.readouterr().out
    assert "n/a" in out
    numpy_line = next(line for line in out.splitlines() if "numpy" in line and "60.0" in line)
    native_line = next(line for line in out.splitlines() if "torch-native" in line)
    assert "1.80×" in numpy_line and "×" not in native_line and "n/a" in native_line


def test_without_torch_the_report_says_so(capsys):
    print_report({**REPORT, "machine": {**REPORT["machine"], "torch": None}})
    assert "PyTorch is not installed" in capsys.readouterr().out
