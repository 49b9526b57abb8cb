"""The NumPy encoder–decoder: the whole model's gradients against central differences,
padding that changes nothing, and its state_dict names."""

import numpy as np
import pytest

from rnnlab.numpy.seq2seq import Seq2SeqModel
from rnnlab.numpy.seq2seq_gradcheck import check_seq2seq, seq2seq_configs, seq2seq_label
from rnnlab.seq2seq.batch import make_batch
from rnnlab.seq2seq.spec import Seq2SeqSpec

CONFIGS = seq2seq_configs(hidden_size=2)


IDS = [f"{seq2seq_label(s)} L{s.num_layers} D{s.directions}" for s in CONFIGS]


@pytest.mark.parametrize("spec", CONFIGS, ids=IDS)
def test_every_gradient_matches_finite_differences(spec):
    """Padded sources and targets, every parameter, the model's own masked loss."""
    results = check_seq2seq(spec, batch_size=2, source_len=4, target_len=3)
    assert len(results) == len(spec.parameter_shapes())
    failed = [(r.name, r.error) for r in results if not r.passed]
    assert not failed, failed


@pytest.mark.parametrize("attention", ["bahdanau", "dot", "general", "none"])
def test_padding_changes_no_logit_of_a_real_position(attention):
    """A pair batched with longer ones gives the logits it gives alone."""
    spec = Seq2SeqSpec(7, 6, hidden_size=3, bidirectional=True, attention=attention,
                       dtype="float64")  # fmt: skip
    model = Seq2SeqModel(spec, seed=0)
    alone = make_batch([[1, 2]], [[3]], bos=0, eos=1)
    padded = make_batch([[1, 2], [3, 4, 5, 6]], [[3], [2, 4, 5]], bos=0, eos=1)
    logits_alone, _ = model.forward(alone, train=False)
    logits_padded, _ = model.forward(padded, train=False)
    np.testing.assert_allclose(logits_padded[:2, 0], logits_alone[:, 0], rtol=1e-12)


def test_params_are_the_spec_state_dict():
    spec = Seq2SeqSpec(7, 6, hidden_size=3, num_layers=2, bidirectional=True,
                       attention="general", input_feeding=True)  # fmt: skip
    model = Seq2SeqModel(spec, seed=0)
    shapes = {name: p.shape for name, p in model.params.items()}
    assert shapes == spec.parameter_shapes()
    assert list(shapes) == list(spec.parameter_shapes())  # the same order
    assert "encoder.rnn.weight_hh_l1_reverse" in shapes and "decoder.rnn.weight_ih_l1" in shapes


def test_state_dict_round_trip_and_seeds():
    spec = Seq2SeqSpec(5, 5, hidden_size=2)
    a, b = Seq2SeqModel(spec, seed=1), Seq2SeqModel(spec, seed=2)
    assert any(not np.array_equal(a.params[k], b.params[k]) for k in a.params)
    b.load_state_dict(a.state_dict())
    assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)
    with pytest.raises(ValueError, match="missing"):
        b.load_state_dict({})
