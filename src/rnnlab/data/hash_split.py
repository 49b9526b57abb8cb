"""A split by a hash of each example's key: deterministic across runs, machines and file
orders (unlike Python's salted ``hash``), and every example with the same key (a word's
pronunciations, a sentence's translations) lands in the same split."""

import hashlib

SPLIT_PERCENT = (90, 5, 5)  # train, val, test


def split_of(key: str) -> str:
    """ "train", "val" or "test": the first 8 bytes of sha256(key), mod 100, cut 90/5/5."""
    bucket = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big") % 100
    train, val, _ = SPLIT_PERCENT
    return "train" if bucket < train else "val" if bucket < train + val else "test"
