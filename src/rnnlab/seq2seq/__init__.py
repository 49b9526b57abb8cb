"""The encoder–decoder with attention, engine-neutral: its spec, batches and decoding.

The engines' parts: :mod:`rnnlab.numpy.attention`, :mod:`rnnlab.numpy.bridge`,
:mod:`rnnlab.numpy.seq2seq` and their torch twins.
"""
