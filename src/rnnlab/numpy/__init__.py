"""The NumPy engine: every layer with a hand-derived backward pass; NumPy is all it needs.

Parameter names, shapes and gate order are torch.nn's, so ``layer.params`` loads into
``torch.nn.LSTM(...).load_state_dict`` unchanged, and the reverse.
"""

from rnnlab.numpy.clip import clip_grad_norm, global_norm
from rnnlab.numpy.dropout import Dropout
from rnnlab.numpy.embedding import Embedding
from rnnlab.numpy.gradcheck import gradcheck_configs, run_gradchecks
from rnnlab.numpy.gru import GRU
from rnnlab.numpy.linear import Linear
from rnnlab.numpy.losses import mse, softmax_cross_entropy
from rnnlab.numpy.lstm import LSTM
from rnnlab.numpy.model import Model
from rnnlab.numpy.optim import SGD, Adam, AdamW, build_optimizer
from rnnlab.numpy.rnn import RNN

__all__ = [
    "GRU",
    "LSTM",
    "RNN",
    "SGD",
    "Adam",
    "AdamW",
    "Dropout",
    "Embedding",
    "Linear",
    "Model",
    "build_optimizer",
    "clip_grad_norm",
    "global_norm",
    "gradcheck_configs",
    "mse",
    "run_gradchecks",
    "softmax_cross_entropy",
]
