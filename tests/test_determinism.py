"""Determinism: the same random_state gives a bit-identical model, run after
run and process after process.

Where parallelism could break this:

- Training a network with a BLAS layer splits each batch into two chunks of
  rows run side by side on Numba's threads; the cut depends on the batch size
  alone, and the chunks' gradients are summed in a fixed order, so the result
  is the same for any NUMBA_NUM_THREADS (1 runs the chunks one after the
  other). Other training is serial.
- Prediction spreads row blocks over Numba's threads, but each row is computed
  by one thread from start to end: no sum ever crosses rows, so the thread
  count cannot change a single bit. Pinned below with 1 and 2 threads.
- Networks with a layer of at least BLAS_MIN_WEIGHTS weights call BLAS GEMMs,
  in training and in prediction. OpenBLAS rounds the rows at its tile edges
  differently when it splits a GEMM over another number of threads, so
  fastmlp holds NumPy's BLAS to one thread while such a kernel runs: those
  models too are the same whatever the BLAS thread count of the process.
"""

import hashlib
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from fastmlp import MLPClassifier, MLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _digest(*arrays):
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str(a.dtype).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _data():
    rng = np.random.default_rng(2024)
    X = rng.normal(size=(600, 7))
    codes = (X[:, 0] + X[:, 1] ** 2 > 1).astype(int)
    codes[X[:, 2] > 1.2] = 2
    y = np.array(["dry", "wet", "snow"])[codes]
    X_new = rng.normal(size=(5000, 7))  # parallel row blocks for narrow nets
    return X, y, X_new


def fingerprints():
    """Fit a set of models with fixed seeds; a digest of each one's parameters,
    loss curve and predictions. Also run in subprocesses (see the tests)."""
    X, y, X_new = _data()
    yr = X[:, 0] - 2 * X[:, 3] + np.sin(X[:, 4])
    Xs = X.copy()
    Xs[np.abs(Xs) < 0.7] = 0
    models = {
        "adam classifier, string labels": (
            MLPClassifier((9, 4), max_iter=60, random_state=0),
            X,
            y,
        ),
        "sgd float32 classifier, early stopping": (
            MLPClassifier(
                (8,), solver="sgd", early_stopping=True, max_iter=60, random_state=1
            ),
            X.astype(np.float32),
            y,
        ),
        "sgd adaptive regressor, RandomState": (
            MLPRegressor(
                hidden_layer_sizes=(10,),
                solver="sgd",
                learning_rate="adaptive",
                max_iter=60,
                random_state=np.random.RandomState(2),
            ),
            X,
            yr,
        ),
        "lbfgs regressor": (
            MLPRegressor(
                hidden_layer_sizes=(6,), solver="lbfgs", max_iter=80, random_state=3
            ),
            X,
            yr,
        ),
        "sparse adam regressor": (
            MLPRegressor(hidden_layer_sizes=(5,), max_iter=40, random_state=4),
            sp.csr_matrix(Xs),
            yr,
        ),
        "wide float32 classifier, BLAS": (
            MLPClassifier((64, 32), max_iter=8, random_state=5),
            X.astype(np.float32),
            y,
        ),
    }
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for name, (est, Xf, yf) in models.items():
            est.fit(Xf, yf)
            Xp = X_new.astype(Xf.dtype)
            pred = (
                est.predict_proba(Xp) if hasattr(est, "classes_") else est.predict(Xp)
            )
            out[name] = {
                "params": _digest(est._params),
                "loss_curve": _digest(np.asarray(getattr(est, "loss_curve_", []))),
                "n_iter": int(est.n_iter_),
                "predictions": _digest(pred),
            }
        # A partial_fit stream.
        est = MLPClassifier((6,), random_state=6)
        for start in range(0, 600, 150):
            est.partial_fit(
                X[start : start + 150],
                y[start : start + 150],
                classes=["dry", "snow", "wet"],
            )
        out["partial_fit stream"] = {
            "params": _digest(est._params),
            "predictions": _digest(est.predict_proba(X_new)),
        }
    return out


def run_in_subprocess(numba_threads, hash_seed):
    env = dict(
        os.environ,
        NUMBA_NUM_THREADS=str(numba_threads),
        PYTHONHASHSEED=str(hash_seed),
    )
    code = (
        "import json, sys; sys.path.insert(0, %r); import test_determinism as t; "
        "print(json.dumps(t.fingerprints()))" % str(Path(__file__).parent)
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def two_processes():
    # The same fixed Numba thread count (BLAS threads left as they are); the
    # hash seed differs, so nothing may depend on Python's hash randomization.
    return run_in_subprocess(2, 0), run_in_subprocess(2, 12345)


def test_same_model_in_two_processes(two_processes):
    first, second = two_processes
    assert len(first) == 7 and all(first.values())
    assert first == second


def test_same_model_in_this_process(two_processes):
    here = fingerprints()
    assert here == fingerprints()  # run after run
    first, _ = two_processes
    assert here == first


def test_numba_thread_count_changes_nothing(two_processes):
    first, _ = two_processes
    one_thread = run_in_subprocess(1, 0)
    assert one_thread == first


def test_parallel_prediction_is_thread_count_independent():
    numba = pytest.importorskip("numba")
    X, y, X_new = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = MLPClassifier((9, 4), max_iter=20, random_state=0).fit(X, y)
    before = numba.get_num_threads()
    try:
        outs = []
        for n in sorted({1, 2, numba.config.NUMBA_NUM_THREADS}):
            if n <= numba.config.NUMBA_NUM_THREADS:
                numba.set_num_threads(n)
                outs.append(est.predict_proba(X_new))
    finally:
        numba.set_num_threads(before)
    for out in outs[1:]:
        np.testing.assert_array_equal(out, outs[0])
    # And the parallel row blocks agree with predicting the rows one by one.
    rows = np.vstack([est.predict_proba(X_new[i : i + 1]) for i in range(0, 5000, 250)])
    np.testing.assert_allclose(rows, outs[0][::250], rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_wide_prediction_of_some_hundred_rows_is_thread_count_independent(
    dtype, monkeypatch
):
    # A wide network's prediction of PREDICT_SPLIT_MIN_ROWS to
    # PREDICT_PARALLEL_MIN_ROWS rows runs as two blocks of n // 2 rows side by
    # side, an odd last row after them: the same bits on one thread or two, and
    # each row as predicted alone, to rounding.
    numba = pytest.importorskip("numba")
    from fastmlp.kernels import config

    from fastmlp import kernels

    rng = np.random.default_rng(0)
    n = config.PREDICT_SPLIT_MIN_ROWS + 101
    assert n < config.PREDICT_PARALLEL_MIN_ROWS
    X = rng.standard_normal((n, 20)).astype(dtype)
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = MLPClassifier((64, 64), max_iter=5, random_state=0).fit(X, y)
    assert est._kernel_blas_min == config.BLAS_MIN_WEIGHTS
    blocks = []
    real = kernels.predict_parallel

    def recording(*args):
        blocks.append(args[-3])
        return real(*args)

    monkeypatch.setattr(kernels, "predict_parallel", recording)
    before = numba.get_num_threads()
    try:
        outs = []
        for threads in sorted({1, min(2, numba.config.NUMBA_NUM_THREADS)}):
            numba.set_num_threads(threads)
            outs.append(est.predict_proba(X))
    finally:
        numba.set_num_threads(before)
    if numba.config.NUMBA_NUM_THREADS >= 2:
        assert blocks == [n // 2]  # the two-thread call ran its blocks in parallel
        np.testing.assert_array_equal(outs[1], outs[0])
    rows = np.vstack([est.predict_proba(X[i : i + 1]) for i in (0, n // 2, n - 1)])
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(rows, outs[0][[0, n // 2, n - 1]], rtol=rtol, atol=1e-7)


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_random_state_instance_or_int(solver, dtype):
    X, y, _ = _data()
    X = X.astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fits = [
            MLPClassifier((5,), solver=solver, max_iter=15, random_state=rs).fit(X, y)
            for rs in (7, 7, np.random.RandomState(7), np.random.RandomState(7))
        ]
        other = MLPClassifier((5,), solver=solver, max_iter=15, random_state=8)
        other.fit(X, y)
    for est in fits[1:]:
        np.testing.assert_array_equal(est._params, fits[0]._params)
    # A different seed is a different model: the comparison can fail.
    assert not np.array_equal(other._params, fits[0]._params)


CACHE_SCRIPT = """
import json, warnings
import numpy as np
from fastmlp import MLPClassifier, MLPRegressor, kernels
warnings.simplefilter("ignore")
rng = np.random.default_rng(0)
X = rng.normal(size=(3000, 10))
y = (X[:, 0] > 0).astype(int)
for hidden in [(5,), (64, 32)]:  # without and with a BLAS layer
    m = MLPClassifier(hidden, max_iter=2, random_state=0).fit(X, y)
    m.predict_proba(X)  # row blocks side by side
    m.predict_proba(X[:1])
    MLPRegressor(hidden_layer_sizes=hidden, solver="lbfgs", max_iter=2).fit(X, X[:, 1])
print(json.dumps({
    name: [sum(getattr(kernels, name).stats.cache_hits.values()),
           sum(getattr(kernels, name).stats.cache_misses.values())]
    for name in kernels.ENTRY_POINTS
}))
"""


def test_a_second_process_loads_every_kernel_from_the_cache():
    # cache=True is only worth its name if nothing a kernel calls keeps it from
    # being cached (a ctypes pointer, numba.get_num_threads() read inside a
    # kernel, ...): the second process runs compiled code from disk, compiling
    # nothing.
    def run():
        done = subprocess.run(
            [sys.executable, "-c", CACHE_SCRIPT],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout.strip().splitlines()[-1])

    run()
    second = run()
    used = {name: hm for name, hm in second.items() if sum(hm)}
    assert {"fit_epochs", "forward_backward_split", "predict_parallel"} <= set(used)
    assert all(misses == 0 for _, misses in used.values()), used
