"""The oracle property: float64 and the same random_state give scikit-learn's model.

Every test fits fastmlp and scikit-learn side by side and compares coefs_,
intercepts_ (rtol 1e-6, atol 1e-10), loss_curve_ (rtol 1e-7), n_iter_, t_ and
predictions (identical).
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits, make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.neural_network import MLPRegressor as SkMLPRegressor
from sklearn.preprocessing import StandardScaler

from fastmlp import MLPClassifier, MLPRegressor
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


# ----------------------------------------------------------------------------
# L-BFGS, early stopping, multilabel and the regressor
# ----------------------------------------------------------------------------
# L-BFGS amplifies rounding differences in the loss and gradient as iterations
# go on (its line search and curvature pairs feed on them), so its fits are held
# to rtol 1e-5 over 50 iterations.
LBFGS_RTOL = 1e-5


def assert_close_weights(sk, fm, rtol):
    for a, b in zip(
        fm.coefs_ + fm.intercepts_, sk.coefs_ + sk.intercepts_, strict=True
    ):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=rtol, atol=COEF_ATOL)


@pytest.mark.parametrize("dataset", ["penguins", "classification", "binary"])
@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic"])
def test_lbfgs_classifier(dataset, activation):
    X, y = DATASETS[dataset]()
    sk, fm = fit_both(
        X,
        y,
        hidden_layer_sizes=(8,),
        solver="lbfgs",
        activation=activation,
        max_iter=50,
        random_state=0,
    )
    assert fm.n_iter_ == sk.n_iter_
    assert_close_weights(sk, fm, LBFGS_RTOL)
    np.testing.assert_allclose(fm.loss_, sk.loss_, rtol=LBFGS_RTOL)
    np.testing.assert_array_equal(fm.predict(X), sk.predict(X))
    assert not hasattr(fm, "loss_curve_")


def test_lbfgs_max_iter_warns_as_sklearn():
    X, y = _classification()
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
        MLPClassifier((5,), solver="lbfgs", max_iter=3, random_state=0).fit(X, y)


@pytest.mark.parametrize("dataset", ["penguins", "classification", "binary", "digits"])
@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_early_stopping(dataset, solver):
    X, y = DATASETS[dataset]()
    sk, fm = fit_both(
        X,
        y,
        hidden_layer_sizes=(10,),
        solver=solver,
        early_stopping=True,
        validation_fraction=0.2,
        max_iter=100,
        random_state=1,
    )
    assert_same_model_es(sk, fm, X)


def assert_same_model_es(sk, fm, X):
    assert fm.best_loss_ is None and sk.best_loss_ is None
    np.testing.assert_allclose(fm.validation_scores_, sk.validation_scores_, rtol=1e-12)
    assert fm.best_validation_score_ == sk.best_validation_score_
    assert fm.n_iter_ == sk.n_iter_
    assert_close_weights(sk, fm, COEF_RTOL)
    np.testing.assert_allclose(fm.loss_curve_, sk.loss_curve_, rtol=LOSS_RTOL)
    np.testing.assert_array_equal(fm.predict(X), sk.predict(X))


def test_early_stopping_then_warm_start():
    # scikit-learn's best weights and current weights are the same arrays after a
    # fit with early stopping; a warm-started second fit behaves accordingly.
    X, y = _classification()
    params = dict(
        hidden_layer_sizes=(10,),
        early_stopping=True,
        warm_start=True,
        max_iter=40,
        random_state=0,
    )
    sk, fm = fit_both(X, y, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sk.fit(X, y)
        fm.fit(X, y)
    assert_same_model_es(sk, fm, X)


def test_early_stopping_with_sample_weight():
    X, y = _classification()
    w = np.random.RandomState(1).uniform(0.1, 2.0, X.shape[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        params = dict(hidden_layer_sizes=(8,), early_stopping=True, random_state=0)
        sk = SkMLPClassifier(**params).fit(X, y, sample_weight=w)
        fm = MLPClassifier(**params).fit(X, y, sample_weight=w)
    assert_same_model_es(sk, fm, X)


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_multilabel(solver):
    X, _ = _classification()
    Y = (np.random.RandomState(0).rand(X.shape[0], 4) > 0.6).astype(int)
    sk, fm = fit_both(
        X,
        Y,
        hidden_layer_sizes=(12,),
        solver=solver,
        random_state=0,
        **(dict(max_iter=50) if solver == "lbfgs" else LONG),
    )
    assert fm.out_activation_ == "logistic" and fm.n_outputs_ == 4
    pred = fm.predict(X)
    assert pred.shape == Y.shape
    np.testing.assert_array_equal(pred, sk.predict(X))
    assert_close_weights(sk, fm, LBFGS_RTOL if solver == "lbfgs" else COEF_RTOL)
    np.testing.assert_allclose(fm.predict_proba(X), sk.predict_proba(X), rtol=1e-5)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_early_stopping_multilabel_sparse_y(fmt):
    # A sparse multilabel y is decoded sparse; the validation rows are scored
    # as accuracy_score scores them.
    X, _ = _classification()
    Y = (np.random.RandomState(0).rand(X.shape[0], 4) > 0.6).astype(int)
    sk, fm = fit_both(
        X,
        sp.csr_matrix(Y) if fmt == "csr" else sp.csc_matrix(Y),
        hidden_layer_sizes=(10,),
        early_stopping=True,
        max_iter=40,
        random_state=0,
    )
    np.testing.assert_allclose(fm.validation_scores_, sk.validation_scores_, rtol=1e-12)
    assert fm.best_validation_score_ == sk.best_validation_score_
    assert fm.n_iter_ == sk.n_iter_
    assert_close_weights(sk, fm, COEF_RTOL)
    np.testing.assert_array_equal(fm.predict(X).toarray(), sk.predict(X).toarray())


def test_huge_max_iter_stops_as_sklearn():
    # Nothing is sized by max_iter: a huge one with a tol that stops early is a
    # valid fit.
    X, y = _penguins()
    params = dict(hidden_layer_sizes=(5,), max_iter=10**11, tol=0.05, random_state=0)
    sk, fm = fit_both(X, y, **params)
    assert fm.n_iter_ == sk.n_iter_ < 100
    np.testing.assert_allclose(fm.loss_curve_, sk.loss_curve_, rtol=LOSS_RTOL)


def test_epochs_across_compiled_calls(monkeypatch):
    # The compiled calls hold at most EPOCH_CALL_LOSSES epochs each: a fit of
    # many such calls (the last one cut short by the stopping rule) is the same
    # fit.
    from fastmlp.kernels import config

    import fastmlp._runtime

    calls = []  # (epochs asked, epochs run) of each compiled call
    real = fastmlp._runtime.fit_epochs

    def spy(*args):
        out = real(*args)
        calls.append((args[9], out[0]))
        return out

    config.set(EPOCH_CALL_LOSSES=5)
    monkeypatch.setattr(fastmlp._runtime, "fit_epochs", spy)
    X, y = _penguins()
    params = dict(hidden_layer_sizes=(5, 5), max_iter=1000, tol=1e-3, random_state=0)
    sk, fm = fit_both(X, y, **params)
    assert sk.n_iter_ < 1000
    assert max(asked for asked, _ in calls) == 5
    assert calls[-1][1] < calls[-1][0]  # the last call stopped within its epochs
    assert sum(done for _, done in calls) == fm.n_iter_
    assert_same_model(sk, fm, X)
    sk, fm = fit_both(X, y, hidden_layer_sizes=(5, 5), random_state=0, **LONG)
    assert_same_model(sk, fm, X)


@pytest.mark.parametrize(
    "params",
    [
        dict(),
        dict(solver="sgd"),
        dict(early_stopping=True),
        dict(verbose=True),
        dict(solver="lbfgs"),
        dict(partial_fit=True),
    ],
    ids=["adam", "sgd", "early-stopping", "verbose", "lbfgs", "partial_fit"],
)
def test_loss_attributes_have_sklearns_types(params, capsys):
    X, y = _penguins()
    params = dict(params)
    partial = params.pop("partial_fit", False)
    models = []
    for cls in (SkMLPClassifier, MLPClassifier):
        m = cls(hidden_layer_sizes=(5,), max_iter=5, random_state=0, **params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            if partial:
                m.partial_fit(X, y, classes=np.unique(y)).partial_fit(X, y)
            else:
                m.fit(X, y)
        models.append(m)
    sk, fm = models
    for name in ("loss_", "best_loss_", "best_validation_score_"):
        assert type(getattr(fm, name, None)) is type(getattr(sk, name, None)), name
    for name in ("loss_curve_", "validation_scores_"):
        a, b = getattr(fm, name, None), getattr(sk, name, None)
        assert type(a) is type(b), name
        if b is not None:
            assert [type(v) for v in a] == [type(v) for v in b], name


def _regression(n_outputs=1):
    X, y = make_regression(
        n_samples=300, n_features=8, n_targets=n_outputs, noise=1.0, random_state=0
    )
    return X, y / 100.0


def _counts():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 5))
    lam = np.exp(0.3 * X[:, 0] - 0.2 * X[:, 1] + 0.5)
    return X, rng.poisson(lam).astype(float)


def fit_both_reg(X, y, sample_weight=None, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sk = SkMLPRegressor(**params).fit(X, y, sample_weight=sample_weight)
        fm = MLPRegressor(**params).fit(X, y, sample_weight=sample_weight)
    return sk, fm


REG_CASES = {
    "adam": dict(solver="adam", **LONG),
    "sgd": dict(solver="sgd", learning_rate_init=0.01, **LONG),
    "sgd-invscaling": dict(
        solver="sgd", learning_rate="invscaling", learning_rate_init=0.05, **LONG
    ),
    "lbfgs": dict(solver="lbfgs", max_iter=50),
    "early-stopping": dict(early_stopping=True, max_iter=100),
}


@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
@pytest.mark.parametrize("case", sorted(REG_CASES))
def test_regressor(loss, case):
    X, y = _counts() if loss == "poisson" else _regression()
    params = dict(REG_CASES[case])
    if loss == "poisson" and params.get("solver") == "sgd":
        params["learning_rate_init"] = 0.001
    sk, fm = fit_both_reg(
        X, y, loss=loss, hidden_layer_sizes=(10,), random_state=0, **params
    )
    rtol = LBFGS_RTOL if case == "lbfgs" else COEF_RTOL
    assert fm.n_iter_ == sk.n_iter_
    assert fm.out_activation_ == sk.out_activation_
    assert_close_weights(sk, fm, rtol)
    np.testing.assert_allclose(
        fm.loss_, sk.loss_, rtol=LBFGS_RTOL if case == "lbfgs" else LOSS_RTOL
    )
    if case != "lbfgs":
        np.testing.assert_allclose(fm.loss_curve_, sk.loss_curve_, rtol=LOSS_RTOL)
    if case == "early-stopping":
        np.testing.assert_allclose(
            fm.validation_scores_, sk.validation_scores_, rtol=1e-9
        )
    pred = fm.predict(X)
    assert pred.shape == sk.predict(X).shape == (X.shape[0],)
    np.testing.assert_allclose(pred, sk.predict(X), rtol=rtol, atol=1e-9)


def test_regressor_2d_target_and_weights():
    X, Y = _regression(n_outputs=3)
    w = np.random.RandomState(2).uniform(0, 2, X.shape[0])
    sk, fm = fit_both_reg(
        X, Y, sample_weight=w, hidden_layer_sizes=(9, 4), random_state=0, **LONG
    )
    assert fm.predict(X).shape == (X.shape[0], 3)
    assert_same_model_reg(sk, fm, X)


def assert_same_model_reg(sk, fm, X):
    assert fm.n_iter_ == sk.n_iter_
    assert_close_weights(sk, fm, COEF_RTOL)
    np.testing.assert_allclose(fm.loss_curve_, sk.loss_curve_, rtol=LOSS_RTOL)
    np.testing.assert_allclose(fm.predict(X), sk.predict(X), rtol=COEF_RTOL, atol=1e-9)


def test_regressor_partial_fit_and_warm_start():
    X, y = _regression()
    sk = SkMLPRegressor(hidden_layer_sizes=(6,), random_state=0)
    fm = MLPRegressor(hidden_layer_sizes=(6,), random_state=0)
    for i in range(0, 300, 50):
        for _ in range(10):
            sk.partial_fit(X[i : i + 50], y[i : i + 50])
            fm.partial_fit(X[i : i + 50], y[i : i + 50])
    assert_same_model_reg(sk, fm, X)
    sk2, fm2 = fit_both_reg(
        X, y, hidden_layer_sizes=(6,), warm_start=True, random_state=0, max_iter=30
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sk2.fit(X, y)
        fm2.fit(X, y)
    assert_same_model_reg(sk2, fm2, X)


# ----------------------------------------------------------------------------
# Sparse input: the same matrix given to both libraries, never densified here
# ----------------------------------------------------------------------------
def _sparse_classification(fmt):
    X, y = make_classification(
        n_samples=300, n_features=30, n_informative=8, n_classes=3, random_state=0
    )
    X[np.random.RandomState(0).rand(*X.shape) < 0.7] = 0.0
    return (sp.csr_matrix(X) if fmt == "csr" else sp.csc_matrix(X)), y


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize(
    "case",
    [
        dict(solver="adam", **LONG),
        dict(solver="sgd", **LONG),
        dict(solver="lbfgs", max_iter=50),
        dict(early_stopping=True, max_iter=100),
    ],
    ids=["adam", "sgd", "lbfgs", "early-stopping"],
)
def test_sparse_input_classifier(fmt, case):
    Xs, y = _sparse_classification(fmt)
    sk, fm = fit_both(Xs, y, hidden_layer_sizes=(10,), random_state=0, **case)
    rtol = LBFGS_RTOL if case.get("solver") == "lbfgs" else COEF_RTOL
    assert fm.n_iter_ == sk.n_iter_
    assert_close_weights(sk, fm, rtol)
    np.testing.assert_array_equal(fm.predict(Xs), sk.predict(Xs))
    np.testing.assert_allclose(fm.predict_proba(Xs), sk.predict_proba(Xs), rtol=1e-5)
    # Sparse and dense input give the same predictions from one model.
    np.testing.assert_allclose(
        fm.predict_proba(Xs), fm.predict_proba(Xs.toarray()), rtol=1e-12
    )


def test_sparse_input_regressor_and_large_predict():
    Xs, _ = _sparse_classification("csr")
    y = np.asarray(Xs[:, :5].sum(axis=1)).ravel()
    sk, fm = fit_both_reg(Xs, y, hidden_layer_sizes=(7,), random_state=0, **LONG)
    assert_same_model_reg(sk, fm, Xs)
    big = sp.random(
        5000, 30, density=0.1, format="csr", random_state=0
    )  # parallel path
    np.testing.assert_allclose(fm.predict(big), sk.predict(big), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(fm.predict(big), fm.predict(big.toarray()), rtol=1e-12)


def test_sparse_non_canonical_matrix():
    # Unsorted and duplicate column indices in a row are summed, as scipy sums them.
    Xs, y = _sparse_classification("csr")
    coo = Xs.tocoo()
    half = coo.data / 2
    dup = sp.csr_matrix(
        (np.r_[half, half], (np.r_[coo.row, coo.row], np.r_[coo.col, coo.col])),
        shape=Xs.shape,
    )
    dup.has_canonical_format = False
    fm = MLPClassifier((6,), random_state=0, max_iter=5).fit(Xs, y)
    np.testing.assert_allclose(fm.predict_proba(dup), fm.predict_proba(Xs), rtol=1e-12)


# ----------------------------------------------------------------------------
# The two training paths: many epochs per compiled call (the default) and one
# epoch per call with Python in between (verbose, early stopping, partial_fit,
# a RandomState that is not a Mersenne Twister). Both must be scikit-learn's.
# ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "solver",
    ["adam", "sgd-invscaling", "sgd-adaptive", "sgd-constant-momentum"],
)
def test_verbose_fit_is_the_same_model_and_prints_the_same(solver, capsys):
    X, y = _classification()
    params = dict(
        hidden_layer_sizes=(8,),
        random_state=0,
        verbose=True,
        max_iter=60,
        **SOLVERS[solver],
    )
    if solver == "sgd-adaptive":
        params.update(tol=0.05, n_iter_no_change=2, max_iter=200)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sk = SkMLPClassifier(**params).fit(X, y)
        printed_sk = capsys.readouterr().out
        fm = MLPClassifier(**params).fit(X, y)
        printed_fm = capsys.readouterr().out
    assert_same_model(sk, fm, X)
    sk_lines = printed_sk.splitlines()
    fm_lines = printed_fm.splitlines()
    assert len(fm_lines) == len(sk_lines)
    for a, b in zip(fm_lines, sk_lines, strict=True):
        if a.startswith("Iteration"):
            # the loss printed with 8 decimals may differ in the last digit
            assert a.split(",")[0] == b.split(",")[0]
            np.testing.assert_allclose(
                float(a.split("= ")[1]), float(b.split("= ")[1]), rtol=1e-7, atol=1e-8
            )
        else:
            assert a == b


def test_random_state_continues_as_sklearn():
    # A RandomState passed in is advanced exactly as scikit-learn advances it.
    X, y = _classification()
    rs_sk, rs_fm = np.random.RandomState(3), np.random.RandomState(3)
    sk, fm = fit_both(X, y, hidden_layer_sizes=(6,), random_state=None, max_iter=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        SkMLPClassifier((6,), random_state=rs_sk, max_iter=20).fit(X, y)
        MLPClassifier((6,), random_state=rs_fm, max_iter=20).fit(X, y)
    assert rs_sk.uniform() == rs_fm.uniform()


def test_non_mersenne_random_state():
    # RandomState over another bit generator: the per-epoch path, same model.
    X, y = _classification()
    sk = SkMLPClassifier(
        (7,), random_state=np.random.RandomState(np.random.PCG64(5)), **LONG
    )
    fm = MLPClassifier(
        (7,), random_state=np.random.RandomState(np.random.PCG64(5)), **LONG
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sk.fit(X, y)
        fm.fit(X, y)
    assert_same_model(sk, fm, X)
