"""The dashboard's panels for a memory study, a classifier and an encoder–decoder, in a real
browser (headless Chromium): each draws real files (a study.json as rnnlab.study.record
writes it, runs just trained) with no console error; full-page screenshots are saved (see
tests/dashboard/browser.py for where)."""

from __future__ import annotations

import time

import pytest

from rnnlab.study.record import new_study, write_study
from rnnlab.train.options import build_from_settings
from rnnlab.train.session import start_run
from tests.dashboard.browser import console_errors, missing, save_screenshot
from tests.dashboard.conftest import js, open_page, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.skipif(missing() is not None, reason=str(missing()))]

STUDY = {"delays": [5, 20, 50, 100], "cells": ["rnn", "lstm"], "seeds": [0, 1, 2],
         "engine": "numpy", "backend": "scratch", "train_flags": []}  # fmt: skip
# Made-up recalls that fall with the delay for the RNN and stay high for the LSTM.
RECALL = {("rnn", 5): [1.0, 0.98, 1.0], ("rnn", 20): [0.81, 0.74, 0.9],
          ("rnn", 50): [0.55, 0.6, 0.52], ("rnn", 100): [0.51],
          ("lstm", 5): [1.0, 1.0, 1.0], ("lstm", 20): [1.0, 1.0, 0.99],
          ("lstm", 50): [0.97, 1.0, 0.93], ("lstm", 100): [0.9]}  # fmt: skip
QUICK = {"log_every": 5, "save_every": 40, "eval_every": 10, "steps": 40}


@pytest.fixture(scope="session")
def panels(tmp_path_factory):
    """A study folder (part done, one run training), two classifiers (one bidirectional, of
    other data) and two encoder–decoders (one without attention)."""
    root = tmp_path_factory.mktemp("panels")
    study = new_study(STUDY)
    for run in study["runs"]:
        recalls = RECALL[run["cell"], run["delay"]]
        if run["seed"] < len(recalls):
            recall = recalls[run["seed"]]
            run.update(status="done", recall=recall, sequence_accuracy=recall**8,
                       steps=500 * run["delay"], seconds=3.0 * run["delay"])  # fmt: skip
    study["runs"][-1]["status"] = "running"
    (root / "study").mkdir()
    write_study(root / "study", study)
    marker = {**QUICK, "num": 300, "hidden": 12, "readout": "attention"}
    start_run(*build_from_settings("marker", marker), root / "marker")
    other = {**marker, "symbols": 6, "readout": "mean", "bidirectional": True}
    start_run(*build_from_settings("marker", other), root / "marker-bi")
    reverse = {**QUICK, "num": 300, "symbols": 6, "hidden": 8}
    start_run(*build_from_settings("reverse", reverse), root / "reverse")
    plain = {**reverse, "attention": "none", "steps": 10}
    start_run(*build_from_settings("reverse", plain), root / "reverse-plain")
    return root


def show(browser, client):
    browser.set_window_size(1400, 1800)  # the last test's screenshot made it taller
    open_page(browser, f"http://127.0.0.1:{client.port}/")


def full_page_screenshot(browser, name):
    """The whole page: the window made as tall as the page plus the browser's own frame."""
    height = js(browser, "return document.documentElement.scrollHeight")
    frame = js(browser, "return window.outerHeight - window.innerHeight")
    browser.set_window_size(1400, min(height + frame, 8000))
    time.sleep(0.4)  # the charts redraw at the new size
    return save_screenshot(browser, name)


def text(browser, selector):
    return js(browser, f"return document.querySelector({selector!r}).textContent")


def test_the_study_panel_draws_recall_against_delay_and_its_table(panels, serve, browser):
    show(browser, serve([panels / "study"]))
    wait_for(lambda: js(browser, "return !document.getElementById('panel-study').hidden"),
             what="the study panel")  # fmt: skip
    points = wait_for(
        lambda: js(browser, "return (document.querySelector('.study-chart') || {dataset: {}})"
                            ".dataset.points"),
        what="the study chart",
    )  # fmt: skip
    assert points == "8"  # a mean per delay and cell: 4 delays × 2 cells
    legend = js(browser, "return [...document.querySelectorAll('.study-chart .u-series')]"
                         ".map(s => s.textContent.trim())")  # fmt: skip
    assert legend == ["rnn", "lstm"], legend  # a series per cell (no x in a static legend)
    assert js(browser, "return document.querySelectorAll('.study-chart canvas').length") == 1
    rows = js(browser, "return [...document.querySelectorAll('.study-table tr')]"
                       ".map(r => [...r.cells].map(c => c.textContent))")  # fmt: skip
    assert rows[0] == ["delay", "rnn", "lstm"]
    assert [r[0] for r in rows[1:]] == ["5", "20", "50", "100"]
    assert rows[2][1] == "0.817 ± 0.080 (3 of 3 seeds)"  # rnn at delay 20
    assert rows[4][1] == "0.510 ± 0.000 (1 of 3 seeds)"  # one seed done
    running = js(browser, "return [...document.querySelectorAll('.study-table td.running')]"
                          ".map(c => c.dataset.cell)")  # fmt: skip
    assert running == ["100/lstm"]
    caption = text(browser, "#studies .study p")
    assert "20 of 24 runs done" in caption and "running: d100-lstm-s2" in caption
    full_page_screenshot(browser, "dashboard_study.png")
    assert console_errors(browser) == []


def test_a_classifier_shows_its_answers_to_fixed_examples_and_its_accuracy(panels, serve, browser):
    show(browser, serve([panels / "marker", panels / "marker-bi"]))
    drawn = "return document.getElementById('part-classifier').dataset.drawn"
    assert wait_for(lambda: js(browser, drawn), what="the classifier's examples") == "marker@40"
    assert js(browser, "return document.getElementById('part-classifier').hidden") is False
    assert js(browser, "return document.getElementById('part-seq2seq').hidden") is True
    assert js(browser, "return document.getElementById('panel-samples').hidden") is True
    rows = js(browser, "return document.querySelectorAll('#cls-examples tbody tr').length")
    assert rows == 3
    for k in range(3):
        row = f"#cls-examples tbody tr[data-example='{k}']"
        probabilities = js(browser, f"return [...document.querySelectorAll(\"{row} .prob\")]"
                                    ".map(p => Number(p.lastChild.textContent))")  # fmt: skip
        assert len(probabilities) == 4 and sum(probabilities) == pytest.approx(1, abs=0.003)
        assert probabilities == sorted(probabilities, reverse=True)  # likeliest first
        chips = js(browser, f"return [...document.querySelectorAll(\"{row} .tok\")]"
                            ".map(c => c.style.backgroundColor)")  # fmt: skip
        assert len(chips) >= 8 and all(c.startswith("rgba(40, 100, 200") for c in chips)
    assert "readout attention" in text(browser, "#cls-caption")
    # The gates of the chosen example; clicking another row shows its gates instead.
    assert js(browser, "return document.getElementById('heatmap').dataset.drawn") == "marker@40#0"
    js(browser, "document.querySelector(\"#cls-examples tr[data-example='2']\").click()")
    assert js(browser, "return document.getElementById('heatmap').dataset.drawn") == "marker@40#2"
    accuracy = "return document.getElementById('panel-accuracy')"
    assert wait_for(lambda: js(browser, accuracy + ".dataset.series")) == "6"  # 2 runs × 3
    assert js(browser, accuracy + ".hidden") is False
    assert js(browser, accuracy + ".dataset.points") == "4"  # evaluations at 10, 20, 30, 40
    full_page_screenshot(browser, "dashboard_classifier.png")
    # The bidirectional run of other data: its own examples (in the chooser too), no gates.
    js(browser, "const s = document.getElementById('gate-run'); s.value = 'marker-bi';"
                "s.dispatchEvent(new Event('change'))")  # fmt: skip
    assert js(browser, drawn) == "marker-bi@40"
    assert js(browser, "return document.getElementById('part-gates').hidden") is True
    tokens = js(browser, "return [...document.querySelectorAll(\"#cls-examples tr[data-example="
                         "'0'] .tok\")].map(c => c.textContent)")  # fmt: skip
    chooser = text(browser, "#probe-example option")
    assert chooser == "1: " + " ".join(tokens[:8]), (chooser, tokens)
    bars = js(browser, "return document.querySelectorAll('#cls-examples .prob').length")
    assert bars == 3 * 5  # the five likeliest of six classes
    assert console_errors(browser) == []


def test_an_encoder_decoder_shows_its_outputs_and_draws_its_attention(panels, serve, browser):
    show(browser, serve([panels / "reverse", panels / "reverse-plain"]))
    drawn = "return document.getElementById('attention-map').dataset.drawn"
    assert wait_for(lambda: js(browser, drawn), what="the attention map") == "reverse@40#0"
    assert js(browser, "return document.getElementById('part-seq2seq').hidden") is False
    assert js(browser, "return document.getElementById('part-gates').hidden") is True
    rows = js(browser, "return [...document.querySelectorAll('#s2s-examples tbody tr')]"
                       ".map(r => [...r.cells].map(c => c.textContent))")  # fmt: skip
    assert len(rows) == 2
    for _, source, reference, output in rows:
        assert reference == source[::-1] and output  # a reversal, and some greedy output
    # The canvas holds the matrix: coloured cells, not only the white background.
    coloured = js(browser, """const c = document.getElementById('attention-map');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 0; i < d.length; i += 4) if (d[i] + d[i + 1] + d[i + 2] < 600) n++;
        return n;""")  # fmt: skip
    assert coloured > 22 * 22 * 4  # at least a few cells' worth
    assert "general attention" in text(browser, "#attention-caption")
    decoding = "return document.getElementById('panel-decoding')"
    assert int(wait_for(lambda: js(browser, decoding + ".dataset.series"))) >= 3 + 2
    assert js(browser, decoding + ".hidden") is False
    full_page_screenshot(browser, "dashboard_seq2seq.png")
    # A model without attention: its outputs, and no map (not the last one's, left drawn).
    js(browser, "const s = document.getElementById('gate-run'); s.value = 'reverse-plain';"
                "s.dispatchEvent(new Event('change'))")  # fmt: skip
    assert js(browser, "return document.getElementById('part-seq2seq').dataset.drawn") == (
        "reverse-plain@10"
    )
    assert js(browser, "return getComputedStyle(document.getElementById('attention-map'))"
                       ".display") == "none"  # fmt: skip
    assert "has no attention" in text(browser, "#attention-caption")
    assert js(browser, "return document.querySelectorAll('#s2s-examples tbody tr').length") == 2
    assert console_errors(browser) == []
