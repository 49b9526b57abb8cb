"""attention.png is redrawn at every evaluation of a seq2seq run with attention (the
trainer's eval hook), atomically, and never at the cost of training: a run without
attention, without matplotlib or whose drawing fails trains on and writes none."""

import pytest

from rnnlab.train.options import build_from_settings
from rnnlab.train.session import start_run

SMALL = {"num": 200, "symbols": 6, "hidden": 8, "steps": 8, "eval_every": 4,
         "save_every": 8, "log_every": 4}  # fmt: skip
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class _Watch:
    """A reporter that looks at attention.png after each step (the hook has run by then)."""

    def __init__(self, path):
        self.path, self.seen = path, {}

    def start(self, trainer): ...
    def log(self, record): ...
    def stop(self, progress): ...

    def advance(self, progress):
        if self.path.exists():
            self.seen[progress.step] = (self.path.stat().st_ino, self.path.read_bytes())


def _train(run_dir, watch=None, **settings):
    task, spec, config = build_from_settings("reverse", {**SMALL, **settings})
    return start_run(task, spec, config, run_dir, reporter=watch)


def test_attention_png_is_drawn_at_the_first_evaluation_and_replaced_at_the_next(tmp_path):
    pytest.importorskip("matplotlib")
    from PIL import Image

    watch = _Watch(tmp_path / "run" / "attention.png")
    _train(tmp_path / "run", watch)
    assert sorted(watch.seen) == [4, 5, 6, 7, 8], "not there right after the first evaluation"
    first, second = watch.seen[4], watch.seen[8]
    assert watch.seen[7] == first, "redrawn between evaluations"
    assert second[0] != first[0], "the second evaluation did not replace the file"
    for _, data in (first, second):
        assert data.startswith(PNG_SIGNATURE)
    with Image.open(watch.path) as image:
        image.verify()  # a complete, uncorrupted PNG
    leftovers = [p.name for p in watch.path.parent.iterdir() if "attention" in p.name]
    assert leftovers == ["attention.png"], "a temporary file was left behind"


def test_a_run_without_attention_draws_none_and_trains_on(tmp_path):
    trainer = _train(tmp_path / "run", attention="none")
    assert trainer.progress.step == 8
    assert not (tmp_path / "run" / "attention.png").exists()


def test_a_failure_to_draw_never_stops_training(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from rnnlab.tasks.seq2seq import Seq2SeqTask

    def broken(self, plots, path, engine):
        raise RuntimeError("a bug in plotting")

    monkeypatch.setattr(Seq2SeqTask, "plot_attention", broken)
    trainer = _train(tmp_path / "run")
    assert trainer.progress.step == 8 and trainer.progress.stop_reason == "finished"
    assert not (tmp_path / "run" / "attention.png").exists()


def test_without_matplotlib_nothing_is_drawn(tmp_path, monkeypatch):
    import rnnlab.train.artifacts as artifacts

    monkeypatch.setattr(artifacts, "plots_available", lambda: False)
    trainer = _train(tmp_path / "run")
    assert trainer.progress.step == 8
    assert not (tmp_path / "run" / "attention.png").exists()
