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
