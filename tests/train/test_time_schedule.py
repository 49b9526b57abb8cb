"""A schedule for a time budget: with --max-time, cosine anneals over the steps the measured
speed predicts, reaching min_lr at the last step the time allows (a fake clock here)."""

import math

import pytest

from rnnlab.train import trainer as trainer_module
from rnnlab.train.config import TrainConfig, with_legacy
from rnnlab.train.options import build_from_settings
from rnnlab.train.run_dir import MetricsLog
from rnnlab.train.schedule import Schedule
from rnnlab.train.session import start_run


def cosine(progress, base=1.0, floor=0.0):
    return floor + 0.5 * (base - floor) * (1 + math.cos(math.pi * progress))


def test_at_a_steady_speed_cosine_ends_exactly_when_the_time_does():
    s = Schedule("cosine", 1.0, total_steps=10_000, max_time=10.0)
    # one second a step: after n steps n seconds, so N = 10 steps fit and step k is k/10
    lrs = [s.lr_at(k, elapsed=float(k - 1)) for k in range(1, 11)]
    assert lrs[0] == pytest.approx(cosine(1 / 10_000))  # no speed measured yet: the steps
    assert lrs[1:] == pytest.approx([cosine(k / 10) for k in range(2, 11)])
    assert lrs[-1] == pytest.approx(0.0)


def test_warmup_stays_in_steps_and_the_fewer_of_the_two_ends_wins():
    s = Schedule("cosine", 1.0, total_steps=20, warmup_steps=2, min_lr=0.1, max_time=100.0)
    assert s.lr_at(2, elapsed=1.0) == pytest.approx(1.0)  # warmup: base · 2/2
    # 0.1 s a step would allow 1000 steps: the planned 20 end first
    assert s.lr_at(11, elapsed=1.0) == pytest.approx(cosine(9 / 18, floor=0.1))
    slow = Schedule("cosine", 1.0, total_steps=20, warmup_steps=2, min_lr=0.1, max_time=10.0)
    # 2 s a step: N = 5 steps fit, so step 5 ends the anneal
    assert slow.lr_at(5, elapsed=8.0) == pytest.approx(0.1)
    assert Schedule("cosine", 1.0, 10).lr_at(5, elapsed=100.0) == pytest.approx(cosine(0.5))


def test_the_trainer_anneals_to_min_lr_when_max_time_runs_out(tmp_path, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(trainer_module.time, "perf_counter", lambda: clock[0])
    settings = {"hidden": 8, "steps": 10_000, "max_time": 12.0, "schedule": "cosine",
                "min_lr": 1e-5, "log_every": 1, "eval_every": 1000, "save_every": 1000}  # fmt: skip
    task, spec, config = build_from_settings("anbn", settings)
    assert config.anneals_over_time
    real_step = trainer_module.Trainer._step

    def step_of_a_second(self):  # every optimizer step takes one second of the fake clock
        clock[0] += 1.0
        return real_step(self)

    monkeypatch.setattr(trainer_module.Trainer, "_step", step_of_a_second)
    trainer = start_run(task, spec, config, tmp_path / "run")
    assert trainer.progress.step == 12 and "max-time" in trainer.progress.stop_reason
    lrs = [r["lr"] for r in MetricsLog(tmp_path / "run").read() if "loss" in r]
    assert lrs[-1] == pytest.approx(1e-5)  # the last step the time allowed: min_lr
    assert lrs[5] == pytest.approx(cosine(6 / 12, base=config.lr, floor=1e-5))


def test_anneal_over_steps_and_old_runs_keep_the_step_schedule():
    assert not TrainConfig(max_time=60.0, anneal_over="steps").anneals_over_time
    assert TrainConfig(max_time=60.0).anneals_over_time  # the default with a time budget
    assert not TrainConfig().anneals_over_time
    old = TrainConfig(max_time=60.0).to_dict()
    del old["anneal_over"]  # a config.json written before the field existed
    assert TrainConfig.from_dict(with_legacy(old)).anneal_over == "steps"
    with pytest.raises(Exception, match="--anneal-over must be one of steps, time"):
        TrainConfig(anneal_over="epochs")
    with pytest.raises(Exception, match=r"--ema-decay must be in \[0, 1\)"):
        TrainConfig(ema_decay=1.0)
