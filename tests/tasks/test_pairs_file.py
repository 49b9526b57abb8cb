"""seq2seq: the user's own source<TAB>target file — trained, decoded from the run alone,
and bad input refused in one line with exit 2 before any run directory exists."""

import json

import pytest

from rnnlab.cli import main


@pytest.fixture
def pairs(tmp_path):
    words = [a + b + c for a in "abcd" for b in "abcd" for c in "abcd"]  # 64 sources
    path = tmp_path / "pairs.tsv"
    path.write_text("".join(f"{w}\t{' '.join(w.upper())}\n" for w in words) * 2, "utf-8")
    return path


def test_train_evaluate_and_generate_a_tsv_run(tmp_path, pairs, capsys):
    run = str(tmp_path / "run")
    argv = ["train", "seq2seq", "--data", str(pairs), "--target-level", "word", "--hidden", "8",
            "--steps", "4", "--out", run, "--quiet"]  # fmt: skip
    assert main(argv) == 0
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["task"]["vocabularies"] == {"source": list("abcd"), "target": list("ABCD")}
    assert main(["evaluate", run, "--json"]) == 0
    assert {"exact_match", "token_error_rate"} <= set(json.loads(capsys.readouterr().out))
    pairs.unlink()  # generate needs the run alone
    assert main(["generate", run, "--input", "abc\ndda"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in lines] == ["abc", "dda"]
    assert all(set(line.split("\t")[1].split()) <= set("ABCD") for line in lines)


@pytest.mark.parametrize(
    "content, says",
    [
        (b"abc\n", "line 1 has no tab"),
        (b"ab\tAB\nabc\t \n", "line 2 has an empty target"),
        (b"\tAB\n", "line 1 has an empty source"),
        (b"a\tb\tc\n", "line 1 has 2 tabs"),
        (b"ab\tA\n\xff\xfe\tB\n", "line 2 is not UTF-8"),
        (b"\n\n", "no source<TAB>target pairs"),
        (b"ab\tAB\n", "split is empty"),
    ],
)
def test_bad_files_are_one_line_and_exit_2(tmp_path, capsys, content, says):
    path = tmp_path / "bad.tsv"
    path.write_bytes(content)
    run = tmp_path / "run"
    assert main(["train", "seq2seq", "--data", str(path), "--out", str(run)]) == 2
    err = capsys.readouterr().err.strip()
    assert says in err and len(err.splitlines()) == 1, err
    assert not run.exists()


def test_missing_data_and_bad_levels_are_refused(tmp_path, capsys):
    assert main(["train", "seq2seq", "--out", str(tmp_path / "r")]) == 2
    assert "--data" in capsys.readouterr().err
    path = tmp_path / "p.tsv"
    path.write_text("a\tb\n")
    assert main(["train", "seq2seq", "--data", str(path), "--source-level", "byte"]) == 2
    assert "--source-level must be char or word" in capsys.readouterr().err
