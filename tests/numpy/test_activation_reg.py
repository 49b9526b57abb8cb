"""AR and TAR in the NumPy engine: the penalties equal their formulas on a case computed by
hand, their backward passes equal finite differences on padded batches (alone, and around
the output's locked dropout with and without its mask), they sit where AWD-LSTM puts them
in a whole model, count in the training loss and never in evaluation."""

import numpy as np
import pytest

from rnnlab.batch import Batch
from rnnlab.masks import Masks, MaskSource, keep_scale
from rnnlab.model import ModelSpec
from rnnlab.numpy.activation_reg import PenaltyPart, ar_penalty, tar_penalty
from rnnlab.numpy.engine import NumpyEngine
from rnnlab.numpy.gradcheck import gradcheck_configs, run_gradchecks
from rnnlab.numpy.locked_dropout import LockedDropoutPart
from rnnlab.numpy.model import Model
from rnnlab.numpy.parts import Flow
from rnnlab.numpy.readouts import real_steps
from tests.numpy.finite_differences import numerical_grad, rel_error

# y (T, B, U) = (3, 2, 2); sequence 1 is 2 steps long, its step 2 (padding) is not zero, so
# counting it anywhere would change the numbers
Y = np.array([[[1.0, 2.0], [2.0, 0.0]],
              [[3.0, 0.0], [1.0, 1.0]],
              [[0.0, 1.0], [5.0, 5.0]]])  # fmt: skip
LENGTHS = np.array([3, 2])


def run_part(part, y, lengths=None, train=True):
    flow = Flow(train=train, lengths=lengths)
    out, cache = part.forward(y, flow)
    return out, cache, flow.penalty


# ------------------------------------------------------------------ values, by hand
def test_ar_is_the_mean_square_over_the_real_steps_and_units():
    # real squares: sequence 0: 1+4 + 9+0 + 0+1 = 15; sequence 1: 4+0 + 1+1 = 6; N·U = 5·2
    assert ar_penalty(Y, real_steps(LENGTHS, 3, 2), 1.0) == pytest.approx(21 / 10, abs=1e-15)
    # without lengths every step is real: + 25+25, N·U = 6·2
    assert ar_penalty(Y, real_steps(None, 3, 2), 0.5) == pytest.approx(0.5 * 71 / 12, abs=1e-15)


def test_tar_is_the_mean_square_change_over_the_real_pairs_of_steps():
    # pairs: sequence 0: (1,0) d=(2,-2) → 8, (2,1) d=(-3,1) → 10; sequence 1: (1,0) d=(-1,1)
    # → 2; M·U = 3·2. The pair (2,1) of sequence 1 reaches into its padding: not counted.
    assert tar_penalty(Y, real_steps(LENGTHS, 3, 2), 1.0) == pytest.approx(20 / 6, abs=1e-15)
    # without lengths: + (2,1) of sequence 1, d=(4,4) → 32, M·U = 4·2
    assert tar_penalty(Y, real_steps(None, 3, 2), 2.0) == pytest.approx(2 * 52 / 8, abs=1e-15)


def test_no_pair_of_real_steps_gives_tar_zero_and_a_zero_gradient_not_nan():
    part = PenaltyPart("tar", 1.0)
    for y, lengths in [(Y, np.array([1, 1])), (Y[:1], None)]:  # one real step each
        _, cache, penalty = run_part(part, y, lengths)
        assert penalty == 0.0
        dy, _ = part.backward(np.ones_like(y), cache, Flow())
        np.testing.assert_array_equal(dy, np.ones_like(y))


def test_outside_training_or_at_zero_the_parts_are_the_identity_and_add_nothing():
    for part, train in [(PenaltyPart("ar", 3.0), False), (PenaltyPart("tar", 0.0), True)]:
        out, cache, penalty = run_part(part, Y, LENGTHS, train=train)
        assert out is Y and penalty == 0.0
        dy = np.ones_like(Y)
        assert part.backward(dy, cache, Flow())[0] is dy


# ------------------------------------------------------------------ gradients
@pytest.mark.parametrize("kind", ["ar", "tar"])
@pytest.mark.parametrize("lengths", [None, np.array([5, 3, 1, 4])], ids=["full", "padded"])
def test_each_backward_matches_finite_differences(kind, lengths):
    rng = np.random.default_rng(0)
    y = rng.normal(size=(5, 4, 3))  # (T, B, U)
    R = rng.normal(size=y.shape)  # the loss after the part: Σ R ⊙ out
    part = PenaltyPart(kind, 0.7)

    def loss():
        out, _, penalty = run_part(part, y, lengths)
        return float(np.sum(R * out) + penalty)

    _, cache, _ = run_part(part, y, lengths)
    dy, _ = part.backward(R, cache, Flow())
    assert rel_error(dy, numerical_grad(loss, y)) < 1e-8
    assert rel_error(dy - R, numerical_grad(lambda: run_part(part, y, lengths)[2], y)) < 1e-8


@pytest.mark.parametrize("masked", [False, True], ids=["no-mask", "locked-mask"])
def test_tar_then_locked_dropout_then_ar_matches_finite_differences(masked):
    """The model's order: TAR of y, the output mask, AR of ỹ = y ⊙ s, on a padded batch."""
    rng = np.random.default_rng(1)
    y = rng.normal(size=(6, 3, 4))  # (T, B, U)
    R = rng.normal(size=y.shape)
    lengths = np.array([6, 2, 4])
    masks = Masks(output=keep_scale(rng, (3, 4), 0.5, np.float64)) if masked else None
    parts = [PenaltyPart("tar", 1.3), LockedDropoutPart("output"), PenaltyPart("ar", 2.1)]

    def forward():
        flow, x, caches = Flow(lengths=lengths, masks=masks), y, []
        for part in parts:
            x, cache = part.forward(x, flow)
            caches.append(cache)
        return x, caches, flow

    def loss():
        out, _, flow = forward()
        return float(np.sum(R * out) + flow.penalty)

    _, caches, _ = forward()
    dy = R
    for part, cache in zip(reversed(parts), reversed(caches), strict=True):
        dy, _ = part.backward(dy, cache, Flow())
    assert rel_error(dy, numerical_grad(loss, y)) < 1e-8
    if masked:  # AR read ỹ: a unit dropped for a sequence costs it nothing there
        np.testing.assert_array_equal(caches[2].y, y * masks.output[None])


# ------------------------------------------------------------------ in a whole model
SPEC = ModelSpec(input_size=5, output_size=5, hidden_size=4, bidirectional=True,
                 input_kind="embedding", embedding_dim=3, locked_dropout=0.5, dropout=0.3,
                 activation_reg=2.0, temporal_activation_reg=1.0, dtype="float64")  # fmt: skip


def padded_batch(T=5, B=3):
    rng = np.random.default_rng(2)
    lengths = np.array([5, 2, 4])
    mask = np.arange(T)[:, None] < lengths[None, :]
    return Batch(rng.integers(0, 5, (T, B)), rng.integers(0, 5, (T, B)), mask, lengths)


def test_tar_reads_the_stacks_output_and_ar_the_same_after_locked_dropout():
    model, batch = Model(SPEC, seed=0), padded_batch()
    masks = MaskSource(SPEC, 0).draw(3)
    _, _, caches = model.forward(batch.inputs, lengths=batch.lengths, masks=masks)
    y, y_tilde = caches["tar"].y, caches["ar"].y
    expected, _, _ = model.rnn.forward(
        model.embedding.forward(batch.inputs, row_scale=None)[0], lengths=batch.lengths
    )
    np.testing.assert_array_equal(y, expected)  # nothing before TAR but the stack
    np.testing.assert_array_equal(y_tilde, y * masks.output[None])  # the plain dropout is after
    real = np.arange(5)[:, None, None] < batch.lengths[None, :, None]  # (T, B, 1)
    d = y[1:] - y[:-1]
    pairs = real[1:] & real[:-1]
    U = 8  # D·H
    ar = 2.0 * np.sum(real * y_tilde**2) / (real.sum() * U)
    tar = 1.0 * np.sum(pairs * d**2) / (pairs.sum() * U)
    assert caches["flow"].penalty == pytest.approx(ar + tar, rel=1e-14)


def test_training_adds_the_penalties_to_the_loss_and_evaluation_does_not():
    batch = padded_batch()
    spec = ModelSpec(**{**SPEC.to_dict(), "dropout": 0.0})  # no per-call masks
    plain = ModelSpec(**{**spec.to_dict(), "activation_reg": 0.0, "temporal_activation_reg": 0.0})
    with_reg, without = NumpyEngine(spec, seed=3), NumpyEngine(plain, seed=3)
    assert with_reg.evaluate(batch).loss == without.evaluate(batch).loss  # the task's only
    loss, _, _, _ = with_reg.loss_and_grads(batch)  # the same seed: the same masks
    task, _, _, _ = without.loss_and_grads(batch)
    masks = MaskSource(spec, 3).draw(3)
    _, _, caches = Model(spec, seed=3).forward(batch.inputs, lengths=batch.lengths, masks=masks)
    assert caches["flow"].penalty > 0.01
    assert loss == pytest.approx(task + caches["flow"].penalty, abs=1e-14)


def test_a_whole_model_with_ar_and_tar_passes_the_gradcheck():
    """The `rnnlab gradcheck` rows: every mask, AR and TAR, per step and as a classifier."""
    configs = [c for c in gradcheck_configs(["lstm"]) if c.penalised]
    rows = run_gradchecks(configs, seq_len=4, batch_size=3)
    assert [row.cell for row in rows] == ["lstm+ar/tar", "lstm→last+ar/tar"]
    for row in rows:
        assert row.passed, (row.cell, row.worst, row.error)


@pytest.mark.parametrize("kind", ["ar", "tar"])
def test_a_float32_model_stays_float32(kind):
    y = np.random.default_rng(4).normal(size=(4, 3, 2)).astype(np.float32)
    part = PenaltyPart(kind, 0.5)
    _, cache, penalty = run_part(part, y, np.array([4, 1, 3]))
    dy, _ = part.backward(np.zeros_like(y), cache, Flow())
    assert dy.dtype == np.float32 and np.asarray(penalty).dtype == np.float32
    assert part.gradient(y, cache.real, 0.5).dtype == np.float32  # before any cast into dy
