"""What the ``rnnlab`` command says when something goes wrong: every failure a user can cause
is one line (``rnnlab: error: ...``, exit 2), a by-product (a plot) never turns a run that
succeeded into a failure, warnings are one line each, and a closed stdout pipe is no error.

Commands run in-process through ``rnnlab.cli.main``; the closed pipe needs a real process.
"""

import errno
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from rnnlab.cli import main

QUICK = ["--steps", "20", "--eval-every", "10", "--save-every", "10", "--log-every", "10"]
SMALL = [*QUICK, "--quiet", "--hidden", "8"]
TEXT = "".join(f"{i} green bottles, hanging on the wall.\n" for i in range(40))


@pytest.fixture(autouse=True)
def in_tmp_path(tmp_path, monkeypatch):
    """Run every command from an empty directory, so a default runs/ lands nowhere real."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("runs")


@pytest.fixture(scope="module")
def anbn_run(runs) -> Path:
    assert main(["train", "anbn", *SMALL, "--out", str(runs / "anbn")]) == 0
    return runs / "anbn"


@pytest.fixture(scope="module")
def chars_run(runs) -> Path:
    data = runs / "bottles.txt"
    data.write_text(TEXT, encoding="utf-8")
    argv = ["train", "chars", "--data", str(data), "--batch-size", "4", "--seq-len", "10"]
    assert main([*argv, *SMALL, "--out", str(runs / "chars")]) == 0
    return runs / "chars"


def run(capsys, argv: list[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def error_line(capsys, argv: list[str]) -> str:
    """A refused command: exit 2, nothing on stdout, one stderr line "rnnlab: error: ..."."""
    code, out, err = run(capsys, argv)
    assert code == 2, f"exit code {code} for {argv}; stderr: {err!r}"
    assert out == "" and "Traceback" not in err, (out, err)
    assert err.count("\n") == 1 and err.startswith("rnnlab: error: "), err
    return err.rstrip("\n")


def warning_lines(err: str) -> list[str]:
    lines = err.splitlines()
    assert all(line.startswith("rnnlab: ") for line in lines), err  # nothing multi-line
    return [line for line in lines if line.startswith("rnnlab: warning: ")]


# ---------------------------------------------------------------- plots are a by-product


def test_a_run_stopped_before_its_first_log_record_succeeds_with_one_warning(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    code, _, err = run(capsys, ["train", "anbn", "--max-time", "0.001", "-q", "--out", "run"])
    assert code == 0, err
    assert err == (
        "rnnlab: warning: no training curves: nothing was logged yet (the run stopped before "
        "its first logged step; see --log-every) (the run itself is saved)\n"
    )
    assert (tmp_path / "run" / "model.safetensors").is_file()
    assert main(["evaluate", "run"]) == 0  # the run is complete


def test_a_disk_full_only_at_plotting_time_succeeds_with_one_warning(capsys, tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    import rnnlab.plots

    def full_disk(path, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(rnnlab.plots, "atomic_write_bytes", full_disk)  # checkpoints still fit
    code, _, err = run(capsys, ["train", "anbn", *SMALL, "--out", "run"])
    assert code == 0, err
    assert err.startswith("rnnlab: warning: training curves not written: No space left on ")
    assert err.endswith("(the run itself is saved)\n") and err.count("\n") == 1, err
    assert not list((tmp_path / "run").glob("*.png"))
    assert main(["generate", "run", "--length", "5"]) == 0


def test_without_matplotlib_training_says_so_unless_quiet(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # how Python marks "not importable"
    code, out, err = run(capsys, ["train", "anbn", *QUICK, "--hidden", "8", "--out", "loud"])
    assert code == 0, err
    assert warning_lines(err) == [
        "rnnlab: warning: no plots: matplotlib is not installed (pip install 'rnnlab[viz]') "
        "(the run itself is saved)"
    ]
    assert "run directory: loud" in out
    assert run(capsys, ["train", "anbn", *SMALL, "--out", "quiet"])[::2] == (0, "")


def test_a_comparison_plot_that_cannot_be_written_is_a_warning(capsys, tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    import rnnlab.plots

    draw = rnnlab.plots.plot_curves

    def no_room_for_the_comparison(path, *args, **kwargs):
        if Path(path).name == "comparison.png":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return draw(path, *args, **kwargs)

    monkeypatch.setattr(rnnlab.plots, "plot_curves", no_room_for_the_comparison)
    argv = ["train", "copy", "--cell", "rnn,lstm", "--bits", "3", "--delay", "2", *SMALL]
    code, _, err = run(capsys, [*argv, "--out", "both"])
    assert code == 0, err
    assert err.startswith(
        f"rnnlab: warning: comparison.png not written: No space left on device: "
        f"'{Path('both') / 'comparison.png'}'; free some disk space"
    ), err
    assert err.count("\n") == 1 and err.endswith("(the run itself is saved)\n"), err
    assert (tmp_path / "both" / "lstm" / "loss.png").is_file()


# ---------------------------------------------------------------- errors of the environment


def test_an_os_error_names_the_path_and_what_to_do(capsys):
    name = "x" * 300  # longer than any file system allows for one name
    line = error_line(capsys, ["inspect", name])
    assert line == (
        f"rnnlab: error: File name too long: '{name}'; the name is too long for the file "
        "system; choose a shorter path"
    )


def test_an_os_error_without_a_path_still_says_what_to_do(capsys, anbn_run, monkeypatch):
    import rnnlab.tables

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(rnnlab.tables, "print_metrics", full_disk)
    line = error_line(capsys, ["evaluate", str(anbn_run)])
    assert line.startswith("rnnlab: error: No space left on device; free some disk space")
    assert "()" not in line and "--resume RUN" in line


@pytest.mark.skipif(os.name != "posix", reason="symbolic links")
def test_a_data_file_that_is_a_symlink_loop_says_so(capsys, tmp_path):
    (tmp_path / "loop.txt").symlink_to(tmp_path / "loop.txt")
    line = error_line(capsys, ["train", "chars", "--data", "loop.txt", *SMALL, "--out", "run"])
    assert "'loop.txt'" in line and "is a symbolic link loop" in line
    assert "permission" not in line
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("command", ["evaluate", "generate"])
def test_a_file_given_as_a_run_directory_is_named_as_such(capsys, tmp_path, command):
    (tmp_path / "notes.txt").write_text("not a run")
    line = error_line(capsys, [command, "notes.txt"])
    assert "'notes.txt'" in line and "does not exist" not in line


# ---------------------------------------------------------------- bad numbers


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--bound", "nan"], r"--bound must be a finite positive number .*got nan"),
        (["--bound", "inf"], r"--bound must be a finite positive number .*got inf"),
        (["--bound", "0"], r"--bound must be a finite positive number .*got 0.0"),
        (["--bound", "-1e-6"], r"--bound must be a finite positive number"),
        (["--seed", "-1"], r"'--seed': -1 is not in the range x>=0"),
        (["--hidden", "0"], r"'--hidden': 0 is not in the range x>=1"),
    ],
    ids=lambda v: "_".join(v) if isinstance(v, list) else None,
)
def test_gradcheck_refuses_numbers_it_cannot_use(capsys, args, expected):
    line = error_line(capsys, ["gradcheck", "--cell", "gru", *args])
    assert re.search(expected, line), line


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--top-k", "0"], r"--top-k must be a positive integer, got 0"),
        (["--top-k", "-3"], r"--top-k must be a positive integer, got -3"),
        (["--length", "0"], r"--length must be positive, got 0"),
        (["--length", "-5"], r"--length must be positive, got -5"),
        (["--length", "many"], r"'many' is not a valid integer"),
        (["--temperature", "0"], r"--temperature must be a positive number, got 0.0; use --argm"),
        (["--temperature", "-1"], r"--temperature must be a positive number, got -1.0"),
        (["--temperature", "nan"], r"--temperature must be a positive number, got nan"),
        (["--temperature", "inf"], r"--temperature must be a positive number, got inf"),
        (["--seed", "-1"], r"'--seed': -1 is not in the range x>=0"),
    ],
    ids=lambda v: "_".join(v) if isinstance(v, list) else None,
)
def test_generate_refuses_settings_it_cannot_use(capsys, anbn_run, args, expected):
    line = error_line(capsys, ["generate", str(anbn_run), *args])
    assert re.search(expected, line), line


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--split", "foo"], r"unknown split 'foo'; choose one of train, val, test"),
        (["--batch-size", "0"], r"'--batch-size': 0 is not in the range x>=1.* --help"),
        (["--batch-size", "-2"], r"'--batch-size': -2 is not in the range x>=1"),
    ],
    ids=lambda v: "_".join(v) if isinstance(v, list) else None,
)
def test_evaluate_refuses_settings_it_cannot_use(capsys, anbn_run, args, expected):
    line = error_line(capsys, ["evaluate", str(anbn_run), *args])
    assert re.search(expected, line), line


# ---------------------------------------------------------------- warnings


def test_a_vanishing_temperature_is_greedy_decoding_without_numpy_warnings(capsys, chars_run):
    """(z - max) / 1e-320 overflows to -inf: a probability of 0, which is what argmax means."""
    argv = ["generate", str(chars_run), "--prime", "1 green", "--length", "30"]
    code, greedy, err = run(capsys, [*argv, "--argmax"])
    assert (code, err) == (0, "")
    assert run(capsys, [*argv, "--temperature", "1e-320", "--seed", "0"]) == (0, greedy, "")
    code, out, err = run(capsys, [*argv, "--temperature", "1e300", "--seed", "0"])
    assert (code, err) == (0, "") and out.startswith("1 green")


def test_diverged_weights_are_one_line_without_numpy_warnings(capsys, chars_run, monkeypatch):
    """Finite weights so large that the forward pass overflows: the sampler's one line, and
    none of the RuntimeWarnings of the overflowing matrix products."""
    from rnnlab.numpy.engine import NumpyEngine

    load = NumpyEngine.load_state_dict

    def exploded(self, state_dict):
        load(self, {k: (np.sign(v) * 1e38).astype(v.dtype) for k, v in state_dict.items()})

    monkeypatch.setattr(NumpyEngine, "load_state_dict", exploded)
    code, _, err = run(capsys, ["generate", str(chars_run), "--length", "20", "--seed", "0"])
    assert code == 2, err
    assert err.startswith("rnnlab: error: the model's outputs are not finite") and (
        err.count("\n") == 1
    ), err


def test_python_warnings_are_one_line_each(capsys, monkeypatch):
    import rnnlab.tables

    listing = rnnlab.tables.print_tasks

    def warns(tasks):
        warnings.warn("a library changed its mind\n  about something", UserWarning, stacklevel=1)
        listing(tasks)

    monkeypatch.setattr(rnnlab.tables, "print_tasks", warns)
    shown = warnings.showwarning
    code, out, err = run(capsys, ["tasks"])
    assert code == 0 and "anbn" in out
    assert err == "rnnlab: warning: a library changed its mind about something\n"
    assert warnings.showwarning is shown  # only for the duration of the command


# ---------------------------------------------------------------- a closed pipe


def test_a_closed_stdout_pipe_ends_generate_quietly(chars_run):
    """`rnnlab generate RUN --length 100000 | head -c 10`: exit 0 and nothing on stderr."""
    script = Path(sys.executable).with_name("rnnlab")
    command = (
        [str(script)]
        if script.exists()
        else [sys.executable, "-c", "import sys; from rnnlab.cli import main; sys.exit(main())"]
    )
    argv = ["generate", str(chars_run), "--length", "100000", "--seed", "0"]
    with subprocess.Popen(
        [*command, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as process:
        assert len(process.stdout.read(10)) == 10
        process.stdout.close()  # as `head -c 10` does once it has its bytes
        err = process.stderr.read()
        code = process.wait(timeout=120)
    assert (code, err.decode()) == (0, "")
