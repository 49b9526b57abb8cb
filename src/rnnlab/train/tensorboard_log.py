"""TensorBoard event files of a run: ``rnnlab train TASK --tensorboard``.

What is written, with the ``tensorboard`` package's own writer and summaries:

* scalars at every log line and evaluation line, exactly the numbers of that line of
  ``metrics.jsonl``: ``train/loss``, ``train/lr``, ``train/grad_norm``,
  ``train/tokens_per_s``, ``train/bits_per_token``, ... and ``val/loss``, ``val/accuracy``,
  ``val/bits_per_token``, ``val/optimal_loss`` (a key ``val_X`` becomes ``val/X``, any
  other key ``K`` becomes ``train/K``);
* histograms at every evaluation: ``weights/NAME`` of every tensor of the state_dict,
  ``gradients/NAME`` of each, and ``gates/lL/GATE`` and ``hidden/lL`` of the probe text
  (:mod:`rnnlab.train.probe_file`: the same text the dashboard shows, every unit);
* ``sample``: the text the model wrote at that evaluation, taken from ``probe.json`` (the
  dashboard's sample, not generated a second time).

The gradients are those of the batch of the last training step, computed again on a float64
copy of the evaluated weights by the NumPy engine (dropout off, from a zero state): neither
engine keeps the gradients of a step once it is applied, and a copy cannot disturb
training. The gradient *norm* scalar is the training step's own.

Where: the event files lie in the run directory itself, beside ``metrics.jsonl``, as
``events.out.tfevents.*`` (a pattern of :data:`rnnlab.run_files.RUN_FILES`). That is what
``torch.utils.tensorboard`` does with its log directory, and it is what a user wants:
``tensorboard --logdir runs`` shows every run under its own name, ``--cell rnn,lstm`` runs
side by side; a run moved, shared or removed takes its events along; and the run directory
still holds only plain files of declared names, so ``--overwrite`` removes old events with
the rest of the run. A subfolder would be the one directory in a run of plain files, and a
folder outside the run (a ``--tensorboard-dir`` stored in config.json) would let a shared
run name a place on the reader's disk to write to; neither is offered. rnnlab never reads an
event file.

Resume: every session writes a new event file (TensorBoard reads all the files of a folder
in order) that opens with a ``SessionLog.START`` event at the step it continues from, as
``SummaryWriter(purge_step=...)`` does: TensorBoard then hides events of an earlier session
logged after its last checkpoint, which this session logs again (``metrics.jsonl`` is cut
back the same way). Nothing here touches the engine, its generators or the data order, so a
resumed run still continues bitwise.

The events are a by-product: a write that fails (a full disk, say) stops the logging, never
the training. ``tensorboard`` is an optional extra (``pip install "rnnlab[tensorboard]"``);
without it ``--tensorboard`` is refused before anything is built.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import replace

import numpy as np

from rnnlab.diagnostics.gates import split_gates
from rnnlab.engine import build_engine
from rnnlab.errors import InputError
from rnnlab.run_files import PROBE_FILE, parse_run_json, read_run_file
from rnnlab.train.probe_file import probe_batch

INSTALL = 'pip install "tensorboard>=2.16"'
BINS = 30  # buckets of each histogram (TensorBoard's own default)
FLOAT32_MAX = float(np.finfo(np.float32).max)
NOT_SCALARS = ("step",)  # the step is every event's step, not a series of its own


def require() -> None:
    """One-line InputError unless the ``tensorboard`` package can be imported."""
    try:
        import tensorboard.summary.writer.event_file_writer  # noqa: F401
    except ImportError as e:
        raise InputError(
            f"--tensorboard needs the tensorboard package ({e}); install it with `{INSTALL}` "
            "(or `pip install rnnlab[tensorboard]`), or drop --tensorboard"
        ) from e


def scalar_tag(key: str) -> str:
    """The TensorBoard tag of a metrics.jsonl key: ``val_loss`` → ``val/loss``,
    ``optimal_loss`` → ``val/optimal_loss``, ``lr`` → ``train/lr``."""
    if key.startswith("val_"):
        return "val/" + key.removeprefix("val_")
    if key == "optimal_loss":  # what the validation loss can reach
        return "val/" + key
    return "train/" + key


def open_log(trainer) -> TensorBoardLog | Off:
    """The trainer's event log for this session: on with --tensorboard, on rank 0 only."""
    if not getattr(trainer.config, "tensorboard", False) or trainer.rank != 0:
        return OFF
    return TensorBoardLog(trainer.run_dir, trainer.progress.step)


class Off:
    """No --tensorboard: every call does nothing."""

    def scalars(self, record: dict) -> None:
        pass

    def evaluation(self, trainer) -> None:
        pass

    def close(self) -> None:
        pass


OFF = Off()


class TensorBoardLog:
    """One session's event file in ``run_dir``, continuing after step ``step``."""

    def __init__(self, run_dir, step: int) -> None:
        require()
        from tensorboard.compat.proto import event_pb2
        from tensorboard.summary.writer.event_file_writer import EventFileWriter

        self.event_pb2 = event_pb2
        self.run_dir = run_dir
        try:
            self.writer = EventFileWriter(str(run_dir), flush_secs=30)
        except OSError as e:
            raise InputError(
                f"cannot write TensorBoard events in '{run_dir}' ({e.strerror}); "
                "free some space or check its permissions, or drop --tensorboard"
            ) from e
        start = event_pb2.SessionLog(status=event_pb2.SessionLog.START)
        self._add(event_pb2.Event(wall_time=time.time(), step=step + 1, session_log=start))

    # ------------------------------------------------------------------ what is written
    def scalars(self, record: dict) -> None:
        """Every number of one metrics.jsonl record, at its step."""
        from tensorboard.plugins.scalar.summary_v2 import scalar_pb

        for key, value in record.items():
            if key in NOT_SCALARS or isinstance(value, bool):
                continue
            if isinstance(value, (int, float)):
                self._summary(record["step"], scalar_pb(scalar_tag(key), _float32(value)))

    def evaluation(self, trainer) -> None:
        """Histograms of the weights, their gradients and the probe's gates, and the sample,
        of the model just evaluated; never raises (a by-product)."""
        from tensorboard.plugins.text.summary_v2 import text_pb

        step, engine = trainer.progress.step, trainer.engine
        with contextlib.suppress(Exception):  # a model this cannot follow: the others stay
            weights = engine.state_dict()
            for name, value in weights.items():
                self._histogram(step, f"weights/{name}", value)
            for name, value in _gradients(trainer, weights).items():
                self._histogram(step, f"gradients/{name}", value)
        with contextlib.suppress(Exception):
            for tag, values in _inside(trainer).items():
                self._histogram(step, tag, values)
        sample = _sample(trainer.run_dir, step)
        if sample is not None:
            self._summary(step, text_pb("sample", _as_code(sample)))
        self._flush()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()

    # ------------------------------------------------------------------ events
    def _histogram(self, step: int, tag: str, values) -> None:
        from tensorboard.compat.proto import summary_pb2
        from tensorboard.plugins.histogram.metadata import create_summary_metadata
        from tensorboard.util.tensor_util import make_tensor_proto

        summary = summary_pb2.Summary()
        summary.value.add(
            tag=tag,
            metadata=create_summary_metadata(display_name=None, description=None),
            tensor=make_tensor_proto(histogram_buckets(values), dtype=np.float64),
        )
        self._summary(step, summary)

    def _summary(self, step: int, summary) -> None:
        self._add(self.event_pb2.Event(wall_time=time.time(), step=int(step), summary=summary))

    def _add(self, event) -> None:
        if self.writer is None:
            return
        try:
            self.writer.add_event(event)
        except Exception:  # the writer's thread failed (a full disk): stop logging
            self._stop()

    def _flush(self) -> None:
        if self.writer is None:
            return
        try:
            self.writer.flush()
        except Exception:
            self._stop()

    def _stop(self) -> None:
        writer, self.writer = self.writer, None
        with contextlib.suppress(Exception):
            writer.close()


def histogram_buckets(values) -> np.ndarray:
    """(BINS, 3) rows of (left edge, right edge, count) of the finite values: the tensor a
    TensorBoard histogram holds (as ``histogram_pb`` makes it, without its (N, BINS)
    one-hot matrix, which a large weight matrix would make hundreds of MB)."""
    data = np.asarray(values, dtype=np.float64).ravel()  # (N,)
    data = data[np.isfinite(data)]
    if data.size == 0:
        return np.zeros((BINS, 3))
    low, high = float(data.min()), float(data.max())
    if low == high:  # one value: all of it in the last bucket, as TensorBoard's own does
        counts = np.zeros(BINS)
        counts[-1] = data.size
        return np.stack([np.full(BINS, low), np.full(BINS, low), counts], axis=1)  # (BINS, 3)
    counts, edges = np.histogram(data, bins=BINS, range=(low, high))  # (BINS,), (BINS + 1,)
    return np.stack([edges[:-1], edges[1:], counts], axis=1)  # (BINS, 3)


def _gradients(trainer, weights: dict) -> dict[str, np.ndarray]:
    """∂L/∂θ for every weight on the batch of the last training step (see the module's
    docstring); {} before the first step."""
    spec, p, cfg = trainer.engine.spec, trainer.progress, trainer.config
    if p.index < 1:
        return {}
    copy = build_engine(replace(spec, dtype="float64"), "numpy", seed=cfg.seed)
    copy.load_state_dict({k: np.asarray(v, np.float64) for k, v in weights.items()})
    batch = trainer.task.batch("train", p.index - 1, cfg.batch_size, p.epoch)
    with np.errstate(all="ignore"):  # (loss, grads, ...) for models and encoder–decoders
        return copy.loss_and_grads(batch, train=False)[1]


def _inside(trainer) -> dict[str, np.ndarray]:
    """Histogram tag -> values: every gate and h_t of every layer on the probe text's real
    steps; {} for a model without a per-step probe (encoder–decoder, classifier)."""
    engine, task = trainer.engine, trainer.task
    if not hasattr(engine, "probe") or engine.spec.one_per_sequence:
        return {}
    probe = engine.probe(probe_batch(task, trainer.config.eval_batch_size))
    valid = np.asarray(probe.valid, dtype=bool)  # (T, B)
    out = {}
    for layer in sorted(probe.hidden):
        out[f"hidden/l{layer}"] = probe.hidden[layer][valid]  # (N, H)
        gates = split_gates(probe.gates[layer], probe.cell) if layer in probe.gates else {}
        for name, values in gates.items():  # name -> (T, B, H)
            out[f"gates/l{layer}/{name}"] = values[valid]  # (N, H)
    return out


def _sample(run_dir, step: int) -> str | None:
    """The sample probe.json holds for ``step`` (written just before), or None."""
    with contextlib.suppress(InputError):
        data = read_run_file(run_dir, PROBE_FILE)
        evals = parse_run_json(data, PROBE_FILE, run_dir).get("evals") if data else None
        last = evals[-1] if isinstance(evals, list) and evals else None
        if isinstance(last, dict) and last.get("step") == step:
            sample = last.get("sample")
            return sample if isinstance(sample, str) else None
    return None


def _as_code(text: str) -> str:
    """Text as a Markdown code block: TensorBoard renders text summaries as Markdown, which
    would join the sample's lines and read its ``*`` and ``#`` as markup."""
    return "\n".join("    " + line for line in text.split("\n"))


def _float32(value: float) -> float:
    """A value TensorBoard stores (float32): beyond its range it is ±inf, not an overflow."""
    value = float(value)
    if math.isfinite(value) and abs(value) > FLOAT32_MAX:
        return math.copysign(math.inf, value)
    return value
