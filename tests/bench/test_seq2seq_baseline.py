"""The plain PyTorch encoder–decoder that ``rnnlab bench --seq2seq`` measures against does the
work of an rnnlab step: with rnnlab's weights loaded (the same names), the same loss and
gradients as rnnlab's torch model and the same update as the NumPy engine, in float64,
for the g2p setup (Luong general, the decoder run in one call) and the stepped ones."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from rnnlab.bench.seq2seq_baseline import TorchNNSeq2Seq, training_step  # noqa: E402
from rnnlab.engine import build_engine  # noqa: E402
from rnnlab.seq2seq.batch import make_batch  # noqa: E402
from rnnlab.seq2seq.spec import Seq2SeqSpec  # noqa: E402

SPECS = {
    "g2p-like": {"bidirectional": True, "embedding_dim": 5, "attention": "general"},
    "dot, 2 layers": {"bidirectional": True, "num_layers": 2, "attention": "dot"},
    "input feeding": {"attention": "general", "input_feeding": True},
    "bahdanau gru": {"cell": "gru", "bidirectional": True, "attention": "bahdanau"},
    "none, zeros": {"attention": "none", "bridge": "zeros"},
}


def _setup(settings):
    spec = Seq2SeqSpec(7, 9, hidden_size=4, dtype="float64", **settings)
    rng = np.random.default_rng(0)
    sources = [rng.integers(0, 7, n) for n in (5, 2, 4)]  # padded sources: lengths differ
    targets = [rng.integers(2, 9, n) for n in (3, 1, 4)]
    batch = make_batch(sources, targets, 0, 1)
    engine = build_engine(spec, "numpy", optimizer="adam", lr=0.01, grad_clip=0.5)
    for p in engine.model.params.values():  # non-zero biases and varied weights
        p[...] = rng.uniform(-0.5, 0.5, p.shape)
    reference = TorchNNSeq2Seq(spec).double()
    reference.load_state_dict({k: torch.from_numpy(v) for k, v in engine.state_dict().items()})
    return spec, batch, engine, reference


@pytest.mark.parametrize("name", SPECS)
def test_same_loss_and_gradients_as_rnnlabs_torch_model(name):
    spec, batch, engine, reference = _setup(SPECS[name])
    rnnlab = build_engine(spec, "torch")
    rnnlab.load_state_dict(engine.state_dict())
    loss, _ = rnnlab.loss(batch)
    loss.backward()
    mask = torch.from_numpy(batch.mask)
    logits = reference(torch.from_numpy(batch.source), torch.from_numpy(batch.source_lengths),
                       torch.from_numpy(batch.target_inputs))  # fmt: skip
    ref_loss = torch.nn.functional.cross_entropy(
        logits[mask], torch.from_numpy(batch.targets)[mask]
    )
    ref_loss.backward()
    np.testing.assert_allclose(ref_loss.item(), loss.item(), rtol=1e-12)
    ours = dict(rnnlab.model.named_parameters())
    ours = {k.replace("attentional.", ""): v for k, v in ours.items()}
    for k, p in reference.named_parameters():  # None: no path to the loss (the encoder of
        # a plain encoder–decoder with a zeros bridge)
        expected = 0.0 if ours[k].grad is None else ours[k].grad.numpy()
        got = np.zeros(p.shape) if p.grad is None else p.grad.numpy()
        np.testing.assert_allclose(got, expected, atol=1e-12, err_msg=k)


@pytest.mark.parametrize("name", ["g2p-like", "bahdanau gru"])
def test_a_step_makes_the_numpy_engines_update(name):
    _, batch, engine, reference = _setup(SPECS[name])
    step = training_step(reference, batch, lr=0.01, grad_clip=0.5)
    ref_loss = step()
    result = engine.train_step(batch)
    assert result.updated
    np.testing.assert_allclose(ref_loss, result.loss, rtol=1e-12)
    after = reference.state_dict()
    for k, v in engine.state_dict().items():
        np.testing.assert_allclose(after[k].numpy(), v, atol=1e-10, err_msg=k)
