"""Concurrency: the kernels release the GIL (``nogil=True``), so threads really
run them side by side. One fitted model serves predictions to many threads at
once with the answers it gives serially, and models fitted at the same time in
different threads come out bit-identical to the same fits one after the other:
no kernel keeps scratch space or state at module level.
"""

import os
import subprocess
import sys
import threading
import warnings

import fastmlp.kernels
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from fastmlp import MLPClassifier, MLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

COMPUTE_KERNELS = fastmlp.kernels.ENTRY_POINTS


def run_in_threads(fns):
    """Run each fn in its own thread, all released at once; return results."""
    barrier = threading.Barrier(len(fns))
    results = [None] * len(fns)
    errors = []

    def work(i, fn):
        try:
            barrier.wait()
            results[i] = fn()
        except BaseException as e:  # reported in the main thread
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i, f)) for i, f in enumerate(fns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


def test_compute_kernels_release_the_gil():
    for name in COMPUTE_KERNELS:
        assert getattr(fastmlp.kernels, name).targetoptions.get("nogil"), name


@pytest.fixture(scope="module")
def models():
    rng = np.random.default_rng(11)
    X = rng.normal(size=(400, 12))
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(int) + (X[:, 3] > 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return {
            # Hand-written layers: serial below 2048 rows, parallel row blocks above.
            "narrow": MLPClassifier((6, 5), max_iter=30, random_state=0).fit(X, y),
            # BLAS-sized layers: serial blocks whose GEMMs BLAS threads.
            "wide": MLPClassifier((64, 32), max_iter=10, random_state=0).fit(X, y),
            "float32": MLPClassifier((8,), max_iter=30, random_state=0).fit(
                X.astype(np.float32), y
            ),
            "regressor": MLPRegressor(
                hidden_layer_sizes=(16,), max_iter=30, random_state=0
            ).fit(X, X[:, 0] - X[:, 1]),
        }


def queries(n_features, dtype):
    rng = np.random.default_rng(5)
    big = rng.normal(size=(6000, n_features)).astype(dtype)
    mid = big[:700]
    holes = mid.copy()
    holes[np.abs(holes) < 1] = 0
    return [big, mid, big[:1], big[3:4], np.asfortranarray(mid), sp.csr_matrix(holes)]


@pytest.mark.parametrize(
    "name",
    [
        "narrow",
        "wide",
        pytest.param("float32", marks=pytest.mark.exhaustive),
        pytest.param("regressor", marks=pytest.mark.exhaustive),
    ],
)
def test_one_model_serves_eight_threads(models, name):
    est = models[name]
    dtype = est._params.dtype
    Xs = queries(est.n_features_in_, dtype)
    method = est.predict if name == "regressor" else est.predict_proba
    serial = [method(X) for X in Xs]

    def serve(offset):
        out = []
        for r in range(6):
            for i in range(len(Xs)):
                j = (i + offset + r) % len(Xs)  # threads hit different paths
                out.append((j, method(Xs[j])))
        return out

    for answers in run_in_threads([lambda o=o: serve(o) for o in range(8)]):
        for j, got in answers:
            assert got.dtype == serial[j].dtype
            np.testing.assert_array_equal(got, serial[j])


def fit_jobs():
    """Pairs of fits that run long enough to overlap, each on its own data."""
    rng = np.random.default_rng(17)
    Xa = rng.normal(size=(3000, 10))
    ya = (Xa[:, 0] * Xa[:, 1] > 0).astype(int)
    Xb = rng.normal(size=(2500, 8)).astype(np.float32)
    yb = Xb[:, 0] - 2 * Xb[:, 1] + np.sin(Xb[:, 2])
    Xs = Xa.copy()
    Xs[np.abs(Xs) < 0.8] = 0
    Xs = sp.csr_matrix(Xs)
    return {
        "compiled epochs": (
            lambda: MLPClassifier(
                (16, 8), max_iter=500, n_iter_no_change=500, random_state=1
            ),
            Xa,
            ya,
        ),
        "float32 regressor, sgd": (
            lambda: MLPRegressor(
                hidden_layer_sizes=(12,),
                solver="sgd",
                max_iter=1500,
                n_iter_no_change=1500,
                random_state=2,
            ),
            Xb,
            yb,
        ),
        "early stopping (per-epoch loop)": (
            lambda: MLPClassifier(
                (16,),
                early_stopping=True,
                n_iter_no_change=300,
                max_iter=250,
                random_state=3,
            ),
            Xa,
            ya,
        ),
        "lbfgs": (
            lambda: MLPRegressor(
                hidden_layer_sizes=(40,),
                solver="lbfgs",
                max_iter=400,
                tol=0,
                random_state=4,
            ),
            Xb,
            yb,
        ),
        "sparse": (
            lambda: MLPClassifier(
                (12,), max_iter=400, n_iter_no_change=400, random_state=5
            ),
            Xs,
            ya,
        ),
        "wide (BLAS in the kernels)": (
            lambda: MLPClassifier((64, 64), max_iter=40, random_state=6),
            Xa,
            ya,
        ),
    }


JOBS = fit_jobs()


def fit(job):
    make, X, y = JOBS[job]
    return make().fit(X, y)


@pytest.mark.parametrize(
    "a, b",
    [
        ("compiled epochs", "float32 regressor, sgd"),
        pytest.param(
            "compiled epochs", "compiled epochs", marks=pytest.mark.exhaustive
        ),
        ("early stopping (per-epoch loop)", "lbfgs"),
        pytest.param(
            "sparse", "wide (BLAS in the kernels)", marks=pytest.mark.exhaustive
        ),
        ("wide (BLAS in the kernels)", "wide (BLAS in the kernels)"),
    ],
)
def test_two_fits_at_once_match_fits_one_after_the_other(a, b):
    serial = [fit(a), fit(b)]
    together = run_in_threads([lambda: fit(a), lambda: fit(b)])
    for s, t in zip(serial, together, strict=True):
        assert t.n_iter_ == s.n_iter_
        np.testing.assert_array_equal(t._params, s._params)
        if hasattr(s, "loss_curve_"):
            assert t.loss_curve_ == s.loss_curve_


def test_fitting_while_another_model_predicts(models):
    # One thread trains, seven predict with a fitted model: neither disturbs
    # the other.
    est = models["narrow"]
    X = queries(est.n_features_in_, np.float64)[0]
    expected = est.predict_proba(X)
    reference = fit("compiled epochs")

    def predict_many():
        return all(np.array_equal(est.predict_proba(X), expected) for _ in range(15))

    results = run_in_threads([lambda: fit("compiled epochs")] + [predict_many] * 7)
    np.testing.assert_array_equal(results[0]._params, reference._params)
    assert all(results[1:])


def test_partial_fit_in_threads():
    rng = np.random.default_rng(23)
    X = rng.normal(size=(1200, 6))
    y = (X.sum(axis=1) > 0).astype(int)

    def stream(seed):
        est = MLPClassifier((10,), random_state=seed)
        for start in range(0, 1200, 100):
            est.partial_fit(
                X[start : start + 100], y[start : start + 100], classes=[0, 1]
            )
        return est

    serial = [stream(s) for s in range(4)]
    together = run_in_threads([lambda s=s: stream(s) for s in range(4)])
    for s, t in zip(serial, together, strict=True):
        np.testing.assert_array_equal(t._params, s._params)


FORK_SCRIPT = """
import os, sys
import numpy as np
from fastmlp import MLPClassifier
X = np.random.default_rng(0).standard_normal((5000, 4))
y = (X[:, 0] > 0).astype(int)
m = MLPClassifier(hidden_layer_sizes=(5,), max_iter=3, random_state=0).fit(X[:300], y[:300])
want = m.predict_proba(X)  # rows in parallel: the parent starts the thread pool
pid = os.fork()
if pid == 0:
    got = m.predict_proba(X)
    os._exit(0 if np.array_equal(got, want) else 3)
_, status = os.waitpid(pid, 0)
print(os.waitstatus_to_exitcode(status))
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")
def test_forked_child_predicts_after_parent_used_the_thread_pool():
    # GNU OpenMP cannot be used in a child forked after the parent used it;
    # Numba kills such a child with SIGTERM. The child must predict serially.
    out = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", FORK_SCRIPT],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "0", out.stderr


def test_split_batches_give_the_same_bits_on_one_core():
    # A network with a BLAS layer trains each batch as chunks of rows side by
    # side on Numba's threads, each chunk's GEMMs single-threaded BLAS calls.
    # The chunks are cut by the batch alone, so that holding BLAS (threadpoolctl)
    # or Numba (set_num_threads) to one thread, which runs them one after the
    # other, trains the same network to the bit; and BLAS gets its thread count
    # back after every fit.
    import numba
    from fastmlp.kernels.blas import blas_threads
    from threadpoolctl import threadpool_limits

    from fastmlp._runtime import split_chunks as _split_chunks

    make, X, y = JOBS["wide (BLAS in the kernels)"]
    assert _split_chunks(200, 64) == 2
    before = blas_threads()
    side_by_side = make().fit(X, y)
    assert blas_threads() == before
    with threadpool_limits(1, user_api="blas"):
        one_blas = make().fit(X, y)
        assert blas_threads() == 1
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        one_numba = make().fit(X, y)
    finally:
        numba.set_num_threads(threads)
    assert blas_threads() == before
    for other in (one_blas, one_numba):
        np.testing.assert_array_equal(other._params, side_by_side._params)
        assert other.loss_curve_ == side_by_side.loss_curve_


def test_predicting_a_few_rows_leaves_blas_alone(monkeypatch):
    # Fewer than ROWS_MAX dense rows of a wide model go through the sample-major
    # loops, which call no GEMM: such a prediction takes no BLAS hold (a lock and
    # two library calls), and one of ROWS_MAX rows does.
    from fastmlp.kernels import config

    from fastmlp import _runtime

    make, X, y = JOBS["wide (BLAS in the kernels)"]
    model = make().fit(X, y)
    assert model._kernel_blas_min == config.BLAS_MIN_WEIGHTS
    rows = fastmlp.kernels.ROWS_MAX
    holds = []
    real = _runtime.hold_blas

    def counting_hold():
        holds.append(1)
        return real()

    monkeypatch.setattr(_runtime, "hold_blas", counting_hold)
    few = model.predict_proba(X[: rows - 1])
    assert holds == []
    model.predict_proba(X[:rows])
    assert holds == [1]
    monkeypatch.undo()
    np.testing.assert_array_equal(few, model.predict_proba(X[: rows - 1]))
