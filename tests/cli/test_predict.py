"""``rnnlab predict``: a classifier's label and probabilities for new texts, the attention
readout's token weights with --explain (terminal, JSON, HTML, PNG), one line and exit 2 for
every bad input, and the run left as it was."""

import json

import numpy as np
import pytest

from rnnlab.cli import main
from rnnlab.train.artifacts import plots_available
from rnnlab.train.session import load_run

WORDS = {"pos": ["good", "great", "fine", "lovely"], "neg": ["bad", "awful", "poor", "dull"]}


def write_reviews(path):
    rows = ["text,label"]
    for i in range(40):
        for label, words in WORDS.items():
            rows.append(f"{words[i % 4]} {words[(i + 1) % 4]} film number {i},{label}")
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A small attention classifier of two kinds of review, trained for a few seconds."""
    base = tmp_path_factory.mktemp("predict")
    data = write_reviews(base / "reviews.csv")
    out = base / "run"
    args = ["train", "classify", "--data", str(data), "--readout", "attention", "--hidden", "16",
            "--embedding-dim", "16", "--epochs", "8", "--out", str(out), "-q"]  # fmt: skip
    assert main(args) == 0
    return out


def files_of(run):
    return {p.name: p.read_bytes() for p in run.iterdir()}


def test_texts_get_their_label_and_probabilities_that_sum_to_one(run, capsys):
    before = files_of(run)
    assert main(["predict", str(run), "great lovely film", "awful dull film", "--json"]) == 0
    answers = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [a["label"] for a in answers] == ["pos", "neg"]
    for a in answers:
        assert sorted(a["probabilities"]) == ["neg", "pos"]
        assert sum(a["probabilities"].values()) == pytest.approx(1.0, abs=1e-12)
        assert "attention" not in a  # only with --explain
    assert files_of(run) == before  # predicting changes nothing in the run


def test_the_probabilities_are_the_softmax_of_the_engines_answers(run, capsys):
    loaded = load_run(run, need_data=False)
    batch = loaded.task.texts_batch(["good film", "poor awful dull film"])
    logits, weights = loaded.engine.answer(batch.inputs, batch.lengths)  # (B, K), (T, B)
    assert main(["predict", str(run), "good film", "poor awful dull film", "--json"]) == 0
    answers = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    z = logits.astype(np.float64)
    expected = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    got = np.array([[a["probabilities"][k] for k in ("neg", "pos")] for a in answers])
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    # the weights are a distribution over each text's real tokens, 0 on the padding
    np.testing.assert_allclose(weights.sum(axis=0), 1.0, rtol=1e-6)
    assert weights[2:, 0].max() == 0.0


def test_both_engines_answer_alike(run):
    pytest.importorskip("torch")
    texts = ["good film", "awful dull dull film number 3", "lovely"]
    answers = {}
    for engine in ("numpy", "torch"):
        loaded = load_run(run, overrides={"engine": engine}, need_data=False)
        batch = loaded.task.texts_batch(texts)
        answers[engine] = loaded.engine.answer(batch.inputs, batch.lengths)
    np.testing.assert_allclose(answers["numpy"][0], answers["torch"][0], atol=1e-5)
    np.testing.assert_allclose(answers["numpy"][1], answers["torch"][1], atol=1e-6)


def test_explain_lists_the_weighted_tokens_and_json_keeps_each_weight(run, capsys):
    assert main(["predict", str(run), "good great film", "--explain"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[1] == "good great film"  # the shaded tokens (plain: no terminal)
    assert out.splitlines()[2].startswith("most weighted: ")
    assert main(["predict", str(run), "good great film", "--explain", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert [t for t, _ in answer["attention"]] == ["good", "great", "film"]
    assert sum(w for _, w in answer["attention"]) == pytest.approx(1.0, abs=1e-6)


def test_explain_saves_an_html_page_and_a_png(run, tmp_path, capsys):
    page = tmp_path / "why.html"
    assert main(["predict", str(run), "good <b>film</b>", "--explain", "--save", str(page)]) == 0
    html = page.read_text()
    assert ">&lt;</span>" in html and "<b>" not in html  # the text is escaped, not markup
    assert html.count("<span") == 9  # good < b > film < / b >: the tokens the model read
    if plots_available():
        png = tmp_path / "why.png"
        assert main(["predict", str(run), "good film", "--explain", "--save", str(png)]) == 0
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_file_gives_one_text_a_line_and_dash_reads_stdin(run, tmp_path, capsys, monkeypatch):
    texts = tmp_path / "texts.txt"
    texts.write_text("good film\nawful film\n")
    assert main(["predict", str(run), "--file", str(texts)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in lines] == ["pos", "neg"]
    assert lines[0].endswith("\tgood film")
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("lovely film\n"))
    assert main(["predict", str(run), "--file", "-"]) == 0
    assert capsys.readouterr().out.startswith("pos\t")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give a text to classify"),
        (["x", "--file", "FILE"], "not both"),
        (["   "], "text 1 is empty"),
        (["good", "--save", "x.html"], "add --explain"),
        (["good", "--explain", "--save", "why.pdf"], "an .html or a .png"),
        (["--file", "EMPTYLINE"], "line 2 is empty"),
        (["--file", "LATIN1"], "not UTF-8"),
        (["--file", "MISSING"], "MISSING"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(run, tmp_path, capsys, args, message):
    (tmp_path / "EMPTYLINE").write_text("good\n \nbad\n")
    (tmp_path / "LATIN1").write_bytes(b"caf\xe9\n")
    (tmp_path / "FILE").write_text("good\n")
    args = [str(tmp_path / a) if a in ("FILE", "EMPTYLINE", "LATIN1", "MISSING") else a
            for a in args]  # fmt: skip
    args = [str(tmp_path / a) if a.endswith((".pdf", ".html")) else a for a in args]
    before = files_of(run)
    assert main(["predict", str(run), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert files_of(run) == before


def test_runs_that_are_no_text_classifier_are_refused(tmp_path, capsys):
    marker = tmp_path / "marker"
    assert main(["train", "marker", "--steps", "3", "--out", str(marker), "-q"]) == 0
    assert main(["predict", str(marker), "abc"]) == 2
    assert "not texts" in capsys.readouterr().err
    sine = tmp_path / "sine"
    assert main(["train", "sine", "--steps", "3", "--out", str(sine), "-q"]) == 0
    assert main(["predict", str(sine), "abc"]) == 2
    assert "not a classifier" in capsys.readouterr().err


def test_explain_needs_the_attention_readout(tmp_path, capsys):
    data = write_reviews(tmp_path / "reviews.csv")
    out = tmp_path / "mean"
    args = ["--readout", "mean", "--steps", "3", "--hidden", "8", "--embedding-dim", "8"]
    assert main(["train", "classify", "--data", str(data), *args, "--out", str(out), "-q"]) == 0
    assert main(["predict", str(out), "good", "--explain"]) == 2
    assert "--readout attention" in capsys.readouterr().err


def test_a_run_predicts_without_its_data_file(tmp_path, capsys):
    """The vocabulary and the class names are saved with the run: the data may be gone."""
    data = write_reviews(tmp_path / "reviews.csv")
    out = tmp_path / "run"
    assert main(["train", "classify", "--data", str(data), "--steps", "3", "--hidden", "8",
                 "--embedding-dim", "8", "--out", str(out), "-q"]) == 0  # fmt: skip
    data.unlink()
    assert main(["predict", str(out), "good film", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["label"] in ("neg", "pos")
