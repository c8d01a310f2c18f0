"""MLPClassifier's API: signature, attributes, warnings, errors, dtypes, pickling."""

import copy
import inspect
import io
import os
import pickle
import signal
import warnings
from contextlib import redirect_stdout

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from fastmlp import MLPClassifier


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(
        n_samples=200, n_features=6, n_informative=4, n_classes=3, random_state=0
    )
    return X, y


def quiet_fit(model, X, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y, **kw)


def test_signature_matches_sklearn():
    ours = inspect.signature(MLPClassifier.__init__)
    theirs = inspect.signature(SkMLPClassifier.__init__)
    assert list(ours.parameters) == list(theirs.parameters)
    for name, p in theirs.parameters.items():
        assert ours.parameters[name].default == p.default, name
        assert ours.parameters[name].kind == p.kind, name


def test_get_params_and_clone():
    m = MLPClassifier((3, 4), solver="sgd", momentum=0.5)
    assert (
        m.get_params()
        == SkMLPClassifier((3, 4), solver="sgd", momentum=0.5).get_params()
    )
    c = clone(m)
    assert c.get_params() == m.get_params()


def test_fitted_attributes(data):
    X, y = data
    m = quiet_fit(MLPClassifier((7, 5), max_iter=30, random_state=0), X, y)
    np.testing.assert_array_equal(m.classes_, [0, 1, 2])
    assert m.n_features_in_ == 6
    assert m.n_layers_ == 4
    assert m.n_outputs_ == 3
    assert m.out_activation_ == "softmax"
    assert [c.shape for c in m.coefs_] == [(6, 7), (7, 5), (5, 3)]
    assert [b.shape for b in m.intercepts_] == [(7,), (5,), (3,)]
    assert m.n_iter_ == 30 and len(m.loss_curve_) == 30
    assert m.t_ == 30 * 200
    assert m.loss_ == m.loss_curve_[-1]
    assert m.best_loss_ == min(m.loss_curve_)
    assert m.validation_scores_ is None and m.best_validation_score_ is None


def test_coefs_are_views_of_one_flat_buffer(data):
    X, y = data
    m = quiet_fit(MLPClassifier((4,), max_iter=5, random_state=0), X, y)
    for a in m.coefs_ + m.intercepts_:
        assert a.base is m._params
    assert m._params.size == sum(a.size for a in m.coefs_ + m.intercepts_)


def test_user_assigned_coefs_are_used(data):
    X, y = data
    m = quiet_fit(MLPClassifier((4,), max_iter=5, random_state=0), X, y)
    before = m.predict_proba(X)
    m.coefs_[1] = np.zeros_like(m.coefs_[1])  # replaces the view
    m.intercepts_[1] = np.array([0.0, 0.0, 5.0])
    p = m.predict_proba(X)
    assert not np.allclose(p, before)
    np.testing.assert_allclose(
        p, np.tile(np.exp([0, 0, 5]) / np.exp([0, 0, 5]).sum(), (200, 1))
    )


def test_convergence_warning_at_max_iter(data):
    X, y = data
    with pytest.warns(ConvergenceWarning, match="Maximum iterations \\(3\\) reached"):
        MLPClassifier((5,), max_iter=3, random_state=0).fit(X, y)


@pytest.mark.parametrize(
    "params",
    [{}, {"early_stopping": True}, {"batch_size": 10**6}],
    ids=["compiled-epochs", "per-epoch", "batch-size-clipped"],
)
def test_warnings_point_at_the_callers_line(data, params):
    # Through scikit-learn's fit wrapper and fastmlp's layers, a warning names
    # the line that called fit, as a user reading it expects.
    X, y = data
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        MLPClassifier((5,), max_iter=3, random_state=0, **params).fit(X, y)
    assert caught
    for w in caught:
        assert w.filename == __file__, (w.filename, w.lineno, str(w.message))


def test_predict_proba_and_log_proba(data):
    X, y = data
    m = quiet_fit(MLPClassifier((8,), max_iter=50, random_state=0), X, y)
    p = m.predict_proba(X)
    assert p.shape == (200, 3)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    np.testing.assert_array_equal(m.predict(X), m.classes_[p.argmax(axis=1)])
    np.testing.assert_allclose(m.predict_log_proba(X), np.log(p))
    assert 0.0 <= m.score(X, y) <= 1.0


def test_binary_string_labels(data):
    X, y = data
    labels = np.array(["cat", "dog"])[(y > 0).astype(int)]
    m = quiet_fit(MLPClassifier((8,), max_iter=50, random_state=0), X, labels)
    assert m.out_activation_ == "logistic"
    assert m.n_outputs_ == 1
    np.testing.assert_array_equal(m.classes_, ["cat", "dog"])
    p = m.predict_proba(X)
    assert p.shape == (200, 2)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert set(m.predict(X)) <= {"cat", "dog"}


def test_float32_stays_float32(data):
    X, y = data
    X32 = X.astype(np.float32)
    m = quiet_fit(MLPClassifier((8,), max_iter=30, random_state=0), X32, y)
    assert all(a.dtype == np.float32 for a in m.coefs_ + m.intercepts_)
    assert m.predict_proba(X32).dtype == np.float32
    m64 = quiet_fit(MLPClassifier((8,), max_iter=30, random_state=0), X, y)
    np.testing.assert_allclose(m.predict_proba(X32), m64.predict_proba(X), atol=1e-3)


def test_integer_and_list_input(data):
    X, y = data
    Xi = np.round(X * 10).astype(np.int64)
    m = quiet_fit(MLPClassifier((5,), max_iter=5, random_state=0), Xi, y)
    assert m.coefs_[0].dtype == np.float64
    m2 = quiet_fit(
        MLPClassifier((5,), max_iter=5, random_state=0), Xi.tolist(), list(y)
    )
    np.testing.assert_array_equal(m.coefs_[0], m2.coefs_[0])


def test_fortran_and_strided_input_give_same_model(data):
    X, y = data
    ref = quiet_fit(MLPClassifier((5,), max_iter=20, random_state=0), X, y)
    f = quiet_fit(
        MLPClassifier((5,), max_iter=20, random_state=0), np.asfortranarray(X), y
    )
    wide = np.zeros((X.shape[0], 2 * X.shape[1]))
    wide[:, ::2] = X
    s = quiet_fit(MLPClassifier((5,), max_iter=20, random_state=0), wide[:, ::2], y)
    for other in (f, s):
        np.testing.assert_array_equal(other._params, ref._params)


def test_pickle_round_trip_keeps_views(data):
    X, y = data
    m = quiet_fit(MLPClassifier((6,), max_iter=20, random_state=0), X, y)
    m2 = pickle.loads(pickle.dumps(m))
    np.testing.assert_array_equal(m2.predict_proba(X), m.predict_proba(X))
    for a in m2.coefs_ + m2.intercepts_:
        assert a.base is m2._params
    # Training continues on the restored model.
    m2.set_params(warm_start=True, max_iter=2)
    quiet_fit(m2, X, y)
    assert m2.n_iter_ == 2


@pytest.mark.parametrize(
    "duplicate",
    [lambda m: pickle.loads(pickle.dumps(m)), copy.deepcopy],
    ids=["pickle", "deepcopy"],
)
def test_copies_keep_assigned_coefs(data, duplicate):
    # Arrays assigned to coefs_ / intercepts_ are what a copy holds, even when
    # nothing has read them since (the flat buffer behind the views is stale).
    X, y = data
    m = quiet_fit(MLPClassifier((6,), max_iter=20, random_state=0), X, y)
    m.coefs_ = [np.full_like(c, 0.01) for c in m.coefs_]
    m2 = duplicate(m)
    for a, b in zip(m2.coefs_ + m2.intercepts_, m.coefs_ + m.intercepts_, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(m2.predict_proba(X), m.predict_proba(X))
    # Other layer sizes than the fitted ones.
    k = m.n_outputs_
    m.coefs_ = [np.full((X.shape[1], 8), 0.02), np.full((8, k), -0.03)]
    m.intercepts_ = [np.full(8, 0.1), np.zeros(k)]
    m3 = duplicate(m)
    assert [c.shape for c in m3.coefs_] == [(X.shape[1], 8), (8, k)]
    np.testing.assert_array_equal(m3.predict_proba(X), m.predict_proba(X))
    # A copy of a model that has used its assigned arrays is views again.
    m4 = duplicate(m)
    for a in m4.coefs_ + m4.intercepts_:
        assert a.base is m4._params


def test_pipeline(data):
    X, y = data
    pipe = make_pipeline(
        StandardScaler(), MLPClassifier((5,), max_iter=300, random_state=0)
    )
    quiet_fit(pipe, X, y)
    sk = make_pipeline(
        StandardScaler(), SkMLPClassifier((5,), max_iter=300, random_state=0)
    )
    quiet_fit(sk, X, y)
    np.testing.assert_array_equal(pipe.predict(X), sk.predict(X))
    assert pipe.score(X, y) == sk.score(X, y) > 0.5


def test_verbose_prints_sklearn_lines(data):
    X, y = data
    buf = io.StringIO()
    with redirect_stdout(buf):
        quiet_fit(MLPClassifier((5,), max_iter=3, verbose=True, random_state=0), X, y)
    lines = buf.getvalue().splitlines()
    assert lines[0].startswith("Iteration 1, loss = ")
    assert len(lines) == 3


@pytest.mark.parametrize(
    "params",
    [
        dict(hidden_layer_sizes=0),
        dict(hidden_layer_sizes=(5, -1)),
        dict(activation="softmax"),
        dict(solver="rmsprop"),
        dict(alpha=-1.0),
        dict(batch_size=0),
        dict(learning_rate="cosine"),
        dict(learning_rate_init=0.0),
        dict(max_iter=0),
        dict(momentum=1.5),
        dict(beta_1=1.0),
        dict(epsilon=0.0),
        dict(n_iter_no_change=0),
        dict(tol=-1.0),
    ],
)
def test_invalid_parameters(data, params):
    X, y = data
    with pytest.raises((InvalidParameterError, ValueError)):
        MLPClassifier(**params).fit(X, y)


def test_bad_input_raises_before_training(data):
    X, y = data
    m = MLPClassifier((5,), max_iter=5)
    Xn = X.copy()
    Xn[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        m.fit(Xn, y)
    Xi = X.copy()
    Xi[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        m.fit(Xi, y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        m.fit(X, y[:-1])
    with pytest.raises(ValueError, match="2D array"):
        m.fit(X[:, 0], y)
    with pytest.raises(NotFittedError):
        MLPClassifier().predict(X)
    quiet_fit(m, X, y)
    with pytest.raises(ValueError, match="features"):
        m.predict(X[:, :4])
    with pytest.raises(ValueError, match="NaN"):
        m.predict_proba(Xn)


def test_divergence_raises_instead_of_returning_nan(data):
    X, y = data
    with pytest.raises(ValueError, match="non-finite"):
        MLPClassifier(
            (50, 50),
            solver="sgd",
            learning_rate_init=1e6,
            momentum=0.99,
            max_iter=50,
            random_state=0,
        ).fit(X * 1e6, y)


def test_warm_start_with_other_classes_raises(data):
    X, y = data
    m = quiet_fit(
        MLPClassifier((5,), max_iter=2, warm_start=True, random_state=0), X, y
    )
    with pytest.raises(ValueError, match="warm_start can only be used"):
        m.fit(X[y < 2], y[y < 2])


def test_partial_fit_requires_classes_and_rejects_unseen(data):
    X, y = data
    m = MLPClassifier((5,), random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        m.partial_fit(X, y)
    m.partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="classes not in"):
        m.partial_fit(X, y + 5)
    assert not hasattr(MLPClassifier(solver="lbfgs"), "partial_fit")


def test_predict_large_input_uses_parallel_path_consistently(data):
    X, y = data
    m = quiet_fit(MLPClassifier((16, 8), max_iter=20, random_state=0), X, y)
    big = np.random.default_rng(0).normal(size=(5000, 6))
    p_all = m.predict_proba(big)  # parallel row blocks
    p_rows = np.vstack([m.predict_proba(big[i : i + 100]) for i in range(0, 5000, 100)])
    np.testing.assert_allclose(p_all, p_rows, rtol=1e-12)
    one = m.predict_proba(big[:1])
    np.testing.assert_allclose(one, p_all[:1], rtol=1e-12)


def test_predict_paths_agree_on_a_wide_network():
    # A layer of >= BLAS_MIN_WEIGHTS weights sends large inputs through BLAS in
    # serial blocks, single rows through the sample-major loops.
    X, y = make_classification(n_samples=300, n_features=20, random_state=0)
    m = quiet_fit(MLPClassifier((80, 80), max_iter=5, random_state=0), X, y)
    big = np.random.default_rng(0).normal(size=(3000, 20))
    p_all = m.predict_proba(big)
    p_rows = np.vstack([m.predict_proba(big[i : i + 1]) for i in range(0, 3000, 97)])
    np.testing.assert_allclose(p_rows, p_all[::97], rtol=1e-10)
    # The fast path (C-ordered, right dtype and width) and the checked path agree.
    np.testing.assert_array_equal(m.predict_proba(np.asfortranarray(big)), p_all)
    bad = big.copy()
    bad[1234, 5] = np.inf
    with pytest.raises(ValueError, match="NaN or infinity"):
        m.predict_proba(bad)


def test_kernel_targets_class_indices_for_softmax_only():
    # A softmax output's one-hot rows reach the kernels as class indices;
    # everything else (logistic outputs, multilabel rows, rows that are not
    # one-hot, regression targets) as a matrix of the model's dtype.
    from fastmlp._validation import kernel_targets as _kernel_targets

    onehot = np.eye(3, dtype=bool)[[2, 0, 1, 2]]
    got = _kernel_targets(onehot, "softmax", np.float32)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, [2, 0, 1, 2])
    for y, out in [
        (onehot, "logistic"),
        (np.array([[True, True, False], [False, True, False]]), "softmax"),
        (np.array([[False, False, False], [False, True, False]]), "softmax"),
        (np.array([[0.5, 0.5], [1.0, 0.0]]), "softmax"),
        (np.array([[1.5], [2.0]]), "identity"),
    ]:
        got = _kernel_targets(y, out, np.float32)
        assert got.dtype == np.float32 and got.shape == y.shape
        np.testing.assert_array_equal(got, y.astype(np.float32))


def test_multiclass_fit_trains_on_class_indices(monkeypatch):
    # The classifier's multiclass fit hands fit_epochs the class indices, on
    # the Numba kernels and on the precompiled ones alike.
    import fastmlp.kernels as K

    import fastmlp._runtime

    seen = []
    real = K.fit_epochs
    real_lookup = fastmlp._runtime.lookup

    def spy(*args):
        seen.append(args[9])  # Y
        return real(*args)

    def lookup(name, args):
        found = real_lookup(name, args)
        if found is not None and name == "fit_epochs":
            seen.append(args[9])
        return found

    monkeypatch.setattr(K, "fit_epochs", spy)
    monkeypatch.setattr(fastmlp._runtime, "lookup", lookup)
    X, y = make_classification(
        60, 6, n_informative=4, n_redundant=1, n_classes=3, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        MLPClassifier((4,), max_iter=3, random_state=0).fit(X, y)
    assert seen and all(Y.ndim == 1 and Y.dtype == np.int64 for Y in seen)
    np.testing.assert_array_equal(seen[0], np.searchsorted(np.unique(y), y))


@pytest.mark.parametrize("when", ["before recording", "after recording"])
def test_ctrl_c_between_compiled_calls_keeps_the_counts(data, monkeypatch, when):
    # Ctrl-C is seen in Python between the compiled calls; wherever it lands,
    # n_iter_, loss_curve_ and t_ describe the weights that training left.
    from fastmlp.kernels import config

    import fastmlp._runtime

    X, y = data
    real = fastmlp._runtime.fit_epochs
    calls = []

    def interrupted(*args):
        if when == "after recording" and len(calls) == 3:
            raise KeyboardInterrupt  # before the fourth call starts
        out = real(*args)
        calls.append(out[0])
        if when == "before recording" and len(calls) == 3:
            raise KeyboardInterrupt  # the third call's epochs not yet recorded
        return out

    config.set(EPOCH_CALL_LOSSES=4)
    monkeypatch.setattr(fastmlp._runtime, "fit_epochs", interrupted)
    params = dict(hidden_layer_sizes=(5,), random_state=0, tol=0.0, max_iter=50)
    with pytest.warns(UserWarning, match="Training interrupted by user"):
        m = MLPClassifier(**params).fit(X, y)
    done = sum(calls)
    assert m.n_iter_ == len(m.loss_curve_) == done
    assert m.t_ == done * X.shape[0]
    monkeypatch.setattr(fastmlp._runtime, "fit_epochs", real)
    ref = quiet_fit(MLPClassifier(**{**params, "max_iter": done}), X, y)
    np.testing.assert_array_equal(m.loss_curve_, ref.loss_curve_)
    np.testing.assert_array_equal(m._params, ref._params)


def _interrupt_after_call(real, on_call):
    """A _fit_epochs that runs the kernel, then, on call number on_call (from
    1), sends this process SIGINT: Ctrl-C pressed during the kernel, whose
    handler Python runs as soon as the compiled call has returned."""
    calls = []

    def interrupted(*args):
        out = real(*args)
        calls.append(out[0])
        if len(calls) == on_call:
            os.kill(os.getpid(), signal.SIGINT)
        return out

    return interrupted


def test_ctrl_c_stops_a_partial_fit_loop_and_keeps_the_model(data, monkeypatch):
    # partial_fit runs one epoch in Python. Ctrl-C during its kernel surfaces as
    # the kernel returns: the epoch's bookkeeping (Adam's step count, t_,
    # loss_curve_) is still done, then the interrupt propagates, so that a loop
    # of partial_fit calls stops; the model is the one the kernel left.

    import fastmlp._runtime

    X, y = data
    classes = np.unique(y)
    params = dict(hidden_layer_sizes=(5,), random_state=0)
    ref = MLPClassifier(**params)
    for _ in range(3):
        ref.partial_fit(X, y, classes=classes)

    m = MLPClassifier(**params)
    m.partial_fit(X, y, classes=classes)
    real = fastmlp._runtime.fit_epochs
    monkeypatch.setattr(fastmlp._runtime, "fit_epochs", _interrupt_after_call(real, 1))
    with pytest.raises(KeyboardInterrupt):
        m.partial_fit(X, y)
    monkeypatch.setattr(fastmlp._runtime, "fit_epochs", real)
    assert m.t_ == 2 * X.shape[0]
    assert m._optimizer.t == 2 * 1  # one batch (200 rows) per epoch
    m.partial_fit(X, y)
    assert m.t_ == ref.t_ and m._optimizer.t == ref._optimizer.t
    np.testing.assert_array_equal(m.loss_curve_, ref.loss_curve_)
    np.testing.assert_array_equal(m._params, ref._params)


def test_ctrl_c_ends_a_partial_fit_loop_in_a_real_process():
    # End to end: SIGINT to a process looping over partial_fit ends the loop
    # with KeyboardInterrupt, the model left consistent.
    import subprocess
    import sys

    code = """
import sys
import numpy as np
from sklearn.datasets import make_classification
from fastmlp import MLPClassifier

X, y = make_classification(20000, 20, n_informative=10, n_classes=3, random_state=0)
m = MLPClassifier((64,), random_state=0)
calls = 0
try:
    while True:
        m.partial_fit(X, y, classes=[0, 1, 2])
        calls += 1
        if calls == 2:
            print("running", flush=True)
except KeyboardInterrupt:
    ok = m.t_ == m._optimizer.t * 200 == len(m.loss_curve_) * X.shape[0]
    print("stopped", calls, ok, flush=True)
    sys.exit(0 if ok else 3)
"""
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline().strip() == "running"
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 0, out
    assert out.startswith("stopped") and out.split()[2] == "True", out


@pytest.mark.parametrize("kind", ["early_stopping", "verbose"])
def test_ctrl_c_in_a_fit_epoch_by_epoch_keeps_the_counts(data, monkeypatch, kind):
    # A fit with early stopping or verbose output runs one compiled call per
    # epoch; Ctrl-C during the fourth call's kernel ends the fit with
    # scikit-learn's warning after that epoch is recorded, as a clean fit of
    # four epochs would leave it.

    import fastmlp._runtime

    X, y = data
    params = dict(hidden_layer_sizes=(5,), random_state=0, tol=0.0, max_iter=20)
    params[kind] = True
    real = fastmlp._runtime.fit_epochs
    monkeypatch.setattr(fastmlp._runtime, "fit_epochs", _interrupt_after_call(real, 4))
    with redirect_stdout(io.StringIO()):
        with pytest.warns(UserWarning, match="Training interrupted by user"):
            m = MLPClassifier(**params).fit(X, y)
        monkeypatch.setattr(fastmlp._runtime, "fit_epochs", real)
        ref = quiet_fit(MLPClassifier(**{**params, "max_iter": 4}), X, y)
    assert m.n_iter_ == len(m.loss_curve_) == 4
    assert m.t_ == ref.t_ and m._optimizer.t == ref._optimizer.t
    np.testing.assert_array_equal(m.loss_curve_, ref.loss_curve_)
    if kind == "early_stopping":
        assert m.validation_scores_ == ref.validation_scores_
        assert m.best_validation_score_ == ref.best_validation_score_
    np.testing.assert_array_equal(m._params, ref._params)


@pytest.mark.parametrize("hidden", [(5,), (64,)])
def test_ctrl_c_stops_an_lbfgs_fit_at_its_last_iterate(data, monkeypatch, hidden):
    # Ctrl-C during an L-BFGS fit (in a line search, say) ends it as it ends a
    # stochastic fit: scikit-learn's warning, and the model of the last
    # iteration L-BFGS completed (not the trial point it was evaluating), with
    # n_iter_ and loss_ to match: that of a clean fit of that many iterations.
    # (5,): the small network's kernel; (64,): the split batch of a BLAS layer.

    import fastmlp._runtime

    X, y = data
    params = dict(hidden_layer_sizes=hidden, solver="lbfgs", random_state=0)
    name = "forward_backward_split" if hidden == (64,) else "forward_backward"
    evaluations = []
    if name == "forward_backward":
        real = fastmlp._runtime.run_kernel

        def interrupted(kernel, args):
            out = real(kernel, args)
            evaluations.append(kernel)
            if len(evaluations) == 9:
                os.kill(os.getpid(), signal.SIGINT)
            return out

        monkeypatch.setattr(fastmlp._runtime, "run_kernel", interrupted)
    else:
        real = fastmlp._base.kernels.forward_backward_split

        def interrupted(*args):
            out = real(*args)
            evaluations.append(name)
            if len(evaluations) == 9:
                os.kill(os.getpid(), signal.SIGINT)
            return out

        monkeypatch.setattr(fastmlp._base.kernels, name, interrupted)
    with pytest.warns(UserWarning, match="Training interrupted by user"):
        m = MLPClassifier(**params).fit(X, y)
    assert evaluations == [name] * 9
    assert 1 <= m.n_iter_ < 9
    monkeypatch.undo()
    ref = quiet_fit(MLPClassifier(**{**params, "max_iter": m.n_iter_}), X, y)
    assert m.loss_ == ref.loss_
    np.testing.assert_array_equal(m._params, ref._params)


@pytest.mark.parametrize("n", [2, 3000], ids=["serial", "parallel"])
@pytest.mark.parametrize("layout", ["C", "F"])
# scikit-learn's check_array (the F-ordered X's path) sums X to test it for
# finiteness: 1e308 - 1e308 rows give NumPy's "invalid value" warning there.
@pytest.mark.filterwarnings("ignore:invalid value encountered in reduce")
def test_output_overflow_warns_and_matches_sklearn(data, n, layout):
    # Finite rows far beyond the training data's scale overflow the network:
    # the probabilities are NaN where scikit-learn's are (which NumPy's
    # RuntimeWarnings announce there), with a RuntimeWarning that says why.
    X, y = data
    params = dict(hidden_layer_sizes=(5,), random_state=0, max_iter=50)
    ours = quiet_fit(MLPClassifier(**params), X, y)
    theirs = quiet_fit(SkMLPClassifier(**params), X, y)
    Xb = np.array(X[np.arange(n) % X.shape[0]], order=layout)
    Xb[0] = 1e308
    Xb[1] = -1e308
    with pytest.warns(RuntimeWarning, match="output holds .* NaN or infinite"):
        got = ours.predict_proba(Xb)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        want = theirs.predict_proba(Xb)
    assert np.isnan(want[0]).all()  # the case the test is about
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got[1:], want[1:], rtol=1e-9, atol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours.predict_proba(Xb[1:])  # no warning for an output all finite


def test_max_iter_true_is_one_epoch(data):
    # scikit-learn's parameter check takes a bool for an integer, as Python does.
    X, y = data
    one = quiet_fit(MLPClassifier((5,), max_iter=1, random_state=0), X, y)
    true = quiet_fit(MLPClassifier((5,), max_iter=True, random_state=0), X, y)
    assert true.n_iter_ == 1
    np.testing.assert_array_equal(true._params, one._params)
