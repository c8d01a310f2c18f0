"""The penguin demo: the course network, trained by fastmlp and by scikit-learn.

Four measurements of a penguin (bill length, bill depth, flipper length, body
mass) go into a network with two hidden layers of five neurons and three
outputs, the probabilities of Adelie, Gentoo and Chinstrap.
"""

import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier
from sklearn.preprocessing import StandardScaler

from fastmlp import MLPClassifier
from fastmlp.datasets import load_penguins

PARAMS = dict(
    hidden_layer_sizes=(5, 5),
    activation="relu",
    solver="adam",
    learning_rate_init=0.01,
    batch_size=200,
    max_iter=500,
    random_state=0,
)


def _best_fit_time(make, X, y, repeats):
    """Fit ``repeats`` fresh models; return the last model and the best time."""
    best = np.inf
    for _ in range(repeats):
        model = make()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            t0 = time.perf_counter()
            model.fit(X, y)
            best = min(best, time.perf_counter() - t0)
    return model, best


def run_demo(repeats=5, n_show=6, out=print):
    """Train the course network on the Palmer penguins and compare with scikit-learn.

    Parameters
    ----------
    repeats : int, default=5
        Each fit is timed this many times; the best time is reported.
    n_show : int, default=6
        Number of test penguins whose class probabilities are shown.
    out : callable, default=print
        Where the report's lines go.

    Returns
    -------
    results : dict
        accuracy, sklearn_accuracy, fit_seconds, sklearn_fit_seconds, speedup,
        max_coef_diff, compile_seconds.
    """
    data = load_penguins()
    X_train, X_test, y_train, y_test = train_test_split(
        data.data, data.target, test_size=0.25, stratify=data.target, random_state=0
    )
    scaler = StandardScaler().fit(X_train)
    X_train = scaler.transform(X_train)
    X_test = scaler.transform(X_test)
    names = data.target_names

    out(
        "fastmlp demo: Palmer penguins, %d train / %d test"
        % (len(y_train), len(y_test))
    )
    out("network: 4 inputs -> 5 -> 5 -> 3 outputs (relu, softmax), adam, float64")
    out("")

    # The first fit in a fresh environment compiles the kernels (then cached).
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        MLPClassifier(**{**PARAMS, "max_iter": 1}).fit(X_train, y_train).predict(X_test)
    compile_seconds = time.perf_counter() - t0

    model, fit_s = _best_fit_time(
        lambda: MLPClassifier(**PARAMS), X_train, y_train, repeats
    )
    sk_model, sk_fit_s = _best_fit_time(
        lambda: SklearnMLPClassifier(**PARAMS), X_train, y_train, repeats
    )
    accuracy = model.score(X_test, y_test)
    sk_accuracy = sk_model.score(X_test, y_test)
    max_diff = max(
        float(np.max(np.abs(a - b)))
        for a, b in zip(
            model.coefs_ + model.intercepts_,
            sk_model.coefs_ + sk_model.intercepts_,
            strict=True,
        )
    )

    proba = model.predict_proba(X_test[:n_show])
    out("test accuracy: %.3f  (%d epochs)" % (accuracy, model.n_iter_))
    out("")
    out("%-10s %8s %8s %10s   %s" % ("penguin", *names, "true species"))
    for i in range(n_show):
        p = proba[i]
        mark = "" if p.argmax() == y_test[i] else "  <- wrong"
        out(
            "%-10s %8.3f %8.3f %10.3f   %s%s"
            % ("#%d" % (i + 1), p[0], p[1], p[2], names[y_test[i]], mark)
        )
    out("")
    out("%-22s %12s %14s" % ("", "fastmlp", "scikit-learn"))
    out("%-22s %12.3f %14.3f" % ("test accuracy", accuracy, sk_accuracy))
    out("%-22s %12d %14d" % ("epochs", model.n_iter_, sk_model.n_iter_))
    out(
        "%-22s %12.2f %14.2f"
        % ("fit time (ms, best/%d)" % repeats, fit_s * 1e3, sk_fit_s * 1e3)
    )
    out("speed ratio: fastmlp fits %.1fx faster than scikit-learn" % (sk_fit_s / fit_s))
    out("largest coefficient difference: %.1e" % max_diff)
    out(
        "(first fit in this environment, kernels compiled or loaded: %.2f s)"
        % compile_seconds
    )
    return dict(
        accuracy=accuracy,
        sklearn_accuracy=sk_accuracy,
        fit_seconds=fit_s,
        sklearn_fit_seconds=sk_fit_s,
        speedup=sk_fit_s / fit_s,
        max_coef_diff=max_diff,
        compile_seconds=compile_seconds,
    )
