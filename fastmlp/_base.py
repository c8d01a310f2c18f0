"""The estimator machinery shared by MLPClassifier and MLPRegressor.

This layer decides what to compute: it validates input (``_validation``, with
scikit-learn's own utilities and the stand-ins of ``_sklearn_compat``), draws
every random number in exactly the order scikit-learn draws it, keeps the
parameters in one flat buffer (``coefs_`` and ``intercepts_`` are views into
it) and runs the per-epoch control. ``_runtime`` runs the kernels.
"""

import time
from abc import ABC, abstractmethod
from numbers import Integral, Real

import numpy as np
import scipy.optimize
from sklearn.base import BaseEstimator, _fit_context, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.fixes import _get_additional_lbfgs_options_dict
from sklearn.utils.optimize import _check_optimize_result
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from fastmlp import _runtime, kernels
from fastmlp._interrupt import deferred_interrupt, warn
from fastmlp._sklearn_compat import (
    plain_fit_arrays,
    reset_plain_features,
    seeded_random_state,
)
from fastmlp._stochastic_optimizers import AdamOptimizer, SGDOptimizer
from fastmlp._validation import (
    as_kernel_input,
    check_hidden_layer_sizes,
    check_layer_shapes,
    check_sparse_structure,
    kernel_arrays,
)
from fastmlp.kernels import config
from fastmlp.kernels.layout import (
    CTRL_F_BEST_LOSS,
    CTRL_F_LR,
    CTRL_F_LR_INIT,
    CTRL_F_N_ITER_NO_CHANGE,
    CTRL_F_POWER_T,
    CTRL_F_SIZE,
    CTRL_F_TOL,
    CTRL_I_NO_IMPROVEMENT,
    CTRL_I_SCHEDULE,
    CTRL_I_SEEN,
    CTRL_I_SHUFFLE,
    CTRL_I_SIZE,
    CTRL_I_STEP,
    HYPER_LR,
    SCHEDULE_ADAPTIVE,
    SCHEDULE_CONSTANT,
    SCHEDULE_INVSCALING,
    no_improvement,
)

_STOCHASTIC_SOLVERS = ["sgd", "adam"]

ACTIVATIONS = {
    "identity": kernels.ACT_IDENTITY,
    "relu": kernels.ACT_RELU,
    "tanh": kernels.ACT_TANH,
    "logistic": kernels.ACT_LOGISTIC,
}

OUT_ACTIVATIONS = {
    "identity": kernels.OUT_IDENTITY,
    "logistic": kernels.OUT_LOGISTIC,
    "softmax": kernels.OUT_SOFTMAX,
    "exp": kernels.OUT_EXP,
}

_SCHEDULES = {
    "constant": SCHEDULE_CONSTANT,
    "invscaling": SCHEDULE_INVSCALING,
    "adaptive": SCHEDULE_ADAPTIVE,
}


class FitDivergedError(ValueError):
    """The loss or the weights became non-finite during a fit: a ValueError, as
    scikit-learn raises; the estimator is left unfitted."""


def _views_of(params, coefs, intercepts):
    """Whether coefs_ and intercepts_ are all still views of the flat buffer
    params (no array assigned to them since)."""
    return params is not None and all(a.base is params for a in (*coefs, *intercepts))


class BaseMultilayerPerceptron(BaseEstimator, ABC):
    """Base class for MLP classification and regression.

    Warning: This class should not be used directly. Use derived classes instead.
    """

    _parameter_constraints: dict = {
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "activation": [StrOptions({"identity", "logistic", "tanh", "relu"})],
        "solver": [StrOptions({"lbfgs", "sgd", "adam"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [
            Interval(Integral, 1, None, closed="left"),
            Options(Real, {np.inf}),
        ],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
    }

    # The target dtype kinds and dimensions that a fit or a fitted model's
    # later partial_fit call takes without validate_data (see
    # _validate_fit_data); none here.
    _plain_y_kinds = ""
    _plain_y_ndims = ()

    @abstractmethod
    def __init__(
        self,
        hidden_layer_sizes,
        activation,
        solver,
        alpha,
        batch_size,
        learning_rate,
        learning_rate_init,
        power_t,
        max_iter,
        loss,
        shuffle,
        random_state,
        tol,
        verbose,
        warm_start,
        momentum,
        nesterovs_momentum,
        early_stopping,
        validation_fraction,
        beta_1,
        beta_2,
        epsilon,
        n_iter_no_change,
        max_fun,
    ):
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun

    # ------------------------------------------------------------------
    # The flat parameter buffer
    # ------------------------------------------------------------------
    def _layer_units_array(self):
        units = [self.coefs_[0].shape[0]] + [c.shape[1] for c in self.coefs_]
        return np.asarray(units, dtype=np.int64)

    def _make_views(self, units):
        """Point coefs_ and intercepts_ into self._params ([W0, b0, W1, b1, ...])."""
        coefs, intercepts = [], []
        off = 0
        for fan_in, fan_out in zip(units[:-1], units[1:], strict=True):
            fan_in, fan_out = int(fan_in), int(fan_out)
            coefs.append(
                self._params[off : off + fan_in * fan_out].reshape(fan_in, fan_out)
            )
            off += fan_in * fan_out
            intercepts.append(self._params[off : off + fan_out])
            off += fan_out
        self.coefs_ = coefs
        self.intercepts_ = intercepts
        self._units = np.asarray(units, dtype=np.int64)
        # Read on every prediction: kept beside the units it is computed from.
        self._kernel_blas_min = _runtime.blas_min(self._units)

    def _flat_params(self):
        """The flat buffer behind coefs_ and intercepts_.

        If a user replaced or reassigned any of them, the buffer is rebuilt
        from what coefs_ and intercepts_ now hold.
        """
        params = getattr(self, "_params", None)
        if _views_of(params, self.coefs_, self.intercepts_):
            return params
        coefs = [np.asarray(c) for c in self.coefs_]
        intercepts = [np.asarray(b) for b in self.intercepts_]
        check_layer_shapes(coefs, intercepts)
        dtype = np.result_type(*coefs, *intercepts)
        if dtype not in (np.float32, np.float64):
            dtype = np.dtype(np.float64)
        parts = []
        for c, b in zip(coefs, intercepts, strict=True):
            parts.append(np.asarray(c, dtype=dtype).ravel())
            parts.append(np.asarray(b, dtype=dtype).ravel())
        units = [coefs[0].shape[0]] + [c.shape[1] for c in coefs]
        self._params = np.ascontiguousarray(np.concatenate(parts))
        self._make_views(units)
        return self._params

    def _discard_parameters(self):
        """Forget the network: the estimator reads as unfitted until a fit
        succeeds (check_is_fitted looks for coefs_)."""
        for name in (
            "coefs_",
            "intercepts_",
            "_params",
            "_best_params",
            "_units",
            "_kernel_blas_min",
            "_optimizer",
        ):
            self.__dict__.pop(name, None)

    def __sklearn_is_fitted__(self):
        return hasattr(self, "coefs_")

    def _check_is_fitted(self):
        """check_is_fitted(self), which reads the estimator's tags first (about
        10 us, a third of a one-row prediction's time): called only where
        __sklearn_is_fitted__, which it would consult, says no, so the error is
        check_is_fitted's own."""
        if not self.__sklearn_is_fitted__():
            check_is_fitted(self)

    def __getstate__(self):
        state = dict(super().__getstate__())
        # The views do not survive pickling as views; rebuild them on load.
        # Arrays that a user assigned to coefs_ or intercepts_ are not views of
        # the buffer and are pickled as they are: after loading, the first use
        # rebuilds the buffer from them (_flat_params), as it would have here.
        if _views_of(
            state.get("_params"), state.get("coefs_", ()), state.get("intercepts_", ())
        ):
            state.pop("coefs_", None)
            state.pop("intercepts_", None)
            state["_layer_units"] = self._layer_units_array()
        return state

    def __setstate__(self, state):
        units = state.pop("_layer_units", None)
        super().__setstate__(state)
        if units is not None:
            self._make_views(units)

    # ------------------------------------------------------------------
    # Fitting
    # ------------------------------------------------------------------
    def _initialize(self, y, layer_units, dtype):
        """Set all attributes and draw the initial weights (first fit only)."""
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = y.shape[1]
        self.n_layers_ = len(layer_units)

        if not is_classifier(self):
            self.out_activation_ = "exp" if self.loss == "poisson" else "identity"
        elif self._label_binarizer.y_type_ == "multiclass":
            self.out_activation_ = "softmax"
        else:
            self.out_activation_ = "logistic"

        units = np.asarray(layer_units, dtype=np.int64)
        self._params = np.empty(kernels.param_layout_size(units), dtype=dtype)
        self._make_views(units)
        for i in range(self.n_layers_ - 1):
            coef_init, intercept_init = self._init_coef(
                layer_units[i], layer_units[i + 1], dtype
            )
            self.coefs_[i][...] = coef_init
            self.intercepts_[i][...] = intercept_init
        self._best_params = self._params.copy()

        if self.solver in _STOCHASTIC_SOLVERS:
            self.loss_curve_ = []
            self._no_improvement_count = 0
            if self.early_stopping:
                self.validation_scores_ = []
                self.best_validation_score_ = -np.inf
                self.best_loss_ = None
            else:
                self.best_loss_ = np.inf
                self.validation_scores_ = None
                self.best_validation_score_ = None

    def _init_coef(self, fan_in, fan_out, dtype):
        # Glorot-uniform, drawn as scikit-learn draws it: weights, then biases.
        factor = 6.0
        if self.activation == "logistic":
            factor = 2.0
        init_bound = np.sqrt(factor / (fan_in + fan_out))
        coef_init = self._random_state.uniform(
            -init_bound, init_bound, (fan_in, fan_out)
        )
        intercept_init = self._random_state.uniform(-init_bound, init_bound, fan_out)
        return (
            coef_init.astype(dtype, copy=False),
            intercept_init.astype(dtype, copy=False),
        )

    def _fit(self, X, y, sample_weight=None, incremental=False):
        hidden_layer_sizes = check_hidden_layer_sizes(self.hidden_layer_sizes)
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        if (
            self.early_stopping
            and self.solver in _STOCHASTIC_SOLVERS
            and self.validation_fraction == 0
        ):
            raise ValueError(
                "early_stopping=True needs validation_fraction > 0: it holds that "
                "fraction of the training data out to score each epoch."
            )
        first_pass = not hasattr(self, "coefs_") or (
            not self.warm_start and not incremental
        )

        if first_pass:
            # A new fit replaces the model: if it fails on its input, the old
            # network must not stay behind with this input's n_features_in_ or
            # classes_.
            self._discard_parameters()
        check_sparse_structure(X)
        X, y = self._validate_input(X, y, incremental, reset=first_pass)
        n_samples, n_features = X.shape
        if sample_weight is not None:
            # scikit-learn's checks, plus: no negative weights, not all zero.
            sample_weight = _check_sample_weight(
                sample_weight, X, dtype=X.dtype, ensure_non_negative=True
            )
        if y.ndim == 1:
            y = y.reshape((-1, 1))
        self.n_outputs_ = y.shape[1]
        layer_units = [n_features] + hidden_layer_sizes + [self.n_outputs_]

        self._random_state = self._seeded_random_state()
        if (
            not first_pass
            and [int(u) for u in self._layer_units_array()] != layer_units
        ):
            raise ValueError(
                "The fitted network's layer sizes %s do not match the sizes that "
                "the data and hidden_layer_sizes ask for, %s."
                % ([int(u) for u in self._layer_units_array()], layer_units)
            )

        try:
            if first_pass:
                self._initialize(y, layer_units, X.dtype)
            params = self._flat_params()
            X, Y, sw = kernel_arrays(
                X, y, sample_weight, params.dtype, self.out_activation_
            )
            units = np.asarray(layer_units, dtype=np.int64)
            if self.solver in _STOCHASTIC_SOLVERS:
                self._fit_stochastic(X, Y, y, sw, sample_weight, units, incremental)
            else:
                self._fit_lbfgs(X, Y, sw, units)
            if not np.isfinite(self._params).all():
                raise FitDivergedError(
                    "Solver produced non-finite parameter weights. The input data "
                    "may contain large values and need to be preprocessed."
                )
        except Exception as e:
            # A diverged network is not left behind looking usable, nor is a
            # new one whose fit failed on the way (memory, say).
            if first_pass or isinstance(e, FitDivergedError):
                self._discard_parameters()
            raise
        return self

    def _validate_fit_data(self, X, y, reset, **y_check):
        """validate_data(self, X, y, ...) as fit and partial_fit need it, with a
        one-column 2-D y made 1-D (and scikit-learn's warning about it).

        Plain arrays (see plain_fit_arrays, with the estimator's
        _plain_y_kinds and _plain_y_ndims) skip it, in a fit as in a fitted
        model's later partial_fit call: they come back as they are (with reset,
        their width recorded as validate_data would). Returns X, y and whether
        scikit-learn checked them."""
        if plain_fit_arrays(
            self, X, y, self._plain_y_kinds, self._plain_y_ndims, reset
        ):
            if reset:
                reset_plain_features(self, X)
            return X, y, False
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            dtype=(np.float64, np.float32),
            order="C",
            reset=reset,
            **y_check,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return X, y, True

    def _seeded_random_state(self):
        """check_random_state(self.random_state), as every fit and partial_fit
        of scikit-learn's calls it (see _sklearn_compat.seeded_random_state)."""
        return seeded_random_state(self)

    def _lbfgs_order(self, units):
        """Positions in our [W0, b0, W1, b1, ...] buffer of scikit-learn's packed
        vector [W0, W1, ..., b0, b1, ...], so that scipy sees the same vector."""
        offsets = []
        off = 0
        for fan_in, fan_out in zip(units[:-1], units[1:], strict=True):
            offsets.append(
                (off, int(fan_in * fan_out), off + int(fan_in * fan_out), int(fan_out))
            )
            off += int(fan_in * fan_out + fan_out)
        w = [np.arange(o, o + n) for o, n, _, _ in offsets]
        b = [np.arange(o, o + n) for _, _, o, n in offsets]
        return np.concatenate(w + b)

    def _fit_lbfgs(self, X, Y, sw, units):
        params = self._params
        n_samples = X.shape[0]
        order = self._lbfgs_order(units)
        grads = np.empty_like(params)
        idx = np.arange(n_samples, dtype=np.int64)
        act = ACTIVATIONS[self.activation]
        out_act = OUT_ACTIVATIONS[self.out_activation_]
        alpha = float(self.alpha)

        sparse, Xk = as_kernel_input(X, params.dtype)
        x_args = (None, *Xk) if sparse else (Xk, None, None, None)
        fixed = (Y, sw, idx, 0, n_samples, n_samples, units, act, out_act, alpha)
        blas_min = _runtime.blas_min(units)
        # The full batch, split into chunks of rows as a stochastic fit splits
        # its batches (a network with a BLAS layer).
        work, gpart = _runtime.training_buffers(units, n_samples, blas_min, params)
        losses = None if gpart is None else np.empty(gpart.shape[0] + 1)

        def loss_grad(x):
            params[order] = x
            loss = _runtime.loss_gradient(
                grads, work, gpart, losses, params, x_args, fixed, blas_min
            )
            last[:] = x.copy(), loss
            return loss, grads[order].astype(np.float64)

        # The last iterate L-BFGS completed, with its loss and the number of
        # iterations: where Ctrl-C leaves the model. L-BFGS-B's last evaluation
        # before an iteration ends is at the point it accepts.
        x0 = params[order].astype(np.float64)
        last = [None, None]
        done = [x0, None, 0]

        def iteration_done(xk):
            same = last[0] is not None and np.array_equal(xk, last[0])
            done[:] = xk.copy(), last[1] if same else None, done[2] + 1

        iprint = 1 if (self.verbose is True or self.verbose >= 1) else -1
        try:
            opt_res = scipy.optimize.minimize(
                loss_grad,
                x0.copy(),
                method="L-BFGS-B",
                jac=True,
                callback=iteration_done,
                options={
                    "maxfun": self.max_fun,
                    "maxiter": self.max_iter,
                    "gtol": self.tol,
                    **_get_additional_lbfgs_options_dict("iprint", iprint),
                },
            )
        except KeyboardInterrupt:
            # As a stochastic fit: stop with scikit-learn's warning (its L-BFGS
            # lets the interrupt through, the weights left at a trial point).
            params[order] = done[0]
            self.n_iter_ = done[2]
            if done[1] is not None:
                self.loss_ = np.float64(done[1])
            warn("Training interrupted by user.")
            return
        self.n_iter_ = _check_optimize_result("lbfgs", opt_res, self.max_iter)
        self.loss_ = np.float64(opt_res.fun)  # a NumPy float, as scikit-learn's
        params[order] = opt_res.x
        if not np.isfinite(opt_res.fun):
            # L-BFGS-B stops at a non-finite loss and hands back its last
            # finite weights, which fit nothing.
            raise FitDivergedError(
                "The loss became non-finite (%r) in L-BFGS: the fit diverged. Scale "
                "the input data or lower alpha." % float(opt_res.fun)
            )

    def _fit_stochastic(self, X, Y, y, sw, sample_weight, units, incremental):
        params = self._params
        if not incremental or not hasattr(self, "_optimizer"):
            self._optimizer = self._new_optimizer(params)
        opt = self._optimizer
        if self.early_stopping:
            sample_idx, validation = self._early_stopping_split(X, y, sample_weight)
        else:
            sample_idx, validation = np.arange(X.shape[0], dtype=np.int64), None
        n_samples = sample_idx.shape[0]
        batch_size = self._batch_size(n_samples)

        # Scratch space for one fit, allocated once.
        grads = np.empty_like(params)
        blas_min = _runtime.blas_min(units)
        work, gpart = _runtime.training_buffers(units, batch_size, blas_min, params)
        act = ACTIVATIONS[self.activation]
        out_act = OUT_ACTIVATIONS[self.out_activation_]
        sparse, Xk = as_kernel_input(X, params.dtype)
        # kernels.fit_epochs takes a dense X, or the three CSR arrays, the other
        # input being None.
        x_args = (None, *Xk) if sparse else (Xk, None, None, None)
        state_a, state_b = opt.state
        head = (params, grads, state_a, state_b, work)
        tail = (Y, sw, sample_idx, units, act, out_act, batch_size, opt.code)
        call = (head, x_args, tail, blas_min, gpart)

        compiled = (
            validation is None
            and not incremental
            and not self.verbose
            and n_samples < 2**32
        )
        mt_state = None
        if compiled and self.shuffle:
            # The Mersenne Twister's state for the kernels' shuffles; read only
            # where the compiled epochs take it (a copy costs about as much as
            # a small network's epoch).
            mt_state = self._random_state.get_state(legacy=False)
            compiled = mt_state["bit_generator"] == "MT19937"
        if compiled:
            # Every decision between epochs is arithmetic: run many epochs per
            # compiled call, the shuffles drawn from the same Mersenne Twister.
            self._run_compiled_epochs(call, opt, mt_state, n_samples)
        else:
            self._run_python_epochs(call, opt, sample_idx, validation, incremental)

    def _new_optimizer(self, params):
        if self.solver == "sgd":
            return SGDOptimizer(
                params,
                self.learning_rate_init,
                self.learning_rate,
                self.momentum,
                self.nesterovs_momentum,
                self.power_t,
            )
        return AdamOptimizer(
            params, self.learning_rate_init, self.beta_1, self.beta_2, self.epsilon
        )

    def _early_stopping_split(self, X, y, sample_weight):
        """(training row indices, (X_val, y_val, sw_val)): the split
        scikit-learn makes, taken as row indices so that X is not copied
        (train_test_split draws the same permutation for an index array as
        for X itself)."""
        should_stratify = is_classifier(self) and self.n_outputs_ == 1
        train_idx, val_idx = train_test_split(
            np.arange(X.shape[0], dtype=np.int64),
            random_state=self._random_state,
            test_size=self.validation_fraction,
            stratify=y if should_stratify else None,
        )
        if val_idx.shape[0] < 2:
            raise ValueError(
                "The validation set is too small. Increase 'validation_fraction' "
                "or the size of your dataset."
            )
        X_val = X[val_idx]
        y_val = y[val_idx]
        if is_classifier(self):
            y_val = self._label_binarizer.inverse_transform(y_val)
        sw_val = None if sample_weight is None else sample_weight[val_idx]
        if sw_val is not None and not sw_val.sum() > 0:
            raise ValueError(
                "The validation rows' sample weights are all zero: early "
                "stopping cannot score them. Give these rows weight, or "
                "change validation_fraction or random_state."
            )
        return np.ascontiguousarray(train_idx, dtype=np.int64), (X_val, y_val, sw_val)

    def _batch_size(self, n_samples):
        if self.batch_size == "auto":
            return min(200, n_samples)
        if self.batch_size > n_samples:
            warn(
                "Got `batch_size` less than 1 or larger than "
                "sample size. It is going to be clipped"
            )
        return int(np.clip(self.batch_size, 1, n_samples))

    def _run_python_epochs(self, call, opt, sample_idx, validation, incremental):
        """Epochs driven one by one from Python (early stopping, verbose,
        partial_fit, a random state that is no Mersenne Twister): the shuffle,
        the stopping rules and the schedule stay here, so fit_epochs gets no
        shuffle and a rule that never stops."""
        head, x_args, tail, blas_min, gpart = call
        n_samples = sample_idx.shape[0]
        rng = self._random_state
        ctrl_f = np.empty(CTRL_F_SIZE)
        ctrl_i = np.zeros(CTRL_I_SIZE, dtype=np.int64)
        no_key = np.empty(0, dtype=np.uint32)
        no_pos = np.zeros(1, dtype=np.int64)
        one_loss = np.empty(1)
        try:
            self.n_iter_ = 0
            for _ in range(self.max_iter):
                # The epoch whole, or not at all: see deferred_interrupt.
                with deferred_interrupt():
                    if self.shuffle:
                        # In place: the same draws, and the same order, as
                        # sklearn.utils.shuffle(sample_idx, random_state=rng).
                        rng.shuffle(sample_idx)
                    hyper = opt.hyperparameters(self.alpha)
                    ctrl_f[:] = np.inf
                    ctrl_f[CTRL_F_LR] = ctrl_f[CTRL_F_LR_INIT] = hyper[HYPER_LR]
                    ctrl_f[CTRL_F_POWER_T] = ctrl_f[CTRL_F_TOL] = 0.0
                    ctrl_i[CTRL_I_STEP] = opt.t
                    _, _, accumulated_loss = _runtime.fit_epochs(
                        head, x_args, tail, hyper, ctrl_f, ctrl_i, no_key, no_pos,
                        one_loss, 1, blas_min, gpart,
                    )  # fmt: skip
                    t = int(ctrl_i[CTRL_I_STEP])
                    if t < 0:
                        raise FitDivergedError(
                            "The loss became non-finite in epoch %d (batch %d): the fit "
                            "diverged. Scale the input data or lower learning_rate_init."
                            % (self.n_iter_ + 1, -t)
                        )
                    opt.steps_done(t)
                    self.n_iter_ += 1
                    self.loss_ = np.float64(accumulated_loss) / n_samples
                    self.t_ += n_samples
                    self.loss_curve_.append(self.loss_)
                    if self.verbose:
                        print("Iteration %d, loss = %.8f" % (self.n_iter_, self.loss_))
                    if self._epoch_ends(opt, validation) or incremental:
                        break
                    if self.n_iter_ == self.max_iter:
                        warn(
                            "Stochastic Optimizer: Maximum iterations (%d) "
                            "reached and the optimization hasn't converged yet."
                            % self.max_iter,
                            ConvergenceWarning,
                        )
        except KeyboardInterrupt:
            if incremental:
                # A partial_fit call is one step of the caller's own loop: stop
                # that loop too (scikit-learn warns and returns, so a loop of
                # partial_fit calls runs on through every Ctrl-C).
                raise
            warn("Training interrupted by user.")

        if validation is not None:
            # Restore the best weights. As in scikit-learn, the best weights and
            # the model's weights are then one and the same buffer, until a later
            # epoch improves on the best validation score.
            self._params[...] = self._best_params
            self._best_params = self._params

    def _epoch_ends(self, opt, validation):
        """scikit-learn's rule after an epoch Python drove: the no-improvement
        count (on the validation score, or the training loss), the schedule,
        and whether training stops."""
        if validation is not None:
            self._update_validation(*validation)
        else:
            self._update_no_improvement_count()
        opt.iteration_ends(self.t_)
        if self._no_improvement_count <= self.n_iter_no_change:
            return False
        if validation is not None:
            msg = (
                "Validation score did not improve more than tol=%f for %d "
                "consecutive epochs." % (self.tol, self.n_iter_no_change)
            )
        else:
            msg = (
                "Training loss did not improve more than tol=%f for %d "
                "consecutive epochs." % (self.tol, self.n_iter_no_change)
            )
        if opt.trigger_stopping(msg, self.verbose):
            return True
        self._no_improvement_count = 0
        return False

    def _control_arrays(self, opt):
        """fit_epochs' ctrl_f and ctrl_i (slots: kernels.layout) for the
        compiled epochs, from the estimator's and the optimizer's state."""
        is_sgd = opt.code == kernels.SOLVER_SGD
        ctrl_f = np.empty(CTRL_F_SIZE)
        ctrl_f[CTRL_F_LR] = opt.learning_rate
        ctrl_f[CTRL_F_LR_INIT] = float(opt.learning_rate_init)
        ctrl_f[CTRL_F_POWER_T] = float(self.power_t)
        ctrl_f[CTRL_F_TOL] = float(self.tol)
        ctrl_f[CTRL_F_BEST_LOSS] = float(self.best_loss_)
        ctrl_f[CTRL_F_N_ITER_NO_CHANGE] = float(self.n_iter_no_change)
        ctrl_i = np.empty(CTRL_I_SIZE, dtype=np.int64)
        ctrl_i[CTRL_I_STEP] = opt.t
        ctrl_i[CTRL_I_SEEN] = self.t_
        ctrl_i[CTRL_I_NO_IMPROVEMENT] = self._no_improvement_count
        ctrl_i[CTRL_I_SCHEDULE] = _SCHEDULES[self.learning_rate] if is_sgd else 0
        ctrl_i[CTRL_I_SHUFFLE] = int(self.shuffle)
        return ctrl_f, ctrl_i

    def _run_compiled_epochs(self, call, opt, mt_state, n):
        """max_iter epochs through kernels.fit_epochs, in calls of about
        config.EPOCH_CALL_SECONDS each (so that Ctrl-C is seen between calls)."""
        head, x_args, tail, blas_min, gpart = call
        ctrl_f, ctrl_i = self._control_arrays(opt)
        if mt_state is None:
            key = np.zeros(624, dtype=np.uint32)
            pos = np.zeros(1, dtype=np.int64)
        else:
            key = np.array(mt_state["state"]["key"], dtype=np.uint32)
            pos = np.array([mt_state["state"]["pos"]], dtype=np.int64)
        # Each call's epoch losses; no more than a call's worth is held, whatever
        # max_iter says (a huge max_iter with a tol that stops early is valid).
        max_iter = int(self.max_iter)
        losses = np.empty(min(max_iter, config.EPOCH_CALL_LOSSES), dtype=np.float64)
        hyper = opt.hyperparameters(self.alpha)
        self.n_iter_ = 0
        curve_start = len(self.loss_curve_)
        seen_start = int(ctrl_i[CTRL_I_SEEN])
        status = kernels.RAN_ALL
        chunk = 1
        recorded = 0  # epochs recorded before the latest call
        try:
            while self.n_iter_ < max_iter:
                chunk = min(chunk, max_iter - self.n_iter_, losses.shape[0])
                recorded = self.n_iter_
                t0 = time.perf_counter()
                done, status, _ = _runtime.fit_epochs(
                    head, x_args, tail, hyper, ctrl_f, ctrl_i, key, pos,
                    losses, chunk, blas_min, gpart,
                )  # fmt: skip
                elapsed = time.perf_counter() - t0
                # NumPy floats, as scikit-learn's loss_curve_ holds.
                self.loss_curve_.extend(losses[:done])
                self.n_iter_ += done
                if status != kernels.RAN_ALL:
                    break
                # Aim the next call at about EPOCH_CALL_SECONDS.
                per_epoch = max(elapsed / max(done, 1), 1e-7)
                target = int(config.EPOCH_CALL_SECONDS / per_epoch)
                chunk = max(1, min(chunk * 8, target))
        except KeyboardInterrupt:
            # Ctrl-C lands between compiled calls, possibly before the latest
            # call's epochs were recorded: count them from the kernel's own tally
            # of samples seen (which t_ takes below), so that n_iter_ and
            # loss_curve_ describe the weights that training left.
            total = (int(ctrl_i[CTRL_I_SEEN]) - seen_start) // n
            del self.loss_curve_[curve_start + recorded :]
            self.loss_curve_.extend(losses[: total - recorded])
            self.n_iter_ = total
            warn("Training interrupted by user.")
        finally:
            if mt_state is not None:
                mt_state["state"] = {"key": key, "pos": int(pos[0])}
                self._random_state.set_state(mt_state)
        self._record_compiled_epochs(opt, status, ctrl_f, ctrl_i)

    def _record_compiled_epochs(self, opt, status, ctrl_f, ctrl_i):
        """Take the state that the compiled epochs left in ctrl_f and ctrl_i."""
        if status == kernels.DIVERGED:
            raise FitDivergedError(
                "The loss became non-finite in epoch %d (batch %d): the fit "
                "diverged. Scale the input data or lower learning_rate_init."
                % (self.n_iter_ + 1, -int(ctrl_i[CTRL_I_STEP]))
            )
        opt.steps_done(int(ctrl_i[CTRL_I_STEP]))
        if opt.code == kernels.SOLVER_SGD:
            opt.learning_rate = float(ctrl_f[CTRL_F_LR])
        self.t_ = int(ctrl_i[CTRL_I_SEEN])
        self._no_improvement_count = int(ctrl_i[CTRL_I_NO_IMPROVEMENT])
        self.best_loss_ = ctrl_f[CTRL_F_BEST_LOSS]  # a NumPy float, as sklearn's
        if self.n_iter_:
            self.loss_ = self.loss_curve_[-1]
        if status == kernels.RAN_ALL and self.n_iter_ == self.max_iter:
            warn(
                "Stochastic Optimizer: Maximum iterations (%d) "
                "reached and the optimization hasn't converged yet." % self.max_iter,
                ConvergenceWarning,
            )

    def _update_validation(self, X_val, y_val, sw_val):
        """Early stopping: score on the validation rows, keep the best weights."""
        val_score = self._score(X_val, y_val, sample_weight=sw_val)
        self.validation_scores_.append(val_score)
        if self.verbose:
            print("Validation score: %f" % self.validation_scores_[-1])
        last_valid_score = self.validation_scores_[-1]
        if last_valid_score < (self.best_validation_score_ + self.tol):
            self._no_improvement_count += 1
        else:
            self._no_improvement_count = 0
        if last_valid_score > self.best_validation_score_:
            self.best_validation_score_ = last_valid_score
            self._best_params = self._params.copy()

    def _update_no_improvement_count(self):
        self._no_improvement_count, self.best_loss_ = no_improvement(
            self.loss_curve_[-1], self.best_loss_, self.tol, self._no_improvement_count
        )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model to data matrix X and target(s) y.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data. float32 input is trained in float32; anything else
            in float64.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The target values (class labels in classification, real numbers in
            regression).
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights: non-negative, with a positive sum.

        Returns
        -------
        self : object
            Returns a trained MLP model.
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=False)

    def _check_solver(self):
        if self.solver not in _STOCHASTIC_SOLVERS:
            raise AttributeError(
                "partial_fit is only available for stochastic"
                " optimizers. %s is not stochastic." % self.solver
            )
        return True

    def _score_with_function(self, X, y, sample_weight, score_function):
        """Score without input validation (used for early stopping)."""
        y_pred = self._predict(X, check_input=False)
        if np.issubdtype(y_pred.dtype, np.floating) and not np.isfinite(y_pred).all():
            return np.nan
        return score_function(y, y_pred, sample_weight=sample_weight)

    # ------------------------------------------------------------------
    # Inference
    # ------------------------------------------------------------------
    def _forward_pass_fast(self, X, check_input=True):
        """Output-layer activations for X, shape (n_samples, n_outputs)."""
        params = self._flat_params()
        units = self._units
        # The fast path: a C-ordered array of the model's dtype and width. It
        # skips scikit-learn's checks but never the finiteness check, which the
        # kernel makes while it reads X.
        as_is = (
            type(X) is np.ndarray
            and X.ndim == 2
            and X.dtype == params.dtype
            and X.flags.c_contiguous
            and X.shape[0] > 0
            and X.shape[1] == self.n_features_in_
            and not hasattr(self, "feature_names_in_")
        )
        if check_input and not as_is:
            check_sparse_structure(X)
            X = validate_data(
                self,
                X,
                accept_sparse=["csr", "csc"],
                dtype=(np.float64, np.float32),
                order="C",
                reset=False,
            )
        if X.shape[1] != units[0]:
            # The kernels read units[0] columns (or index the first weight
            # matrix by column): the width must match the network itself.
            raise ValueError(
                "X has %d features, but the network's input layer has %d units."
                % (X.shape[1], units[0])
            )
        if as_is:
            sparse, Xk = False, X
        else:
            sparse, Xk = as_kernel_input(X, params.dtype)
        n = X.shape[0]
        out = np.empty((n, int(units[-1])), dtype=params.dtype)
        # A dense X, or the three CSR arrays, the other input being None.
        x_args = (None, *Xk) if sparse else (Xk, None, None, None)
        bad = _runtime.predict(
            out, x_args, sparse, n, params, units,
            ACTIVATIONS[self.activation], OUT_ACTIVATIONS[self.out_activation_],
            self._kernel_blas_min,  # set with the views _flat_params checked
        )  # fmt: skip
        if bad > 0:
            raise ValueError(
                "Input X contains NaN or infinity (%d non-finite values)." % bad
            )
        if bad < 0:
            # X is finite, the output not: the kernel counted it as it wrote.
            warn(
                "The network's output holds %d NaN or infinite values for a finite "
                "X: values of X far beyond the scale of the training data "
                "overflowed its activations. Scale X as the training data was." % -bad,
                RuntimeWarning,
            )
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
