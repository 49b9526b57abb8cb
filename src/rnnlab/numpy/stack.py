"""What RNN, LSTM and GRU share: layers × directions around a per-cell loop over time.

A cell (``LSTMCell``, ``GRUCell``, ``RNNCell``) only runs its recurrence over one sequence
given the input projection ``xw = x W_ihᵀ + b_ih``; everything else lives here, once:

* parameters named, shaped and ordered exactly as torch.nn (``weight_ih_l0_reverse``, ...);
* the input projection for all T steps as one GEMM before the cell's loop, and the weight
  gradients ``dW_ih = dxwᵀ x``, ``dW_hh = dhwᵀ h_prev`` as one GEMM each after it;
* stacking layers, the reverse direction (time reversal, per sequence when ``lengths`` are
  given), dropout between layers, ``batch_first``, splitting ``h_n``/``c_n`` by
  ``layer · num_directions + direction``;
* input validation with messages that give the expected and the received value;
* the batch masks of :mod:`rnnlab.masks` that reach inside the stack: locked dropout
  between layers, y_l ⊙ s_l (one (B, D·H) mask for every step), and weight-drop, each cell
  running on W̃_hh = W_hh ⊙ S with ∂L/∂W_hh = S ⊙ ∂L/∂W̃_hh (both linear, so backward
  multiplies by the same scale).
"""

from typing import Any, NamedTuple

import numpy as np

from rnnlab.cells import parameter_name
from rnnlab.numpy.dropout import Dropout, DropoutCache
from rnnlab.numpy.init import init_recurrent
from rnnlab.shapes import check_input_shape, check_sizes, check_state_parts

# Cells' backward passes precompute the gradient factors that do not depend on the incoming
# gradient for blocks of about this many (step, row, unit) elements at once: few ufunc calls
# for small batches, and blocks that stay in cache for large ones.
BACKWARD_BLOCK_ELEMENTS = 8192


class DirectionCache(NamedTuple):
    x: np.ndarray  # (T, B, I_l) the input as this direction read it (time-reversed if reverse)
    cell: Any  # the cell's own cache (has .h_prev (T, B, H))


class StackCache(NamedTuple):
    layers: list  # [layer][direction] -> DirectionCache
    dropout: list[DropoutCache]  # per layer l < L-1: the mask applied to its outputs
    mask: np.ndarray | None  # (T, B, 1) 1.0 on real steps when lengths were given
    reverse_index: np.ndarray | None  # (T, B) per-sequence time reversal when lengths given
    batch_first: bool
    masks: Any = None  # rnnlab.masks.Masks of the batch (locked dropout, weight-drop), or None


class RecurrentStack:
    """Base class of :class:`~rnnlab.numpy.rnn.RNN`, :class:`~rnnlab.numpy.lstm.LSTM` and
    :class:`~rnnlab.numpy.gru.GRU`.

    Args:
        input_size: I, width of each input vector.
        hidden_size: H, width of each direction's hidden state.
        num_layers: L, stacked layers; layer k > 0 reads the D·H outputs of layer k-1.
        bidirectional: D = 2 if True: a second direction reads the sequence backwards and
            its outputs are concatenated after the forward ones.
        batch_first: inputs and outputs are (B, T, ·) instead of (T, B, ·). States are
            always (L·D, B, H), as in torch.
        dropout: probability of zeroing outputs of every layer but the last (training only).
        dtype: np.float32 or np.float64.
        seed: seeds the initialisation and the dropout masks.
        init: "torch" (every tensor U(±1/√H), torch.nn's default) or "xavier"
            (Xavier-uniform input weights, orthogonal recurrent weights, zero biases).
        forget_bias: LSTM only: the forget-gate bias (split as b_ih = value, b_hh = 0).

    Interface (the same for the three cells)::

        y, state, cache = layer.forward(x, state=None, train=True, lengths=None)
        dx, dstate, grads = layer.backward(dy, dstate_n, cache)

    ``state`` is ``(h, c)`` for the LSTM and ``h`` for RNN/GRU, each (L·D, B, H); ``grads``
    has the keys of ``params``. ``lengths`` (B,) gives each sequence's true length in a
    padded batch: padding steps leave the state unchanged, outputs there are zero, and the
    reverse direction starts at each sequence's own last step (torch's packed sequences).
    """

    cell_class: type = type(None)  # set by each subclass

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bidirectional: bool = False,
        batch_first: bool = False,
        dropout: float = 0.0,
        dtype=np.float32,
        seed: int | None = None,
        init: str = "torch",
        forget_bias: float | None = None,
    ):
        name = type(self).__name__
        check_sizes(name, input_size, hidden_size, num_layers, dropout)
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise TypeError(f"{name} expected dtype float32 or float64, got {self.dtype}")
        self.input_size = int(input_size)
        self.hidden_size = int(hidden_size)
        self.num_layers = int(num_layers)
        self.num_directions = 2 if bidirectional else 1
        self.bidirectional = bool(bidirectional)
        self.batch_first = bool(batch_first)
        self.dropout = float(dropout)
        self.cell = self.make_cell()
        make_extras = getattr(self.cell, "extra_params", None)
        self.extra_keys = tuple(make_extras(self.hidden_size)) if make_extras else ()
        init_rng, dropout_seed = np.random.SeedSequence(seed).spawn(2)
        self.dropout_layer = Dropout(self.dropout, rng=np.random.default_rng(dropout_seed))
        self.params = self._allocate_params()
        standard = {  # torch.nn's four tensors per layer; a cell's extras keep their own init
            n: self.params[n]
            for layer in range(self.num_layers)
            for direction in range(self.num_directions)
            for n in self.param_names(layer, direction)
        }
        init_recurrent(
            standard,
            hidden_size=self.hidden_size,
            gates=self.cell.gates,
            scheme=init,
            rng=np.random.default_rng(init_rng),
            forget_bias=forget_bias,
        )

    def make_cell(self):
        """The object that runs one direction's recurrence (subclasses may configure it)."""
        return self.cell_class()

    # ------------------------------------------------------------------ parameters
    def param_names(self, layer: int, direction: int) -> tuple[str, str, str, str]:
        kinds = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        return tuple(parameter_name(kind, layer, direction) for kind in kinds)

    def layer_input_size(self, layer: int) -> int:
        return self.input_size if layer == 0 else self.hidden_size * self.num_directions

    def _allocate_params(self) -> dict[str, np.ndarray]:
        G, H = self.cell.gates * self.hidden_size, self.hidden_size
        params = {}
        for layer in range(self.num_layers):
            for direction in range(self.num_directions):
                w_ih, w_hh, b_ih, b_hh = self.param_names(layer, direction)
                params[w_ih] = np.zeros((G, self.layer_input_size(layer)), self.dtype)
                params[w_hh] = np.zeros((G, H), self.dtype)
                params[b_ih] = np.zeros(G, self.dtype)
                params[b_hh] = np.zeros(G, self.dtype)
                for key, value in self._extra_params(layer, direction).items():
                    params[key] = value
        return params

    def _extra_params(self, layer: int, direction: int) -> dict[str, np.ndarray]:
        """Tensors a cell adds beyond torch.nn's four (peephole weights, norm gains, ...).

        A cell that has them defines ``extra_params(hidden_size) -> {key: initial array}``;
        they are named ``{key}_l{layer}{_reverse}`` and handed to the cell's forward and
        backward as keyword arguments ``key=array``.
        """
        if not self.extra_keys:
            return {}
        return {
            parameter_name(key, layer, direction): np.asarray(value, self.dtype).copy()
            for key, value in self.cell.extra_params(self.hidden_size).items()
        }

    def _cell_extras(self, layer: int, direction: int) -> dict[str, np.ndarray]:
        return {key: self.params[parameter_name(key, layer, direction)] for key in self.extra_keys}

    @property
    def output_size(self) -> int:
        return self.hidden_size * self.num_directions

    def num_parameters(self) -> int:
        return sum(p.size for p in self.params.values())

    def load_state_dict(self, state_dict: dict[str, np.ndarray]) -> None:
        """Copy arrays into ``params`` in place (optimizers keep their references).

        Accepts exactly torch.nn's names and shapes; anything else raises ``ValueError``.
        """
        name = type(self).__name__
        missing = sorted(set(self.params) - set(state_dict))
        extra = sorted(set(state_dict) - set(self.params))
        if missing or extra:
            raise ValueError(f"{name} state_dict mismatch: missing {missing}, unexpected {extra}")
        for key, target in self.params.items():
            value = np.asarray(state_dict[key])
            if value.shape != target.shape:
                raise ValueError(
                    f"{name} expected {key} of shape {target.shape}, got {value.shape}"
                )
            np.copyto(target, value, casting="same_kind")

    def zero_state(self, batch_size: int):
        """The all-zero initial state for a batch, shaped like torch's h_0 (and c_0)."""
        shape = (self.num_layers * self.num_directions, batch_size, self.hidden_size)
        zeros = tuple(np.zeros(shape, self.dtype) for _ in self.cell.state_names)
        return self._public_state(zeros)

    # ------------------------------------------------------------------ forward
    def forward(self, x, state=None, train: bool = True, lengths=None, masks=None):
        """Run the stack over a batch of sequences.

        Args:
            x: (T, B, I), or (B, T, I) with ``batch_first``; the layer's dtype; finite. Or
                integer ids (T, B) (or (B, T)) in [0, I), read as one-hot rows: the input
                projection is then a row gather of W_ihᵀ instead of a GEMM with zeros.
            state: initial state, ``(h0, c0)`` for the LSTM, ``h0`` otherwise, each
                (L·D, B, H); None means zeros.
            train: apply inter-layer dropout.
            lengths: optional (B,) ints in 1..T, true length of each padded sequence.
            masks: a batch's :class:`rnnlab.masks.Masks` (``between``, ``weight_hh``), used
                as given, training or not; None: no locked dropout, no weight-drop.

        Returns:
            y (T, B, D·H) (or (B, T, D·H)), the final state shaped like ``state``, a cache.
        """
        x = self._check_input(x)
        if self.batch_first:
            x = x.swapaxes(0, 1)  # (T, B, I) or (T, B) ids
        T, B = x.shape[:2]
        states0 = self._check_state(state, B)
        mask, reverse_index = self._lengths_to_masks(lengths, T, B)
        D = self.num_directions

        finals = [[None] * D for _ in range(self.num_layers)]
        layer_caches, dropout_caches = [], []
        layer_input = x
        for layer in range(self.num_layers):
            outputs, direction_caches = [], []
            for direction in range(D):
                w_ih, w_hh, b_ih, b_hh = (
                    self.params[n] for n in self.param_names(layer, direction)
                )
                w_hh = _dropped_hh(w_hh, masks, layer, direction)  # (G·H, H) W_hh ⊙ S
                xin = layer_input if direction == 0 else _reverse(layer_input, reverse_index)
                xin = np.ascontiguousarray(xin)
                if xin.ndim == 2:  # one-hot ids: x_t W_ihᵀ is row ids[t] of W_ihᵀ
                    xw = w_ih.T[xin]  # (T, B, G·H)
                else:  # one GEMM for all steps
                    xw = (xin.reshape(T * B, -1) @ w_ih.T).reshape(T, B, -1)  # (T, B, G·H)
                xw += b_ih
                index = layer * D + direction
                state0 = tuple(s[index] for s in states0)
                extras = self._cell_extras(layer, direction)
                hs, state_n, cell_cache = self.cell.forward(xw, state0, w_hh, b_hh, mask, **extras)
                outputs.append(hs if direction == 0 else _reverse(hs, reverse_index))
                finals[layer][direction] = state_n
                direction_caches.append(DirectionCache(x=xin, cell=cell_cache))
            out = outputs[0] if D == 1 else np.concatenate(outputs, axis=-1)  # (T, B, D·H)
            if mask is not None:
                out = out * mask  # outputs on padding are zero, as with packed sequences
            if layer < self.num_layers - 1:
                out, dropout_cache = self.dropout_layer.forward(out, train=train)
                dropout_caches.append(dropout_cache)
                if masks is not None and masks.between:
                    out = out * masks.between[layer][None]  # (T, B, D·H) locked: every step
            layer_caches.append(direction_caches)
            layer_input = out

        y = layer_input.transpose(1, 0, 2) if self.batch_first else layer_input
        state_n = tuple(
            np.stack([finals[l][d][k] for l in range(self.num_layers) for d in range(D)])
            for k in range(len(self.cell.state_names))
        )  # each (L·D, B, H)
        cache = StackCache(
            layer_caches, dropout_caches, mask, reverse_index, self.batch_first, masks
        )
        return y, self._public_state(state_n), cache

    # ------------------------------------------------------------------ backward
    def backward(self, dy, dstate_n, cache: StackCache, input_grad: bool = True):
        """Backpropagate through the stack.

        Args:
            dy: ∂L/∂y shaped like ``y``, or None (the loss reads only the final state).
            dstate_n: ∂L/∂ of the final state shaped like ``state`` (for the LSTM a tuple
                whose entries may be None), or None.
            cache: what :meth:`forward` returned for this batch.
            input_grad: compute ``dx``; False saves layer 0's ``dxw W_ih`` GEMM when nothing
                reads it (data inputs). Ids have no gradient: ``dx`` is then None anyway.

        Returns:
            ``dx`` shaped like ``x`` (or None), ``dstate0`` shaped like ``state``, ``grads``.
        """
        first = cache.layers[0][0]
        T, B = first.x.shape[:2]
        H, D = self.hidden_size, self.num_directions
        if dy is None:
            dy = np.zeros((T, B, D * H), self.dtype)
        else:
            dy = np.asarray(dy)
            if cache.batch_first:
                dy = dy.transpose(1, 0, 2)
            if dy.shape != (T, B, D * H):
                raise ValueError(
                    f"{type(self).__name__} expected dy of shape {(T, B, D * H)} "
                    f"(time-major), got {dy.shape}"
                )
        dstates_n = self._check_dstate(dstate_n, B)
        grads = {}
        dstates0 = [np.zeros_like(s) for s in dstates_n]
        d_out = dy
        for layer in reversed(range(self.num_layers)):
            if layer < self.num_layers - 1:
                if cache.masks is not None and cache.masks.between:
                    d_out = d_out * cache.masks.between[layer][None]  # (T, B, D·H)
                d_out = self.dropout_layer.backward(d_out, cache.dropout[layer])
            if cache.mask is not None:
                d_out = d_out * cache.mask
            d_input = None
            for direction in range(D):
                names = self.param_names(layer, direction)
                w_ih, w_hh = self.params[names[0]], self.params[names[1]]
                w_hh = _dropped_hh(w_hh, cache.masks, layer, direction)  # what forward ran
                direction_cache = cache.layers[layer][direction]
                dhs = d_out[..., direction * H : (direction + 1) * H]
                if direction == 1:
                    dhs = _reverse(dhs, cache.reverse_index)
                dhs = np.ascontiguousarray(dhs)  # (T, B, H)
                index = layer * D + direction
                dstate = tuple(s[index] for s in dstates_n)
                extras = self._cell_extras(layer, direction)
                dxw, dhw, dstate0, *extra_grads = self.cell.backward(
                    dhs, dstate, direction_cache.cell, w_hh, **extras
                )
                for key, grad in (extra_grads[0] if extra_grads else {}).items():
                    grads[parameter_name(key, layer, direction)] = grad
                G = dxw.shape[-1]
                dxw2, dhw2 = dxw.reshape(T * B, G), dhw.reshape(T * B, G)
                x_rows = (
                    direction_cache.x.reshape(T * B, -1)
                    if direction_cache.x.ndim == 3
                    else _one_hot(direction_cache.x, w_ih)
                )
                grads[names[0]] = dxw2.T @ x_rows  # (G·H, I_l)
                grads[names[1]] = dhw2.T @ direction_cache.cell.h_prev.reshape(T * B, H)  # (G·H, H)
                if cache.masks is not None and names[1] in cache.masks.weight_hh:
                    grads[names[1]] *= cache.masks.weight_hh[names[1]]  # S ⊙ ∂L/∂W̃_hh
                grads[names[2]] = dxw2.sum(axis=0)  # (G·H,)
                grads[names[3]] = dhw2.sum(axis=0)
                for k, ds in enumerate(dstate0):
                    dstates0[k][index] = ds
                if layer == 0 and (direction_cache.x.ndim == 2 or not input_grad):
                    continue  # nothing reads ∂L/∂x
                dxin = dxw @ w_ih  # (T, B, I_l)
                if direction == 1:
                    dxin = _reverse(dxin, cache.reverse_index)
                d_input = dxin if d_input is None else d_input + dxin
            d_out = d_input
        dx = d_out.swapaxes(0, 1) if cache.batch_first and d_out is not None else d_out
        grads = {name: grads[name] for name in self.params}  # the params' order
        return dx, self._public_state(tuple(dstates0)), grads

    # ------------------------------------------------------------------ helpers
    def _public_state(self, states: tuple):
        """The LSTM's state is the pair (h, c); RNN and GRU expose h alone."""
        return states if len(self.cell.state_names) > 1 else states[0]

    def _check_input(self, x) -> np.ndarray:
        name = type(self).__name__
        if not isinstance(x, np.ndarray):
            raise TypeError(f"{name} expected input as a numpy array, got {type(x).__name__}")
        if x.ndim == 2 and x.dtype.kind in "iu":  # one-hot ids
            if x.size == 0:
                raise ValueError(f"{name} expected a non-empty input, got ids of shape {x.shape}")
            if x.min() < 0 or x.max() >= self.input_size:
                raise ValueError(
                    f"{name} expected ids in [0, {self.input_size}) (input_size), "
                    f"got values from {x.min()} to {x.max()}"
                )
            return x
        check_input_shape(name, x.shape, self.input_size, self.batch_first)
        if x.dtype != self.dtype:
            raise TypeError(
                f"{name} has dtype {self.dtype}, got input of dtype {x.dtype}; "
                f"convert with x.astype(np.{self.dtype})"
            )
        if not np.isfinite(x).all():
            raise ValueError(f"{name} input contains NaN or infinity")
        return x

    def _check_state(self, state, batch_size: int) -> tuple:
        name = type(self).__name__
        n_states = len(self.cell.state_names)
        shape = (self.num_layers * self.num_directions, batch_size, self.hidden_size)
        if state is None:
            return tuple(np.zeros(shape, self.dtype) for _ in range(n_states))
        names = self.cell.state_names
        parts = check_state_parts(name, state, names, shape, np.ndarray, self.dtype)
        for label, s in zip(names, parts, strict=True):
            if not np.isfinite(s).all():
                raise ValueError(f"{name} initial state {label}0 contains NaN or infinity")
        return parts

    def _check_dstate(self, dstate, batch_size: int) -> tuple:
        n_states = len(self.cell.state_names)
        shape = (self.num_layers * self.num_directions, batch_size, self.hidden_size)
        parts = (
            (None,) * n_states if dstate is None else tuple(dstate) if n_states > 1 else (dstate,)
        )
        out = []
        for label, d in zip(self.cell.state_names, parts, strict=True):
            if d is None:
                out.append(np.zeros(shape, self.dtype))
            elif np.shape(d) != shape:
                raise ValueError(
                    f"{type(self).__name__} expected d{label}_n of shape {shape}, got {np.shape(d)}"
                )
            else:
                out.append(np.asarray(d, self.dtype))
        return tuple(out)

    def _lengths_to_masks(self, lengths, T: int, B: int):
        if lengths is None:
            return None, None
        lengths = np.asarray(lengths)
        if lengths.shape != (B,) or not np.issubdtype(lengths.dtype, np.integer):
            raise ValueError(
                f"{type(self).__name__} expected lengths as {B} integers (one per sequence), "
                f"got {lengths.dtype} array of shape {lengths.shape}"
            )
        if lengths.min() < 1 or lengths.max() > T:
            raise ValueError(
                f"{type(self).__name__} expected lengths in 1..{T} (the padded length), "
                f"got values from {lengths.min()} to {lengths.max()}"
            )
        t = np.arange(T)[:, None]  # (T, 1)
        mask = (t < lengths[None, :]).astype(self.dtype)[:, :, None]  # (T, B, 1)
        # Reading sequence b backwards: step t takes time lengths[b]-1-t; padding stays put.
        reverse_index = np.where(t < lengths, lengths - 1 - t, t)  # (T, B)
        return mask, reverse_index


def _dropped_hh(w_hh: np.ndarray, masks, layer: int, direction: int) -> np.ndarray:
    """W̃_hh = W_hh ⊙ S under weight-drop (rnnlab.masks), else W_hh itself."""
    name = parameter_name("weight_hh", layer, direction)
    if masks is None or name not in masks.weight_hh:
        return w_hh
    return w_hh * masks.weight_hh[name]  # (G·H, H)


def _one_hot(ids: np.ndarray, w_ih: np.ndarray) -> np.ndarray:
    """(T, B) ids → (T·B, I) one-hot rows in w_ih's dtype, for dW_ih = dxwᵀ·one_hot.

    A GEMM against the one-hot matrix is faster than scattering rows with ``np.add.at``.
    """
    rows = np.zeros((ids.size, w_ih.shape[1]), dtype=w_ih.dtype)
    rows[np.arange(ids.size), ids.reshape(-1)] = 1.0
    return rows


def _reverse(a: np.ndarray, reverse_index: np.ndarray | None) -> np.ndarray:
    """Reverse time (axis 0) of a (T, B, ·) array, per sequence when lengths are known.

    The per-sequence reversal is its own inverse, so the same call maps back.
    """
    if reverse_index is None:
        return a[::-1]
    return a[reverse_index, np.arange(a.shape[1])[None, :]]  # (T, B, ·)
