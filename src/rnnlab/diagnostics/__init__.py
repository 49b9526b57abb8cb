"""Diagnostics: what happens inside a recurrent model on one batch.

* :func:`probe` asks an engine (either kind, either's weights) for a :class:`Probe`: the
  total gradient ∂L/∂h_t of every layer at every step, hidden states, gates, cell states;
* :mod:`~rnnlab.diagnostics.gradient_flow`: ‖∂L/∂h_t‖ over time, its summary, and
  vanishing/exploding warnings;
* :mod:`~rnnlab.diagnostics.gates`: gate means and saturation, cell-state traces;
* :mod:`~rnnlab.diagnostics.command`: the ``rnnlab diagnose`` command (imports click).

Everything but a probe by the torch engine needs NumPy alone.
"""

from rnnlab.diagnostics.gates import cell_trace, gate_statistics
from rnnlab.diagnostics.gradient_flow import flow_summary, flow_warnings, norms_over_time
from rnnlab.diagnostics.probe import Probe, probe, probe_with

__all__ = [
    "Probe",
    "cell_trace",
    "flow_summary",
    "flow_warnings",
    "gate_statistics",
    "norms_over_time",
    "probe",
    "probe_with",
]
