"""``rnnlab train TASK --folds K``: K runs of a classifier, one per stratified fold, and the
mean ± standard deviation of their test scores.

Run k trains with fold k of K as its test split (``--fold k --num-folds K``; the folds are
fixed and stratified, :mod:`rnnlab.data.labelled`), into ``OUT/fold-k``. Each run is scored
on its test split with its best validation weights — the model chosen on validation alone —
and ``OUT/folds.json`` keeps every fold's scores and their summary. The standard deviation
is the sample one (ddof = 1): the spread expected between two folds, not of the mean.
"""

from pathlib import Path

import numpy as np

from rnnlab.atomic_write import atomic_write_json
from rnnlab.errors import InputError

SUMMARY_FILE = "folds.json"
SCORES = ("accuracy", "macro_f1", "majority_baseline")


def check_folds(task_name: str, folds: int, given: dict) -> None:
    """InputError for a --folds that cannot be done: another task, too few, --fold given."""
    from rnnlab.tasks import TASKS, ClassificationTask

    task_class = TASKS.get(task_name)
    if task_class is None or not issubclass(task_class, ClassificationTask):
        classifiers = [n for n, t in TASKS.items() if issubclass(t, ClassificationTask)]
        raise InputError(
            f"--folds applies to the classification tasks ({', '.join(classifiers)}), "
            f"not '{task_name}'"
        )
    if folds < 3:
        raise InputError(f"--folds must be at least 3 (train, validation, test), got {folds}")
    chosen = [f"--{k.replace('_', '-')}" for k in ("fold", "num_folds") if k in given]
    if chosen:
        raise InputError(f"--folds K sets {' and '.join(chosen)} itself; leave them out")


def summarise(scores: list[dict]) -> dict:
    """Mean and sample standard deviation of each score over the folds."""
    summary = {}
    for key in SCORES:
        values = np.array([s[key] for s in scores], dtype=np.float64)
        summary[key] = {"mean": float(values.mean()), "std": float(values.std(ddof=1))}
    return summary


def train_folds(task_name, folds: int, given, out, quiet, voice, train_run) -> dict:
    """Train the K folds' runs into ``out/fold-k`` with ``train_run(settings, run_dir,
    first)``, then score and summarise them."""
    from rnnlab.train.run_dir import default_run_name
    from rnnlab.train.session import load_run

    check_folds(task_name, folds, given)
    base = Path(out or Path("runs") / default_run_name(task_name))
    scores = []
    for k in range(folds):
        if not quiet:
            voice.say(f"=== fold {k} of {folds}")
        run = base / f"fold-{k}"
        settings = {**given, "fold": k, "num_folds": folds}
        train_run(settings, str(run), k == 0)
        loaded = load_run(run, best=True)
        test = loaded.task.evaluate(loaded.engine, "test", loaded.config.eval_batch_size)
        scores.append({"fold": k, "run": run.name, **{s: test[s] for s in SCORES}})
    summary = {"folds": folds, "weights": "best validation", "split": "test",
               "scores": scores, "summary": summarise(scores)}  # fmt: skip
    base.mkdir(parents=True, exist_ok=True)
    atomic_write_json(base / SUMMARY_FILE, summary)
    if not quiet:
        table = {s["run"]: {k: s[k] for k in SCORES} for s in scores}
        voice.compare(table, f"{task_name}: test split, {folds} folds")
        for key, stats in summary["summary"].items():
            voice.say(f"{key}: {stats['mean']:.2%} ± {stats['std']:.2%} over {folds} folds")
        voice.say(f"summary: {base / SUMMARY_FILE}")
    return summary
