"""The precompiled kernels (fastmlp.kernels.precompiled): built at install for
this machine, the same bits as the Numba kernels (float64 and float32), run only where they take the
call's arguments, and a process whose fits all run on them imports no Numba."""

import importlib
import subprocess
import sys
import threading
import time
import warnings
from importlib.metadata import version

import fastmlp.kernels as K
import numpy as np
import pytest
from fastmlp.kernels import config, precompiled
from sklearn.exceptions import ConvergenceWarning

from fastmlp import MLPClassifier, MLPRegressor, _runtime

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def built_module():
    """The modules the install built, whatever the environment asks for."""
    return precompiled.load_built()


def test_the_install_built_the_modules_from_these_sources():
    key = precompiled.source_key(version("numba"))
    for name in precompiled.MODULES:
        mod = importlib.import_module("fastmlp.kernels." + name)
        assert mod.build_key() == key, (
            "fastmlp.kernels.%s was built from other kernel sources: "
            "reinstall (pip install -e .) or run "
            "python -m fastmlp.kernels._build_precompiled" % name
        )
    names = {v[0] for v in precompiled.variants()}
    assert all(callable(getattr(built_module(), name)) for name in names)
    # Each module holds its own dtype's variants.
    assert {precompiled.module_of(v) for v in names} == set(precompiled.MODULES)


@pytest.fixture
def found(monkeypatch):
    """Switch the precompiled kernels on or off; returns the list of kernel
    names that ran on them since."""
    seen = []
    real = _runtime.lookup

    def recording(name, args):
        fn = real(name, args)
        if fn is not None:
            seen.append(name)
        return fn

    monkeypatch.setattr(_runtime, "lookup", recording)

    def switch(on):
        mod = built_module() if on else None
        table = None if mod is None else precompiled.lookup_table(mod)
        monkeypatch.setattr(_runtime, "_precompiled", (mod, table))
        seen.clear()
        return seen

    return switch


def data(n=150, f=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, f))
    y3 = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)
    return X, y3


def fitted_outputs(make, X, fit, W=None):
    m = make()
    fit(m, X, W)
    out = [*m.coefs_, *m.intercepts_, np.asarray(getattr(m, "loss_curve_", m.loss_))]
    out.append(np.asarray(m.n_iter_))
    if hasattr(m, "predict_proba"):
        out += [m.predict_proba(X), m.predict_proba(X[:1])]
    else:
        out += [m.predict(X), m.predict(X[:1])]
    return out


X, Y3 = data()
W = np.random.default_rng(3).uniform(0, 2, size=X.shape[0])
Y_MULTI = np.column_stack([Y3 == 0, Y3 == 2]).astype(int)
CASES = {
    "adam softmax": (
        lambda: MLPClassifier((5, 5), max_iter=60, random_state=0),
        lambda m, X, W: m.fit(X, Y3),
    ),
    "sgd nesterov tanh": (
        lambda: MLPClassifier(
            (6,),
            solver="sgd",
            activation="tanh",
            momentum=0.8,
            max_iter=40,
            learning_rate="invscaling",
            random_state=1,
            batch_size=32,
        ),
        lambda m, X, W: m.fit(X, Y3),
    ),  # fmt: skip
    "sgd adaptive logistic": (
        lambda: MLPClassifier(
            (4, 3),
            solver="sgd",
            activation="logistic",
            learning_rate="adaptive",
            nesterovs_momentum=False,
            max_iter=50,
            n_iter_no_change=2,
            tol=1e-2,
            random_state=2,
        ),
        lambda m, X, W: m.fit(X, Y3),
    ),  # fmt: skip
    "sample weights": (
        lambda: MLPClassifier((5,), max_iter=30, random_state=0, batch_size=20),
        lambda m, X, W: m.fit(X, Y3, sample_weight=W),
    ),
    "binary": (
        lambda: MLPClassifier((5,), activation="identity", max_iter=30, random_state=4),
        lambda m, X, W: m.fit(X, Y3 == 1),
    ),
    "multilabel": (
        lambda: MLPClassifier((5,), max_iter=30, random_state=5),
        lambda m, X, W: m.fit(X, Y_MULTI),
    ),
    "early stopping": (
        lambda: MLPClassifier(
            (5,), early_stopping=True, max_iter=40, n_iter_no_change=3, random_state=6
        ),
        lambda m, X, W: m.fit(X, Y3),
    ),
    "regressor": (
        lambda: MLPRegressor(hidden_layer_sizes=(7,), max_iter=40, random_state=0),
        lambda m, X, W: m.fit(X, X[:, 0] - 2 * X[:, 1]),
    ),
    "regressor poisson weighted": (
        lambda: MLPRegressor(
            hidden_layer_sizes=(3,), loss="poisson", max_iter=40, random_state=0
        ),
        lambda m, X, W: m.fit(X, np.abs(X[:, :2]), sample_weight=W),
    ),
    "partial_fit": (
        lambda: MLPClassifier((5,), random_state=0),
        lambda m, X, W: [
            m.partial_fit(X[i::3], Y3[i::3], classes=[0, 1, 2]) for i in range(3)
        ],
    ),
    "lbfgs classifier": (
        lambda: MLPClassifier((5, 4), solver="lbfgs", max_iter=30, random_state=0),
        lambda m, X, W: m.fit(X, Y3),
    ),
    "lbfgs weighted": (
        lambda: MLPClassifier(
            (5,), solver="lbfgs", activation="tanh", max_iter=30, random_state=0
        ),
        lambda m, X, W: m.fit(X, Y3, sample_weight=W),
    ),
    "lbfgs regressor": (
        lambda: MLPRegressor(
            hidden_layer_sizes=(6,), solver="lbfgs", max_iter=30, random_state=0
        ),
        lambda m, X, W: m.fit(X, X[:, :2] @ np.array([1.0, -2.0])),
    ),
    "lbfgs multilabel weighted": (
        lambda: MLPClassifier((5,), solver="lbfgs", max_iter=20, random_state=1),
        lambda m, X, W: m.fit(X, Y_MULTI, sample_weight=W),
    ),
    "warm start": (
        lambda: MLPRegressor(
            hidden_layer_sizes=(4,), warm_start=True, max_iter=10, random_state=0
        ),
        lambda m, X, W: [m.fit(X, X[:, 2]) for _ in range(3)],
    ),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("case", list(CASES))
def test_the_same_bits_as_the_numba_kernels(found, case, dtype):
    make, fit = CASES[case]
    Xd, Wd = X.astype(dtype), W.astype(dtype)
    seen = found(False)
    jit = fitted_outputs(make, Xd, fit, Wd)
    assert seen == []
    seen = found(True)
    aot = fitted_outputs(make, Xd, fit, Wd)
    trained_by = "forward_backward" if "lbfgs" in case else "fit_epochs"
    assert trained_by in seen and "predict_serial" in seen
    assert len(aot) == len(jit)
    for a, j in zip(aot, jit, strict=True):
        assert a.dtype == j.dtype and a.shape == j.shape
        np.testing.assert_array_equal(a, j)
    assert jit[0].dtype == dtype  # a network of the data's dtype


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
def test_a_wide_networks_few_rows_run_precompiled_with_the_same_bits(found, dtype):
    # Fewer than ROWS_MAX rows take the sample-major loops, no GEMM: the call
    # leaves the BLAS code out, so a wide network's one-row prediction runs on
    # the precompiled kernels, with the bits of Numba's kernel compiled with it.
    from fastmlp.kernels import config

    from fastmlp._base import ACTIVATIONS, OUT_ACTIVATIONS

    rng = np.random.default_rng(7)
    Xw = rng.normal(size=(40, 30)).astype(dtype)
    yw = rng.integers(0, 4, size=40)
    m = MLPClassifier((40, 20), max_iter=5, random_state=0).fit(Xw, yw)
    assert m._kernel_blas_min is not None
    seen = found(True)
    act, out_act = ACTIVATIONS[m.activation], OUT_ACTIVATIONS[m.out_activation_]
    for n in range(1, K.ROWS_MAX):
        rows = np.ascontiguousarray(Xw[n : 2 * n])
        got = m.predict_proba(rows)
        ref = np.empty_like(got)
        bad = K.predict_serial(
            ref, rows, None, None, None, n, m._flat_params(), m._units, act, out_act,
            config.PREDICT_BLAS_BLOCK, m._kernel_blas_min,
        )  # fmt: skip
        assert bad == 0
        assert got.dtype == dtype
        np.testing.assert_array_equal(got, ref)
    assert seen == ["predict_serial"] * (K.ROWS_MAX - 1)
    seen.clear()
    m.predict_proba(Xw[: K.ROWS_MAX])  # GEMMs: on Numba's kernels
    assert seen == []


def test_the_parameter_lists_are_the_kernels_own():
    # The variants' argument kinds are derived from the parameter names read
    # from the kernels' source: they must be the compiled functions' own.
    import inspect

    for kernel in precompiled.KERNELS:
        names = tuple(inspect.signature(getattr(K, kernel).py_func).parameters)
        assert precompiled.parameters(kernel) == names
    for export, kernel, kinds, _ in precompiled.variants():
        assert len(kinds) == len(precompiled.parameters(kernel)), export


BLAS_CASES = {
    "classifier": (
        lambda: MLPClassifier((40, 20), max_iter=30, random_state=0),
        lambda m, X: m.fit(X, Y3),
    ),
    "regressor": (
        lambda: MLPRegressor(hidden_layer_sizes=(64,), max_iter=30, random_state=1),
        lambda m, X: m.fit(X, X[:, :2] @ np.array([[1.0, 0.5], [-2.0, 1.0]])),
    ),
    "sgd partial_fit": (
        lambda: MLPClassifier((40,), solver="sgd", random_state=2),
        lambda m, X: [m.partial_fit(X, Y3, classes=[0, 1, 2]) for _ in range(3)],
    ),
}


def blas_outputs(make, fit, X):
    m = make()
    fit(m, X)
    assert m._kernel_blas_min is not None
    big = np.tile(X, (20, 1))  # 3000 rows: the side-by-side blocks of 512
    out = [m._params.copy(), np.asarray(m.loss_curve_), np.asarray(m.n_iter_)]
    for rows in (1, 7, 8, 150, 600, 3000):  # every predict path
        out.append(m.predict(big[:rows]))
    return out


def one_numba_thread(call):
    import numba

    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        return call()
    finally:
        numba.set_num_threads(before)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("case", list(BLAS_CASES))
def test_a_blas_network_runs_on_numbas_kernels_on_any_thread_count(found, case, dtype):
    # A network with a BLAS layer trains and predicts (but for a few rows) on
    # Numba's kernels, whatever the process did before; its chunks and blocks
    # one after the other (one thread) give the bits of side by side.
    make, fit = BLAS_CASES[case]
    Xd = X.astype(dtype)
    seen = found(True)
    two = blas_outputs(make, fit, Xd)
    assert seen == ["predict_serial"] * 2  # the predictions of 1 and 7 rows
    seen.clear()
    one = one_numba_thread(lambda: blas_outputs(make, fit, Xd))
    assert seen == ["predict_serial"] * 2
    for a, j in zip(one, two, strict=True):
        assert a.dtype == j.dtype and a.shape == j.shape
        np.testing.assert_array_equal(a, j)


def test_a_blas_fit_takes_the_same_route_first_and_later(found, monkeypatch):
    # The route depends on the call's arguments alone: a process's first fit of
    # a BLAS network and its later ones run the same kernel the same way.
    routes = []
    real = K.fit_epochs

    def recording(*args):
        routes.append((args[-2] is not None, args[-1]))
        return real(*args)

    found(True)
    monkeypatch.setattr(K, "fit_epochs", recording)
    fits = [MLPClassifier((40, 20), max_iter=5, random_state=0).fit(X, Y3)]
    first = list(routes)
    routes.clear()
    fits += [MLPClassifier((40, 20), max_iter=5, random_state=0).fit(X, Y3)]
    assert first == routes and first[0][0]  # split batches, both times
    np.testing.assert_array_equal(fits[0]._params, fits[1]._params)


def captured_fit_call(found, make=None):
    """The arguments of a real fit's precompiled fit_epochs call, copied."""
    calls = []
    real = _runtime.lookup

    def capture(name, args):
        fn = real(name, args)
        if name == "fit_epochs" and fn is not None:
            calls.append(
                tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)
            )
        return fn

    found(True)
    mp = pytest.MonkeyPatch()
    mp.setattr(_runtime, "lookup", capture)
    try:
        (make or (lambda: MLPClassifier((5, 5), max_iter=3, random_state=0)))().fit(
            X, Y3
        )
    finally:
        mp.undo()
    assert calls
    return calls[0]


class Subclass(np.ndarray):
    pass


def misaligned(a):
    """A copy of a whose data starts one byte past an aligned address."""
    buf = np.zeros(a.nbytes + 1, np.uint8)[1:]
    out = buf.view(a.dtype).reshape(a.shape)
    out[...] = a
    return out


def test_lookup_takes_only_the_compiled_variants(found):
    args = captured_fit_call(found)
    assert _runtime.lookup("fit_epochs", args) is not None

    def changed(i, value):
        return args[:i] + (value,) + args[i + 1 :]

    refused = {
        "float32 parameters": changed(0, args[0].astype(np.float32)),
        "float32 X": changed(5, args[5].astype(np.float32)),
        "X not C-contiguous": changed(5, np.asfortranarray(args[5])),
        "X a view with steps": changed(5, np.repeat(args[5], 2, axis=0)[::2]),
        "X misaligned": changed(5, misaligned(args[5])),
        "X one-dimensional": changed(5, args[5].ravel()),
        "sparse input": changed(5, None),
        "int32 targets": changed(9, args[9].astype(np.int32)),
        "float32 weights": changed(10, np.ones(args[5].shape[0], np.float32)),
        "int32 units": changed(12, args[12].astype(np.int32)),
        "float for an integer": changed(13, float(args[13])),
        "a BLAS layer": changed(24, 64),
        "a split batch": changed(25, np.zeros((1, args[0].shape[0]))),
        "an argument short": args[:-1],
        "a subclass of ndarray": changed(0, args[0].view(Subclass)),
    }
    assert not misaligned(args[5]).flags.aligned
    for what, bad in refused.items():
        assert _runtime.lookup("fit_epochs", bad) is None, what
    assert _runtime.lookup("forward_backward", args) is None


@pytest.mark.parametrize(
    "env",
    [
        {"FASTMLP_PRECOMPILED": "0"},
        {"NUMBA_BOUNDSCHECK": "1"},
        {"NUMBA_DISABLE_JIT": "1"},
    ],
)
def test_the_environment_can_turn_them_off(monkeypatch, env):
    for name in ("FASTMLP_PRECOMPILED", "NUMBA_BOUNDSCHECK", "NUMBA_DISABLE_JIT"):
        monkeypatch.delenv(name, raising=False)
    config.reset()  # the environment is read again
    monkeypatch.setattr(_runtime, "_precompiled", None)
    assert _runtime.precompiled_module() is not None
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config.reset()
    monkeypatch.setattr(_runtime, "_precompiled", None)
    assert _runtime.precompiled_module() is None


@pytest.mark.parametrize("change", ["sources", "numba"])
def test_a_module_built_from_other_sources_is_not_used(monkeypatch, change):
    for name in ("FASTMLP_PRECOMPILED", "NUMBA_BOUNDSCHECK", "NUMBA_DISABLE_JIT"):
        monkeypatch.delenv(name, raising=False)
    config.reset()
    if change == "sources":
        real = precompiled.source_key
        monkeypatch.setattr(precompiled, "source_key", lambda v: real(v) ^ 1)
    else:
        monkeypatch.setattr(precompiled, "_installed_numba", lambda: "0.0.1")
    monkeypatch.setattr(_runtime, "_precompiled", None)
    assert _runtime.precompiled_module() is None
    # and every fit then runs on the Numba kernels
    calls = []
    real_fit = K.fit_epochs
    monkeypatch.setattr(K, "fit_epochs", lambda *a: calls.append(1) or real_fit(*a))
    MLPClassifier((5,), max_iter=3, random_state=0).fit(X, Y3)
    assert calls


def test_the_source_key_covers_every_kernel_file(tmp_path, monkeypatch):
    # An edited kernel file changes the key (a checkout edited after install
    # then runs its own code on Numba, not the module built before the edit).
    import os
    import shutil

    here = os.path.dirname(precompiled.__file__)
    copy = tmp_path / "kernels"
    shutil.copytree(here, copy, ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    before = precompiled.source_key("1", copy)
    assert before == precompiled.source_key("1")
    with open(copy / "dense.py", "a") as f:
        f.write("\n# edited\n")
    assert precompiled.source_key("1", copy) != before
    assert precompiled.source_key("2") != precompiled.source_key("1")


def test_precompiled_kernels_release_the_gil(found):
    # As the Numba kernels do (nogil=True): other threads run meanwhile.
    make = lambda: MLPClassifier(  # noqa: E731
        (5, 5), max_iter=2, tol=0.0, n_iter_no_change=10**6, random_state=0
    )
    args = list(captured_fit_call(found, make))
    fn = _runtime.lookup("fit_epochs", tuple(args))
    assert fn is not None
    n_epochs = 20000  # about 10 us per epoch of 150 rows here
    args[22] = np.empty(n_epochs)  # loss_curve
    args[23] = n_epochs
    inside = []  # the worker's call: [start, end]
    result = []

    def work():
        inside.append(time.perf_counter())
        result.append(fn(*args))
        inside.append(time.perf_counter())

    seen = []  # when this thread ran while the worker was inside its call
    worker = threading.Thread(target=work)
    worker.start()
    while worker.is_alive():
        if len(inside) == 1:
            seen.append(time.perf_counter())
    worker.join()
    assert result[0][0] == n_epochs
    # With the GIL held throughout the call, this thread would run during one
    # switch interval of it at most (5 ms), not during most of it.
    call = inside[1] - inside[0]
    assert call > 0.05, call
    assert seen and seen[-1] - seen[0] > 0.5 * call, (seen[-1] - seen[0], call)


NO_NUMBA_SCRIPT = """
import sys, warnings
import numpy as np
from fastmlp import MLPClassifier, MLPRegressor
warnings.simplefilter("ignore")
rng = np.random.default_rng(0)
X = rng.normal(size=(120, 4))
y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0)
c = MLPClassifier((5, 5), max_iter=20, random_state=0).fit(X, y)
c.predict(X); c.predict_proba(X[:1]); c.score(X, y)
c.partial_fit(X, y)
r = MLPRegressor(hidden_layer_sizes=(3,), max_iter=20, random_state=0)
r.fit(X, X[:, 0], sample_weight=np.ones(120)).predict(X)
MLPClassifier((4,), solver="lbfgs", max_iter=20).fit(X, y).predict(X)
X32 = X.astype(np.float32)
MLPClassifier((5, 5), max_iter=20, random_state=0).fit(X32, y).predict_proba(X32)
MLPRegressor(hidden_layer_sizes=(3,), solver="lbfgs", max_iter=20).fit(X32, X32[:, 0])
# A few rows of a network with a BLAS layer (scikit-learn's default (100,)).
d = MLPClassifier(max_iter=5, random_state=0)
d.coefs_ = [rng.normal(size=(4, 100)), rng.normal(size=(100, 3))]
d.intercepts_ = [np.zeros(100), np.zeros(3)]
d.n_features_in_, d.n_outputs_, d.out_activation_ = 4, 3, "softmax"
d.classes_ = c.classes_
d._label_binarizer = c._label_binarizer
d.predict_proba(X[:7])
print("numba" in sys.modules)
MLPClassifier((64,), max_iter=2).fit(X, y)
print("numba" in sys.modules)
"""


def test_a_process_fitting_small_networks_imports_no_numba(monkeypatch):
    for name in ("FASTMLP_PRECOMPILED", "NUMBA_BOUNDSCHECK", "NUMBA_DISABLE_JIT"):
        monkeypatch.delenv(name, raising=False)
    out = subprocess.run(
        [sys.executable, "-c", NO_NUMBA_SCRIPT],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    ).stdout.split()
    # ... until a fit that the module does not cover (a network with a BLAS
    # layer) needs Numba.
    assert out == ["False", "True"]


def test_a_fit_on_the_precompiled_kernels_still_refuses_divergence(found):
    # Non-finite losses are found as on the Numba kernels.
    seen = found(True)
    Xbig = X * 1e200
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        m = MLPRegressor(
            hidden_layer_sizes=(5,), solver="sgd", learning_rate_init=10.0,
            max_iter=20, random_state=0,
        )  # fmt: skip
        with pytest.raises(ValueError):
            m.fit(Xbig, Xbig[:, 0])
    assert "fit_epochs" in seen
