"""The bad-input catalogue: every way the input can be wrong gets a ValueError,
TypeError or NotFittedError that names the problem, raised before any kernel runs.

The kernels are compiled without bounds checks and trust their arguments, so
these checks are what keeps memory safe. "Before any kernel" is proved by the
``no_kernels`` fixture, which replaces every compute kernel on the
``fastmlp.kernels`` module (the API layer calls them as ``kernels.NAME``) with a
function that fails the test; ``test_the_guard_sees_every_kernel_path`` shows
that the guard trips on each path when the input is good.
"""

import copy

import fastmlp.kernels
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError

import fastmlp._runtime
from fastmlp import MLPClassifier, MLPRegressor

COMPUTE_KERNELS = fastmlp.kernels.ENTRY_POINTS


class KernelCalled(AssertionError):
    pass


def _arm(monkeypatch):
    fails = {}
    for name in COMPUTE_KERNELS:

        def fail(*args, _name=name, **kwargs):
            raise KernelCalled("kernel %s ran on bad input" % _name)

        fails[name] = fail
        monkeypatch.setattr(fastmlp.kernels, name, fail)
    # The precompiled kernels too (a small float64 network runs on them).
    lookup = fastmlp._runtime.lookup

    def armed_lookup(name, args):
        found = lookup(name, args)
        return None if found is None else fails[name]

    monkeypatch.setattr(fastmlp._runtime, "lookup", armed_lookup)


@pytest.fixture
def no_kernels(monkeypatch):
    """Every compute kernel fails the test if it is called."""
    _arm(monkeypatch)


@pytest.fixture
def arm_guard(monkeypatch):
    """For tests that fit a model first: call it to make the kernels fail."""
    return lambda: _arm(monkeypatch)


# The fits here are short on purpose.
pytestmark = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning",
    "ignore:invalid value encountered in cast:RuntimeWarning",
)

N, F = 40, 5


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(N, F))
    y = np.arange(N) % 3
    return X, y


def clf(**kw):
    kw.setdefault("max_iter", 3)
    return MLPClassifier((4,), random_state=0, **kw)


def reg(**kw):
    kw.setdefault("max_iter", 3)
    return MLPRegressor(hidden_layer_sizes=(4,), random_state=0, **kw)


@pytest.fixture(scope="module")
def fitted(data):
    X, y = data
    return {"clf": clf().fit(X, y), "reg": reg().fit(X, y.astype(float))}


def sparse_with_holes(X, fmt):
    X = X.copy()
    X[np.abs(X) < 0.7] = 0.0
    return sp.csr_matrix(X) if fmt == "csr" else sp.csc_matrix(X)


# ----------------------------------------------------------------------
# Corrupted sparse matrices: scipy's own conversions (CSC to CSR) and the
# kernels trust the index arrays, so they are checked before either runs.
# ----------------------------------------------------------------------
def corrupt(M, how):
    M = M.copy()
    if how == "index too large":
        M.indices[3] = 10**6
    elif how == "negative index":
        M.indices[3] = -5
    elif how == "indptr past the end":
        M.indptr[-1] = M.indptr[-1] + 1000
    elif how == "indptr decreasing":
        M.indptr[2], M.indptr[3] = M.indptr[3], M.indptr[2] + 5
    elif how == "indptr too short":
        M.indptr = M.indptr[:-2]
    elif how == "indices shorter than data":
        M.indices = M.indices[:-3]
    return M


SPARSE_DAMAGE = {
    "index too large": r"corrupted index arrays: indices must be <",
    "negative index": r"corrupted index arrays: indices must be >= 0",
    "indptr past the end": r"corrupted index arrays: .*index pointer",
    "indptr decreasing": r"corrupted index arrays: indptr must be a non-decreasing",
    "indptr too short": r"corrupted index arrays: index pointer size",
    "indices shorter than data": r"corrupted index arrays: indices and data",
}


@pytest.mark.parametrize("how", list(SPARSE_DAMAGE))
@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("kind", ["clf", "reg"])
def test_corrupted_sparse_matrix(data, fitted, no_kernels, kind, fmt, how):
    X, y = data
    M = corrupt(sparse_with_holes(X, fmt), how)
    make = clf if kind == "clf" else reg
    for est in (make(), make(early_stopping=True), make(solver="lbfgs")):
        with pytest.raises(ValueError, match=SPARSE_DAMAGE[how]):
            est.fit(M, y)
    with pytest.raises(ValueError, match=SPARSE_DAMAGE[how]):
        fitted[kind].predict(M)


@pytest.mark.parametrize("axis", [0, 1])
@pytest.mark.parametrize("value", [-1, 10**6])
def test_corrupted_coo_matrix(data, fitted, no_kernels, axis, value):
    X, y = data
    M = sparse_with_holes(X, "csr").tocoo()
    (M.row, M.col)[axis][2] = value
    with pytest.raises(ValueError, match=r"corrupted index arrays: indices along"):
        clf().fit(M, y)
    with pytest.raises(ValueError, match=r"corrupted index arrays: indices along"):
        fitted["clf"].predict_proba(M)


# ----------------------------------------------------------------------
# State that no longer matches the network. The kernels read X by the network's
# own layer sizes; n_features_in_ and classes_ describe the data. A refit that
# fails on its input must not leave the old network behind with the new
# input's n_features_in_, and coefs_ assigned by hand must form a network.
# ----------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["clf", "reg"])
def test_a_failed_refit_leaves_the_estimator_unfitted(data, arm_guard, kind):
    X, y = data
    make = clf if kind == "clf" else reg
    est = make()
    est.fit(X, y)
    arm_guard()
    narrow = np.ascontiguousarray(X[:, :3])
    with pytest.raises(ValueError, match="sample_weight"):
        est.fit(narrow, y, sample_weight=np.ones(3))
    for call in (est.predict, getattr(est, "predict_proba", est.predict)):
        for Xp in (narrow, X):
            with pytest.raises(NotFittedError, match="not fitted yet"):
                call(Xp)


@pytest.mark.parametrize(
    "coefs, intercepts, message",
    [
        ([(F, 4), (2, 1)], [(4,), (1,)], r"coefs_\[1\] has shape \(2, 1\)"),
        ([(F, 4), (4, 1)], [(4,), (2,)], r"intercepts_\[1\] shape \(2,\)"),
        ([(F * 4,), (4, 1)], [(4,), (1,)], r"coefs_\[0\] has shape \(20,\)"),
        ([(F, 4)], [(4,), (1,)], r"same, non-zero length; got 1 and 2"),
        ([(F, 0), (0, 1)], [(0,), (1,)], r"coefs_\[0\] has shape \(5, 0\)"),
        ([(F - 1, 4), (4, 1)], [(4,), (1,)], r"X has 5 features, but the network's"),
    ],
)
def test_assigned_coefs_must_form_the_network(
    data, arm_guard, coefs, intercepts, message
):
    X, y = data
    est = reg()
    est.fit(X, y)
    arm_guard()
    est.coefs_ = [np.ones(s) for s in coefs]
    est.intercepts_ = [np.ones(s) for s in intercepts]
    with pytest.raises(ValueError, match=message):
        est.predict(X)


# ----------------------------------------------------------------------
# Parameters out of range, for both estimators: scikit-learn's validator names
# the parameter; what it cannot see (the contents of hidden_layer_sizes, a
# validation fraction of 0 with early stopping) is checked by fastmlp.
# ----------------------------------------------------------------------
BAD_PARAMETERS = [
    ("hidden_layer_sizes", 0),
    ("hidden_layer_sizes", -3),
    ("hidden_layer_sizes", 2.5),
    ("hidden_layer_sizes", None),
    ("hidden_layer_sizes", "8"),
    ("activation", "softmax"),
    ("activation", None),
    ("solver", "rmsprop"),
    ("alpha", -1.0),
    ("alpha", np.nan),
    ("alpha", np.inf),
    ("alpha", "0.1"),
    ("batch_size", 0),
    ("batch_size", -5),
    ("batch_size", 1.5),
    ("batch_size", "all"),
    ("learning_rate", "cosine"),
    ("learning_rate_init", 0.0),
    ("learning_rate_init", -0.1),
    ("learning_rate_init", np.nan),
    ("learning_rate_init", np.inf),
    ("power_t", -0.5),
    ("power_t", np.nan),
    ("max_iter", 0),
    ("max_iter", -1),
    ("max_iter", 2.5),
    ("max_iter", np.inf),
    ("shuffle", "yes"),
    ("shuffle", 1),
    ("random_state", -1),
    ("random_state", 2**32),
    ("random_state", "seed"),
    ("tol", -1e-4),
    ("tol", np.nan),
    ("verbose", "loud"),
    ("warm_start", "no"),
    ("momentum", -0.1),
    ("momentum", 1.5),
    ("momentum", np.nan),
    ("nesterovs_momentum", None),
    ("early_stopping", "yes"),
    ("validation_fraction", -0.1),
    ("validation_fraction", 1.0),
    ("validation_fraction", np.nan),
    ("beta_1", 1.0),
    ("beta_1", -0.1),
    ("beta_2", 1.0),
    ("beta_2", -0.1),
    ("epsilon", 0.0),
    ("epsilon", -1e-8),
    ("epsilon", np.nan),
    ("n_iter_no_change", 0),
    ("n_iter_no_change", -2),
    ("n_iter_no_change", 1.5),
    ("max_fun", 0),
    ("max_fun", -1),
]


@pytest.mark.parametrize("kind", ["clf", "reg"])
@pytest.mark.parametrize(
    "name, value", BAD_PARAMETERS, ids=[f"{n}={v!r}" for n, v in BAD_PARAMETERS]
)
def test_out_of_range_parameter(data, no_kernels, kind, name, value):
    X, y = data
    est = (clf if kind == "clf" else reg)().set_params(**{name: value})
    message = r"The '%s' parameter of MLP(Classifier|Regressor) must be" % name
    with pytest.raises(ValueError, match=message):
        est.fit(X, y)
    if est.get_params()["solver"] in ("adam", "sgd"):
        with pytest.raises(ValueError, match=message):
            est.partial_fit(X, y, **({"classes": [0, 1, 2]} if kind == "clf" else {}))


@pytest.mark.parametrize("value", ["absolute_error", "log_loss", None])
def test_out_of_range_regression_loss(data, no_kernels, value):
    X, y = data
    with pytest.raises(ValueError, match=r"The 'loss' parameter of MLPRegressor"):
        reg(loss=value).fit(X, y)


@pytest.mark.parametrize("kind", ["clf", "reg"])
@pytest.mark.parametrize(
    "params, message",
    [
        ({"hidden_layer_sizes": (5, 0)}, r"hidden_layer_sizes must be > 0"),
        ({"hidden_layer_sizes": (-1,)}, r"hidden_layer_sizes must be > 0"),
        ({"hidden_layer_sizes": (4.5,)}, r"hidden_layer_sizes must hold integers"),
        ({"hidden_layer_sizes": ("8",)}, r"hidden_layer_sizes must hold integers"),
        ({"hidden_layer_sizes": [[4]]}, r"hidden_layer_sizes must hold integers"),
        ({"hidden_layer_sizes": (True,)}, r"hidden_layer_sizes must hold integers"),
        (
            {"early_stopping": True, "validation_fraction": 0.0},
            r"early_stopping=True needs validation_fraction > 0",
        ),
    ],
)
def test_parameters_checked_at_fit(data, no_kernels, kind, params, message):
    X, y = data
    for solver in ("adam", "sgd", "lbfgs"):
        if "early_stopping" in params and solver == "lbfgs":
            continue  # L-BFGS ignores early stopping, as in scikit-learn
        est = (clf if kind == "clf" else reg)(solver=solver).set_params(**params)
        with pytest.raises(ValueError, match=message):
            est.fit(X, y)


# ----------------------------------------------------------------------
# X and y at fit, for both estimators. Each case turns the good (X, y) into a
# bad one, with keyword arguments for fit.
# ----------------------------------------------------------------------
def with_value(X, value, at=(3, 2), dtype=None):
    X = X.astype(dtype or X.dtype, copy=True)
    X[at] = value
    return X


def object_with(X, value):
    X = X.astype(object)
    X[1, 1] = value
    return X


def sparse_with(X, value):
    M = sparse_with_holes(X, "csr")
    M.data[4] = value
    return M


FIT_CASES = {
    # X
    "NaN in X": (lambda X, y: (with_value(X, np.nan), y), r"Input X contains NaN"),
    "inf in X": (lambda X, y: (with_value(X, np.inf), y), r"Input X contains inf"),
    "-inf in X": (lambda X, y: (with_value(X, -np.inf), y), r"Input X contains inf"),
    "NaN in float32 X": (
        lambda X, y: (with_value(X, np.nan, dtype=np.float32), y),
        r"Input X contains NaN",
    ),
    "None in object X": (lambda X, y: (object_with(X, None), y), r"X contains NaN"),
    "NaN in sparse X": (lambda X, y: (sparse_with(X, np.nan), y), r"X contains NaN"),
    "inf in sparse X": (lambda X, y: (sparse_with(X, np.inf), y), r"X contains inf"),
    "no rows": (lambda X, y: (X[:0], y[:0]), r"Found array with 0 sample\(s\)"),
    "no columns": (lambda X, y: (X[:, :0], y), r"Found array with 0 feature\(s\)"),
    "1-D X": (lambda X, y: (X[:, 0], y), r"Expected 2D array, got 1D array"),
    "3-D X": (lambda X, y: (X[:, :, None], y), r"Found array with dim 3"),
    "ragged rows": (
        lambda X, y: ([list(X[0]), list(X[1][:-1])], y[:2]),
        r"inhomogeneous shape",
    ),
    "strings in X": (
        lambda X, y: (np.full(X.shape, "a"), y),
        r"could not convert string to float",
    ),
    "a string in object X": (
        lambda X, y: (object_with(X, "1.5x"), y),
        r"could not convert string to float",
    ),
    "complex X": (lambda X, y: (X + 1j, y), r"Complex data not supported"),
    "dict as X": (lambda X, y: ({"a": 1}, y), r"[Ee]xpected 2D array|dict"),
    # y
    "NaN in y": (
        lambda X, y: (X, with_value(y.astype(float), np.nan, at=5)),
        r"Input (y )?contains NaN",
    ),
    "inf in y": (
        lambda X, y: (X, with_value(y.astype(float), np.inf, at=5)),
        r"Input (y )?contains inf",
    ),
    "3-D y": (lambda X, y: (X, y.reshape(-1, 1, 1)), r"Found array with dim 3"),
    "complex y": (lambda X, y: (X, y + 1j), r"Complex data not supported"),
    "X and y of different lengths": (
        lambda X, y: (X, y[:-1]),
        r"inconsistent numbers of samples: \[40, 39\]",
    ),
    "y of one row for many rows": (
        lambda X, y: (X, y[:1]),
        r"inconsistent numbers of samples",
    ),
}

CLASSIFIER_Y_CASES = {
    "continuous labels": (
        lambda X, y: (X, X[:, 0]),
        r"Unknown label type: continuous",
    ),
    "labels of mixed types": (
        lambda X, y: (X, np.array([1, "a"] * (N // 2), dtype=object)),
        r"class labels in y cannot be sorted .*str.*int",
    ),
    "None among string labels": (
        lambda X, y: (X, np.array(["a", None] * (N // 2), dtype=object)),
        r"class labels in y cannot be sorted .*NoneType",
    ),
    # scikit-learn's own message, not framed as a sorting problem.
    "bytes labels": (
        lambda X, y: (X, np.array([b"a", b"b"] * (N // 2))),
        r"^Support for labels represented as bytes is not supported",
    ),
    # fit finds the NaN; partial_fit sorts the labels before it validates y.
    "NaN among object labels": (
        lambda X, y: (X, np.array(["a", np.nan] * (N // 2), dtype=object)),
        r"contains NaN|class labels in y cannot be sorted .*float.*str",
    ),
}

REGRESSOR_Y_CASES = {
    "strings as targets": (
        lambda X, y: (X, np.array(["a", "b"] * (N // 2))),
        r"could not convert string to float",
    ),
    # scikit-learn converts an object y after its NaN check: None became NaN
    # and reached the kernels (reported as a divergence).
    "None among object targets": (
        lambda X, y: (X, np.array([1.0, None] * (N // 2), dtype=object)),
        r"Input y contains NaN",
    ),
}


def fit_cases(kind):
    extra = CLASSIFIER_Y_CASES if kind == "clf" else REGRESSOR_Y_CASES
    return [(kind, name, *case) for name, case in {**FIT_CASES, **extra}.items()]


@pytest.mark.parametrize(
    "kind, name, build, message",
    fit_cases("clf") + fit_cases("reg"),
    ids=[f"{c[0]}-{c[1]}" for c in fit_cases("clf") + fit_cases("reg")],
)
def test_bad_fit_input(data, fitted, no_kernels, kind, name, build, message):
    X, y = data
    Xb, yb = build(X, y if kind == "clf" else y.astype(float))
    make = clf if kind == "clf" else reg
    for est in (make(), make(solver="lbfgs"), make(early_stopping=True)):
        with pytest.raises((ValueError, TypeError), match=message):
            est.fit(Xb, yb)
    est = make()
    kw = {"classes": [0, 1, 2]} if kind == "clf" else {}
    with pytest.raises((ValueError, TypeError), match=message):
        est.partial_fit(Xb, yb, **kw)
    # A later call on a fitted model, which skips the checks that plain
    # arrays would pass.
    with pytest.raises((ValueError, TypeError), match=message):
        copy.deepcopy(fitted[kind]).partial_fit(Xb, yb)


# ----------------------------------------------------------------------
# sample_weight
# ----------------------------------------------------------------------
BAD_WEIGHTS = {
    "wrong length": (
        np.ones(N - 3),
        r"sample_weight.shape == \(37,\), expected \(40,\)",
    ),
    "negative": (-np.ones(N), r"Negative values in data passed to `sample_weight`"),
    "one negative": (np.r_[np.ones(N - 1), -1e-9], r"Negative values"),
    "NaN": (np.r_[np.ones(N - 1), np.nan], r"Input sample_weight contains NaN"),
    "inf": (np.r_[np.ones(N - 1), np.inf], r"sample_weight contains inf"),
    "all zero": (np.zeros(N), r"at least one non-zero number"),
    "2-D": (np.ones((N, 1)), r"Sample weights must be 1D array or scalar"),
    "2-D, two columns": (np.ones((N, 2)), r"Sample weights must be 1D"),
    "strings": (np.array(["a"] * N), r"could not convert string to float"),
    "complex": (np.ones(N) + 1j, r"Complex data not supported"),
}


@pytest.mark.parametrize("kind", ["clf", "reg"])
@pytest.mark.parametrize("name", list(BAD_WEIGHTS))
def test_bad_sample_weight(data, no_kernels, kind, name):
    X, y = data
    w, message = BAD_WEIGHTS[name]
    make = clf if kind == "clf" else reg
    for est in (make(), make(solver="lbfgs"), make(early_stopping=True)):
        with pytest.raises((ValueError, TypeError), match=message):
            est.fit(X, y, sample_weight=w)
    kw = {"classes": [0, 1, 2]} if kind == "clf" else {}
    with pytest.raises((ValueError, TypeError), match=message):
        make().partial_fit(X, y, sample_weight=w, **kw)


# ----------------------------------------------------------------------
# The Poisson loss, partial_fit, warm starts and early stopping
# ----------------------------------------------------------------------
@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_poisson_needs_non_negative_targets(data, no_kernels, solver):
    X, y = data
    yp = y.astype(float)
    yp[7] = -0.5
    message = r"loss='poisson' requires non-negative targets y; got a minimum of"
    with pytest.raises(ValueError, match=message):
        reg(loss="poisson", solver=solver).fit(X, yp)
    if solver != "lbfgs":
        with pytest.raises(ValueError, match=message):
            reg(loss="poisson", solver=solver).partial_fit(X, yp)
    with pytest.raises(ValueError, match=message):  # two outputs
        reg(loss="poisson", solver=solver).fit(X, np.c_[np.abs(yp), yp])


def test_partial_fit_without_classes_or_with_unseen_labels(data, arm_guard):
    X, y = data
    arm_guard()
    with pytest.raises(ValueError, match=r"classes must be passed on the first call"):
        clf().partial_fit(X, y)
    with pytest.raises(ValueError, match=r"`y` has classes not in `self.classes_`"):
        clf().partial_fit(X, y, classes=[0, 1])
    with pytest.raises(TypeError, match=r"class labels in classes cannot be sorted"):
        clf().partial_fit(X, y, classes=np.array([0, "a"], dtype=object))
    with pytest.raises(ValueError, match=r"does not support early_stopping"):
        clf(early_stopping=True).partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match=r"does not support early_stopping"):
        reg(early_stopping=True).partial_fit(X, y)


def test_partial_fit_later_calls(data, arm_guard):
    X, y = data
    c = clf().partial_fit(X, y, classes=[0, 1, 2, 3])
    r = reg().partial_fit(X, y)
    arm_guard()
    with pytest.raises(ValueError, match=r"`y` has classes not in `self.classes_`"):
        c.partial_fit(X, y + 3)
    with pytest.raises(ValueError, match=r"X has 3 features, but MLPClassifier is"):
        c.partial_fit(X[:, :3], y)
    with pytest.raises(ValueError, match=r"X has 3 features, but MLPRegressor is"):
        r.partial_fit(X[:, :3], y)
    with pytest.raises(ValueError, match=r"layer sizes \[5, 4, 1\] do not match"):
        r.partial_fit(X, np.c_[y, y])
    for est in (c, r):
        est.set_params(hidden_layer_sizes=(6,))
        with pytest.raises(ValueError, match=r"layer sizes \[5, 4, \d\] do not match"):
            est.partial_fit(X, y)


def test_warm_start_must_continue_the_same_network(data, arm_guard):
    X, y = data
    c = clf(warm_start=True).fit(X, y)
    r = reg(warm_start=True).fit(X, y)
    arm_guard()
    with pytest.raises(ValueError, match=r"warm_start can only be used where `y`"):
        c.fit(X, y % 2)
    with pytest.raises(ValueError, match=r"X has 3 features, but MLPRegressor is"):
        r.fit(X[:, :3], y)
    r.set_params(hidden_layer_sizes=(6,))
    with pytest.raises(ValueError, match=r"layer sizes \[5, 4, 1\] do not match"):
        r.fit(X, y)


def test_validation_set_too_small(data, no_kernels):
    X, y = data
    with pytest.raises(ValueError, match=r"The validation set is too small"):
        reg(early_stopping=True, validation_fraction=0.05).fit(X[:12], y[:12])


# ----------------------------------------------------------------------
# predict, predict_proba, predict_log_proba and score on a fitted model
# ----------------------------------------------------------------------
def prediction_methods(est):
    methods = [est.predict, lambda X: est.score(X, np.zeros(np.shape(X)[0]))]
    if hasattr(est, "predict_proba"):
        methods += [est.predict_proba, est.predict_log_proba]
    return methods


PREDICT_CASES = {
    "one column too few": (lambda X: X[:, :-1], r"X has 4 features, but MLP\w+ is"),
    "one column too few, C-ordered": (
        lambda X: np.ascontiguousarray(X[:, :-1]),
        r"X has 4 features, but MLP\w+ is",
    ),
    "one column too many": (
        lambda X: np.c_[X, X[:, 0]],
        r"X has 6 features, but MLP\w+ is",
    ),
    "one column too many, sparse": (
        lambda X: sp.csr_matrix(np.c_[X, X[:, 0]]),
        r"X has 6 features, but MLP\w+ is",
    ),
    "1-D X": (lambda X: X[0], r"Expected 2D array, got 1D array"),
    "3-D X": (lambda X: X[:, :, None], r"Found array with dim 3"),
    "no rows": (lambda X: X[:0], r"Found array with 0 sample\(s\)"),
    "NaN, Fortran-ordered": (
        lambda X: np.asfortranarray(with_value(X, np.nan)),
        r"Input X contains NaN",
    ),
    "inf, float32 for a float64 model": (
        lambda X: with_value(X, np.inf, dtype=np.float32),
        r"Input X contains inf",
    ),
    "NaN in a list": (lambda X: with_value(X, np.nan).tolist(), r"X contains NaN"),
    "None in object X": (lambda X: object_with(X, None), r"X contains NaN"),
    "NaN in sparse X": (lambda X: sparse_with(X, np.nan), r"X contains NaN"),
    "strings": (lambda X: np.full(X.shape, "x"), r"could not convert string"),
    "complex": (lambda X: X + 0j, r"Complex data not supported"),
    "ragged rows": (
        lambda X: [list(X[0]), list(X[1][:-1])],
        r"inhomogeneous shape",
    ),
}


@pytest.mark.parametrize("kind", ["clf", "reg"])
@pytest.mark.parametrize("name", list(PREDICT_CASES))
def test_bad_predict_input(data, fitted, no_kernels, kind, name):
    X, _ = data
    build, message = PREDICT_CASES[name]
    Xb = build(X)
    for method in prediction_methods(fitted[kind]):
        with pytest.raises((ValueError, TypeError), match=message):
            method(Xb)


@pytest.mark.parametrize("kind", ["clf", "reg"])
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("rows", [1, 300, 5000])
def test_non_finite_input_on_the_fast_path(data, fitted, kind, value, rows):
    # A C-ordered array of the model's dtype and width skips scikit-learn's
    # checks: its shape and dtype are checked, so the kernel reads it in bounds,
    # and the kernel counts the non-finite values as it reads. This is the one
    # error raised after a kernel ran; no output comes back.
    X, _ = data
    big = np.resize(X, (rows, F))
    big[rows // 2, 1] = value
    big[rows - 1, 4] = value
    for method in prediction_methods(fitted[kind]):
        with pytest.raises(
            ValueError, match=r"Input X contains NaN or infinity \(2 non-finite"
        ):
            method(big)


def test_feature_names_must_match(data, arm_guard):
    pd = pytest.importorskip("pandas")
    X, y = data
    df = pd.DataFrame(X, columns=list("abcde"))
    est = reg().fit(df, y)
    arm_guard()
    with pytest.raises(ValueError, match=r"feature names"):
        est.predict(df[list("edcba")])
    with pytest.raises(ValueError, match=r"feature names"):
        est.predict(df.rename(columns={"a": "z"}))


# ----------------------------------------------------------------------
# Use before fit
# ----------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["clf", "reg"])
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_use_before_fit(data, no_kernels, kind, solver):
    X, _ = data
    est = (clf if kind == "clf" else reg)(solver=solver)
    for method in prediction_methods(est):
        with pytest.raises(NotFittedError, match=r"is not fitted yet"):
            method(X)


# ----------------------------------------------------------------------
# The guard itself: on good input every kernel path trips it, so the
# tests above would notice a kernel that ran.
# ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "how",
    [
        "compiled epochs",
        "compiled epochs, sparse",
        "per-epoch loop",
        "per-epoch loop, sparse",
        "lbfgs",
        "lbfgs, sparse",
        "predict",
        "predict, parallel rows",
        "predict, sparse",
    ],
)
def test_the_guard_sees_every_kernel_path(data, fitted, arm_guard, how):
    X, y = data
    Xs = sparse_with_holes(X, "csr") if "sparse" in how else X
    arm_guard()
    with pytest.raises(KernelCalled):
        if how.startswith("compiled"):
            clf().fit(Xs, y)
        elif how.startswith("per-epoch"):
            clf(early_stopping=True).fit(Xs, y)
        elif how.startswith("lbfgs"):
            clf(solver="lbfgs").fit(Xs, y)
        elif how == "predict, parallel rows":
            fitted["clf"].predict_proba(np.resize(X, (5000, F)))
        else:
            fitted["clf"].predict_proba(Xs)


# ----------------------------------------------------------------------
# Inputs that must simply work. Layout never changes the model: a Fortran-
# ordered, strided, read-only or memory-mapped X trains the bit-identical
# model of its C-ordered copy, and predicts the same numbers.
# ----------------------------------------------------------------------
def layouts(X, tmp_path):
    wide = np.zeros((X.shape[0], 2 * X.shape[1]), dtype=X.dtype)
    wide[:, ::2] = X
    tall = np.repeat(X, 2, axis=0)
    read_only = X.copy()
    read_only.setflags(write=False)
    np.save(tmp_path / "X.npy", X)
    mm = np.memmap(tmp_path / "X.bin", dtype=X.dtype, mode="w+", shape=X.shape)
    mm[:] = X
    mm.flush()
    return {
        "Fortran-ordered": np.asfortranarray(X),
        "strided columns": wide[:, ::2],
        "strided rows": tall[::2],
        "reversed twice": X[::-1][::-1],
        "read-only": read_only,
        "np.load mmap_mode='r'": np.load(tmp_path / "X.npy", mmap_mode="r"),
        "np.memmap read-only": np.memmap(
            tmp_path / "X.bin", dtype=X.dtype, mode="r", shape=X.shape
        ),
    }


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kind", ["clf", "reg"])
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_layout_gives_the_same_model(data, tmp_path, dtype, kind, solver):
    X, y = data
    X = X.astype(dtype)
    make = clf if kind == "clf" else reg
    ref = make(solver=solver, max_iter=10).fit(X, y)
    ref_out = ref.predict_proba(X) if kind == "clf" else ref.predict(X)
    for name, Xl in layouts(X, tmp_path).items():
        assert np.array_equal(Xl, X), name
        est = make(solver=solver, max_iter=10).fit(Xl, y)
        assert est._params.dtype == dtype, name
        assert np.array_equal(est._params, ref._params), name
        out = est.predict_proba(Xl) if kind == "clf" else est.predict(Xl)
        assert np.array_equal(out, ref_out), name
        out = ref.predict_proba(Xl) if kind == "clf" else ref.predict(Xl)
        assert np.array_equal(out, ref_out), name


@pytest.mark.parametrize(
    "dtype", [np.int64, np.int32, np.uint8, np.bool_, np.float16, object]
)
def test_other_dtypes_train_in_float64(data, dtype):
    X, y = data
    Xd = (X * 3).astype(dtype) if dtype is not np.bool_ else X > 0
    est = clf().fit(Xd, y)
    ref = clf().fit(np.asarray(Xd, dtype=np.float64), y)
    assert est._params.dtype == np.float64
    assert np.array_equal(est._params, ref._params)
    assert np.array_equal(est.predict_proba(Xd), ref.predict_proba(Xd.astype(float)))


def test_python_lists(data):
    X, y = data
    est = clf().fit(X.tolist(), y.tolist())
    ref = clf().fit(X, y)
    r = reg().fit(X.tolist(), y.astype(float).tolist())
    assert np.array_equal(est._params, ref._params)
    assert est.predict(X[:3].tolist()).tolist() == ref.predict(X[:3]).tolist()
    assert np.isfinite(r.predict(X.tolist())).all()


def test_read_only_and_memory_mapped_targets_and_weights(data, tmp_path):
    X, y = data
    w = np.linspace(0.5, 2.0, N)
    np.save(tmp_path / "y.npy", y.astype(float))
    np.save(tmp_path / "w.npy", w)
    yr = np.load(tmp_path / "y.npy", mmap_mode="r")
    wr = np.load(tmp_path / "w.npy", mmap_mode="r")
    est = reg().fit(X, yr, sample_weight=wr)
    ref = reg().fit(X, y.astype(float), sample_weight=w)
    assert np.array_equal(est._params, ref._params)


@pytest.mark.parametrize("kind", ["clf", "reg"])
def test_a_single_row(data, fitted, kind):
    X, y = data
    est = fitted[kind]
    batch = est.predict_proba(X) if kind == "clf" else est.predict(X)
    for i in (0, 17, N - 1):
        one = est.predict_proba(X[i : i + 1]) if kind == "clf" else est.predict(X[[i]])
        np.testing.assert_allclose(one[0], batch[i], rtol=1e-12, atol=1e-15)
        assert est.predict([list(X[i])]).shape == (1,)
    # Training on a single row works too (a classifier then knows one class).
    one = (clf if kind == "clf" else reg)().fit(X[:1], y[:1])
    assert one.predict(X).shape == (N,)


@pytest.mark.parametrize("kind", ["clf", "reg"])
@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_batch_size_larger_than_the_data_warns_and_clips(data, kind, solver):
    X, y = data
    make = clf if kind == "clf" else reg
    with pytest.warns(UserWarning, match=r"batch_size.*It is going to be clipped"):
        big = make(solver=solver, batch_size=10 * N).fit(X, y)
    ref = make(solver=solver, batch_size=N).fit(X, y)
    assert np.array_equal(big._params, ref._params)


def test_csc_input_trains_the_csr_model(data):
    X, y = data
    a = clf().fit(sparse_with_holes(X, "csc"), y)
    b = clf().fit(sparse_with_holes(X, "csr"), y)
    assert np.array_equal(a._params, b._params)


# ----------------------------------------------------------------------
# Values that only the cast to the model's dtype makes bad
# ----------------------------------------------------------------------
def test_values_beyond_the_models_dtype(data, arm_guard):
    X, y = data
    c32 = clf().fit(X.astype(np.float32), y)
    r32 = reg().fit(X.astype(np.float32), y.astype(float))
    before = [m._params.copy() for m in (c32, r32)]
    arm_guard()
    big = X.copy()
    big[1, 1] = 1e39  # finite in float64, infinite in float32
    for m in (c32, r32):
        target = y if m is c32 else y.astype(float)
        with pytest.raises(ValueError, match=r"X has values beyond .* float32"):
            m.partial_fit(big, target)
        with pytest.raises(ValueError, match=r"X has values beyond .* float32"):
            m.partial_fit(sp.csr_matrix(big), target)
    # The fitted models are kept as they were.
    for m, p in zip((c32, r32), before, strict=True):
        np.testing.assert_array_equal(m._params, p)
    y39 = y.astype(float)
    y39[5] = 1e39
    with pytest.raises(ValueError, match=r"y has values beyond .* float32"):
        reg().fit(X.astype(np.float32), y39)
    ylong = y.astype(np.longdouble)
    ylong[5] = np.longdouble("1e400")
    if np.isfinite(ylong[5]):  # a platform whose long double is wider
        with pytest.raises(ValueError, match=r"y has values beyond .* float64"):
            reg().fit(X, ylong)
    with pytest.raises(ValueError, match=r"sample_weight's sum exceeds"):
        clf().fit(X, y, sample_weight=np.full(N, 1e308))


def test_early_stopping_validation_weights_all_zero(data, no_kernels):
    X, y = data
    w = np.zeros(N)
    w[0] = 1.0  # a positive sum, but none of it on the validation rows
    for est in (clf(early_stopping=True), reg(early_stopping=True)):
        with pytest.raises(ValueError, match=r"validation rows' sample weights"):
            est.fit(X, y if isinstance(est, MLPClassifier) else y + 0.5, w)
        assert not hasattr(est, "coefs_")


def test_hidden_layer_too_large(data, no_kernels):
    X, y = data
    with pytest.raises(ValueError, match=r"hidden_layer_sizes must be below 2\*\*31"):
        MLPClassifier((2**63,)).fit(X, y)


def test_a_failed_new_fit_leaves_no_network(data, monkeypatch):
    # Not only divergence: any failure of a new fit on the way (memory, say)
    # leaves the estimator unfitted; a warm start's failure keeps its network.

    import fastmlp._runtime

    X, y = data
    warm = clf(warm_start=True).fit(X, y)
    before = warm._params.copy()

    def no_memory(*args, **kwargs):
        raise MemoryError("no memory for the buffers")

    monkeypatch.setattr(fastmlp._runtime, "training_buffers", no_memory)
    for est in (clf(), reg(), clf(solver="lbfgs"), copy.deepcopy(warm)):
        with pytest.raises(MemoryError):
            est.fit(X, y if isinstance(est, MLPClassifier) else y + 0.5)
        if est.warm_start:
            np.testing.assert_array_equal(est._params, before)
        else:
            assert not hasattr(est, "coefs_")


def test_kernels_read_their_own_copy_of_sparse_indices():
    # The index arrays the kernels read are copies, checked again: another
    # thread writing the user's matrix after validation cannot send a kernel
    # outside it.
    from fastmlp._validation import as_kernel_input as _as_kernel_input

    M = sp.random(30, 6, density=0.3, format="csr", random_state=0)
    M.indices = M.indices.astype(np.int64)
    M.indptr = M.indptr.astype(np.int64)
    sparse, (indptr, indices, data) = _as_kernel_input(M, np.float64)
    assert sparse
    assert not np.shares_memory(indptr, M.indptr)
    assert not np.shares_memory(indices, M.indices)
    np.testing.assert_array_equal(indices, M.indices)
    np.testing.assert_array_equal(indptr, M.indptr)
    for field, value in (("indices", 6), ("indices", -1), ("indptr", 10**6)):
        bad = M.copy()
        getattr(bad, field)[-1] = value  # as if written after validation
        with pytest.raises(ValueError, match=r"index arrays changed"):
            _as_kernel_input(bad, np.float64)
    bad = M.copy()
    bad.indptr[5] = bad.indptr[6] + 1  # rows out of order
    with pytest.raises(ValueError, match=r"index arrays changed"):
        _as_kernel_input(bad, np.float64)
