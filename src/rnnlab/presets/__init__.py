"""The shipped presets: TOML files read by :mod:`rnnlab.train.presets` (package data)."""
