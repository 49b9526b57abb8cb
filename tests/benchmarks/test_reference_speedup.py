"""``benchmarks/reference_speedup.py`` runs end to end and prints the factor for each shape."""

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "reference_speedup.py"


def test_the_script_times_both_and_prints_the_factor():
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--shape", "2,3,4,5", "--threads", "1", "--repeats", "1",
         "--reference-repeats", "1"],
        capture_output=True, text=True, timeout=300, cwd=SCRIPT.parent,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "reference ms/step" in done.stdout and "2×3×4×5" in done.stdout
    assert "×" in done.stdout.split("2×3×4×5", 1)[1]  # the factor column
