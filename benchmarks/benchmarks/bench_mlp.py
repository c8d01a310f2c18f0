"""Timing benchmarks for fastmlp.MLPClassifier.

Every ``setup`` builds its data and runs a short warm-up fit (and, for the
prediction benchmarks, warm-up predictions) with the same dtypes and settings
as the timed call, so that Numba's just-in-time compilation happens before
timing starts and the timings measure the compiled kernels only. What a new
process meets before that is timed in fresh processes (TimeColdStart,
TrackFirstFitDigits), with the scripts of benchmarks/harness.py.

A benchmark that needs another setting changes it through
``fastmlp.kernels.config`` (``set`` in setup, ``reset`` in teardown), never by
assigning a module global of the library.
"""

import os
import sys
import warnings

import numpy as np
from fastmlp.kernels import config
from sklearn.datasets import load_digits, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from fastmlp import MLPClassifier
from fastmlp.datasets import load_penguins

# benchmarks/, where harness.py lives (asv imports this suite as a package of
# its own and puts nothing else on sys.path).
BENCHMARKS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Training runs for a fixed number of epochs: no early stopping on the loss.
NO_EARLY_STOP = {"tol": 0.0, "n_iter_no_change": 10**9}
WARMUP_MAX_ITER = 2


def _fit(model, X, y):
    """Fit ``model``, silencing the expected ConvergenceWarning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y)


def _warm_up(params, X, y):
    """Fit a copy of the model for a couple of epochs to compile the kernels."""
    _fit(MLPClassifier(**{**params, "max_iter": WARMUP_MAX_ITER}), X, y)


def _harness():
    """benchmarks/harness.py, the fresh-process scripts of ``fastmlp bench``."""
    if BENCHMARKS not in sys.path:
        sys.path.insert(0, BENCHMARKS)
    import harness

    return harness


class TimeFitPenguins:
    """Adam, two small hidden layers, 500 epochs on the standardised penguins."""

    timeout = 300
    early_stopping = False

    def setup(self):
        X, y = load_penguins(return_X_y=True)
        self.X = StandardScaler().fit_transform(X)
        self.y = y
        self.kw = {
            "hidden_layer_sizes": (5, 5),
            "solver": "adam",
            "batch_size": 200,
            "max_iter": 500,
            "early_stopping": self.early_stopping,
            "random_state": 0,
            **NO_EARLY_STOP,
        }
        _warm_up(self.kw, self.X, self.y)

    def time_fit(self):
        _fit(MLPClassifier(**self.kw), self.X, self.y)


class TimeFitPenguinsEarlyStopping(TimeFitPenguins):
    """The same with early_stopping=True: a validation score after every epoch
    (no stop: every run does 500 epochs)."""

    early_stopping = True


class TimePartialFitPenguins:
    """One partial_fit call on a fitted penguin network: an epoch over the 342
    rows (two mini-batches), with the per-call checks, labels and random state
    that every later call pays."""

    def setup(self):
        X, y = load_penguins(return_X_y=True)
        self.X = StandardScaler().fit_transform(X)
        self.y = y
        self.model = MLPClassifier(hidden_layer_sizes=(5, 5), random_state=0)
        self.model.partial_fit(self.X, self.y, classes=np.unique(y))
        self.model.partial_fit(self.X, self.y)

    def time_partial_fit(self):
        self.model.partial_fit(self.X, self.y)


class TimeFitDigits:
    """Adam, one hidden layer of 100 units, 100 epochs on the digits."""

    params = ["float64", "float32"]
    param_names = ["dtype"]
    timeout = 300

    def setup(self, dtype):
        X, y = load_digits(return_X_y=True)
        self.X = (X / 16.0).astype(dtype)
        self.y = y
        self.kw = {
            "hidden_layer_sizes": (100,),
            "solver": "adam",
            "max_iter": 100,
            "random_state": 0,
            **NO_EARLY_STOP,
        }
        _warm_up(self.kw, self.X, self.y)

    def time_fit(self, dtype):
        _fit(MLPClassifier(**self.kw), self.X, self.y)


class TimeFitWide:
    """The wide workload, scaled down for history tracking: 20 000 rows of 100
    features, 10 classes, hidden (256, 128), adam, batch 200, one epoch; float32
    and float64; GEMMs through BLAS or through the hand-written loops."""

    params = [["float32", "float64"], ["blas", "loops"]]
    param_names = ["dtype", "matmul"]
    timeout = 600

    def setup(self, dtype, matmul):
        X, y = make_classification(
            n_samples=20_000,
            n_features=100,
            n_informative=50,
            n_classes=10,
            random_state=0,
        )
        self.X = X.astype(dtype)
        self.y = y
        self.kw = {
            "hidden_layer_sizes": (256, 128),
            "solver": "adam",
            "batch_size": 200,
            "max_iter": 1,
            "random_state": 0,
            **NO_EARLY_STOP,
        }
        # The threshold decides, per layer, which matmul path runs: every
        # layer of this network has at least 64 weights.
        config.set(BLAS_MIN_WEIGHTS=64 if matmul == "blas" else 2**62)
        _fit(MLPClassifier(**self.kw), self.X[:2000], self.y[:2000])

    def teardown(self, dtype, matmul):
        config.reset()

    def time_fit(self, dtype, matmul):
        _fit(MLPClassifier(**self.kw), self.X, self.y)


class TimePredict:
    """predict_proba of a (256, 128) network: one row, 1000 rows (two blocks
    side by side) and 100 000 rows; predict (class labels) of one row."""

    params = ["float32", "float64"]
    param_names = ["dtype"]
    timeout = 300

    def setup(self, dtype):
        X, y = make_classification(
            n_samples=5000,
            n_features=100,
            n_informative=50,
            n_classes=10,
            random_state=0,
        )
        X = X.astype(dtype)
        self.model = _fit(
            MLPClassifier(hidden_layer_sizes=(256, 128), max_iter=2, random_state=0),
            X,
            y,
        )
        rng = np.random.default_rng(0)
        self.X_100k = rng.standard_normal((100_000, 100)).astype(dtype)
        self.X_1row = self.X_100k[:1].copy()
        self.X_1000 = self.X_100k[:1000].copy()
        # Compile the prediction paths for every input: small inputs and large
        # ones may run through different (serial and parallel) kernels.
        self.model.predict_proba(self.X_1row)
        self.model.predict_proba(self.X_1000)
        self.model.predict_proba(self.X_100k)

    def time_predict_proba_1row(self, dtype):
        self.model.predict_proba(self.X_1row)

    def time_predict_1row(self, dtype):
        self.model.predict(self.X_1row)

    def time_predict_proba_1000(self, dtype):
        self.model.predict_proba(self.X_1000)

    def time_predict_proba_100k(self, dtype):
        self.model.predict_proba(self.X_100k)


class TimeColdStart:
    """A fresh process: import, fit the penguin network for 200 epochs, predict,
    with the compiled-code cache warm (the script of ``fastmlp bench``'s
    coldstart row); on the precompiled kernels, and on Numba's alone; the seed
    network (5, 5) and scikit-learn's default hidden layer (100,), a BLAS-sized
    one."""

    params = (["precompiled", "numba"], ["5,5", "100"])
    param_names = ["kernels", "hidden"]
    timeout = 300
    number = 1
    repeat = 3

    def setup(self, kernels, hidden):
        cold = _harness().cold
        self.env = dict(os.environ, FASTMLP_PRECOMPILED="1")
        if kernels == "numba":
            self.env["FASTMLP_PRECOMPILED"] = "0"
        self.hidden = tuple(int(h) for h in hidden.split(","))
        self.cold = cold
        cold(
            "from fastmlp import MLPClassifier", env=self.env, repeats=1,
            hidden=self.hidden,
        )  # fmt: skip

    def time_fresh_process(self, kernels, hidden):
        self.cold(
            "from fastmlp import MLPClassifier", env=self.env, repeats=1,
            hidden=self.hidden,
        )  # fmt: skip


class TrackFirstFitDigits:
    """The first fit of the digits network (hidden (100,), 100 epochs) in a
    fresh process, the compiled-code cache warm, imports and data loading not
    timed: what a script meets before the warm fits of TimeFitDigits (the
    script of ``fastmlp bench``'s ``digits (fresh)`` row)."""

    unit = "seconds"
    timeout = 300

    def setup(self):
        self.first_fits = _harness().first_fits
        self.first_fits("from fastmlp import MLPClassifier", 1, repeats=1)

    def track_first_fit(self):
        times = self.first_fits("from fastmlp import MLPClassifier", 1, repeats=1)
        return float(times[0])
