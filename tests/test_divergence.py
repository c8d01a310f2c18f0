"""Divergence: a fit whose loss or weights become non-finite stops with a
ValueError that says so, and leaves no NaN or inf weights behind.

As scikit-learn's "Solver produced non-finite parameter weights", but stricter:
the diverged network is also dropped, so the estimator reads as unfitted
(predict raises NotFittedError) instead of serving NaN, and the next fit starts
afresh. Every solver, both estimators, and each way a stochastic fit runs
(many epochs per compiled call, the per-epoch loop of early stopping, one epoch
of partial_fit, a warm start) are covered.
"""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.utils.validation import check_is_fitted

from fastmlp import MLPClassifier, MLPRegressor

DIVERGED = r"non-finite.*(diverged|preprocessed)"


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(60, 4))
    return X, {
        MLPClassifier: np.arange(60) % 3,
        MLPRegressor: X @ np.array([1.0, 2.0, -1.0, 0.5]),
    }


def make(Estimator, **kw):
    return Estimator(hidden_layer_sizes=(8,), random_state=0, **kw)


def quiet(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fn(*args, **kw)


def non_finite_arrays(est):
    """Names of the estimator's attributes that hold a non-finite float."""
    bad = []
    for name, value in vars(est).items():
        values = value if isinstance(value, (list, tuple)) else [value]
        for v in values:
            if isinstance(v, np.ndarray) and v.dtype.kind == "f":
                if not np.isfinite(v).all():
                    bad.append(name)
    return bad


def check(est, X, y, fit):
    """fit() raises the divergence error and leaves est unfitted, with no
    non-finite array anywhere in it; a sane refit then works."""
    with pytest.raises(ValueError, match=DIVERGED):
        quiet(fit)
    assert not hasattr(est, "coefs_") and not hasattr(est, "intercepts_")
    assert non_finite_arrays(est) == []
    with pytest.raises(NotFittedError):
        check_is_fitted(est)
    with pytest.raises(NotFittedError):
        est.predict(X)
    # The estimator is not stuck: with a sane learning rate it fits again.
    est.set_params(learning_rate_init=1e-3, warm_start=False)
    quiet(est.fit, X, y)
    assert np.isfinite(est._params).all()
    assert np.isfinite(est.predict(X)).all()


ESTIMATORS = [MLPClassifier, MLPRegressor]


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("solver", ["adam", "sgd"])
@pytest.mark.parametrize(
    "path", ["compiled epochs", "per-epoch loop", "verbose", "float32"]
)
def test_stochastic_fit_diverges(data, Estimator, solver, path):
    X, ys = data
    y = ys[Estimator]
    kw = dict(solver=solver, learning_rate_init=1e300, max_iter=20)
    if path == "per-epoch loop":
        kw["early_stopping"] = True
    elif path == "verbose":
        kw["verbose"] = True
    elif path == "float32":
        X = X.astype(np.float32)
    est = make(Estimator, **kw)
    check(est, X, y, lambda: est.fit(X, y))


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("cause", ["huge X", "huge alpha"])
def test_lbfgs_fit_diverges(data, Estimator, cause):
    # L-BFGS-B stops at a non-finite loss and hands back finite weights that
    # fit nothing; that is a divergence too, not a fitted model with loss_=nan.
    X, ys = data
    y = ys[Estimator]
    if cause == "huge X":
        est, Xf = make(Estimator, solver="lbfgs", max_iter=20), X * 1e300
    else:
        est, Xf = make(Estimator, solver="lbfgs", max_iter=20, alpha=1e300), X
    with pytest.raises(ValueError, match=r"non-finite \(nan\) in L-BFGS"):
        quiet(est.fit, Xf, y)
    assert not hasattr(est, "coefs_") and non_finite_arrays(est) == []
    with pytest.raises(NotFittedError):
        est.predict(X)
    est.set_params(alpha=1e-4)
    quiet(est.fit, X, y)
    assert np.isfinite(est.loss_) and np.isfinite(est._params).all()


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_partial_fit_diverges(data, Estimator, solver):
    X, ys = data
    y = ys[Estimator]
    est = make(Estimator, solver=solver, learning_rate_init=1e300)
    kw = {"classes": np.unique(y)} if Estimator is MLPClassifier else {}
    est.partial_fit(X, y, **kw)  # the first epoch's loss is still finite

    def more():
        for _ in range(5):
            est.partial_fit(X, y)

    check(est, X, y, more)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_warm_start_fit_diverges(data, Estimator, solver):
    # A good model, continued with a learning rate that blows it up: the fit
    # fails and does not leave the blown-up network in place.
    X, ys = data
    y = ys[Estimator]
    est = make(Estimator, solver=solver, max_iter=5, warm_start=True)
    quiet(est.fit, X, y)
    assert np.isfinite(est.predict(X)).all()
    est.set_params(learning_rate_init=1e300)
    check(est, X, y, lambda: est.fit(X, y))


def test_weights_that_overflow_on_the_last_update():
    # One epoch: its loss is computed before the update and is finite, the
    # update itself overflows the weights. Only the final weight check sees it.
    rng = np.random.default_rng(3)
    X = rng.normal(size=(60, 4))
    y = X @ np.array([1.0, 2.0, -1.0, 0.5])
    est = make(MLPRegressor, solver="sgd", learning_rate_init=1e308, max_iter=1)
    with pytest.raises(ValueError, match="Solver produced non-finite parameter"):
        quiet(est.fit, X, y)
    assert np.isfinite(est.loss_curve_).all()  # the loss never saw it
    assert not hasattr(est, "coefs_") and non_finite_arrays(est) == []


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_large_but_finite_fits_are_not_called_divergent(data, Estimator):
    # The check is about non-finite numbers, not large ones.
    X, ys = data
    y = ys[Estimator]
    est = quiet(make(Estimator, learning_rate_init=1e10, max_iter=3).fit, X, y)
    assert np.isfinite(est._params).all() and np.isfinite(est.loss_)
