"""Soak (slow): train for a long time under random SIGINT, SIGTERM and SIGKILL, resuming
after each, and end bitwise where an uninterrupted run ends; memory and speed stay flat.

``RNNLAB_SOAK_SECONDS`` sets the interrupted part's wall time (default 3600: an hour); the
uninterrupted reference then trains the same steps. Run it with
``pytest -m slow tests/train/test_soak.py -s`` to see the figures it measures.
"""

import json
import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from safetensors.numpy import load_file

SOAK_SECONDS = float(os.environ.get("RNNLAB_SOAK_SECONDS", "3600"))
ARGS = ["--hidden", "64", "--layers", "2", "--dropout", "0.1", "--seq-len", "32",
        "--batch-size", "16", "--epochs", "1000", "--eval-every", "400", "--save-every", "40",
        "--log-every", "20",
        "--threads", "1", "--quiet"]  # fmt: skip
CODES = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGKILL: -signal.SIGKILL}
# A SIGTERM that lands while Python is still starting (before the trainer defers signals)
# ends the process as SIGTERM does by default; nothing was trained yet, nothing is lost.
STARTUP = -signal.SIGTERM


def _cli(*args) -> list[str]:
    code = "import sys; from rnnlab.cli import main; sys.exit(main(sys.argv[1:]))"
    return [sys.executable, "-c", code, *args]


def _reap(pid: int, timeout: float | None = None):
    """Wait for a child (at most ``timeout`` s): (exit code, peak RSS in MiB), or None."""
    deadline = None if timeout is None else time.perf_counter() + timeout
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG if deadline else 0)
        if done:
            return os.waitstatus_to_exitcode(status), usage.ru_maxrss / 1024
        if deadline and time.perf_counter() >= deadline:
            return None
        time.sleep(0.02)


def _run(args, env):
    """Run the CLI to its end: (exit code, peak RSS in MiB)."""
    return _reap(subprocess.Popen(_cli(*args), env=env).pid)


@pytest.mark.slow
def test_soak_under_random_signals_ends_bitwise_with_flat_memory_and_speed(tmp_path):
    rng = random.Random(0)
    text = tmp_path / "text.txt"
    text.write_text("".join(chr(97 + (i * 7919) % 26) + " " * (i % 5 == 0) for i in range(200_000)))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    data = ["train", "chars", "--data", str(text), *ARGS]

    # How many steps fill the soak: from the measured speed, less the time that restarts and
    # the steps redone after each SIGKILL take (about 40% with a signal every 2-8 s).
    probe = tmp_path / "probe"
    assert _run([*data, "--steps", "400", "--out", str(probe)], env)[0] == 0
    lines = (probe / "metrics.jsonl").read_text().splitlines()
    tokens_per_s = np.median([json.loads(line)["tokens_per_s"] for line in lines])
    steps = max(400, int(0.6 * SOAK_SECONDS * tokens_per_s / (16 * 32)))

    run, sessions = tmp_path / "soak", []
    args = [*data, "--steps", str(steps), "--out", str(run)]
    soak_start = time.perf_counter()
    while True:
        log = tmp_path / f"session-{len(sessions)}.err"
        with open(log, "w") as err:
            pid = subprocess.Popen(_cli(*args), env=env, stderr=err).pid
        ended = _reap(pid, timeout=rng.uniform(2.0, 8.0))
        if ended is None:
            os.kill(pid, rng.choice(list(CODES)))
            ended = _reap(pid)
        code, rss = ended
        sessions.append((time.perf_counter() - soak_start, rss, code))
        state = run / "state.json"
        if code == 0 or (state.exists() and json.loads(state.read_text())["step"] == steps):
            break  # finished (a signal may land after the last save, while plotting)
        said = log.read_text()
        assert code in (*CODES.values(), STARTUP), f"session {len(sessions)}: {code}, {said}"
        args = ["train", "--resume", str(run), "--quiet", "--threads", "1"]
        if not (run / "state.json").exists():  # stopped before its first checkpoint
            args = [*data, "--steps", str(steps), "--out", str(run), "--overwrite"]
    soak_seconds = time.perf_counter() - soak_start

    reference = tmp_path / "reference"
    assert _run([*data, "--steps", str(steps), "--out", str(reference)], env)[0] == 0
    a = load_file(str(reference / "model.safetensors"))
    b = load_file(str(run / "model.safetensors"))
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    logged = [r["step"] for r in records]
    assert logged == sorted(set(logged)), "no record lost its order or came twice"

    # First and last ten minutes (or thirds, in a shorter soak), by the soak's wall clock.
    span = min(600.0, soak_seconds / 3)
    # Peak memory of the sessions that trained and saved at a signal: a SIGKILL may land
    # during start-up, and the finishing session also draws the plots (matplotlib).
    trained = [s for s in sessions if s[2] in (130, 143)]
    first = [s for s in trained if s[0] <= span]
    last = [s for s in trained if s[0] >= soak_seconds - span]
    rss_first, rss_last = max(s[1] for s in first), max(s[1] for s in last)
    by_elapsed = [(r["elapsed"], r["tokens_per_s"]) for r in records if "tokens_per_s" in r]
    total = by_elapsed[-1][0]
    speed_first = np.median([v for e, v in by_elapsed if e <= total * span / soak_seconds])
    speed_last = np.median([v for e, v in by_elapsed if e >= total * (1 - span / soak_seconds)])
    kills = {code: sum(1 for s in sessions if s[2] == code) for code in CODES.values()}
    print(
        f"\nsoak: {soak_seconds:.0f} s, {steps} steps, {len(sessions)} sessions "
        f"(exit codes {kills}); peak RSS first {rss_first:.1f} MiB, last {rss_last:.1f} MiB; "
        f"tokens/s first {speed_first:.0f}, last {speed_last:.0f}"
    )
    assert rss_last <= 1.10 * rss_first
    assert speed_last >= 0.90 * speed_first
