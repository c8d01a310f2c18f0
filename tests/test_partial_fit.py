"""The per-call path of fit and partial_fit.

A fit, or a later partial_fit call on a fitted model, skips scikit-learn's
validate_data where it would change nothing (a later call also unique_labels and
the fresh RandomState): these tests hold each shortcut to the scikit-learn
function it stands for, on the inputs it takes and on the inputs it must leave
to scikit-learn."""

import copy
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import validate_data

import fastmlp._base as base
import fastmlp._sklearn_compat as compat
from fastmlp import MLPClassifier, MLPRegressor
from fastmlp._sklearn_compat import plain_fit_arrays

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

N, F = 60, 5


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(N, F))
    y = np.arange(N) % 3
    return X, y


@pytest.fixture(scope="module")
def fitted(data):
    X, y = data
    return {
        "clf": MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(
            X, y
        ),
        "reg": MLPRegressor(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(
            X, y * 0.5
        ),
    }


def with_value(A, value, at=(3, 2)):
    A = A.copy()
    A[at] = value
    return A


def swapped(A):
    return A.astype(A.dtype.newbyteorder())


def as_matrix(X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        return np.asmatrix(X)


# (name, X, y for the classifier, y for the regressor, plain for clf, for reg)
def candidates(X, y):
    yf = y * 0.5
    return [
        ("plain", X, y, yf, True, True),
        ("float32 X", X.astype(np.float32), y, yf, True, True),
        ("float32 y", X, y, yf.astype(np.float32), True, True),
        ("uint8 y", X, y.astype(np.uint8), y.astype(np.uint8), True, True),
        ("bool y", X, y == 1, y == 1, True, False),
        ("string y", X, np.array(list("abc"))[y], None, True, False),
        ("two outputs", X, np.c_[y, y], np.c_[yf, yf], False, True),
        ("one output as a column", X, y[:, None], yf[:, None], False, False),
        ("float labels", X, y * 1.0, None, False, True),
        ("object y", X, y.astype(object), yf.astype(object), False, False),
        ("list y", X, list(y), list(yf), False, False),
        ("Fortran-ordered X", np.asfortranarray(X), y, yf, False, False),
        ("every other row", X[::2], y[::2], yf[::2], False, False),
        ("integer X", np.round(X).astype(np.int64), y, yf, False, False),
        ("float16 X", X.astype(np.float16), y, yf, False, False),
        ("byte-swapped X", swapped(X), y, yf, False, False),
        ("byte-swapped y", X, swapped(y), swapped(yf), True, True),
        ("matrix X", as_matrix(X), y, yf, False, False),
        ("list X", X.tolist(), y, yf, False, False),
        ("no rows", X[:0], y[:0], yf[:0], False, False),
        ("one column too few", np.ascontiguousarray(X[:, 1:]), y, yf, False, False),
        ("NaN in X", with_value(X, np.nan), y, yf, False, False),
        ("inf in X", with_value(X, np.inf), y, yf, False, False),
        ("NaN in y", X, None, with_value(yf, np.nan, at=4), False, False),
        # finite, but the sum overflows: scikit-learn's checks decide
        ("huge X", np.full_like(X, 1e308), y, yf, False, False),
        ("y one row short", X, y[:-1], yf[:-1], False, False),
    ]


# (kind, case) for every case with a target for that estimator
KIND_CASES = [
    (kind, c[0])
    for c in candidates(np.zeros((N, F)), np.arange(N) % 3)
    for kind, yc in (("clf", c[2]), ("reg", c[3]))
    if yc is not None
]


def model(fitted, kind, reset):
    """The model a call sees: a fresh one for a fit (reset), else the fitted one."""
    if reset:
        return (MLPClassifier if kind == "clf" else MLPRegressor)(
            hidden_layer_sizes=(4,), max_iter=2, random_state=0
        )
    return copy.deepcopy(fitted[kind])


# reset=True: a fit (or a first partial_fit call), which takes any width
RESET = pytest.mark.parametrize("reset", [False, True], ids=["later", "fit"])


@RESET
@pytest.mark.parametrize("kind, name", KIND_CASES)
def test_plain_arrays_are_what_validate_data_passes_unchanged(
    data, fitted, kind, name, reset
):
    X, y = data
    case = {c[0]: c for c in candidates(X, y)}[name]
    Xc, yc = case[1], case[2 if kind == "clf" else 3]
    est = model(fitted, kind, reset)
    plain = plain_fit_arrays(est, Xc, yc, est._plain_y_kinds, est._plain_y_ndims, reset)
    want = case[4 if kind == "clf" else 5]
    if reset and name == "one column too few":
        want = True  # a fit takes any width
    assert plain == want
    if not plain:
        return
    # What the shortcut skips would have handed back the same objects and said
    # nothing.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Xv, yv = validate_data(
            est,
            Xc,
            yc,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            y_numeric=kind == "reg",
            dtype=(np.float64, np.float32),
            order="C",
            reset=reset,
        )
    assert Xv is Xc and yv is yc
    if reset:
        # what validate_data records, as the shortcut records it
        shortcut = model(fitted, kind, reset)
        compat.reset_plain_features(shortcut, Xc)
        assert shortcut.n_features_in_ == est.n_features_in_ == Xc.shape[1]
        assert not hasattr(est, "feature_names_in_")
        assert not hasattr(shortcut, "feature_names_in_")


def test_plain_arrays_need_a_model_without_feature_names(data):
    pd = pytest.importorskip("pandas")
    X, y = data
    est = MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
    est.fit(pd.DataFrame(X, columns=list("abcde")), y)
    assert not plain_fit_arrays(est, X, y, est._plain_y_kinds, est._plain_y_ndims)
    with pytest.warns(UserWarning, match=r"X does not have valid feature names"):
        est.partial_fit(X, y)


@pytest.mark.parametrize("shortcut", [True, False])
def test_a_fit_on_plain_arrays_records_what_validate_data_records(
    data, monkeypatch, shortcut
):
    # Fitted on a DataFrame, then fitted again on an array of another width:
    # the names go, the new width is recorded, and nothing warns about the
    # names, with the shortcut as with validate_data.
    pd = pytest.importorskip("pandas")
    X, y = data
    est = MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
    est.fit(pd.DataFrame(X, columns=list("abcde")), y)
    assert list(est.feature_names_in_) == list("abcde")
    X3 = np.ascontiguousarray(X[:, :3])
    # a refit takes these arrays through the shortcut, unless it is switched off
    assert plain_fit_arrays(est, X3, y, est._plain_y_kinds, est._plain_y_ndims, True)
    if not shortcut:
        monkeypatch.setattr(base, "plain_fit_arrays", lambda *args: False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X3, y)
    assert est.n_features_in_ == 3 and not hasattr(est, "feature_names_in_")
    assert est.predict(X3).shape == (N,)


@RESET
@pytest.mark.parametrize("kind, name", KIND_CASES)
def test_validated_input_is_the_same_with_and_without_the_shortcut(
    data, fitted, monkeypatch, kind, name, reset
):
    X, y = data
    case = {c[0]: c for c in candidates(X, y)}[name]
    Xc, yc = case[1], case[2 if kind == "clf" else 3]

    def outcome():
        est = model(fitted, kind, reset)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                got = est._validate_input(Xc, yc, incremental=not reset, reset=reset)
            except (ValueError, TypeError) as e:
                got = (type(e), str(e))
        seen = (getattr(est, "n_features_in_", None), hasattr(est, "feature_names_in_"))
        return got, [(w.category, str(w.message)) for w in caught], seen

    fast, fast_warnings, fast_seen = outcome()
    monkeypatch.setattr(base, "plain_fit_arrays", lambda *args: False)
    slow, slow_warnings, slow_seen = outcome()
    assert fast_warnings == slow_warnings
    assert fast_seen == slow_seen
    if isinstance(slow[0], type):
        assert fast == slow
        return
    for a, b in zip(fast, slow, strict=True):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)


def spy_validate_data(monkeypatch):
    calls = []
    real = base.validate_data

    def spy(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(base, "validate_data", spy)
    return calls


def partial_fit_sequence(make, X, y, first_kw, steps=12):
    est = make()
    rng = np.random.RandomState(1)
    for step in range(steps):
        rows = np.sort(rng.choice(X.shape[0], size=25, replace=False))
        est.partial_fit(X[rows], y[rows], **(first_kw if step == 0 else {}))
    return est


@pytest.mark.parametrize("kind", ["clf", "clf-strings", "reg", "reg-float32"])
@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_the_shortcut_trains_the_same_model(data, monkeypatch, kind, solver):
    X, y = data
    if kind == "clf-strings":
        y = np.array(["Adelie", "Chinstrap", "Gentoo"])[y]
    if kind.startswith("clf"):
        first_kw = {"classes": np.unique(y)}

        def make():
            return MLPClassifier(hidden_layer_sizes=(6,), solver=solver, random_state=0)

    else:
        first_kw = {}
        y = np.c_[y * 0.5, np.sin(X[:, 0])]
        if kind == "reg-float32":
            X, y = X.astype(np.float32), y.astype(np.float32)

        def make():
            return MLPRegressor(hidden_layer_sizes=(6,), solver=solver, random_state=0)

    calls = spy_validate_data(monkeypatch)
    fast = partial_fit_sequence(make, X, y, first_kw)
    assert len(calls) == 0  # plain arrays, the first call included
    monkeypatch.setattr(base, "plain_fit_arrays", lambda *args: False)
    slow = partial_fit_sequence(make, X, y, first_kw)
    assert len(calls) == 12
    np.testing.assert_array_equal(fast._params, slow._params)
    assert fast.loss_curve_ == slow.loss_curve_
    assert fast.t_ == slow.t_ and fast.n_iter_ == slow.n_iter_


def test_classes_given_on_every_call(data):
    X, y = data
    classes = np.unique(y)
    once = partial_fit_sequence(
        lambda: MLPClassifier(hidden_layer_sizes=(6,), random_state=0),
        X,
        y,
        {"classes": classes},
    )
    every = MLPClassifier(hidden_layer_sizes=(6,), random_state=0)
    rng = np.random.RandomState(1)
    for _ in range(12):
        rows = np.sort(rng.choice(X.shape[0], size=25, replace=False))
        every.partial_fit(X[rows], y[rows], classes=classes)
    np.testing.assert_array_equal(once._params, every._params)
    for other in ([0, 1, 2], np.array([0, 1]), np.array([0, 1, 2, 3])):
        if isinstance(other, list):
            every.partial_fit(X, y, classes=other)  # the same classes
            continue
        with pytest.raises(ValueError, match=r"is not the same as on last call"):
            every.partial_fit(X, y, classes=other)


def test_each_fit_draws_what_a_new_random_state_draws(data):
    X, y = data
    # Refitting one estimator, or fitting a new one, is the same model.
    est = MLPClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
        refit = est.fit(X[::-1].copy(), y[::-1].copy())._params.copy()
        new = MLPClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=4)
        new.fit(X[::-1].copy(), y[::-1].copy())
    np.testing.assert_array_equal(refit, new._params)
