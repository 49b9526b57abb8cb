"""``rnnlab.train.launch``: from merged settings to finished runs. It speaks only through
its Voice, refuses a bad start before anything is created, and turns a divergence or a
signal into :class:`Stopped` with the line to show and the exit code."""

import json
import signal

import pytest

from rnnlab.errors import InputError
from rnnlab.train import launch as launching
from rnnlab.train.launch import Stopped, launch
from rnnlab.train.signals import Interrupted
from rnnlab.train.trainer import Diverged

QUICK = {"steps": 4, "eval_every": 2, "save_every": 2, "log_every": 2, "hidden": 4}


class Recorder:
    """A Voice that keeps what it is told."""

    def __init__(self):
        self.said, self.notes, self.warnings, self.compared = [], [], [], []

    def say(self, line):
        self.said.append(line)

    def note(self, line):
        self.notes.append(line)

    def warn(self, line):
        self.warnings.append(line)

    def compare(self, results, title):
        self.compared.append((sorted(results), title))


@pytest.fixture(autouse=True)
def in_tmp_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def test_a_run_is_trained_and_summarized_through_the_voice(tmp_path):
    voice = Recorder()
    launch("anbn", {**QUICK, "lr": None}, out=str(tmp_path / "run"), voice=voice)
    assert voice.said[0].startswith("task anbn: ")
    assert voice.said[1].startswith("model ModelSpec(") and "parameters;" in voice.said[1]
    assert any(line.startswith(f"run directory: {tmp_path / 'run'}") for line in voice.said)
    assert json.loads((tmp_path / "run" / "state.json").read_text())["step"] == 4


def test_quiet_says_nothing_and_flags_win_over_the_config_file(tmp_path):
    config = tmp_path / "settings.toml"
    config.write_text("hidden = 6\nquiet = true\nout = 'from-file'\n")
    voice = Recorder()
    launch("anbn", QUICK, config_file=str(config), out="from-flag", voice=voice)
    assert voice.said == []
    written = json.loads((tmp_path / "from-flag" / "config.json").read_text())
    assert written["model"]["hidden_size"] == 4 and not (tmp_path / "from-file").exists()


def test_several_cells_are_trained_and_compared(tmp_path):
    voice = Recorder()
    launch("copy", {**QUICK, "cell": "rnn,gru", "bits": 2, "delay": 1}, out="both", voice=voice)
    assert voice.compared == [(["gru", "rnn"], "copy: validation")]
    assert "=== rnn" in voice.said and "=== gru" in voice.said


@pytest.mark.parametrize(
    ("task", "flags", "resume", "expected"),
    [
        (None, {}, None, "train needs a TASK"),
        ("copy", {"cell": "rnn,rnn"}, None, "--cell lists rnn more than once"),
        (None, {"hidden": 8}, "some-run", "these cannot change: --hidden"),
    ],
)
def test_a_bad_start_is_refused_before_anything_is_created(tmp_path, task, flags, resume, expected):
    with pytest.raises(InputError, match=expected):
        launch(task, flags, resume=resume, voice=Recorder())
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("error", "line", "code"),
    [
        (
            Diverged("loss is nan at step 7", saved_step=6),
            "(step 6) in 'r' is kept; try a lower",
            1,
        ),
        (Diverged("loss is nan at step 1"), "'r' cannot be resumed: start again with --overwr", 1),
        (Interrupted(signal.SIGTERM, 3, "r"), "stopped by SIGTERM after step 3", 143),
    ],
)
def test_a_divergence_or_a_signal_is_stopped_with_its_line_and_exit_code(error, line, code):
    def run():
        raise error

    with pytest.raises(Stopped) as stopped:
        launching._guarded(run, "r")
    assert line in str(stopped.value) and stopped.value.exit_code == code
