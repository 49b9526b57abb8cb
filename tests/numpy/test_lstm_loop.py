"""The LSTM variants' loop over time: the state buffers, ∂L/∂h_t from the output and from
step t+1, and padding, which the state and its gradient pass unchanged. (The variants' own
tests prove the loops they run through it equal to their reference steps.)"""

import numpy as np

from rnnlab.numpy.lstm_loop import run_backward, run_forward

T, B, H = 4, 2, 3
MASK = np.array([[1.0, 1.0], [1.0, 0.0], [1.0, 0.0], [0.0, 0.0]])[:, :, None]  # (T, B, 1)


def test_forward_steps_real_rows_and_carries_padded_ones():
    """step adds 1 to h and 2 to c; row 0 runs 3 steps, row 1 one step, then padding."""
    h0, c0 = np.zeros((B, H)), np.full((B, H), 10.0)
    calls = []

    def step(t, h_prev, c_prev):
        calls.append(t)
        return h_prev + 1.0, c_prev + 2.0

    h, c = run_forward(step, np.zeros((T, B, 4 * H)), (h0, c0), MASK)
    assert calls == [0, 1, 2, 3] and h.shape == c.shape == (T + 1, B, H)
    np.testing.assert_array_equal(h[:, 0, 0], [0, 1, 2, 3, 3])
    np.testing.assert_array_equal(h[:, 1, 0], [0, 1, 1, 1, 1])
    np.testing.assert_array_equal(c[:, 0, 0], [10, 12, 14, 16, 16])
    h_full, _ = run_forward(step, np.zeros((T, B, 4 * H)), (h0, c0), None)
    np.testing.assert_array_equal(h_full[:, :, 0], np.arange(T + 1)[:, None] * [1, 1])


def test_backward_adds_the_outputs_gradient_and_lets_padding_pass():
    """step sends back 2·dh and 3·dc; on padded rows it must see zeros, and dh, dc skip it."""
    dhs = np.ones((T, B, H))
    seen = {}

    def step(t, dh, dc):
        seen[t] = (dh[:, 0].copy(), dc[:, 0].copy())
        return 2.0 * dh, 3.0 * dc

    dh0, dc0 = run_backward(step, dhs, (np.zeros((B, H)), np.ones((B, H))), MASK)
    # row 0: t=3 padded (its 1 passes), then three real steps: (((1+1)·2 + 1)·2 + 1)·2 = 22
    # row 1: t=3, 2, 1 padded (their 1s pass and add up to 3), t=0 real: (3 + 1)·2 = 8
    np.testing.assert_array_equal(dh0[0], np.full(H, 22.0))
    np.testing.assert_array_equal(dh0[1], np.full(H, 8.0))
    np.testing.assert_array_equal(dc0[0], np.full(H, 27.0))  # 3³ over three real steps
    np.testing.assert_array_equal(dc0[1], np.full(H, 3.0))  # one real step
    np.testing.assert_array_equal(seen[3][0], [0.0, 0.0])  # a padded step enters no gate
    np.testing.assert_array_equal(seen[0][0], [11.0, 4.0])  # all of ∂L/∂h_0 from both paths
