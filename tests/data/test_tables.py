"""A user's labelled texts from CSV, TSV and JSONL: what is read, and one line for each kind
of bad input (missing column, empty text, a single class, a file that is not its format)."""

import json

import pytest

from rnnlab.data.tables import read_table
from rnnlab.errors import DataError


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_tsv_and_jsonl_give_the_same_texts_and_labels(tmp_path):
    rows = [('good, really "good"', "pos"), ("bad\nand long", "neg"), ("meh", "neutral")]
    csv_text = "id,text,label\n" + "".join(
        f'{i},"{t.replace(chr(34), chr(34) * 2)}",{label}\n' for i, (t, label) in enumerate(rows)
    )
    tsv_text = "label\ttext\n" + "".join(f'{label}\t"{t.replace(chr(34), chr(34) * 2)}"\n'
                                         for t, label in rows)  # fmt: skip
    jsonl_text = "".join(json.dumps({"text": t, "label": label}) + "\n" for t, label in rows)
    expected = ([t for t, _ in rows], [label for _, label in rows])
    for name, text in (("a.csv", csv_text), ("a.tsv", tsv_text), ("a.jsonl", jsonl_text)):
        assert read_table(write(tmp_path, name, text), "text", "label") == expected, name


def test_other_columns_and_integer_json_labels(tmp_path):
    path = write(tmp_path, "a.jsonl", '{"body": "x", "y": 1}\n\n{"body": "z", "y": 2}\n')
    assert read_table(path, "body", "y") == (["x", "z"], ["1", "2"])


def test_a_byte_order_mark_and_a_line_separator_inside_a_text_are_fine(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes('\ufefftext,label\n"a\u2028b",x\nc,y\n'.encode())
    assert read_table(path, "text", "label") == (["a\u2028b", "c"], ["x", "y"])


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "a.csv",
            "body,label\nx,1\n",
            r"no column 'text' \(its header: 'body', 'label'\); "
            "pass --text-column NAME",
        ),
        ("a.csv", "text,lab\nx,1\n", "no column 'label'.*pass --label-column NAME"),
        ("a.csv", "text\tlabel\nx\t1\n", "its header has tabs, so name it .tsv"),
        ("a.tsv", "text,label\nx,1\n", "its header has commas, so name it .csv"),
        ("a.csv", '{"text": "x", "label": 1}\n', "it looks like JSON lines, so name it .jsonl"),
        ("a.jsonl", "text,label\nx,1\n", "line 1: not JSON .*name a CSV file .csv"),
        ("a.jsonl", '["x", 1]\n', "line 1: a JSON list, not an object"),
        ("a.jsonl", '{"text": "x"}\n', "line 1: no key 'label'"),
        ("a.jsonl", '{"text": 3, "label": 1}\n', "line 1: the text 'text' must be a string"),
        ("a.jsonl", '{"text": "x", "label": 0.5}\n', "the label 'label' must be a string or"),
        ("a.csv", "text,label\nx,1\n   ,2\n", "line 3: the text \\('text'\\) is empty"),
        ("a.csv", "text,label\nx,1\ny,\n", "line 3: the label \\('label'\\) is empty"),
        ("a.csv", "text,label\nx,1,2\n", "line 2: 3 fields where the header has 2"),
        ("a.csv", 'text,label\n"x,1\n', "not valid CSV"),
        ("a.csv", "text,label\nx,1\ny,1\n", "all 2 rows have the label '1'; .*two classes"),
        ("a.csv", "text,label\n", "holds no rows"),
        ("a.csv", "", "is empty; a CSV file starts with a header row"),
        ("a.txt", "x", "reads .csv, .tsv or .jsonl files.*got '.txt'"),
    ],
)
def test_bad_input_is_one_line_saying_what_where_and_what_to_do(tmp_path, name, text, message):
    path = write(tmp_path, name, text)
    with pytest.raises(DataError, match=message) as info:
        read_table(path, "text", "label")
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_missing_binary_and_non_utf8_files_are_refused(tmp_path):
    with pytest.raises(DataError, match=r"none\.csv' does not exist; check the path"):
        read_table(tmp_path / "none.csv", "text", "label")
    (tmp_path / "d.csv").mkdir()
    with pytest.raises(DataError, match="is a directory"):
        read_table(tmp_path / "d.csv", "text", "label")
    (tmp_path / "b.csv").write_bytes(b"text,label\n\x00\x01,1\n")
    with pytest.raises(DataError, match="not text \\(a NUL byte at offset 11\\)"):
        read_table(tmp_path / "b.csv", "text", "label")
    (tmp_path / "l.csv").write_bytes(b"text,label\ncaf\xe9,1\n")
    with pytest.raises(DataError, match="not UTF-8 text \\(byte 0xe9 at offset 14\\)"):
        read_table(tmp_path / "l.csv", "text", "label")
