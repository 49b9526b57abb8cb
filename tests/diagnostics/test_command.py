"""``rnnlab diagnose``: a run's summary, JSON and plots; the fresh-cell comparison; and bad
input as an InputError (which ``rnnlab``'s entry point prints as one line, exit 2)."""

import importlib.util
import json

import click
import numpy as np
import pytest
from click.testing import CliRunner

from rnnlab.diagnostics.command import diagnose_command
from rnnlab.errors import InputError
from rnnlab.train.options import build_from_settings
from rnnlab.train.session import load_run, start_run

HAS_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None


def make_run(path, **settings):
    given = {"steps": 2, "hidden": 6, "delay": 4, "bits": 3, "eval_every": 2, "save_every": 2,
             "cell": "lstm", **settings}  # fmt: skip
    task, spec, config = build_from_settings("copy", given)
    start_run(task, spec, config, path)
    return path


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return make_run(tmp_path_factory.mktemp("runs") / "lstm2", layers=2)


def diagnose(*args):
    return CliRunner().invoke(diagnose_command, [str(a) for a in args])


def test_a_run_gets_a_summary_and_its_plots(run_dir):
    result = diagnose(run_dir)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "lstm, 2 layer(s) × 6" in out and "gradients by numpy" in out
    assert "loss " in out and "  layer 0: t=1 " in out and "  layer 1: t=1 " in out
    assert "gates: mean (saturated low / high)" in out and " f 0." in out
    if HAS_MATPLOTLIB:
        for name in ("gradient_flow.png", "gates.png", "cell_trace.png"):
            assert (run_dir / name).stat().st_size > 0


def test_json_report_is_the_probe_of_the_first_validation_batch(run_dir, tmp_path):
    result = diagnose(run_dir, "--json", "--batch-size", 5, "--out", tmp_path / "plots")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    loaded = load_run(run_dir)
    batch = loaded.task.batch("val", 0, 5)
    assert report["loss"] == pytest.approx(loaded.engine.evaluate(batch).loss, rel=1e-5)
    assert (report["batch_size"], report["steps"]) == (5, batch.mask.shape[0])
    flow = report["gradient_flow"]
    assert set(flow) == {"0", "1"} and len(flow["0"]["norms"]) == batch.mask.shape[0]
    assert flow["1"]["last"] == pytest.approx(flow["1"]["norms"][-1])
    assert set(report["gates"]["0"]) == {"i", "f", "g", "o"}
    assert isinstance(report["warnings"], list)
    if HAS_MATPLOTLIB:  # --out: the plots go there
        assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == [
            "cell_trace.png", "gates.png", "gradient_flow.png"
        ]  # fmt: skip


def test_torch_autograd_gives_the_numpy_gradient_flow(run_dir):
    pytest.importorskip("torch")
    reports = {}
    for engine in ("numpy", "torch"):
        result = diagnose(run_dir, "--json", "--engine", engine, "--no-plots")
        assert result.exit_code == 0, result.output
        reports[engine] = json.loads(result.stdout)
    assert reports["torch"]["engine"] == "torch" and reports["torch"]["plots"] == []
    for layer in ("0", "1"):
        np.testing.assert_allclose(
            reports["torch"]["gradient_flow"][layer]["norms"],
            reports["numpy"]["gradient_flow"][layer]["norms"],
            rtol=1e-9,
        )


def test_compare_cells_shows_the_rnn_gradient_vanishing_and_the_lstm_keeping_it(tmp_path):
    args = ["--compare-cells", "rnn,lstm", "--task", "copy", "--delay", 30, "--out", tmp_path]
    result = diagnose(*args, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    rnn, lstm = (report["cells"][c]["gradient_flow"]["0"]["ratio"] for c in ("rnn", "lstm"))
    assert rnn < lstm / 100
    assert any("(vanishing)" in w for w in report["cells"]["rnn"]["warnings"])
    text = diagnose(*args).output
    assert "rnn: loss" in text and "lstm: loss" in text and "‖∂L/∂h_1‖ / ‖∂L/∂h_T‖: rnn" in text
    if HAS_MATPLOTLIB:
        assert (tmp_path / "gradient_flow_compare.png").stat().st_size > 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--compare-cells", "rnn,transformer"], "--compare-cells takes cells"),
        (["--compare-cells", "rnn", "--task", "anbn", "--delay", "3"], "--delay does not apply"),
        (["--batch-size", "0"], "--batch-size must be"),
        ([], "needs a RUN"),
    ],
)
def test_bad_flags_are_input_errors(args, message):
    result = diagnose(*args)
    assert isinstance(result.exception, InputError)
    assert message in str(result.exception)


def test_run_and_comparison_flags_do_not_mix(run_dir):
    for args, message in [
        ([run_dir, "--compare-cells", "rnn,lstm"], "either RUN or --compare-cells"),
        ([run_dir, "--delay", "5"], "--delay: only with --compare-cells"),
        ([run_dir, "--split", "dev"], "unknown split"),
    ]:
        result = diagnose(*args)
        assert isinstance(result.exception, InputError), args
        assert message in str(result.exception)


def test_a_missing_or_bidirectional_run_is_an_input_error(tmp_path):
    result = diagnose(tmp_path / "nowhere")
    assert isinstance(result.exception, InputError) and "does not exist" in str(result.exception)
    bidirectional = make_run(tmp_path / "bi", bidirectional=True, steps=1)
    result = diagnose(bidirectional)
    assert isinstance(result.exception, InputError) and "bidirectional" in str(result.exception)
    assert not (bidirectional / "gradient_flow.png").exists()


def test_the_rnnlab_entry_point_answers_bad_input_with_one_line_and_exit_code_2(
    tmp_path, capsys, monkeypatch
):
    import rnnlab.cli as cli_module

    if "diagnose" not in cli_module.cli.commands:  # until cli.py registers it: a stand-in
        monkeypatch.setattr(cli_module, "cli", click.Group("rnnlab", [diagnose_command]))
    for args in ([str(tmp_path / "nowhere")], ["--compare-cells", "rnn,cnn"]):
        assert cli_module.main(["diagnose", *args]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("rnnlab: error:") and "\n" not in err, err
