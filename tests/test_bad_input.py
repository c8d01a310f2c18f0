"""The bad-input catalogue: every way the input can be wrong gets a ValueError,
TypeError or NotFittedError that names the problem, raised before any kernel runs.

The kernels are compiled without bounds checks and trust their arguments, so
these checks are what keeps memory safe. "Before any kernel" is proved by the
``no_kernels`` fixture, which replaces every compute kernel on the
``fastmlp.kernels`` module (the API layer calls them as ``kernels.NAME``) with a
function that fails the test; ``test_the_guard_sees_every_kernel_path`` shows
that the guard trips on each path when the input is good.
"""

import fastmlp.kernels
import numpy as np
import pytest
import scipy.sparse as sp

from fastmlp import MLPClassifier, MLPRegressor

COMPUTE_KERNELS = [
    "train_epochs",
    "train_epochs_csr",
    "train_epoch",
    "train_epoch_csr",
    "forward_backward",
    "forward_backward_csr",
    "predict_forward",
    "predict_forward_parallel",
    "predict_forward_csr",
]


class KernelCalled(AssertionError):
    pass


def _arm(monkeypatch):
    for name in COMPUTE_KERNELS:

        def fail(*args, _name=name, **kwargs):
            raise KernelCalled("kernel %s ran on bad input" % _name)

        monkeypatch.setattr(fastmlp.kernels, name, fail)


@pytest.fixture
def no_kernels(monkeypatch):
    """Every compute kernel fails the test if it is called."""
    _arm(monkeypatch)


@pytest.fixture
def arm_guard(monkeypatch):
    """For tests that fit a model first: call it to make the kernels fail."""
    return lambda: _arm(monkeypatch)


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
    with pytest.warns(Warning):
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
    from sklearn.exceptions import NotFittedError

    X, y = data
    make = clf if kind == "clf" else reg
    est = make()
    with pytest.warns(Warning):
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
    with pytest.warns(Warning):
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
