"""The one registry of recurrent cells: what each cell *is*, independent of any engine.

Both engines, the checkpoint loader, ``inspect`` and the diagnostics read this table; an
engine adds only the step functions that compute a cell. Adding a cell is one entry here
plus its steps in ``rnnlab.numpy`` and ``rnnlab.torch``.

Gate order and parameter names are torch.nn's: per layer ``k`` and direction ``d`` the
tensors ``weight_ih_l{k}{sfx}``, ``weight_hh_l{k}{sfx}``, ``bias_ih_l{k}{sfx}``,
``bias_hh_l{k}{sfx}`` with ``sfx = "_reverse"`` for the backward direction, the rows of each
holding the gates in the order listed here (LSTM i, f, g, o; GRU r, z, n).
"""

from dataclasses import dataclass, field

from rnnlab.errors import InputError


@dataclass(frozen=True)
class CellKind:
    """One kind of recurrent cell.

    Attributes:
        name: the ``--cell`` value and ModelSpec.cell.
        gates: gate names in the row order of ``weight_ih``/``weight_hh`` (torch.nn's).
        states: what the cell carries from step to step, ``("h", "c")`` or ``("h",)``.
        tanh_gates: gates squashed by tanh (the candidate), the others by the sigmoid.
        extra_tensors: tensors beyond torch.nn's four per layer and direction, name -> size
            in units of H, saved as ``rnn.{name}_l{k}{sfx}``.
        description: one line for ``rnnlab tasks`` and the docs.
        extra_init: the initial value of every entry of an extra tensor, name -> value;
            an extra tensor not listed starts at 0 (see :meth:`extra_initial_value`).
    """

    name: str
    gates: tuple[str, ...]
    states: tuple[str, ...]
    tanh_gates: frozenset[str] = frozenset()
    extra_tensors: dict[str, int] = field(default_factory=dict)
    description: str = ""
    extra_init: dict[str, float] = field(default_factory=dict)

    @property
    def num_gates(self) -> int:
        return len(self.gates)

    @property
    def has_forget_gate(self) -> bool:
        return "f" in self.gates

    def extra_initial_value(self, name: str) -> float:
        """Where every entry of the extra tensor ``name`` starts (0 unless listed)."""
        return self.extra_init.get(name, 0.0)


_LSTM_GATES = ("i", "f", "g", "o")
CELLS: dict[str, CellKind] = {
    kind.name: kind
    for kind in (
        CellKind("lstm", _LSTM_GATES, ("h", "c"), frozenset("g"),
                 description="long short-term memory (Hochreiter & Schmidhuber 1997)"),
        CellKind("gru", ("r", "z", "n"), ("h",), frozenset("n"),
                 description="gated recurrent unit (Cho et al. 2014), torch.nn's form"),
        CellKind("rnn", ("h",), ("h",), frozenset(),
                 description="Elman RNN, h = tanh or relu of W_ih x + W_hh h + b"),
        CellKind("peephole_lstm", _LSTM_GATES, ("h", "c"), frozenset("g"),
                 {"weight_peephole_i": 1, "weight_peephole_f": 1, "weight_peephole_o": 1},
                 "LSTM whose gates also read the cell state (Gers & Schmidhuber 2000)"),
        CellKind("layernorm_lstm", _LSTM_GATES, ("h", "c"), frozenset("g"),
                 {"ln_gates_weight": 4, "ln_gates_bias": 4, "ln_cell_weight": 1,
                  "ln_cell_bias": 1},
                 "LSTM with layer normalisation of the gates and the cell (Ba et al. 2016)",
                 # gains 1, shifts 0: each normalisation starts pure; peepholes start at 0,
                 # so a fresh peephole LSTM is a plain LSTM
                 extra_init={"ln_gates_weight": 1.0, "ln_cell_weight": 1.0}),
    )
}  # fmt: skip
NONLINEARITIES = ("tanh", "relu")  # of the plain RNN cell


def cell_kind(name: str) -> CellKind:
    """The registry entry for ``name``; InputError naming the known cells otherwise."""
    try:
        return CELLS[name]
    except (KeyError, TypeError):
        raise InputError(f"unknown cell {name!r}; choose one of {', '.join(CELLS)}") from None


def direction_suffix(direction: int) -> str:
    """``""`` for the forward direction (0), ``"_reverse"`` for the backward one (1)."""
    return "_reverse" if direction == 1 else ""


def parameter_name(kind: str, layer: int, direction: int = 0) -> str:
    """torch.nn's name of a per-layer tensor: ``parameter_name("weight_ih", 1, 1)`` is
    ``"weight_ih_l1_reverse"``; ``kind`` may be an extra tensor's name too."""
    return f"{kind}_l{layer}{direction_suffix(direction)}"
