"""The dashboard in a real browser (headless Chromium): every panel draws real runs' data with
no console error, a live `rnnlab train` shows its new evaluation without a reload and then
says it stopped; screenshots are saved (see tests/dashboard/browser.py for where)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from tests.dashboard.browser import console_errors, missing, save_screenshot
from tests.dashboard.conftest import js, open_page, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.skipif(missing() is not None, reason=str(missing()))]

CHART_PANELS = ["loss", "bits", "accuracy", "recall", "grad", "lr", "speed"]


def full_page_screenshot(driver, name):
    height = js(driver, "return document.documentElement.scrollHeight")
    driver.set_window_size(1400, min(height + 40, 6000))
    time.sleep(0.4)  # the charts redraw at the new size
    return save_screenshot(driver, name)


def test_every_panel_draws_the_runs_with_no_console_error(runs, serve, browser):
    client = serve([runs / "runs"])
    open_page(browser, f"http://127.0.0.1:{client.port}/")
    wait_for(lambda: js(browser, "return document.querySelectorAll('#runs tbody tr').length") == 3)
    for panel in CHART_PANELS:
        series = wait_for(
            lambda p=panel: js(
                browser, f"return document.getElementById('panel-{p}').dataset.series"
            ),
            what=f"panel {panel}",
        )
        assert int(series) >= 1, panel
        assert js(browser, f"return !document.getElementById('panel-{panel}').hidden")
        assert js(browser, f"return document.querySelectorAll('#panel-{panel} canvas').length") > 0
    # Several runs overlaid, with a legend naming each.
    legend = js(browser, "return document.querySelector('#panel-loss .u-legend').innerText")
    assert "lstm train" in legend and "gru val" in legend and "copy optimum" in legend
    drawn = wait_for(lambda: js(browser, "return document.getElementById('heatmap').dataset.drawn"))
    assert drawn == "gru@40"  # the first run (alphabetically) that writes text, its last eval
    sample = js(browser, "return document.getElementById('sample').textContent")
    assert len(sample) > 20 and "no sample" not in sample
    # The slider goes back to the first evaluation: heatmap, label and sample follow.
    js(browser, "const s = document.getElementById('eval-slider'); s.value = 0;"
                "s.dispatchEvent(new Event('input'))")  # fmt: skip
    assert js(browser, "return document.getElementById('heatmap').dataset.drawn") == "gru@10"
    assert js(browser, "return document.getElementById('eval-label').textContent").startswith(
        "1 of 4"
    )
    assert js(browser, "return document.getElementById('sample').dataset.step") == "10"
    full_page_screenshot(browser, "dashboard.png")
    assert console_errors(browser) == []


def test_a_live_run_shows_its_new_evaluations_without_a_reload_and_then_stops(runs, serve, browser):
    live = runs / "live"
    live.mkdir(exist_ok=True)
    client = serve([live])
    open_page(browser, f"http://127.0.0.1:{client.port}/")
    train = subprocess.Popen(
        [sys.executable, "-m", "rnnlab", "train", "chars", "--data", str(runs / "text.txt"),
         "--out", str(live / "run"), "--steps", "100000", "--eval-every", "25",
         "--log-every", "5", "--hidden", "16", "--seq-len", "16", "--batch-size", "8", "--quiet"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        status = "return (document.querySelector('#runs .status') || {}).textContent"
        wait_for(lambda: js(browser, status) == "training", what="the run to show as training")
        label = "return document.getElementById('eval-label').textContent"
        first = wait_for(lambda: js(browser, label), what="a first evaluation")
        evals = int(first.split(" of ")[1].split()[0])
        wait_for(
            lambda: int((js(browser, label) or " of 0 ").split(" of ")[1].split()[0]) > evals,
            what="a new evaluation to appear without a reload",
        )
        points = int(js(browser, "return document.getElementById('panel-loss').dataset.points"))
        assert points >= 2
    finally:
        train.send_signal(signal.SIGTERM)  # the trainer saves and exits 143
        _, err = train.communicate(timeout=60)
    assert train.returncode == 143, err
    wait_for(lambda: js(browser, status).startswith("stopped"), what="the page to say it stopped")
    assert "SIGTERM" in js(browser, status)
    assert console_errors(browser) == []
