"""The CMU Pronouncing Dictionary as g2p reads it: the counts the issue gives for 1.1.3,
the stress rule, and a split that keeps a word's pronunciations together."""

from collections import Counter

import pytest

from rnnlab.data import cmudict
from rnnlab.data.hash_split import split_of
from rnnlab.tasks.g2p import PHONES, STRESSED


@pytest.fixture(scope="module")
def entries():
    return cmudict.load_entries()


def test_the_dictionary_has_the_counts_of_release_1_1_3(entries):
    words = Counter(word for word, _ in entries)
    assert len(entries) == 135_166
    assert len(words) == 126_052
    assert sum(1 for n in words.values() if n > 1) == 8_447


def test_stripping_stress_leaves_39_phones_and_306_duplicates(entries):
    kept = [(w, ph) for w, ph in entries if cmudict.WORD.fullmatch(w)]
    stressed = cmudict.g2p_entries(entries, stress=True)
    plain = cmudict.g2p_entries(entries)
    assert len(kept) - len(plain) == 306
    assert len(kept) - len(stressed) == 2  # two lines repeat an entry exactly, stress and all
    assert sorted({p for _, ph in plain for p in ph}) == PHONES and len(PHONES) == 39
    assert sorted({p for _, ph in stressed for p in ph}) == STRESSED and len(STRESSED) == 69
    assert all(cmudict.WORD.fullmatch(word) for word, _ in plain)


def test_comments_and_variant_suffixes_are_stripped():
    text = "aalborg AO1 L B AO0 R G # place, danish\naalborg(2) AA1 L B AO0 R G\n\nx.ray EH1\n"
    assert cmudict.read_entries(text) == [
        ("aalborg", ("AO1", "L", "B", "AO0", "R", "G")),
        ("aalborg", ("AA1", "L", "B", "AO0", "R", "G")),
        ("x.ray", ("EH1",)),
    ]
    assert [w for w, _ in cmudict.g2p_entries(cmudict.read_entries(text))] == ["aalborg"] * 2


def test_the_split_is_90_5_5_by_word_and_deterministic(entries):
    words = sorted({w for w, _ in cmudict.g2p_entries(entries)})
    shares = Counter(split_of(w) for w in words)
    for split, share in (("train", 0.90), ("val", 0.05), ("test", 0.05)):
        assert abs(shares[split] / len(words) - share) < 0.005, shares
    assert split_of("rhythm") == split_of("rhythm")  # sha256, not Python's salted hash
