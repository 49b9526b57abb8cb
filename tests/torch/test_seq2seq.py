"""The torch encoder–decoder equals the NumPy one in float64: forward, loss, every
gradient, a whole Adam step, greedy decoding; checkpoints interchange; the recurrent
parts load strictly into torch.nn."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from rnnlab.numpy.seq2seq_engine import NumpySeq2SeqEngine  # noqa: E402
from rnnlab.numpy.seq2seq_gradcheck import random_pairs  # noqa: E402
from rnnlab.seq2seq.batch import make_batch  # noqa: E402
from rnnlab.seq2seq.decode import beam_search, greedy  # noqa: E402
from rnnlab.seq2seq.spec import Seq2SeqSpec  # noqa: E402
from rnnlab.torch.seq2seq_engine import TorchSeq2SeqEngine  # noqa: E402

CASES = {  # attention, input feeding, bidirectional, layers, cell, bridge
    "bahdanau": dict(attention="bahdanau"),
    "bahdanau bi 2L": dict(attention="bahdanau", bidirectional=True, num_layers=2),
    "dot bi": dict(attention="dot", bidirectional=True),
    "dot feed 2L": dict(attention="dot", input_feeding=True, num_layers=2),
    "general feed bi gru": dict(attention="general", input_feeding=True, bidirectional=True,
                                cell="gru"),
    "general 2L zeros rnn": dict(attention="general", num_layers=2, bridge="zeros", cell="rnn"),
    "none bi": dict(attention="none", bidirectional=True),
}  # fmt: skip


def engines(case: str, seed: int = 0, **kw):
    spec = Seq2SeqSpec(7, 8, hidden_size=4, embedding_dim=3, dtype="float64", **CASES[case])
    rng = np.random.default_rng(seed)
    numpy_engine = NumpySeq2SeqEngine(spec, seed=seed, **kw)
    for p in numpy_engine.model.params.values():  # far from the init: every part matters
        p[...] = rng.uniform(-1.0, 1.0, p.shape)
    torch_engine = TorchSeq2SeqEngine(spec, seed=seed, **kw)
    torch_engine.load_state_dict(numpy_engine.state_dict())
    sources, targets = random_pairs(rng, 4, 6, 5, spec.source_vocab, spec.target_vocab)
    return numpy_engine, torch_engine, make_batch(sources, targets, bos=0, eos=1)


@pytest.mark.parametrize("case", CASES)
def test_forward_loss_and_every_gradient_equal(case):
    numpy_engine, torch_engine, batch = engines(case)
    loss, grads, logits = numpy_engine.loss_and_grads(batch, train=False)
    torch_engine.model.eval()
    t_loss, t_logits = torch_engine.loss(batch)
    t_loss.backward()
    np.testing.assert_allclose(t_logits.detach().numpy(), logits, rtol=1e-10, atol=1e-12)
    assert abs(float(t_loss.detach()) - loss) < 1e-12
    t_grads = {n: p.grad for n, p in torch_engine.model.named_parameters()}
    t_grads = {n.replace("attentional.", ""): g for n, g in t_grads.items()}
    assert sorted(t_grads) == sorted(grads)
    for name, grad in grads.items():
        np.testing.assert_allclose(t_grads[name].numpy(), grad, rtol=1e-9, atol=1e-12,
                                   err_msg=name)  # fmt: skip


@pytest.mark.parametrize("case", ["bahdanau bi 2L", "dot feed 2L"])
def test_a_whole_adam_step_is_equal(case):
    numpy_engine, torch_engine, batch = engines(case, lr=0.01)
    a, b = numpy_engine.train_step(batch), torch_engine.train_step(batch)
    assert abs(a.loss - b.loss) < 1e-12 and abs(a.grad_norm - b.grad_norm) < 1e-10
    after = torch_engine.state_dict()
    for name, value in numpy_engine.state_dict().items():
        np.testing.assert_allclose(after[name], value, rtol=1e-9, atol=1e-12, err_msg=name)
    tensors, meta = torch_engine.optimizer_state()
    numpy_engine.load_optimizer_state(tensors, meta)  # the optimizer state interchanges too


def test_checkpoints_interchange_both_ways():
    numpy_engine, torch_engine, batch = engines("general feed bi gru")
    fresh = NumpySeq2SeqEngine(numpy_engine.spec, seed=5)
    fresh.load_state_dict(torch_engine.state_dict())
    np.testing.assert_array_equal(fresh.evaluate(batch).outputs,
                                  numpy_engine.evaluate(batch).outputs)  # fmt: skip


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_recurrent_parts_load_strictly_into_torch_nn(cell):
    spec = Seq2SeqSpec(7, 8, cell=cell, hidden_size=4, num_layers=2, bidirectional=True,
                       dtype="float64")  # fmt: skip
    state = TorchSeq2SeqEngine(spec, seed=0).state_dict()
    for half, bidirectional in (("encoder", True), ("decoder", False)):
        rnn = {k[len(half) + 5 :]: torch.from_numpy(v) for k, v in state.items()
               if k.startswith(f"{half}.rnn.")}  # fmt: skip
        width = rnn["weight_ih_l0"].shape[1]
        hidden = rnn["weight_hh_l0"].shape[1]
        cls = torch.nn.LSTM if cell == "lstm" else torch.nn.GRU
        native = cls(width, hidden, num_layers=2, bidirectional=bidirectional, dtype=torch.float64)
        native.load_state_dict(rnn, strict=True)


@pytest.mark.parametrize("case", ["bahdanau bi 2L", "dot feed 2L", "none bi"])
def test_greedy_and_beam_decoding_are_identical_across_engines(case):
    numpy_engine, torch_engine, batch = engines(case, seed=3)
    src, lengths = batch.source, batch.source_lengths
    for search in (greedy, lambda d, *a: beam_search(d, *a, beam=3)):
        a = search(numpy_engine.decoder(), src, lengths, 0, 1, 7)
        b = search(torch_engine.decoder(), src, lengths, 0, 1, 7)
        assert [h.tokens for h in a] == [h.tokens for h in b]
        assert any(h.tokens for h in a)  # not a trivial all-<eos> answer
        for x, y in zip(a, b, strict=True):
            assert abs(x.score - y.score) < 1e-10
            if x.attention is not None:
                np.testing.assert_allclose(x.attention, y.attention, atol=1e-12)
