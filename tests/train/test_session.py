"""Starting, resuming and loading runs: what is checked before anything is written, resuming
with the other engine, the data file's fingerprint, and weights that must never be saved."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rnnlab.checkpoint import load_checkpoint
from rnnlab.cli import main
from rnnlab.train.options import build_from_settings
from rnnlab.train.session import load_run, start_run
from rnnlab.train.trainer import Diverged

QUICK = ["--eval-every", "5", "--save-every", "5", "--log-every", "5", "--quiet"]
LINE = "{} little pigs built a house of straw, of sticks, of bricks.\n"
TEXT = "".join(LINE.format(i) for i in range(40))


@pytest.fixture(autouse=True)
def in_tmp_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("rnnlab: error:"), err
    assert "Traceback" not in err
    return err


def tree(path: Path) -> dict:
    return {str(p.relative_to(path)): p.read_bytes() for p in path.rglob("*") if p.is_file()}


# ---------------------------------------------------------------- before anything is written
def test_a_refused_start_creates_nothing(tmp_path, capsys):
    pytest.importorskip("torch")
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    out = tmp_path / "deep" / "run"
    assert main(["train", "anbn", "--engine", "torch", "--device", "cuda", "--steps", "5",
                 *QUICK, "--out", str(out)]) == 2  # fmt: skip
    one_line_error(capsys)
    assert not (tmp_path / "deep").exists()


def test_a_refused_resume_leaves_the_run_as_it_was(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "anbn", "--hidden", "8", "--steps", "10", *QUICK, "--out", str(run)]) == 0
    before = tree(run)
    assert main(["train", "--resume", str(run), "--steps", "5"]) == 2
    assert "already finished" in one_line_error(capsys)
    elapsed = json.loads((run / "state.json").read_text())["elapsed"]
    short = str(elapsed / 2)
    assert main(["train", "--resume", str(run), "--steps", "20", "--max-time", short]) == 2
    assert "--max-time" in one_line_error(capsys)
    assert tree(run) == before


# ---------------------------------------------------------------- the other engine
@pytest.mark.parametrize(("first", "then"), [("numpy", "torch"), ("torch", "numpy")])
def test_resuming_with_the_other_engine_continues_the_same_model(tmp_path, capsys, first, then):
    """A float64 run resumed with the other engine ends where a same-engine resume ends, up
    to float rounding (no dropout: the dropout generators are the one engine-specific part)."""
    pytest.importorskip("torch")
    args = ["train", "anbn", "--hidden", "8", "--dtype", "float64", "--steps", "10", *QUICK]
    assert main([*args, "--engine", first, "--out", str(tmp_path / "a")]) == 0
    assert main([*args, "--engine", first, "--out", str(tmp_path / "b")]) == 0
    assert main(["train", "--resume", str(tmp_path / "a"), "--steps", "20", "--quiet"]) == 0
    capsys.readouterr()
    resume = ["train", "--resume", str(tmp_path / "b"), "--steps", "20", "--engine", then]
    assert main([*resume, "--quiet"]) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "another engine" in err, "said once, as a note"
    same, other = (load_checkpoint(tmp_path / r) for r in ("a", "b"))
    assert other.config["train"]["engine"] == then and other.state["step"] == 20
    for name, value in same.model.items():
        np.testing.assert_allclose(other.model[name], value, rtol=1e-9, atol=1e-12, err_msg=name)
    assert main(["train", "--resume", str(tmp_path / "b"), "--steps", "25", "--quiet"]) == 0


# ---------------------------------------------------------------- the data file
def test_generate_needs_only_the_run_and_evaluate_finds_the_data_by_its_absolute_path(
    tmp_path, capsys, monkeypatch
):
    (tmp_path / "text.txt").write_text(TEXT)
    args = ["--data", "text.txt", "--hidden", "8", "--seq-len", "8", "--batch-size", "4"]
    assert main(["train", "chars", *args, "--steps", "10", *QUICK, "--out", "run"]) == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "text.txt").write_text("a different text with other letters: xyz " * 50)
    monkeypatch.chdir(elsewhere)
    run = str(tmp_path / "run")
    capsys.readouterr()
    assert main(["evaluate", run, "--json"]) == 0
    here = json.loads(capsys.readouterr().out)
    monkeypatch.chdir(tmp_path)
    assert main(["evaluate", "run", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["loss"] == here["loss"], "the same file, read"

    (tmp_path / "text.txt").write_text(TEXT.replace("pigs", "pugs"))
    for command in (["evaluate", run], ["train", "--resume", run, "--steps", "20"]):
        assert main(command) == 2
        assert "changed since run" in one_line_error(capsys)
    (tmp_path / "text.txt").unlink()
    assert main(["evaluate", run]) == 2
    assert "is missing" in one_line_error(capsys)
    assert main(["generate", run, "--length", "5", "--seed", "0"]) == 0, "no data needed"


def test_a_run_trained_from_a_pipe_generates_but_cannot_be_evaluated(tmp_path):
    code = "import sys; from rnnlab.cli import main; sys.exit(main(sys.argv[1:]))"
    train = [sys.executable, "-c", code, "train", "chars", "--data", "/dev/stdin",
             "--hidden", "8", "--seq-len", "8", "--batch-size", "4", "--steps", "5", *QUICK,
             "--out", "run"]  # fmt: skip
    subprocess.run(train, input=TEXT, text=True, check=True, cwd=tmp_path)
    gen = subprocess.run([sys.executable, "-c", code, "generate", "run", "--length", "5"],
                         cwd=tmp_path, capture_output=True, text=True)  # fmt: skip
    assert gen.returncode == 0, gen.stderr
    ev = subprocess.run([sys.executable, "-c", code, "evaluate", "run"], cwd=tmp_path,
                        capture_output=True, text=True, stdin=subprocess.DEVNULL)  # fmt: skip
    assert ev.returncode == 2 and "stream" in ev.stderr and ev.stderr.count("\n") == 1


def test_a_run_written_before_data_fingerprints_still_evaluates(tmp_path, capsys):
    """Older runs stored --data as typed and no fingerprint: they load as they did."""
    (tmp_path / "text.txt").write_text(TEXT)
    args = ["--data", "text.txt", "--hidden", "8", "--seq-len", "8", "--batch-size", "4"]
    assert main(["train", "chars", *args, "--steps", "10", *QUICK, "--out", "run"]) == 0
    capsys.readouterr()
    assert main(["evaluate", "run", "--json"]) == 0
    loss = json.loads(capsys.readouterr().out)["loss"]
    old = load_run("run")
    assert old.task.describe()["options"]["data"] == str(tmp_path / "text.txt")
    # make it look as the old code wrote it (the state's hashes cover config.json: recompute)
    from rnnlab.checkpoint import save_checkpoint

    config = json.loads((tmp_path / "run" / "config.json").read_text())
    del config["task"]["data"]
    config["task"]["options"]["data"] = "text.txt"
    ckpt = load_checkpoint("run")
    save_checkpoint("run", model=ckpt.model, state_tensors=ckpt.state_tensors,
                    state=ckpt.state, config=config)  # fmt: skip
    assert main(["evaluate", "run", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["loss"] == loss


# ---------------------------------------------------------------- weights never saved
def test_non_finite_weights_are_never_saved(tmp_path, monkeypatch):
    """An update that makes the weights NaN while reporting success (what an infinite
    learning rate did) stops the run at the next save, which keeps the last good checkpoint."""
    settings = {"hidden": 8, "steps": 30, "save_every": 10, "eval_every": 100}
    task, spec, config = build_from_settings("anbn", settings)
    from rnnlab.numpy.engine import NumpyEngine

    real = NumpyEngine.train_step

    def poison(self, batch, state=None):
        result = real(self, batch, state)
        if self.optimizer.step_count == 20:  # the step right before the save of step 20
            self.model.params["head.bias"][...] = np.nan
        return result

    monkeypatch.setattr(NumpyEngine, "train_step", poison)
    with pytest.raises(Diverged, match="non-finite") as stopped:
        start_run(task, spec, config, tmp_path / "run")
    assert stopped.value.saved_step == 10
    ckpt = load_checkpoint(tmp_path / "run")
    assert ckpt.state["step"] == 10 and all(np.isfinite(v).all() for v in ckpt.model.values())


def test_a_divergence_before_any_checkpoint_says_none_was_kept(tmp_path, capsys, monkeypatch):
    from rnnlab.numpy.engine import NumpyEngine

    real = NumpyEngine.train_step
    monkeypatch.setattr(
        NumpyEngine, "train_step",
        lambda self, b, s=None: real(self, b, s)._replace(loss=float("nan"), updated=False),
    )  # fmt: skip
    assert main(["train", "anbn", "--hidden", "8", "--steps", "10", *QUICK, "--out", "r"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no checkpoint was saved" in err and "--overwrite" in err
    assert main(["train", "anbn", "--hidden", "8", "--steps", "10", *QUICK, "--out", "r",
                 "--overwrite"]) == 1  # fmt: skip
    assert not os.path.exists("r/state.json")


def test_torch_only_flags_on_a_numpy_run_are_refused_not_ignored(tmp_path, capsys):
    assert main(["train", "anbn", "--hidden", "8", "--steps", "10", *QUICK, "--out", "r"]) == 0
    for command in (["evaluate", "r", "--device", "cuda"],
                    ["train", "--resume", "r", "--steps", "20", "--device", "cuda"],
                    ["generate", "r", "--backend", "native", "--length", "3"]):  # fmt: skip
        before = tree(tmp_path / "r")
        assert main(command) == 2, command
        assert "applies to the torch engine" in one_line_error(capsys)
        assert tree(tmp_path / "r") == before


@pytest.mark.parametrize("labels", [["a"], ["a", "a"], "ab", ["a", 2], {"a": 1}])
def test_a_classifiers_saved_class_names_must_be_distinct_names(labels):
    from rnnlab.errors import CheckpointError
    from rnnlab.train.session import build_task_from

    described = {"name": "marker", "seed": 0, "options": {}, "labels": labels}
    with pytest.raises(CheckpointError, match="'labels' must be a list"):
        build_task_from(described, run_dir="RUN")


def test_a_classifiers_saved_class_names_are_its_class_names():
    from rnnlab.train.session import build_task_from

    described = {"name": "marker", "seed": 0, "options": {}, "labels": ["a", "b", "c", "d"]}
    assert build_task_from(described, run_dir="RUN").label_names == ("a", "b", "c", "d")
