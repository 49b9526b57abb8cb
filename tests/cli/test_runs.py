"""What ``rnnlab generate`` does by default comes from the task: a^n b^n runs start from
"a" and stop at <eos>; text runs start from <eos> and write on."""

from rnnlab.cli.runs import generate
from rnnlab.tasks import TASKS


def test_the_counting_tasks_prime_with_an_a_and_stop_at_eos_the_text_tasks_do_neither():
    for name in ("anbn", "anbnan"):
        assert (TASKS[name].default_prime, TASKS[name].until_eos) == ("a", True)
    for name in ("chars", "words", "bytes"):
        assert (TASKS[name].default_prime, TASKS[name].until_eos) == ("", False)


def test_the_help_names_the_tasks_defaults():
    until_eos = next(p for p in generate.params if p.name == "until_eos")
    assert until_eos.help == "Stop at <eos> [on for anbn, anbnan]."
    prime = next(p for p in generate.params if p.name == "prime")
    assert prime.help == "Text the model reads before it writes [anbn: 'a', anbnan: 'a']."


def test_generate_refuses_a_classifier_run_in_one_line(tmp_path):
    from rnnlab.cli import main

    run = tmp_path / "marker"
    assert main(["train", "marker", "--steps", "5", "--out", str(run), "-q"]) == 0
    before = sorted(p.name for p in run.iterdir())
    assert main(["generate", str(run)]) == 2
    assert sorted(p.name for p in run.iterdir()) == before  # the run is left as it was


def test_evaluate_a_classifier_gives_its_scores_and_draws_the_confusion_matrix(tmp_path, capsys):
    import json

    from rnnlab.cli import main
    from rnnlab.train.artifacts import plots_available

    run = tmp_path / "marker"
    assert main(["train", "marker", "--steps", "20", "--out", str(run), "-q"]) == 0
    (run / "confusion.png").unlink(missing_ok=True)
    assert main(["evaluate", str(run), "--split", "test", "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    for key in ("accuracy", "macro_f1", "majority_baseline", "precision:a", "recall:d"):
        assert 0.0 <= metrics[key] <= 1.0
    assert "bits_per_token" not in metrics and "perplexity" not in metrics  # no tokens here
    confusion = metrics["confusion"]
    assert sum(map(sum, confusion)) == metrics["examples"]
    assert metrics["accuracy"] == sum(confusion[k][k] for k in range(4)) / metrics["examples"]
    if plots_available():
        assert (run / "confusion-test.png").read_bytes()[:4] == b"\x89PNG"
        assert main(["evaluate", str(run)]) == 0  # the validation split: confusion.png
        assert (run / "confusion.png").exists()
        out = capsys.readouterr().out
        assert "per class" in out and "precision" in out and "majority_baseline" in out


def test_generate_writes_with_the_best_weights_unless_told_last(tmp_path, capsys):
    import numpy as np

    from rnnlab.cli import main
    from rnnlab.train.session import load_run

    run = tmp_path / "anbn"
    # a learning rate high enough that the last evaluation is not the best one
    flags = ["--steps", "60", "--eval-every", "5", "--lr", "0.5", "--seed", "1"]
    assert main(["train", "anbn", *flags, "--out", str(run), "-q"]) == 0
    loaded = load_run(run, best=None, need_data=False)
    best, last = loaded.checkpoint.best, loaded.checkpoint.model
    assert any(not np.array_equal(best[k], last[k]) for k in best)  # the case this tests
    for name, value in loaded.engine.state_dict().items():
        np.testing.assert_array_equal(value, best[name])

    outputs = {}
    for choice in ([], ["--best"], ["--last"]):
        capsys.readouterr()
        assert main(["generate", str(run), "--argmax", "--length", "30", *choice]) == 0
        outputs[" ".join(choice)] = capsys.readouterr().out
    assert outputs[""] == outputs["--best"]
