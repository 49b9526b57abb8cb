"""``rnnlab bench``: how fast each engine trains and writes, measured side by side in one run.

What is timed (:mod:`~rnnlab.bench.cases`)
    * a **training step**: forward, cross-entropy loss, backward and an Adam update
      (``engine.train_step(batch)``), float32, for each engine, cell and shape;
    * **generation**: characters per second sampled with :func:`rnnlab.generate.generate`
      from a 1-layer, 256-hidden LSTM character model (vocabulary 65, one-hot), one thread.

Engines: ``numpy`` (rnnlab's NumPy engine), ``torch-scratch`` and ``torch-native`` (the torch
engine's two backends), ``torch-scratch-compiled`` (scratch under ``torch.compile``; opt-in,
as compiling takes minutes on a CPU) and ``torch.nn``: the reference a torch user would write
(``nn.LSTM``/``GRU``/``RNN`` + ``nn.Linear`` + ``F.cross_entropy`` + ``torch.optim.Adam``,
one-hot input through ``F.one_hot``; :mod:`~rnnlab.bench.baseline`). Every ratio compares an
engine with torch.nn under the same load (> 1: slower).

How (:mod:`~rnnlab.bench.timing`, :mod:`~rnnlab.bench.measure`)
    Every measurement runs in this process under the same thread limit: threadpoolctl's
    ``threadpool_limits`` for NumPy's BLAS (and OpenMP) and ``torch.set_num_threads``.
    The engines of one cell and shape are timed together, in three rounds: each engine gets
    ``warmup`` untimed calls, then in every round (the order rotated per round) a block of
    untimed calls for ``min_time / 10`` seconds followed by timed calls, ``repeats`` and
    ``min_time`` seconds in all (see :func:`~rnnlab.bench.timing.time_rounds`). A row reports
    the median of its timed calls; its ratio is the median over rounds of its block's median
    divided by torch.nn's in the same round, so that load from other processes, which comes
    and goes over seconds, falls on both sides of each ratio.

FLOPs (the GFLOP/s column) count the matrix products only, 2 FLOPs per multiply-add::

    recurrent forward   2·T·B·G·H·(I + H)       G = 4 (LSTM), 3 (GRU), 1 (RNN)
    head forward        2·T·B·H·O               O = I: the model predicts its next input
    backward            2 × forward             one product for ∂inputs, one for ∂weights
    per step            3 × (recurrent + head)

One-hot input is counted as the dense product it stands for (I = V). Element-wise work (gates,
softmax, Adam) is not counted, so the figure is a nominal rate: how busy an engine keeps the
matrix units, to be read against the machine's **matmul peak**, measured here as the median
rate of a square float32 NumPy GEMM (1024³) under the same thread limit
(:mod:`~rnnlab.bench.machine`).

Peak memory (:mod:`~rnnlab.bench.memory`) is measured in a fresh process per row (Linux only;
"n/a" elsewhere), so that no allocator holds on to memory from an earlier row. The process
first trains a minimal model (B=1, T=2, I=H=1) of the same engine, unmeasured, so that the
libraries' one-time start-up (thread pools, autograd, kernels) is not counted; it makes the
batch, resets the resident-set high-water mark (VmHWM) through ``/proc/self/clear_refs``,
builds the model and runs two training steps. The row shows VmHWM minus the resident size
(VmRSS) before the build: weights, optimizer moments, activations, gradients and workspaces,
whoever allocated them (tracemalloc would see NumPy's arrays but not torch's). For compiled
models it includes the compiler's own memory. A row whose measuring process fails shows
"n/a" (its reason in JSON).

The package, one concept a module, each importing only those above it::

    baseline  the plain torch.nn reference (imports torch; loaded only when it is timed)
    cases     what is timed: engines, cells, shapes, the batch, one training step
    timing    timed calls, rounds of settled blocks, ratios paired round by round
    machine   the matmul peak and the libraries the rows ran with
    memory    peak memory of a row, in a fresh process
    measure   the training and generation rows of one run
    buckets   sentiment epochs: length buckets against random batches (--buckets)
    seq2seq_baseline  the plain PyTorch encoder–decoder (imports torch; loaded only when timed)
    seq2seq   the g2p encoder–decoder's training step per engine (--seq2seq)
    run       everything a configuration asks for: the report ``--json`` prints
    report    that report as tables for people (reads only the report and ``Shape``)
    command   the click command ``rnnlab bench``

Engines are built through :func:`rnnlab.engine.build_engine` only; importing this package
imports neither torch nor an engine.
"""

from rnnlab.bench.command import bench_command

__all__ = ["bench_command"]
