"""The LSTM cell explorer in a real browser: the page's own JavaScript arithmetic equals the
NumPy engine's float64 LSTM step to 1e-12, before and after a slider moves, with a gate
closed, and for a unit of a trained run (where it must equal the whole layer's step)."""

from __future__ import annotations

import numpy as np
import pytest
from safetensors.numpy import load_file

from rnnlab.numpy.lstm import step_forward
from tests.dashboard.browser import console_errors, missing, save_screenshot
from tests.dashboard.conftest import js, open_page, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.skipif(missing() is not None, reason=str(missing()))]

GATES = "ifgo"
TENSORS = ("W_ih", "W_hh", "b_ih", "b_hh")


def page_inputs(driver) -> dict:
    """The knob values the page computes from, as Python floats (the same doubles)."""
    value = "return document.getElementById('knob-' + arguments[0]).value"
    out = {name: float(js(driver, value, name)) for name in "xhc"}
    for t in TENSORS:
        out[t] = np.array([float(js(driver, value, f"{t}-{g}")) for g in GATES])
    return out


def page_numbers(driver) -> dict:
    value = "const e = document.getElementById(arguments[0]); return e && e.dataset.value"
    names = [f"z-{g}" for g in GATES] + [f"a-{g}" for g in GATES] + ["kept", "c-t", "tanh-c", "h-t"]
    return {name: float(js(driver, value, name)) for name in names}


def engine_numbers(p: dict) -> dict:
    """The NumPy engine's step_forward on the one-unit LSTM of the page's knobs (float64)."""
    x, h, c = (np.array([[p[k]]]) for k in "xhc")  # (1, 1) each
    W_ih, W_hh = p["W_ih"].reshape(4, 1), p["W_hh"].reshape(4, 1)  # (4H, I), (4H, H), H = I = 1
    h_t, c_t, cache = step_forward(x, h, c, W_ih, W_hh, p["b_ih"], p["b_hh"])
    z = x @ W_ih.T + p["b_ih"] + h @ W_hh.T + p["b_hh"]  # (1, 4) the pre-activations
    out = {f"z-{g}": z[0, k] for k, g in enumerate(GATES)}
    out.update({f"a-{g}": getattr(cache, g)[0, 0] for g in GATES})
    out.update({"kept": (cache.f * c)[0, 0], "c-t": c_t[0, 0], "tanh-c": cache.tanh_c[0, 0]})
    out["h-t"] = h_t[0, 0]
    return out


def assert_equal_to_engine(page: dict, engine: dict) -> None:
    for name, expected in engine.items():
        assert abs(page[name] - expected) <= 1e-12, (name, page[name], expected)


@pytest.fixture
def explorer(runs, serve, browser):
    client = serve([runs / "runs"])
    open_page(browser, f"http://127.0.0.1:{client.port}/explorer")
    wait_for(lambda: js(browser, "return document.getElementById('h-t') !== null"))
    return browser


def test_the_pages_numbers_are_the_engines_and_follow_a_slider(explorer):
    before = page_numbers(explorer)
    assert_equal_to_engine(before, engine_numbers(page_inputs(explorer)))
    from selenium.webdriver.common.keys import Keys

    slider = explorer.find_element("id", "knob-x")
    for _ in range(7):  # the keyboard, as a user would: 7 steps of 0.01 from x = 0.5
        slider.send_keys(Keys.ARROW_RIGHT)
    assert float(slider.get_attribute("value")) == pytest.approx(0.57)
    after = page_numbers(explorer)
    assert after["h-t"] != before["h-t"]
    assert_equal_to_engine(after, engine_numbers(page_inputs(explorer)))
    explorer.find_element("id", "knob-h").send_keys(Keys.END)  # h_{t-1} = 1
    assert_equal_to_engine(page_numbers(explorer), engine_numbers(page_inputs(explorer)))
    save_screenshot(explorer, "explorer.png")
    assert console_errors(explorer) == []


def test_with_the_input_gate_closed_the_forget_gate_alone_makes_the_cell(explorer):
    explorer.find_element("id", "preset-close-i").click()
    numbers = page_numbers(explorer)
    assert numbers["a-i"] < 1e-4
    assert abs(numbers["c-t"] - numbers["kept"]) < 1e-4  # c_t ≈ f·c_{t-1}
    assert_equal_to_engine(numbers, engine_numbers(page_inputs(explorer)))
    assert "forget gate alone decides" in js(
        explorer, "return document.getElementById('reading').textContent"
    )


def test_a_unit_of_a_trained_run_equals_that_unit_in_the_whole_layers_step(runs, explorer):
    from selenium.webdriver.support.ui import Select

    Select(explorer.find_element("id", "source")).select_by_value("lstm")
    wait_for(lambda: js(explorer, "return document.getElementById('token').options.length") > 3)
    js(explorer, "const u = document.getElementById('unit'); u.value = 5;"
                 "u.dispatchEvent(new Event('change'))")  # fmt: skip
    wait_for(lambda: js(explorer, "return document.getElementById('unit').max") != "")
    token = js(explorer, "return [...document.getElementById('token').options]"
                         ".findIndex(o => o.text === '\"e\"')")  # fmt: skip
    Select(explorer.find_element("id", "token")).select_by_value(str(token))
    wait_for(lambda: float(js(explorer, "return document.getElementById('knob-x').value")) == 1.0)
    p = page_inputs(explorer)
    weights = {
        k: v.astype(np.float64) for k, v in load_file(runs / "runs/lstm/model.safetensors").items()
    }
    W_ih, W_hh = weights["rnn.weight_ih_l0"], weights["rnn.weight_hh_l0"]  # (4H, V), (4H, H)
    H, V = W_hh.shape[1], W_ih.shape[1]
    u = 5
    x = np.zeros((1, V))
    x[0, token] = p["x"]  # the one-hot token, scaled by the x knob
    h, c = np.zeros((1, H)), np.zeros((1, H))
    h[0, u], c[0, u] = p["h"], p["c"]  # this unit's state; the others' held at 0
    h_t, c_t, cache = step_forward(
        x, h, c, W_ih, W_hh, weights["rnn.bias_ih_l0"], weights["rnn.bias_hh_l0"]
    )
    page = page_numbers(explorer)
    for g in GATES:
        assert abs(page[f"a-{g}"] - getattr(cache, g)[0, u]) <= 1e-12, g
    assert abs(page["c-t"] - c_t[0, u]) <= 1e-12 and abs(page["h-t"] - h_t[0, u]) <= 1e-12
    save_screenshot(explorer, "explorer_trained_unit.png")
    assert console_errors(explorer) == []
