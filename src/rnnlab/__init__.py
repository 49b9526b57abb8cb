"""rnnlab: recurrent neural networks from first principles.

Two engines share one parameter contract (torch.nn's names, shapes and gate order):
``rnnlab.numpy`` (hand-derived backward passes, NumPy only) and ``rnnlab.torch`` (PyTorch,
optional). Importing ``rnnlab`` never imports torch.
"""

__version__ = "0.1.0"
