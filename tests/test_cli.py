"""The ``rnnlab`` command: every bad input is one line on stderr and exit code 2 (and leaves
existing runs untouched); the happy paths train, evaluate, generate and inspect for real.

Commands run in-process through ``rnnlab.cli.main``; one test runs the installed command in
a subprocess to prove the exit code and the single stderr line end to end.
"""

import json
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rnnlab.cli import main
from rnnlab.model import ModelSpec
from rnnlab.tasks import TASKS, build_task
from rnnlab.train.artifacts import plots_available

QUICK = ["--steps", "20", "--eval-every", "10", "--save-every", "10", "--log-every", "10"]
SMALL = [*QUICK, "--quiet", "--hidden", "8"]
TEXT = "".join(
    f"{i} little pigs built a house of straw, of sticks, of bricks.\n" for i in range(30)
)


@pytest.fixture(autouse=True)
def in_tmp_path(tmp_path, monkeypatch):
    """Run every command from an empty directory, so a default runs/ lands nowhere real."""
    monkeypatch.chdir(tmp_path)


def train(out: Path, *args: str) -> Path:
    assert main(["train", *args, *SMALL, "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("runs")


@pytest.fixture(scope="module")
def anbn_run(runs) -> Path:
    return train(runs / "anbn", "anbn")


@pytest.fixture(scope="module")
def sine_run(runs) -> Path:
    return train(runs / "sine", "sine")


@pytest.fixture(scope="module")
def text_file(runs) -> Path:
    path = runs / "pigs.txt"
    path.write_text(TEXT, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def chars_run(runs, text_file) -> Path:
    """A character model trained from a TOML file, one of whose settings a flag overrides."""
    config = runs / "chars.toml"
    config.write_text("[model]\nhidden = 16\ncell = 'gru'\n[train]\nbatch-size = 4\nseq_len = 10\n")
    out = runs / "chars"
    argv = ["train", "chars", "--data", str(text_file), "--config", str(config), "--hidden", "12"]
    assert main([*argv, *QUICK, "--quiet", "--out", str(out)]) == 0
    return out


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every file under ``directory`` and its bytes."""
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def copy_run(run: Path, tmp_path: Path, name: str = "copy") -> Path:
    return Path(shutil.copytree(run, tmp_path / name))


def bad_input(capsys, argv: list[str]) -> str:
    """Run a command that must fail on its input: exit 2, one stderr line, no traceback."""
    capsys.readouterr()
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2, f"exit code {code} for {argv}; stderr: {err!r}"
    assert "Traceback" not in err
    assert out == "", f"nothing belongs on stdout when the input is bad, got {out!r}"
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].strip(), f"want one line on stderr, got {err!r}"
    return lines[0]


# ---------------------------------------------------------------- bad data files


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("missing.txt", None, r"'\S*missing\.txt' does not exist"),
        ("folder", "directory", r"'\S*folder' is a directory"),
        ("empty.txt", b"", r"'\S*empty\.txt' is empty"),
        ("latin1.txt", b"caf\xe9 au lait\n" * 50, r"not valid UTF-8.*--level byte"),
        ("image.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", r"looks binary.*--level byte"),
        ("short.txt", b"too short for one batch\n", r"train split of .*shorter than one batch"),
    ],
    ids=["missing", "directory", "empty", "not-utf8", "binary", "too-short"],
)
def test_a_bad_data_file_is_one_line_and_creates_no_run(capsys, tmp_path, name, content, expected):
    path = tmp_path / name
    if content == "directory":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    line = bad_input(capsys, ["train", "chars", "--data", str(path), *SMALL, "--out", "run"])
    assert re.search(expected, line) and name in line, line
    assert not (tmp_path / "run").exists(), "a failed start must not leave a run directory"


# ---------------------------------------------------------------- bad flags and settings


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["train", "nosuch"], r"unknown task 'nosuch'.*anbn.*chars"),
        (["train", "anbn", "--bogus", "1"], r"No such option.*--bogus"),
        (["train", "anbn", "--lr", "-1"], r"--lr must be positive"),
        (["train", "anbn", "--batch-size", "0"], r"--batch-size must be a positive integer"),
        (["train", "anbn", "--cell", "transformer"], r"cell must be one of lstm.*'transformer'"),
        (["train", "anbn", "--hidden", "0"], r"hidden"),
        (["train", "anbn", "--bits", "8"], r"--bits does not apply to task 'anbn'"),
        (["train", "copy", "--delay", "-3"], r"--delay"),
        (["train", "anbn", "--level", "byte"], r"--level"),
        (["train", "anbn", "--steps", "ten"], r"'ten' is not a valid integer"),
        (["train", "anbn", "--steps", "0"], r"--steps must be a positive integer"),
        (["train", "chars", "--top-k", "0"], r"--top-k must be a positive integer"),
        (["train", "anbn", "--device", "tpu"], r"--device must be cpu, cuda, cuda:N or auto"),
        (["train", "anbn", "--optimizer", "sgd", "--momentum", "-1"], r"--momentum .*\[0, 1\)"),
        (["train", "anbn", "--weight-decay", "-1"], r"--weight-decay must be >= 0"),
        (["train", "anbn", "--min-lr", "-1"], r"--min-lr must be >= 0"),
        (["train", "anbn", "--warmup-steps", "-1"], r"--warmup-steps must be a non-negative"),
        (["train", "anbn", "--plateau-factor", "2"], r"--plateau-factor must be in \(0, 1\)"),
        (["train", "anbn", "--dropout", "1.5"], r"dropout must be in \[0, 1\)"),
        (["train", "anbn", "--threads", "0"], r"--threads.*0 is not in the range x>=1"),
    ],
    ids=lambda v: "_".join(v) if isinstance(v, list) else None,
)
def test_a_bad_flag_is_one_line_and_creates_no_run(capsys, tmp_path, argv, expected):
    line = bad_input(capsys, [*argv, "--out", "run"])
    assert re.search(expected, line), line
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["gradcheck", "--cell", "transformer"], r"--cell 'transformer' is unknown; choose"),
        (["gradcheck", "--seq-len", "0"], r"--seq-len.*0 is not in the range x>=1"),
    ],
    ids=lambda v: "_".join(v) if isinstance(v, list) else None,
)
def test_gradcheck_refuses_bad_settings(capsys, argv, expected):
    assert re.search(expected, bad_input(capsys, argv))


def test_a_bug_is_reported_as_one_not_as_bad_input(capsys, monkeypatch):
    """Only InputError means "your input": an internal ValueError exits 1 with a traceback."""
    import rnnlab.numpy

    def broken(*args, **kwargs):
        raise ValueError("operands could not be broadcast together")

    monkeypatch.setattr(rnnlab.numpy, "run_gradchecks", broken)  # what the command calls
    assert main(["gradcheck", "--cell", "gru"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "operands could not be broadcast" in err
    assert "internal error (a bug in rnnlab, not in your input)" in err


def test_a_config_file_that_is_not_toml_is_named(capsys, tmp_path):
    (tmp_path / "bad.toml").write_text("[model\nhidden = 8\n")
    line = bad_input(capsys, ["train", "anbn", "--config", "bad.toml", "--out", "run"])
    assert "bad.toml" in line and "cannot be parsed" in line
    assert not (tmp_path / "run").exists()


# ---------------------------------------------------------------- existing runs stay intact


def test_an_existing_run_is_not_overwritten_without_overwrite(capsys, anbn_run, tmp_path):
    run = copy_run(anbn_run, tmp_path)
    before = snapshot(run)
    line = bad_input(capsys, ["train", "anbn", *SMALL, "--out", str(run)])
    assert "already exists" in line and "--overwrite" in line and "--resume" in line
    assert snapshot(run) == before


def test_a_corrupted_checkpoint_is_refused_and_left_as_it_is(capsys, anbn_run, tmp_path):
    run = copy_run(anbn_run, tmp_path)
    weights = bytearray((run / "model.safetensors").read_bytes())
    weights[-5] ^= 0x01  # one bit in the last tensor's data
    (run / "model.safetensors").write_bytes(weights)
    before = snapshot(run)
    for argv in (["evaluate", str(run)], ["generate", str(run)], ["train", "--resume", str(run)]):
        line = bad_input(capsys, argv)
        assert "model.safetensors" in line and "corrupted" in line, line
    assert snapshot(run) == before


def test_a_run_from_another_format_version_is_refused(capsys, anbn_run, tmp_path):
    run = copy_run(anbn_run, tmp_path)
    config = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({**config, "format_version": 99}))
    before = snapshot(run)
    for argv in (["evaluate", str(run)], ["train", "--resume", str(run), "--steps", "40"]):
        line = bad_input(capsys, argv)
        assert "format 99" in line and "format 1" in line, line
    assert snapshot(run) == before


def test_resume_refuses_settings_that_cannot_change(capsys, anbn_run, tmp_path):
    run = copy_run(anbn_run, tmp_path)
    before = snapshot(run)
    line = bad_input(capsys, ["train", "--resume", str(run), "--hidden", "64"])
    assert "--hidden" in line and "cannot change" in line
    assert snapshot(run) == before


@pytest.mark.parametrize("command", ["evaluate", "generate", "inspect"])
def test_a_missing_run_is_named(capsys, command):
    line = bad_input(capsys, [command, "no/such/run"])
    assert "no/such/run" in line


def test_generate_refuses_a_task_without_vocabulary(capsys, sine_run):
    line = bad_input(capsys, ["generate", str(sine_run)])
    assert "sine" in line and "vocabulary" in line


@pytest.mark.parametrize(
    ("args", "expected"),
    [(["--temperature", "0"], r"--temperature must be .*positive.*--argmax"),
     (["--length", "0"], r"--length"), (["--top-k", "0", "--seed", "1"], r"--top-k")],
)  # fmt: skip
def test_generate_refuses_bad_sampling_settings(capsys, anbn_run, args, expected):
    line = bad_input(capsys, ["generate", str(anbn_run), *args])
    assert re.search(expected, line), line


def test_evaluate_refuses_a_batch_size_of_zero(capsys, anbn_run):
    assert "0 is not in the range x>=1" in bad_input(
        capsys, ["evaluate", str(anbn_run), "--batch-size", "0"]
    )


def test_evaluate_refuses_an_unknown_split(capsys, anbn_run):
    line = bad_input(capsys, ["evaluate", str(anbn_run), "--split", "dev"])
    assert "'dev'" in line and "val" in line


def test_the_installed_command_exits_2_with_one_line(tmp_path):
    script = Path(sys.executable).with_name("rnnlab")
    command = (
        [str(script)]
        if script.exists()
        else [sys.executable, "-c", "import sys; from rnnlab.cli import main; sys.exit(main())"]
    )
    argv = ["train", "chars", "--data", "missing.txt", "--out", "run"]
    done = subprocess.run(
        [*command, *argv], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1 and "missing.txt" in done.stderr
    assert done.stdout == ""
    assert not (tmp_path / "run").exists()


# ---------------------------------------------------------------- happy paths


def test_threads_limits_the_blas_pools_while_training_and_is_not_a_run_setting(
    tmp_path, monkeypatch
):
    from threadpoolctl import threadpool_info

    import rnnlab.train.launch

    seen = []
    real = rnnlab.train.launch.train_one

    def spy(*args, **kwargs):
        seen.append([pool["num_threads"] for pool in threadpool_info()])
        return real(*args, **kwargs)

    monkeypatch.setattr(rnnlab.train.launch, "train_one", spy)
    run = train(tmp_path / "run", "anbn", "--threads", "1")
    assert seen and set(seen[0]) == {1}
    assert "threads" not in (run / "config.json").read_text()
    assert main(["train", "--resume", str(run), "--steps", "30", "--threads", "1", "-q"]) == 0


def test_evaluate_json_is_one_object_with_the_reference(capsys, anbn_run):
    capsys.readouterr()
    assert main(["evaluate", str(anbn_run), "--json"]) == 0
    out = capsys.readouterr().out
    assert len(out.strip().splitlines()) == 1
    metrics = json.loads(out)
    assert {"loss", "bits_per_token", "accuracy", "optimal_loss", "split", "tokens"} <= set(metrics)
    task = build_task("anbn", {}, seed=0)  # what the run trained on: defaults, seed 0
    assert metrics["split"] == "val"
    assert metrics["tokens"] == sum(len(s) - 1 for s in task.splits["val"])
    assert metrics["optimal_loss"] == pytest.approx(task.optimal_loss("val"), rel=1e-12)
    assert metrics["bits_per_token"] == pytest.approx(metrics["loss"] / math.log(2))
    assert metrics["loss"] >= metrics["optimal_loss"]


def test_evaluate_another_split(capsys, anbn_run):
    capsys.readouterr()
    assert main(["evaluate", str(anbn_run), "--split", "test", "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    task = build_task("anbn", {}, seed=0)
    assert metrics["split"] == "test"
    assert metrics["tokens"] == sum(len(s) - 1 for s in task.splits["test"])
    assert main(["evaluate", str(anbn_run), "--split", "test"]) == 0  # the table
    assert "optimal_loss" in capsys.readouterr().out


def test_generate_argmax_writes_as_and_bs(capsys, anbn_run):
    capsys.readouterr()
    assert main(["generate", str(anbn_run), "--argmax", "--length", "30"]) == 0
    out, err = capsys.readouterr()
    assert re.fullmatch(r"a( ?[ab]){0,30}\n", out), out
    assert err == ""
    assert main(["generate", str(anbn_run), "--argmax", "--length", "30"]) == 0
    assert capsys.readouterr().out == out  # greedy decoding is deterministic


def test_a_character_model_streams_text_after_its_prime(capsys, chars_run):
    capsys.readouterr()
    assert (
        main(["generate", str(chars_run), "--prime", "3 little", "--length", "40", "--seed", "1"])
        == 0
    )
    out = capsys.readouterr().out
    assert out.startswith("3 little")
    written = out[len("3 little") : -1]
    assert 0 < len(written) <= 40 and set(written) <= set(TEXT)
    assert (
        main(["generate", str(chars_run), "--prime", "3 little", "--length", "40", "--seed", "1"])
        == 0
    )
    assert capsys.readouterr().out == out  # the same seed writes the same text


def test_unseen_prime_characters_are_a_warning_or_with_strict_an_error(capsys, chars_run):
    line = bad_input(capsys, ["generate", str(chars_run), "--prime", "Q@", "--strict"])
    assert "'Q'" in line and "'@'" in line
    assert main(["generate", str(chars_run), "--prime", "Q@", "--length", "5", "--seed", "0"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("Q@") and len(out) > 3
    assert err.count("\n") == 1 and "warning" in err and "<unk>" in err


def test_flags_override_the_config_file(chars_run):
    config = json.loads((chars_run / "config.json").read_text())
    assert config["model"]["hidden_size"] == 12  # flag over file
    assert config["model"]["cell"] == "gru"  # from the file
    assert config["train"]["batch_size"] == 4 and config["task"]["options"]["seq_len"] == 10


def test_tasks_lists_every_task(capsys):
    capsys.readouterr()
    assert main(["tasks"]) == 0
    out = capsys.readouterr().out
    for name in TASKS:
        assert re.search(rf"\b{name}\b", out), name


def test_inspect_counts_the_parameters_of_a_run(capsys, anbn_run):
    capsys.readouterr()
    assert main(["inspect", str(anbn_run)]) == 0
    out = capsys.readouterr().out
    (total_line,) = [line for line in out.splitlines() if "total" in line]
    total = int(re.findall(r"[\d,]+", total_line)[-1].replace(",", ""))
    spec = ModelSpec.from_dict(json.loads((anbn_run / "config.json").read_text())["model"])
    # LSTM, one-hot 5 -> 8 hidden -> 5: 4*8*(5 + 8 + 2) + 5*8 + 5
    assert total == spec.num_parameters() == 4 * 8 * (5 + 8 + 2) + 5 * 8 + 5


def test_resume_continues_a_run(capsys, anbn_run, tmp_path):
    run = copy_run(anbn_run, tmp_path)
    assert main(["train", "--resume", str(run), "--steps", "30", "--quiet"]) == 0
    assert json.loads((run / "state.json").read_text())["step"] == 30
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "loss" in r] == [10, 20, 30]


def test_gradcheck_passes_for_the_gru(capsys):
    capsys.readouterr()
    assert (
        main(["gradcheck", "--cell", "gru", "--hidden", "3", "--seq-len", "3", "--batch-size", "2"])
        == 0
    )
    assert "pass" in capsys.readouterr().out


def test_training_several_cells_compares_them(capsys, tmp_path):
    capsys.readouterr()
    argv = ["train", "copy", "--cell", "rnn,lstm", "--bits", "3", "--delay", "2", *QUICK]
    assert main([*argv, "--steps", "10", "--hidden", "8", "--out", "both"]) == 0
    for cell in ("rnn", "lstm"):
        config = json.loads((tmp_path / "both" / cell / "config.json").read_text())
        assert config["model"]["cell"] == cell
        assert (tmp_path / "both" / cell / "model.safetensors").is_file()
    out = capsys.readouterr().out
    assert re.search(r"metric\W+rnn\W+lstm", out), out  # the comparison table's header
    assert re.search(r"recall_accuracy\W+[\d.]+\W+[\d.]+", out), out
    if plots_available():
        assert (tmp_path / "both" / "comparison.png").stat().st_size > 0
