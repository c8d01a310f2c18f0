"""The oracle property: float64 and the same random_state give scikit-learn's model.

Every test fits fastmlp and scikit-learn side by side and compares coefs_,
intercepts_ (rtol 1e-6, atol 1e-10), loss_curve_ (rtol 1e-7), n_iter_, t_ and
predictions (identical).
"""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.preprocessing import StandardScaler

from fastmlp import MLPClassifier
from fastmlp.datasets import load_penguins

COEF_RTOL, COEF_ATOL, LOSS_RTOL = 1e-6, 1e-10, 1e-7


def _penguins():
    X, y = load_penguins(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def _classification():
    X, y = make_classification(
        n_samples=450, n_features=12, n_informative=6, n_classes=4, random_state=0
    )
    return X, y


def _binary():
    X, y = make_classification(n_samples=300, n_features=8, random_state=1)
    return X, np.where(y == 1, "yes", "no")


DATASETS = {
    "penguins": _penguins,
    "digits": _digits,
    "classification": _classification,
    "binary": _binary,
}


def fit_both(X, y, **params):
    """Fit scikit-learn's and fastmlp's MLPClassifier with the same parameters."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sk = SkMLPClassifier(**params).fit(X, y)
        fm = MLPClassifier(**params).fit(X, y)
    return sk, fm


def assert_same_model(sk, fm, X):
    assert fm.n_iter_ == sk.n_iter_
    assert fm.t_ == sk.t_
    assert fm.n_layers_ == sk.n_layers_
    assert fm.n_outputs_ == sk.n_outputs_
    assert fm.out_activation_ == sk.out_activation_
    np.testing.assert_array_equal(fm.classes_, sk.classes_)
    assert len(fm.coefs_) == len(sk.coefs_)
    for a, b in zip(
        fm.coefs_ + fm.intercepts_, sk.coefs_ + sk.intercepts_, strict=True
    ):
        assert a.shape == b.shape
        assert a.dtype == b.dtype == np.float64
        np.testing.assert_allclose(a, b, rtol=COEF_RTOL, atol=COEF_ATOL)
    np.testing.assert_allclose(fm.loss_curve_, sk.loss_curve_, rtol=LOSS_RTOL)
    np.testing.assert_allclose(fm.loss_, sk.loss_, rtol=LOSS_RTOL)
    np.testing.assert_allclose(fm.best_loss_, sk.best_loss_, rtol=LOSS_RTOL)
    np.testing.assert_array_equal(fm.predict(X), sk.predict(X))
    np.testing.assert_allclose(
        fm.predict_proba(X), sk.predict_proba(X), rtol=1e-6, atol=1e-10
    )


# At least 50 epochs each: tol=0 with a large n_iter_no_change keeps them running.
LONG = dict(max_iter=60, tol=0.0, n_iter_no_change=1000)

SOLVERS = {
    "adam": dict(solver="adam"),
    "adam-lr": dict(solver="adam", learning_rate_init=0.01, beta_1=0.8, beta_2=0.99),
    "sgd-constant-nesterov": dict(solver="sgd", learning_rate="constant"),
    "sgd-constant-momentum": dict(
        solver="sgd", learning_rate="constant", nesterovs_momentum=False
    ),
    "sgd-no-momentum": dict(solver="sgd", momentum=0.0, learning_rate_init=0.05),
    "sgd-invscaling": dict(
        solver="sgd", learning_rate="invscaling", learning_rate_init=0.5, power_t=0.3
    ),
    "sgd-adaptive": dict(solver="sgd", learning_rate="adaptive"),
}


@pytest.mark.parametrize("dataset", sorted(DATASETS))
@pytest.mark.parametrize("solver", sorted(SOLVERS))
def test_same_model_as_sklearn(dataset, solver):
    X, y = DATASETS[dataset]()
    hidden = (
        (30,) if dataset == "digits" else (5, 5) if dataset == "penguins" else (16, 8)
    )
    sk, fm = fit_both(
        X, y, hidden_layer_sizes=hidden, random_state=0, **LONG, **SOLVERS[solver]
    )
    assert sk.n_iter_ >= 50
    assert_same_model(sk, fm, X)


def test_adaptive_learning_rate_drops_as_sklearn():
    # A large tol makes the adaptive schedule divide the learning rate by 5 many
    # times, until it stops below 1e-6.
    X, y = _classification()
    sk, fm = fit_both(
        X,
        y,
        hidden_layer_sizes=(10,),
        solver="sgd",
        learning_rate="adaptive",
        tol=0.05,
        n_iter_no_change=2,
        max_iter=300,
        random_state=3,
    )
    assert sk.n_iter_ < 300  # stopped by the schedule, not by max_iter
    assert fm._optimizer.learning_rate == sk._optimizer.learning_rate
    assert_same_model(sk, fm, X)


@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu"])
def test_activations(activation):
    X, y = _classification()
    sk, fm = fit_both(
        X, y, hidden_layer_sizes=(12, 7), activation=activation, random_state=2, **LONG
    )
    assert_same_model(sk, fm, X)


@pytest.mark.parametrize("batch_size", [1, 7, 64, 450, 1000])
def test_batch_sizes(batch_size):
    X, y = _classification()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # batch_size clipped
        sk, fm = fit_both(
            X,
            y,
            hidden_layer_sizes=(8,),
            batch_size=batch_size,
            random_state=4,
            max_iter=50 if batch_size > 1 else 5,
            tol=0.0,
            n_iter_no_change=1000,
        )
    assert_same_model(sk, fm, X)


def test_no_shuffle_and_alpha():
    X, y = _penguins()
    sk, fm = fit_both(
        X, y, hidden_layer_sizes=(6,), shuffle=False, alpha=0.3, random_state=5, **LONG
    )
    assert_same_model(sk, fm, X)


def test_default_tol_stops_at_same_epoch():
    X, y = _penguins()
    sk, fm = fit_both(
        X,
        y,
        hidden_layer_sizes=(5, 5),
        learning_rate_init=0.01,
        max_iter=500,
        random_state=0,
    )
    assert sk.n_iter_ < 500  # stopped by tol / n_iter_no_change
    assert_same_model(sk, fm, X)


def test_random_state_instance():
    X, y = _classification()
    sk = SkMLPClassifier((9,), random_state=np.random.RandomState(7), **LONG)
    fm = MLPClassifier((9,), random_state=np.random.RandomState(7), **LONG)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sk.fit(X, y)
        fm.fit(X, y)
    assert_same_model(sk, fm, X)


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_warm_start(solver):
    X, y = _classification()
    params = dict(hidden_layer_sizes=(10,), solver=solver, random_state=0, **LONG)
    sk, fm = fit_both(X, y, warm_start=True, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sk.set_params(max_iter=20).fit(X, y)
        fm.set_params(max_iter=20).fit(X, y)
    assert_same_model(sk, fm, X)


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_partial_fit_sequence(solver):
    X, y = _classification()
    classes = np.unique(y)
    sk = SkMLPClassifier((10,), solver=solver, random_state=0)
    fm = MLPClassifier((10,), solver=solver, random_state=0)
    rng = np.random.RandomState(0)
    for step in range(60):
        rows = rng.choice(X.shape[0], size=100, replace=False)
        kw = dict(classes=classes) if step == 0 else {}
        sk.partial_fit(X[rows], y[rows], **kw)
        fm.partial_fit(X[rows], y[rows], **kw)
    assert_same_model(sk, fm, X)


def test_sample_weight():
    X, y = _classification()
    w = np.random.RandomState(0).uniform(0, 3, X.shape[0])
    w[::10] = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sk = SkMLPClassifier((10,), random_state=0, **LONG).fit(X, y, sample_weight=w)
        fm = MLPClassifier((10,), random_state=0, **LONG).fit(X, y, sample_weight=w)
    assert_same_model(sk, fm, X)
