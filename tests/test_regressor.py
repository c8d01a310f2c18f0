"""MLPRegressor's API, and the checks fastmlp makes beyond scikit-learn's."""

import inspect
import warnings

import numpy as np
import pytest
from sklearn.datasets import make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor as SkMLPRegressor
from sklearn.utils._param_validation import InvalidParameterError

from fastmlp import MLPClassifier, MLPRegressor


@pytest.fixture(scope="module")
def data():
    X, y = make_regression(n_samples=150, n_features=5, noise=0.5, random_state=0)
    return X, y / 50.0


def quiet_fit(model, X, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y, **kw)


def test_signature_matches_sklearn():
    ours = inspect.signature(MLPRegressor.__init__)
    theirs = inspect.signature(SkMLPRegressor.__init__)
    assert list(ours.parameters) == list(theirs.parameters)
    for name, p in theirs.parameters.items():
        assert ours.parameters[name].default == p.default, name
        assert ours.parameters[name].kind == p.kind, name


def test_attributes_and_shapes(data):
    X, y = data
    m = quiet_fit(
        MLPRegressor(hidden_layer_sizes=(4,), max_iter=20, random_state=0), X, y
    )
    assert m.out_activation_ == "identity"
    assert m.n_outputs_ == 1 and m.n_layers_ == 3
    assert m.predict(X).shape == (150,)
    Y = np.c_[y, 2 * y]
    m2 = quiet_fit(
        MLPRegressor(hidden_layer_sizes=(4,), max_iter=20, random_state=0), X, Y
    )
    assert m2.predict(X).shape == (150, 2)
    assert -np.inf < m.score(X, y) <= 1.0


def test_poisson_rejects_negative_targets(data):
    X, y = data
    with pytest.raises(ValueError, match="non-negative"):
        MLPRegressor(loss="poisson").fit(X, y - y.min() - 1.0)
    m = quiet_fit(
        MLPRegressor(
            loss="poisson", hidden_layer_sizes=(4,), max_iter=20, random_state=0
        ),
        X,
        np.abs(y),
    )
    assert m.out_activation_ == "exp"
    assert (m.predict(X) > 0).all()


def test_invalid_loss():
    with pytest.raises(InvalidParameterError, match="loss"):
        MLPRegressor(loss="absolute_error").fit([[0.0], [1.0]], [0.0, 1.0])


def test_float32_end_to_end(data):
    X, y = data
    m = quiet_fit(
        MLPRegressor(hidden_layer_sizes=(4,), max_iter=20, random_state=0),
        X.astype(np.float32),
        y.astype(np.float32),
    )
    assert all(a.dtype == np.float32 for a in m.coefs_ + m.intercepts_)
    assert m.predict(X.astype(np.float32)).dtype == np.float32
    ml = quiet_fit(
        MLPRegressor(
            hidden_layer_sizes=(4,), solver="lbfgs", max_iter=20, random_state=0
        ),
        X.astype(np.float32),
        y,
    )
    assert all(a.dtype == np.float32 for a in ml.coefs_ + ml.intercepts_)


def test_partial_fit_only_for_stochastic_solvers(data):
    X, y = data
    assert not hasattr(MLPRegressor(solver="lbfgs"), "partial_fit")
    assert not hasattr(MLPClassifier(solver="lbfgs"), "partial_fit")
    m = MLPRegressor(hidden_layer_sizes=(3,), random_state=0)
    m.partial_fit(X, y)
    assert m.n_iter_ == 1 and m.t_ == 150
    with pytest.raises(ValueError, match="early_stopping"):
        MLPRegressor(early_stopping=True).partial_fit(X, y)


@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
def test_sample_weight_checks(data, Estimator):
    X, y = data
    if Estimator is MLPClassifier:
        y = (y > 0).astype(int)
    m = Estimator(hidden_layer_sizes=(3,), max_iter=2)
    with pytest.raises(ValueError, match="sample_weight"):
        m.fit(X, y, sample_weight=np.ones(10))
    with pytest.raises(ValueError, match="[Nn]egative"):
        m.fit(X, y, sample_weight=-np.ones(150))
    with pytest.raises(ValueError, match="non-zero"):
        m.fit(X, y, sample_weight=np.zeros(150))
    with pytest.raises(ValueError, match="NaN"):
        m.fit(X, y, sample_weight=np.full(150, np.nan))
    # Zero weights on some samples are fine; a batch made only of them is skipped.
    w = np.ones(150)
    w[:100] = 0.0
    quiet_fit(
        Estimator(hidden_layer_sizes=(3,), max_iter=3, shuffle=False, batch_size=50),
        X,
        y,
        sample_weight=w,
    )


def test_zero_weight_samples_do_not_matter(data):
    X, y = data
    w = np.ones(150)
    w[::3] = 0.0
    keep = w > 0
    params = dict(hidden_layer_sizes=(4,), solver="lbfgs", max_iter=30, random_state=0)
    a = quiet_fit(MLPRegressor(**params), X, y, sample_weight=w)
    b = quiet_fit(MLPRegressor(**params), X[keep], y[keep])
    np.testing.assert_allclose(a.predict(X), b.predict(X), rtol=1e-6, atol=1e-9)


def test_dataframe_feature_names(data):
    pd = pytest.importorskip("pandas")
    X, y = data
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(5)])
    m = quiet_fit(
        MLPRegressor(hidden_layer_sizes=(3,), max_iter=5, random_state=0), df, y
    )
    np.testing.assert_array_equal(m.feature_names_in_, df.columns)
    m.predict(df)
    with pytest.raises(ValueError, match="feature names"):
        m.predict(df[df.columns[::-1]])
