"""An encoder–decoder goes through the one trainer like every other model: its run
directory records a Seq2SeqSpec (``"kind": "seq2seq"``) and rebuilds it, resumes bitwise
after Ctrl-C in both engines, and ``evaluate``, ``inspect`` and ``generate`` work from the
directory alone; a run without the marker is a ModelSpec run, loaded as before."""

import json
import os
import signal

import numpy as np
import pytest

from rnnlab.checkpoint import read_run_config
from rnnlab.cli import main
from rnnlab.model import ModelSpec
from rnnlab.seq2seq.spec import Seq2SeqSpec
from rnnlab.train.options import build_from_settings
from rnnlab.train.session import load_run, resume_run, start_run
from rnnlab.train.signals import Interrupted

SMALL = {"num": 200, "symbols": 6, "hidden": 8, "steps": 16, "eval_every": 8,
         "save_every": 8, "log_every": 4}  # fmt: skip


def _start(path, reporter=None, **settings):
    task, spec, config = build_from_settings("reverse", {**SMALL, **settings})
    return start_run(task, spec, config, path, reporter=reporter)


def test_the_run_records_a_seq2seq_spec_and_load_run_rebuilds_it(tmp_path):
    trainer = _start(tmp_path / "run", attention="bahdanau")
    model = read_run_config(tmp_path / "run")["model"]
    assert model["kind"] == "seq2seq" and model["attention"] == "bahdanau"
    loaded = load_run(tmp_path / "run")
    assert isinstance(loaded.spec, Seq2SeqSpec) and loaded.spec == trainer.engine.spec
    for name, value in trainer.engine.state_dict().items():
        assert np.array_equal(loaded.engine.state_dict()[name], value), name


def test_a_run_without_the_marker_is_a_model_spec_run(tmp_path):
    task, spec, config = build_from_settings("anbn", {"hidden": 4, "steps": 2})
    start_run(task, spec, config, tmp_path / "old")
    assert "kind" not in read_run_config(tmp_path / "old")["model"]
    assert type(load_run(tmp_path / "old").spec) is ModelSpec


class _CtrlC:
    def start(self, trainer): ...
    def log(self, record): ...
    def stop(self, progress): ...

    def advance(self, progress):
        if progress.step == 6:
            os.kill(os.getpid(), signal.SIGINT)


@pytest.mark.parametrize("engine", ["numpy", "torch"])
def test_resume_after_ctrl_c_is_bitwise(tmp_path, engine):
    """Dropout between two layers (its generator), Adam, the cosine schedule and the
    bucketed batch order all continue exactly."""
    if engine == "torch":
        pytest.importorskip("torch")
    extra = {"engine": engine, "layers": 2, "dropout": 0.3}
    whole = _start(tmp_path / "whole", **extra)
    with pytest.raises(Interrupted):
        _start(tmp_path / "split", reporter=_CtrlC(), **extra)
    resumed = resume_run(tmp_path / "split")
    assert resumed.progress.step == whole.progress.step == 16
    a, b = whole.engine.state_dict(), resumed.engine.state_dict()
    for name in a:
        assert np.array_equal(a[name], b[name]), name


def test_evaluate_inspect_and_generate_from_the_run_directory(tmp_path, capsys):
    _start(tmp_path / "run")
    run = str(tmp_path / "run")
    assert main(["evaluate", run, "--json", "--split", "test"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    for key in ("loss", "accuracy", "exact_match", "token_error_rate", "mirror_attention"):
        assert 0 <= metrics[key] < np.inf, key
    assert metrics["split"] == "test" and metrics["decoded"] == 20
    assert main(["evaluate", run, "--json", "--beam", "3"]) == 0
    beam = json.loads(capsys.readouterr().out)
    assert (beam["beam"], beam["length_penalty"]) == (3, 1.0)
    assert main(["evaluate", run, "--json", "--beam", "3", "--length-penalty", "0"]) == 0
    assert json.loads(capsys.readouterr().out)["length_penalty"] == 0.0
    assert main(["inspect", run]) == 0
    table = capsys.readouterr().out
    for part in ("encoder", "bridge", "decoder", "attention", "head"):
        assert part in table
    assert main(["generate", run, "--input", "abcf", "--beam", "2"]) == 0
    source, output = capsys.readouterr().out.rstrip("\n").split("\t")
    assert source == "abcf" and set(output) <= set("abcdef")


def test_bad_input_to_a_seq2seq_run_is_one_line_and_exit_2(tmp_path, capsys):
    _start(tmp_path / "run")
    run = str(tmp_path / "run")
    for argv, says in [
        (["generate", run, "--input", "abz"], "'z'"),
        (["generate", run], "--input"),
        (["generate", run, "--input", "abc", "--length-penalty", "0.5"], "--beam"),
        (["evaluate", run, "--length-penalty", "0.5"], "--beam"),
        (["generate", run, "--input", "abc", "--beam", "2", "--length-penalty", "-1"], "-1"),
        (["train", "reverse", "--readout", "mean", "--out", str(tmp_path / "x")], "--readout"),
        (["train", "chars", "--attention", "dot", "--out", str(tmp_path / "y")], "attention"),
        (["train", "reverse", "--attention", "luong", "--out", str(tmp_path / "z")], "luong"),
    ]:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert says in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "x").exists() and not (tmp_path / "z").exists()


def test_the_length_penalty_reaches_the_beam_search(tmp_path, monkeypatch):
    import rnnlab.tasks.seq2seq as seq2seq_task
    from rnnlab.train.session import load_run

    _start(tmp_path / "run")
    loaded = load_run(tmp_path / "run")
    seen = []
    real = seq2seq_task.beam_search

    def spy(*args, **kwargs):
        seen.append(kwargs["length_penalty"])
        return real(*args, **kwargs)

    monkeypatch.setattr(seq2seq_task, "beam_search", spy)
    sources, _ = loaded.task.references("val")
    loaded.task.decode(loaded.engine, sources[:3], beam=2, length_penalty=0.25)
    metrics = loaded.task.evaluate(loaded.engine, "val", beam=2, length_penalty=0.5)
    assert set(seen[:1]) == {0.25} and set(seen[1:]) == {0.5}
    assert metrics["length_penalty"] == 0.5
