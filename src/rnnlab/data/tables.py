"""A user's labelled texts from a CSV, TSV or JSON-lines file, one example per row.

The format comes from the extension: ``.csv`` (comma-separated, a header row naming the
columns), ``.tsv`` (the same with tabs) or ``.jsonl`` / ``.ndjson`` (one JSON object per
line). Two columns (keys) are read: the text and its label; others are ignored. Labels are
kept as strings (a JSON integer label ``3`` is the label ``"3"``).

Anything wrong is one :class:`~rnnlab.errors.DataError` line saying what, where (file, row
or line) and what to do: a missing file or column, a file that is not the format its
extension says, a row without a text or a label, no rows, or a single class.
"""

import csv
import io
import json
import os
from pathlib import Path

from rnnlab.errors import DataError, describe_os_error

FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def read_table(path: str | os.PathLike, text_column: str, label_column: str) -> tuple[list, list]:
    """(texts, labels), both lists of ``str`` in file order; DataError for bad input."""
    path = Path(path)
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise DataError(
            f"--data '{path}': the classify task reads .csv, .tsv or .jsonl files, and tells "
            f"them apart by the extension; got '{path.suffix or 'no extension'}'; rename it"
        )
    text = _read(path)
    if kind == "jsonl":
        rows = _json_rows(path, text, text_column, label_column)
    else:
        rows = _delimited_rows(
            path, text, "," if kind == "csv" else "\t", text_column, label_column
        )
    if not rows:
        raise DataError(f"--data '{path}' holds no rows of data; add labelled texts")
    texts, labels = [t for _, t, _ in rows], [label for _, _, label in rows]
    for where, text, label in rows:
        if not text.strip():
            raise DataError(
                f"--data '{path}', {where}: the text ({text_column!r}) is empty; fill it or "
                "remove the row"
            )
        if not label.strip():
            raise DataError(
                f"--data '{path}', {where}: the label ({label_column!r}) is empty; fill it or "
                "remove the row"
            )
    if len(set(labels)) < 2:
        raise DataError(
            f"--data '{path}': all {len(rows)} rows have the label {labels[0]!r}; a classifier "
            f"needs at least two classes in --label-column {label_column!r}"
        )
    return texts, labels


def _read(path: Path) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"--data '{path}' does not exist; check the path") from None
    except IsADirectoryError:
        raise DataError(
            f"--data '{path}' is a directory; pass a .csv, .tsv or .jsonl file"
        ) from None
    except OSError as exc:
        raise DataError(f"--data '{path}' cannot be read: {describe_os_error(exc)}") from None
    offset = data.find(b"\x00")
    if offset >= 0:
        raise DataError(
            f"--data '{path}' is not text (a NUL byte at offset {offset}), so not the "
            f"{path.suffix} file its name says; pass a .csv, .tsv or .jsonl text file"
        )
    try:
        return data.decode("utf-8-sig")  # -sig: a spreadsheet's byte-order mark
    except UnicodeDecodeError as exc:
        raise DataError(
            f"--data '{path}' is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset "
            f"{exc.start}); save it as UTF-8"
        ) from None


def _delimited_rows(path: Path, text: str, delimiter: str, text_column: str, label_column: str):
    """[(where, text, label)] of a CSV or TSV file with a header row."""
    name = "CSV" if delimiter == "," else "TSV"
    # newline="": lines end only at \n, \r or \r\n, so a quoted text may hold any other
    # line break (str.splitlines would also split at U+2028 and friends)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise DataError(f"--data '{path}' is empty; a {name} file starts with a header row")
        columns = {column.strip(): i for i, column in enumerate(header)}
        for column, flag in ((text_column, "--text-column"), (label_column, "--label-column")):
            if column not in columns:
                raise DataError(
                    f"--data '{path}' has no column {column!r} (its header: "
                    f"{', '.join(map(repr, columns)) or 'empty'}){_looks_like(text, name)}; "
                    f"pass {flag} NAME"
                )
        t, k = columns[text_column], columns[label_column]
        rows = []
        for fields in reader:
            if not fields:
                continue  # a blank line
            where = f"line {reader.line_num}"
            if len(fields) != len(header):
                raise DataError(
                    f"--data '{path}', {where}: {len(fields)} fields where the header has "
                    f"{len(header)}; quote texts that contain the {name}'s delimiter"
                )
            rows.append((where, fields[t], fields[k].strip()))
        return rows
    except csv.Error as exc:
        raise DataError(
            f"--data '{path}', line {reader.line_num}: not valid {name} ({exc}); fix the quoting"
        ) from None


def _looks_like(text: str, name: str) -> str:
    """A hint when a file's first line looks like another format than its extension says."""
    first = text.lstrip()[:1]
    if first == "{":
        return ": it looks like JSON lines, so name it .jsonl"
    if name == "CSV" and "\t" in text.partition("\n")[0]:
        return ": its header has tabs, so name it .tsv"
    if name == "TSV" and "," in text.partition("\n")[0]:
        return ": its header has commas, so name it .csv"
    return ""


def _json_rows(path: Path, text: str, text_column: str, label_column: str):
    """[(where, text, label)] of a JSON-lines file."""
    rows = []
    for number, line in enumerate(text.split("\n"), start=1):  # JSON allows raw U+2028
        if not line.strip():
            continue
        where = f"line {number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(
                f"--data '{path}', {where}: not JSON ({exc.msg}); a .jsonl file holds one JSON "
                "object per line (name a CSV file .csv)"
            ) from None
        if not isinstance(row, dict):
            raise DataError(
                f"--data '{path}', {where}: a JSON {type(row).__name__}, not an object; each "
                'line must look like {"text": "...", "label": "..."}'
            )
        for column, flag in ((text_column, "--text-column"), (label_column, "--label-column")):
            if column not in row:
                raise DataError(
                    f"--data '{path}', {where}: no key {column!r} (it has "
                    f"{', '.join(map(repr, row)) or 'none'}); pass {flag} NAME"
                )
        value, label = row[text_column], row[label_column]
        if not isinstance(value, str):
            raise DataError(
                f"--data '{path}', {where}: the text {text_column!r} must be a string, "
                f"got {type(value).__name__}"
            )
        if isinstance(label, bool) or not isinstance(label, str | int):
            raise DataError(
                f"--data '{path}', {where}: the label {label_column!r} must be a string or an "
                f"integer, got {label!r}"
            )
        rows.append((where, value, str(label).strip()))
    return rows
