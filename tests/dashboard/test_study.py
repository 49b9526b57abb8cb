"""The dashboard's memory study: a study.json as `rnnlab study copy` writes it reaches the page
through /api/studies with only its declared fields; anything else in its place is a one-line
``error`` beside the study's id, never a 500 and never a traceback."""

from __future__ import annotations

import json
import math
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnnlab.dashboard.study import MAX_RUNS, MAX_STUDY_BYTES, validate_study
from rnnlab.errors import InputError
from rnnlab.study.record import STUDY_FILE, new_study, table, write_study
from tests.dashboard.conftest import make_run

SETTINGS = {"delays": [10, 50], "cells": ["rnn", "lstm"], "seeds": [0, 1],
            "engine": "numpy", "backend": "scratch", "train_flags": []}  # fmt: skip
RECALLS = [0.55, 1.0, 0.65, 0.9, 0.5]  # d10: rnn, lstm, rnn, lstm; d50: rnn; the rest pending


def recorded() -> dict:
    """A study as rnnlab.study.record keeps it: five runs done, one running, two pending."""
    study = new_study(SETTINGS)
    for run, recall in zip(study["runs"], RECALLS, strict=False):
        run.update(status="done", recall=recall, sequence_accuracy=recall / 2, steps=300,
                   seconds=12.5)  # fmt: skip
    study["runs"][5]["status"] = "running"
    study["table"] = table(study["runs"])  # as write_study leaves it
    return study


def study_folder(path, study=None):
    path.mkdir(parents=True)
    write_study(path, recorded() if study is None else study)
    return path


def write_raw(path, data: bytes | str):
    path.mkdir(parents=True)
    (path / STUDY_FILE).write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def studies(client):
    status, body, headers = client.get("/api/studies")
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert b"Traceback" not in body
    return json.loads(body)["studies"]


def test_a_study_rnnlab_wrote_reaches_the_page_with_its_declared_fields(tmp_path, serve):
    written = recorded()
    folder = study_folder(tmp_path / "memory", written)
    (found,) = studies(serve([folder]))
    assert found["id"] == "memory" and found["path"] == str(folder) and "error" not in found
    study = found["study"]
    assert study["study"] == "copy" and study["version"] == 1 and study["engine"] == "numpy"
    assert (study["delays"], study["cells"], study["seeds"]) == ([10, 50], ["rnn", "lstm"], [0, 1])
    assert study["runs"] == written["runs"]  # every run, its status and results
    assert [r["status"] for r in study["runs"]] == ["done"] * 5 + ["running", "pending", "pending"]
    # The table as record.table computed it, less the fields the page does not draw.
    assert study["table"] == [
        {k: row[k] for k in ("delay", "cell", "n", "recall_mean", "recall_std")}
        for row in written["table"]
    ]
    assert {(r["delay"], r["cell"], r["n"]) for r in study["table"]} == {
        (10, "lstm", 2), (10, "rnn", 2), (50, "rnn", 1)}  # fmt: skip
    assert "backend" not in study and "train_flags" not in study  # not the page's


def test_a_study_that_changes_has_a_new_version(tmp_path, serve):
    folder = study_folder(tmp_path / "memory")
    client = serve([folder])
    before = studies(client)[0]["version"]
    study = recorded()
    study["runs"][5].update(status="done", recall=0.4, sequence_accuracy=0.1, steps=9,
                            seconds=1.0)  # fmt: skip
    write_study(folder, study)
    (after,) = studies(client)
    assert after["version"] != before and after["study"]["runs"][5]["recall"] == 0.4


def test_only_folders_holding_a_study_json_are_studies(tmp_path, serve):
    runs = tmp_path / "runs"
    make_run(runs / "a")
    single = make_run(tmp_path / "single")
    client = serve([runs, single, tmp_path / "absent"])
    assert studies(client) == []
    status, body = client.json("/api/runs")
    assert status == 200 and len(body["runs"]) == 3  # still the runs they hold


def test_the_runs_of_a_study_folder_are_listed_as_runs_too(tmp_path, serve):
    folder = study_folder(tmp_path / "memory")
    make_run(folder / "d10-rnn-s0")
    client = serve([folder])
    assert [s["id"] for s in studies(client)] == ["memory"]
    assert [r["id"] for r in client.json("/api/runs")[1]["runs"]] == ["d10-rnn-s0"]


def test_two_study_folders_of_the_same_name_get_distinct_ids(tmp_path, serve):
    first = study_folder(tmp_path / "a" / "study")
    second = study_folder(tmp_path / "b" / "study")
    found = studies(serve([first, second]))
    assert [s["id"] for s in found] == ["study", "study-2"]


def test_a_named_link_to_a_study_folder_is_followed(tmp_path, serve):
    folder = study_folder(tmp_path / "memory")
    os.symlink(folder, tmp_path / "latest")
    (found,) = studies(serve([tmp_path / "latest"]))
    assert found["id"] == "memory" and "error" not in found


# --------------------------------------------------------------------------- refused
def tampered(change):
    study = json.loads(json.dumps(recorded()))
    change(study)
    return json.dumps(study)  # NaN and Infinity as Python's json writes them


def _set(path, value):
    """change(study): study[path[0]][path[1]]... = value."""

    def change(study):
        target = study
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


TAMPERED = {
    "wrong version": (_set(["version"], 2), "version is 2, this dashboard reads 1"),
    "delays a string": (_set(["delays"], "10,50"), "delays is a string, expected a list"),
    "a seed that is a bool": (_set(["seeds", 0], True), "seeds[0] is True"),
    "a float delay": (_set(["delays", 1], 50.5), "delays[1] is 50.5"),
    "a cell outside names": (_set(["cells", 0], "../rnn"), "cells[0] is '../rnn'"),
    "an engine that is a list": (_set(["engine"], ["numpy"]), "engine is a list"),
    "runs an object": (_set(["runs"], {"a": 1}), "runs is an object, expected a list"),
    "a run a string": (_set(["runs", 2], "done"), "runs[2] is a string, expected an object"),
    "a NaN recall": (_set(["runs", 0, "recall"], math.nan), "runs[0].recall is nan"),
    "an infinite time": (_set(["runs", 1, "seconds"], math.inf), "runs[1].seconds is inf"),
    "a negative recall": (_set(["runs", 0, "recall"], -0.25), "runs[0].recall is -0.25"),
    "a recall above 1": (_set(["runs", 3, "recall"], 1.5), "runs[3].recall is 1.5"),
    "a recall as text": (_set(["runs", 0, "recall"], "1.0"), "runs[0].recall is '1.0'"),
    "negative steps": (_set(["runs", 0, "steps"], -1), "runs[0].steps is -1"),
    "an unknown status": (_set(["runs", 4, "status"], "finished"), "runs[4].status is 'finished'"),
    "a run folder outside": (_set(["runs", 0, "run"], "../../etc"), "runs[0].run is '../../etc'"),
    "a table std of 2": (_set(["table", 0, "recall_std"], 2.0), "table[0].recall_std is 2.0"),
    "too many runs": (_set(["runs"], [{}] * (MAX_RUNS + 1)), f"runs has {MAX_RUNS + 1} entries"),
    "too many delays": (_set(["delays"], list(range(101))), "delays has 101 entries"),
}


@pytest.mark.parametrize("case", TAMPERED)
def test_a_study_json_with_a_wrong_field_is_a_one_line_error(tmp_path, serve, case):
    change, expected = TAMPERED[case]
    folder = write_raw(tmp_path / "memory", tampered(change))
    (found,) = studies(serve([folder]))
    assert "study" not in found and found["id"] == "memory"
    assert expected in found["error"], found["error"]
    assert found["error"].startswith(f"study.json in '{folder}': ")
    assert "\n" not in found["error"] and len(found["error"]) < 400


FILES = {
    "not JSON": (b"{'study': 'copy'}", "is not JSON"),
    "not UTF-8": (b'{"study": "\xff"}', "is not JSON"),
    "nested too deep": (b"[" * 100_000 + b"]" * 100_000, "is not JSON"),
    "a list": (b"[1, 2]", "expected a JSON object, got a list"),
    "empty": (b"", "is not JSON"),
    "too big": (b" " * (MAX_STUDY_BYTES + 1), "is larger than 1 MiB"),
}


@pytest.mark.parametrize("case", FILES)
def test_a_study_json_that_is_no_study_is_a_one_line_error(tmp_path, serve, case):
    data, expected = FILES[case]
    (found,) = studies(serve([write_raw(tmp_path / "memory", data)]))
    assert expected in found["error"] and "\n" not in found["error"], found["error"]


def test_a_study_json_linked_elsewhere_is_refused_not_followed(tmp_path, serve):
    outside = tmp_path / "outside.json"
    outside.write_text(json.dumps(recorded()))
    folder = tmp_path / "memory"
    folder.mkdir()
    os.symlink(outside, folder / STUDY_FILE)
    (found,) = studies(serve([folder]))
    assert "study" not in found and "is a symbolic link" in found["error"]
    os.remove(folder / STUDY_FILE)
    os.symlink(folder / STUDY_FILE, folder / STUDY_FILE)  # a loop
    assert "symbolic link loop" in studies(serve([folder]))[0]["error"]


def test_a_study_json_that_is_a_folder_or_a_fifo_is_refused_without_waiting(tmp_path, serve):
    (tmp_path / "a" / STUDY_FILE).mkdir(parents=True)
    (tmp_path / "b").mkdir()
    os.mkfifo(tmp_path / "b" / STUDY_FILE)
    found = studies(serve([tmp_path / "a", tmp_path / "b"]))
    assert "is a directory, not a file" in found[0]["error"]
    assert "is a FIFO (named pipe), not a file" in found[1]["error"]


def test_fields_a_study_does_not_declare_never_reach_the_page(tmp_path, serve):
    study = recorded()
    study["note"] = "<script>alert(1)</script>"
    study["runs"][0]["html"] = "<img src=x onerror=alert(1)>"
    study["table"] = [{**study["table"][0], "extra": "<b>"}]
    folder = write_raw(tmp_path / "memory", json.dumps(study))
    status, body, _ = serve([folder]).get("/api/studies")
    assert status == 200 and b"<" not in body and b"alert" not in body


# --------------------------------------------------------------------------- any JSON
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                  max_size=4),
    max_leaves=12,
)  # fmt: skip
PATHS = [["study"], ["version"], ["delays"], ["delays", 0], ["cells", 1], ["seeds"],
         ["engine"], ["runs"], ["runs", 0], ["runs", 0, "recall"], ["runs", 1, "status"],
         ["runs", 2, "steps"], ["runs", 3, "seconds"], ["table"], ["table", 0],
         ["table", 0, "n"], ["table", 1, "recall_mean"]]  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(PATHS), value=JSON)
def test_any_value_in_any_field_is_kept_checked_or_refused_in_one_line(path, value):
    study = json.loads(json.dumps(recorded()))
    _set(path, value)(study)
    try:
        checked = validate_study(study)
    except InputError as e:
        assert "\n" not in str(e) and len(str(e)) < 300
        return
    json.dumps(checked, allow_nan=False)  # what is kept is finite JSON
    assert set(checked) == {"study", "version", "delays", "cells", "seeds", "engine",
                            "runs", "table"}  # fmt: skip
