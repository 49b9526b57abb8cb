"""probe.json of models that do not answer at every step: a classifier's answers to a few
fixed validation examples (the engine's own predictions, probabilities, attention and
gates), an encoder–decoder's greedy outputs and attention matrices; bounded, and never a
reason for training to fail."""

import json

import numpy as np
import pytest

from rnnlab.tasks.classification import pad_examples
from rnnlab.tasks.seq2seq import EOS
from rnnlab.train.options import build_from_settings
from rnnlab.train.probe_examples import (
    CLASSIFIER_EXAMPLES,
    MAX_OUTPUT,
    SEQ2SEQ_EXAMPLES,
    chosen_examples,
)
from rnnlab.train.probe_file import PROBE_STEPS, PROBE_UNITS, write_probe
from rnnlab.train.session import start_run

MARKER = {"num": 200, "hidden": 12, "steps": 20, "eval_every": 10, "log_every": 10,
          "save_every": 20, "readout": "attention"}  # fmt: skip
REVERSE = {"num": 200, "symbols": 6, "hidden": 8, "steps": 16, "eval_every": 8,
           "log_every": 8, "save_every": 16}  # fmt: skip
ROUNDING = 5.1e-4  # probe.json keeps 3 decimals


def _train(tmp_path, task_name, settings, name="run"):
    task, spec, config = build_from_settings(task_name, settings)
    trainer = start_run(task, spec, config, tmp_path / name)
    return task, trainer


def _probe(run_dir):
    return json.loads((run_dir / "probe.json").read_text())


def _answers(engine, task, probe):
    """The engine's logits (B, O) and attention (T, B) for the probe's examples, read again."""
    val = task.splits["val"]
    picked = chosen_examples(val.lengths, CLASSIFIER_EXAMPLES, PROBE_STEPS)
    batch = pad_examples([val.ids[i] for i in picked], val.labels[picked])
    logits, alpha = engine.answer(batch.inputs, batch.lengths)
    return picked, np.asarray(logits, np.float64), alpha


def _softmax(logits):
    p = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return p / p.sum(axis=-1, keepdims=True)


# --------------------------------------------------------------------------- choosing
def test_the_examples_are_the_first_short_ones_then_the_shortest_of_the_rest():
    assert chosen_examples([5, 60, 7, 3], 3, 48) == [0, 2, 3]
    assert chosen_examples([50, 3, 60, 4, 49], 3, 48) == [1, 3, 4]  # 49 is the shortest long
    assert chosen_examples([60, 50], 3, 48) == [1, 0]  # fewer than asked: all, shortest first
    assert chosen_examples([], 3, 48) == []


# --------------------------------------------------------------------------- classifiers
@pytest.mark.parametrize("engine", ["numpy", "torch"])
def test_a_classifier_records_the_engines_answers_to_fixed_validation_examples(tmp_path, engine):
    task, trainer = _train(tmp_path, "marker", {**MARKER, "engine": engine})
    probe = _probe(trainer.run_dir)
    assert probe["kind"] == "classifier" and probe["readout"] == "attention"
    assert probe["labels"] == list(task.label_names) == ["a", "b", "c", "d"]
    assert probe["gates"] == ["i", "f", "g", "o"] and probe["units"] == list(range(PROBE_UNITS))
    assert [e["step"] for e in probe["evals"]] == [10, 20]
    # The header names each chosen validation example's tokens and true label.
    picked, logits, alpha = _answers(trainer.engine, task, probe)
    val = task.splits["val"]
    assert len(probe["examples"]) == CLASSIFIER_EXAMPLES
    for example, i in zip(probe["examples"], picked, strict=True):
        assert example["tokens"] == [str(t) for t in val.ids[i]]
        assert example["label"] == int(val.labels[i]) and example["length"] == len(val.ids[i])
    # The last record is the final weights' answers, rounded.
    last = probe["evals"][-1]["examples"]
    expected = _softmax(logits)  # (B, O)
    for b, (answer, example) in enumerate(zip(last, probe["examples"], strict=True)):
        n = len(example["tokens"])
        assert answer["predicted"] == int(logits[b].argmax())
        assert sum(answer["probabilities"]) == pytest.approx(1.0, abs=0.003)
        np.testing.assert_allclose(answer["probabilities"], expected[b], atol=ROUNDING)
        assert len(answer["attention"]) == n
        assert sum(answer["attention"]) == pytest.approx(1.0, abs=0.01)  # over its tokens
        np.testing.assert_allclose(answer["attention"], np.asarray(alpha)[:n, b], atol=ROUNDING)
        assert set(answer["gate_values"]) == set("ifgo")
        for rows in (answer["h"], answer["c"], *answer["gate_values"].values()):
            assert np.shape(rows) == (n, PROBE_UNITS)


def test_a_long_example_is_shown_cut_to_the_probe_steps_but_answered_whole(tmp_path):
    settings = {**MARKER, "num": 60, "min_len": 60, "max_len": 70, "hidden": 4, "steps": 4,
                "eval_every": 4, "batch_size": 8}  # fmt: skip
    task, trainer = _train(tmp_path, "marker", settings)
    probe = _probe(trainer.run_dir)
    _, logits, _ = _answers(trainer.engine, task, probe)
    for b, example in enumerate(probe["examples"]):
        answer = probe["evals"][-1]["examples"][b]
        assert len(example["tokens"]) == PROBE_STEPS and example["length"] >= 60
        assert len(answer["attention"]) == PROBE_STEPS
        assert np.shape(answer["gate_values"]["f"]) == (PROBE_STEPS, 4)
        assert answer["predicted"] == int(logits[b].argmax())  # of the whole sequence
    assert (trainer.run_dir / "probe.json").stat().st_size < 100_000


def test_a_bidirectional_classifier_gets_predictions_without_gates(tmp_path):
    settings = {**MARKER, "readout": "mean", "bidirectional": True, "steps": 10}
    task, trainer = _train(tmp_path, "marker", settings)
    probe = _probe(trainer.run_dir)
    _, logits, _ = _answers(trainer.engine, task, probe)
    last = probe["evals"][-1]["examples"]
    assert [a["predicted"] for a in last] == logits.argmax(axis=-1).tolist()
    for answer in last:
        assert set(answer) == {"predicted", "probabilities"}  # no attention, no gates


def test_a_classifier_the_probe_cannot_follow_still_trains(tmp_path, monkeypatch):
    from rnnlab.numpy.engine import NumpyEngine

    def broken(self, inputs, lengths):
        raise RuntimeError("the answer broke")

    monkeypatch.setattr(NumpyEngine, "answer", broken)
    _, trainer = _train(tmp_path, "marker", MARKER)
    assert trainer.progress.step == 20
    assert not (trainer.run_dir / "probe.json").exists()


# --------------------------------------------------------------------------- seq2seq
@pytest.fixture(scope="module")
def reverse_run(tmp_path_factory):
    return _train(tmp_path_factory.mktemp("reverse"), "reverse", REVERSE)


def test_an_encoder_decoder_records_its_greedy_outputs_and_attention(reverse_run):
    task, trainer = reverse_run
    probe = _probe(trainer.run_dir)
    assert probe["kind"] == "seq2seq" and probe["attention"] == trainer.engine.spec.attention
    assert [e["step"] for e in probe["evals"]] == [8, 16]
    sources, references = task.references("val")
    picked = chosen_examples([len(s) for s in sources], SEQ2SEQ_EXAMPLES, PROBE_STEPS)
    assert len(probe["examples"]) == SEQ2SEQ_EXAMPLES
    for example, i in zip(probe["examples"], picked, strict=True):
        assert example["source"] == [task.source_tokens[t] for t in sources[i]]
        assert "".join(example["reference"]) == task.format_target(references[i][0])
    hypotheses = task.decode(trainer.engine, [sources[i] for i in picked])
    for output, example, h in zip(probe["evals"][-1]["examples"], probe["examples"],
                                  hypotheses, strict=True):  # fmt: skip
        assert output["output"] == [task.format_target([t]) for t in h.tokens][:MAX_OUTPUT]
        alpha = np.array(output["attention"])  # (steps, S): a row per output step, <eos>'s too
        assert alpha.shape == (len(output["output"]) + output["ended"], len(example["source"]))
        np.testing.assert_allclose(alpha.sum(axis=1), 1.0, atol=0.01)
        np.testing.assert_allclose(alpha, h.attention, atol=ROUNDING)


class _ScriptedEnd:
    """A real decoder whose <eos> comes exactly at output step ``end_at`` (never: None)."""

    def __init__(self, decoder, end_at):
        self.decoder, self.end_at, self.t = decoder, end_at, 0

    def start(self, source, lengths):
        self.t = 0
        return self.decoder.start(source, lengths)

    def select(self, carry, rows):
        return self.decoder.select(carry, rows)

    def step(self, tokens, carry):
        logp, alpha, carry = self.decoder.step(tokens, carry)
        self.t += 1
        logp = np.array(logp)  # (B, V)
        if self.t == self.end_at:
            logp[:] = -np.inf
            logp[:, EOS] = 0.0
        else:
            logp[:, EOS] = -np.inf
        return logp, alpha, carry


def _scripted_probe(tmp_path, monkeypatch, reverse_run, sources, end_at):
    """The probe's record of the trained model decoding ``sources``, <eos> at ``end_at``."""
    task, trainer = reverse_run
    references = [[(2,)] for _ in sources]
    monkeypatch.setattr(task, "references", lambda split: (sources, references))
    real = trainer.engine.decoder
    monkeypatch.setattr(trainer.engine, "decoder", lambda: _ScriptedEnd(real(), end_at))
    assert write_probe(tmp_path, trainer.engine, task, 1, 8)
    return _probe(tmp_path)["evals"][0]["examples"]


def test_an_output_that_wrote_eos_is_ended_even_past_its_own_sources_limit(
    tmp_path, monkeypatch, reverse_run
):
    task, _ = reverse_run
    sources = [np.array([0, 1, 2]), np.array([3, 4, 5, 0, 1, 2])]
    short_limit = task.max_output_length(3)  # both decode up to the long one's limit
    assert task.max_output_length(6) >= short_limit + 2
    outputs = _scripted_probe(tmp_path, monkeypatch, reverse_run, sources, short_limit + 2)
    for output in outputs:
        assert len(output["output"]) == short_limit + 1 and output["ended"]
        assert len(output["attention"]) == short_limit + 2  # <eos>'s row too


def test_an_output_that_never_ends_is_cut_to_max_output_steps(tmp_path, monkeypatch, reverse_run):
    task, _ = reverse_run
    sources = [np.arange(6), np.arange(70) % 6]
    assert task.max_output_length(70) > MAX_OUTPUT
    outputs = _scripted_probe(tmp_path, monkeypatch, reverse_run, sources, None)
    for output, n in zip(outputs, (6, PROBE_STEPS), strict=True):
        assert not output["ended"]
        assert len(output["output"]) == MAX_OUTPUT == len(output["attention"])
        assert {len(row) for row in output["attention"]} == {n}  # the shown source tokens


def test_an_encoder_decoder_the_probe_cannot_decode_writes_nothing_and_raises_nothing(
    tmp_path, monkeypatch, reverse_run
):
    task, trainer = reverse_run

    def broken(engine, sources, **options):
        raise RuntimeError("decoding broke")

    monkeypatch.setattr(task, "decode", broken)
    assert not write_probe(tmp_path, trainer.engine, task, 1, 8)
    assert not (tmp_path / "probe.json").exists()
