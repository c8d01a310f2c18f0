"""The estimator machinery shared by MLPClassifier and MLPRegressor.

This layer decides what to compute: it validates input with scikit-learn's
own utilities, draws every random number in exactly the order scikit-learn
draws it, keeps the parameters in one flat buffer (``coefs_`` and
``intercepts_`` are views into it) and runs the per-epoch control. The
kernels in ``fastmlp.kernels`` do the arithmetic.
"""

import os
import signal
import sys
import threading
import time
import warnings
from abc import ABC, abstractmethod
from contextlib import contextmanager
from numbers import Integral, Real

import numpy as np
import scipy.optimize
import scipy.sparse as sp
from sklearn.base import BaseEstimator, _fit_context, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.fixes import _get_additional_lbfgs_options_dict
from sklearn.utils.optimize import _check_optimize_result
from sklearn.utils.validation import (
    _check_feature_names,
    _check_n_features,
    _check_sample_weight,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from fastmlp import kernels
from fastmlp._stochastic_optimizers import AdamOptimizer, SGDOptimizer
from fastmlp.kernels import openblas, precompiled

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

# A layer whose weight matrix has at least this many entries runs its GEMMs
# through BLAS (np.dot inside the kernel); smaller layers use the hand-written
# loops, which have no call overhead and fuse bias and activation. Measured with
# benchmarks/crossover.py (batch 200, forward + backward of one layer): BLAS is
# level at 4x5 and 2.2-2.3x faster from 16x16 up, in float32 and float64.
BLAS_MIN_WEIGHTS = 64

# Training without per-epoch Python work runs many epochs per compiled call; each
# call is sized to last about this long, so that Ctrl-C is seen between calls.
EPOCH_CALL_SECONDS = 0.2
# The most epochs one such call runs (its losses are held until it returns).
EPOCH_CALL_LOSSES = 4096

# Predictions of this many rows or more run their row blocks side by side on
# Numba's threads (blocks of PREDICT_BLOCK rows, or PREDICT_BLAS_BLOCK for a
# network with a BLAS-sized layer, whose GEMMs then run single-threaded).
# A wide block's activations stay in the core's L2 cache (1 MB here): 512 rows
# of the wide32 network's 256 + 128 float32 units take 768 KB. Measured on 100k
# rows, 2 cores: float32 block 1024 74-75 ms, 512 68.5-71 ms, 256 68-73 ms;
# float64 flat (140-143 ms at 1024, 512 and 256).
PREDICT_PARALLEL_MIN_ROWS = 2048
PREDICT_BLOCK = 128
PREDICT_BLAS_BLOCK = 512
# A dense prediction of a network with a BLAS-sized layer, of fewer rows than
# PREDICT_PARALLEL_MIN_ROWS but this many at least, runs as two blocks of n // 2
# rows side by side (an odd last row after them): its GEMMs on both cores, each
# single-threaded as always. The blocks depend on n alone, so the bits do not
# depend on the threads. Measured on the wide32 network, repeated calls: 1.9-2.0x
# faster than one block from 512 rows up (1.6-1.8x from 64), and faster than
# scikit-learn, which one block was not from about 500 rows up. Not lower:
# within about 0.1 s of NumPy's BLAS running on several threads, a parallel call
# waits about 3 ms for a core (OpenBLAS's idle workers spin; see the README),
# which a prediction of a few hundred rows would feel most.
PREDICT_SPLIT_MIN_ROWS = 512

# Training a network with a BLAS layer splits each batch into (up to) this many
# chunks of rows (kernels.CHUNK_MIN_ROWS rows each at least), run side by side
# on Numba's threads with prange, each chunk's GEMMs single-threaded BLAS calls;
# the chunks' gradients are then summed. On 2 cores at batch 200 that beats one
# batch whose every GEMM BLAS spreads over both cores (digits 1.4x faster,
# measured with benchmarks/compare.py; the element-wise work between the GEMMs
# runs on both cores too). A constant, not the thread count: the same fit gives
# the same bits with any number of threads (a machine with more cores trains
# these batches on two of them).
SPLIT_CHUNKS = 2

# One kernel at a time runs on Numba's thread pool (a parallel prediction, or a
# training call with its chunks side by side); calls from other threads
# meanwhile run serially instead of piling thread pools on top of each other.
_THREAD_POOL = threading.Lock()

# Numba's OpenMP threading layer (GNU OpenMP) cannot be used again in a process
# forked from one that has used it: Numba stops such a child with SIGTERM. A
# forked child (multiprocessing's default start method on Linux) therefore
# predicts serially once its parent has started Numba's thread pool.
_PARALLEL_AFTER_FORK = True


_INTERNAL_DIRS = tuple(
    os.path.dirname(os.path.abspath(m.__file__)) + os.sep
    for m in (sys.modules["fastmlp"], sys.modules["sklearn"])
)


def _blas_min(units):
    """The kernels' blas_min for layer sizes ``units``: BLAS_MIN_WEIGHTS when a
    layer has that many weights, else None, which compiles the kernels without
    their BLAS code (a small network's first fit compiles only what it runs)."""
    for l in range(len(units) - 1):
        if int(units[l]) * int(units[l + 1]) >= BLAS_MIN_WEIGHTS:
            return BLAS_MIN_WEIGHTS
    return None


def _kernel_targets(y, out_activation, dtype):
    """The targets as the kernels take them: a softmax output's one-hot rows as
    their class indices (int64, n values instead of n x K, and one gather per
    sample in the loss instead of one per class), anything else as a matrix of
    the model's dtype."""
    if (
        out_activation == "softmax"
        and y.dtype == bool
        and y.shape[0] > 0
        and bool(np.all(np.count_nonzero(y, axis=1) == 1))
    ):
        return np.argmax(y, axis=1).astype(np.int64)
    return np.ascontiguousarray(y, dtype=dtype)


def _warn(message, category=UserWarning):
    """warnings.warn pointing at the user's line: the first frame outside
    fastmlp and scikit-learn (whose fit wrapper sits between the user and us)."""
    level = 2
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_INTERNAL_DIRS):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level - 1 if frame is None else level)


try:  # signal's C module: the same calls without the wrappers' enum conversions
    import _signal as _sig  # (3 us a call, against 0.3 us)
except ImportError:  # pragma: no cover
    _sig = signal

_SIGINT = int(signal.SIGINT)


class _deferred_interrupt:
    """Ctrl-C held back until the block ends, then raised as KeyboardInterrupt.

    Around one epoch of a fit that Python drives epoch by epoch: Python runs
    a SIGINT handler only between bytecodes, so Ctrl-C pressed during the
    compiled call would otherwise raise as the call returns, after the weights
    moved but before the epoch was recorded (Adam's step count, t_, n_iter_,
    loss_curve_). Only in the main thread and only under Python's own SIGINT
    handler: elsewhere no KeyboardInterrupt arrives, or the user's handler
    stays in charge. An exception raised in the block wins over a held Ctrl-C.
    """

    __slots__ = ("received",)

    def _hold(self, signum, frame):
        self.received = True

    def __enter__(self):
        self.received = None  # None: not holding
        if (
            threading.current_thread() is threading.main_thread()
            and _sig.getsignal(_SIGINT) is signal.default_int_handler
        ):
            self.received = False
            _sig.signal(_SIGINT, self._hold)
        return self

    def __exit__(self, exc_type, exc, tb):
        if self.received is None:
            return False
        _sig.signal(_SIGINT, signal.default_int_handler)
        if self.received and exc_type is None:
            raise KeyboardInterrupt
        return False


def _after_fork_in_child():
    global _PARALLEL_AFTER_FORK
    if "numba.np.ufunc.parallel" not in sys.modules:
        return  # no kernel of the parent has run on Numba's threads
    try:
        from numba.np.ufunc import parallel as numba_parallel

        if getattr(numba_parallel, "_is_initialized", True):
            _PARALLEL_AFTER_FORK = False
    except Exception:  # noqa: BLE001 - when in doubt, stay serial
        _PARALLEL_AFTER_FORK = False


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _split_chunks(batch_size, blas_min):
    """How many chunks of rows each training batch is split into: 1 (no split)
    for a network without a BLAS layer, where the kernels call another BLAS than
    NumPy's (whose threads fastmlp could not hold to one), or for batches too
    small; else SPLIT_CHUNKS, fewer where the batch has too few rows for
    kernels.CHUNK_MIN_ROWS in each. A function of the batch size alone, never
    of the threads or the load: the same fit gives the same bits whether its
    chunks ran side by side or not."""
    if blas_min is None:
        return 1
    if openblas.blas_threads() is None:
        return 1
    return kernels.chunk_count(batch_size, SPLIT_CHUNKS)


def _training_buffers(units, batch_size, blas_min, params):
    """The scratch of one fit, allocated once: (work, gpart) for batches of up
    to batch_size rows. Unsplit batches (_split_chunks 1): one work buffer,
    gpart None. Split: each chunk its own part of work and, past the first, its
    own gradient buffer, a row of gpart."""
    n_chunks = _split_chunks(batch_size, blas_min)
    if n_chunks == 1:
        work = np.empty(kernels.workspace_size(units, batch_size), dtype=params.dtype)
        return work, None
    chunk_ws, _ = kernels.chunk_workspace(units, batch_size, n_chunks)
    work = np.empty(n_chunks * chunk_ws, dtype=params.dtype)
    gpart = np.empty((n_chunks - 1, params.shape[0]), dtype=params.dtype)
    return work, gpart


# While a kernel that calls BLAS runs, NumPy's BLAS is held to one thread: the
# kernels bring their own parallelism (Numba's prange), so no BLAS pool ever
# runs inside Numba's, and every GEMM of fastmlp runs on one thread, whatever
# else the process does at the time. That matters for the bits: OpenBLAS splits
# a GEMM differently over two threads than over one, and the rows at the tile
# edges then round differently. Calls from several threads share the hold; the
# last one out gives BLAS back its thread count.
_BLAS_HOLD = threading.Lock()
_blas_holders = 0
_blas_threads_before = None


def _hold_blas():
    """Hold NumPy's BLAS to one thread; returns the thread count it had before
    the first holder came (the user's setting), or None where the kernels run
    on the fallback binding, whose BLAS fastmlp does not steer."""
    global _blas_holders, _blas_threads_before

    with _BLAS_HOLD:
        if _blas_holders == 0:
            threads = openblas.blas_threads()
            if threads is None:
                return None
            _blas_threads_before = threads
            if threads != 1:
                openblas.set_blas_threads(1)
        _blas_holders += 1
        return _blas_threads_before


def _release_blas():
    global _blas_holders

    with _BLAS_HOLD:
        _blas_holders -= 1
        if _blas_holders == 0 and _blas_threads_before != 1:
            openblas.set_blas_threads(_blas_threads_before)


@contextmanager
def _kernel_threads(blas, parallel=True):
    """Around a kernel call: yields whether the call may run on Numba's thread
    pool. ``blas``: the call runs BLAS GEMMs, and NumPy's BLAS is held to one
    thread meanwhile (see _hold_blas); such a call then goes parallel only where
    the user's BLAS setting (threadpoolctl) and Numba's (set_num_threads) both
    allow two threads or more. Any call: only when ``parallel`` is wanted, no
    other kernel holds the pool (calls from other threads meanwhile run
    serially) and the process is not a fork of one that used the pool."""
    user = _hold_blas() if blas else None
    held = user is not None
    try:
        ok = parallel and _PARALLEL_AFTER_FORK
        if ok and blas:
            ok = user is not None and user >= 2 and _numba_threads() >= 2
        if ok and not _THREAD_POOL.acquire(blocking=False):
            ok = False
        try:
            yield ok
        finally:
            if ok:
                _THREAD_POOL.release()
    finally:
        if held:
            _release_blas()


def _numba_threads():
    """Numba's thread count (imports Numba: only for kernels that run on it)."""
    import numba

    return numba.get_num_threads()


def _run_kernel(name, args):
    """kernels.<name>(*args), on the precompiled kernels where they take these
    arguments (kernels.precompiled: the same machine code, without Numba in
    the process), else on Numba's."""
    fn = precompiled.lookup(name, args)
    if fn is None:
        fn = getattr(kernels, name)
    return fn(*args)


# A process that has not imported Numba runs the fits and predictions of a
# network with a BLAS layer on the precompiled kernels, serially (a fit's chunks
# one after the other, a prediction's blocks too: the same bits as side by side),
# until such calls have taken this many seconds in all; then on Numba's kernels,
# on both cores. Numba's start-up (its import, its compiler's registries, the
# cached kernels: about 0.6 s here) is so paid only by work long enough for the
# second core to earn it back (chunks side by side run about 1.5x faster).
PRECOMPILED_SERIAL_SECONDS = 1.0
_serial_seconds = 0.0


def _numba_started():
    return "numba" in sys.modules


def _precompiled_serial(name, args):
    """The precompiled function for a call that Numba's kernels would run on
    its threads, while PRECOMPILED_SERIAL_SECONDS allows, or None."""
    if _serial_seconds >= PRECOMPILED_SERIAL_SECONDS or _numba_started():
        return None
    return precompiled.lookup(name, args)


def _run_serial(fn, args):
    """fn(*args) (from _precompiled_serial), its time counted, NumPy's BLAS
    held to one thread as for any kernel that calls it."""
    global _serial_seconds
    t0 = time.perf_counter()
    try:
        with _kernel_threads(True, False):
            return fn(*args)
    finally:
        _serial_seconds += time.perf_counter() - t0


def _fit_epochs(
    head, x_args, tail, hyper, ctrl_f, ctrl_i, key, pos, losses, n_epochs, blas_min,
    gpart,
):  # fmt: skip
    """kernels.fit_epochs(*head, *x_args, *tail, ...) under _kernel_threads:
    split batches (gpart given) run their chunks side by side when the threads
    allow it, or one after the other on the precompiled kernels (see
    PRECOMPILED_SERIAL_SECONDS)."""
    args = (
        *head, *x_args, *tail, hyper, ctrl_f, ctrl_i, key, pos, losses, n_epochs,
        blas_min, gpart,
    )  # fmt: skip
    if gpart is not None:
        fn = _precompiled_serial("fit_epochs", (*args, None))
        if fn is not None:
            return _run_serial(fn, (*args, None))
    with _kernel_threads(blas_min is not None, gpart is not None) as threaded:
        if gpart is not None and not threaded:
            # The chunks one after the other: what the precompiled kernels run.
            fn = precompiled.lookup("fit_epochs", (*args, None))
            if fn is not None:
                return fn(*args, None)
        return _run_kernel("fit_epochs", (*args, threaded))


class FitDivergedError(ValueError):
    """The loss or the weights became non-finite during a fit: a ValueError, as
    scikit-learn raises; the estimator is left unfitted."""


def _check_sparse_structure(X):
    """Refuse a sparse matrix whose index arrays point outside it.

    Runs before anything converts or reads the matrix: scipy's conversions
    (CSC or COO to CSR) are C++ loops that trust the index arrays, as are the
    kernels, so a corrupted matrix would read or write out of bounds.
    """
    if not sp.issparse(X):
        return
    try:
        if X.format in ("csr", "csc", "bsr"):
            X.check_format(full_check=True)
        elif X.format == "coo":
            coords = getattr(X, "coords", None) or (X.row, X.col)
            for axis, idx in enumerate(coords):
                if idx.shape != X.data.shape:
                    raise ValueError(
                        "index array %d has %d entries for %d values"
                        % (axis, idx.shape[0], X.data.shape[0])
                    )
                if idx.size and (idx.min() < 0 or idx.max() >= X.shape[axis]):
                    raise ValueError(
                        "indices along axis %d must lie in [0, %d)"
                        % (axis, X.shape[axis])
                    )
    except ValueError as e:
        raise ValueError(
            "Sparse input X has corrupted index arrays: %s." % str(e).rstrip(".")
        ) from e


def _check_layer_shapes(coefs, intercepts):
    """coefs_ and intercepts_ that a user assigned must chain into a network:
    the kernels read the flat buffer by the layer sizes that they imply."""
    if not coefs or len(coefs) != len(intercepts):
        raise ValueError(
            "coefs_ and intercepts_ must be lists of the same, non-zero length; "
            "got %d and %d." % (len(coefs), len(intercepts))
        )
    for i, (c, b) in enumerate(zip(coefs, intercepts, strict=True)):
        fan_in = coefs[i - 1].shape[1] if i else None
        if (
            c.ndim != 2
            or min(c.shape) < 1
            or (fan_in is not None and c.shape[0] != fan_in)
            or b.shape != (c.shape[1],)
        ):
            raise ValueError(
                "coefs_[%d] has shape %s and intercepts_[%d] shape %s: each layer "
                "needs a (fan_in, fan_out) weight matrix whose fan_in is the "
                "previous layer's fan_out, and fan_out biases."
                % (i, c.shape, i, b.shape)
            )


_NATIVE_FLOATS = (np.dtype(np.float64), np.dtype(np.float32))


def _plain_fit_arrays(est, X, y, y_kinds, y_ndims, reset=False):
    """Whether validate_data(est, X, y, reset=reset, multi_output=True,
    dtype=(np.float64, np.float32), order="C", ...) would hand X and y back
    unchanged, without an error or a warning, as it does for the common input
    of a fit or of a fitted model's partial_fit: X a C-ordered float64 or
    float32 ndarray with rows and columns (reset=False: the fitted number of
    columns, and no feature names on the model's side), y an ndarray of as
    many rows, of a dtype kind in ``y_kinds`` and with ``y_ndims`` dimensions,
    and no NaN or infinity in either. With reset, validate_data would also
    record X's width (n_features_in_) and drop the model's feature names
    (_reset_plain_features does both).

    The check costs a few microseconds where validate_data costs about 0.2 ms,
    more than an epoch of a small network. Finiteness is checked on the sum, as
    scikit-learn does first: a sum is finite only if every term is; a sum that
    is not (which may be an overflow) sends the arrays through validate_data."""
    if not (
        type(X) is np.ndarray
        and X.ndim == 2
        and X.dtype in _NATIVE_FLOATS  # not a byte-swapped one
        and X.flags.c_contiguous
        and X.shape[0] > 0
        and X.shape[1] > 0
        and (reset or X.shape[1] == getattr(est, "n_features_in_", None))
        and (reset or not hasattr(est, "feature_names_in_"))
        and type(y) is np.ndarray
        and y.ndim in y_ndims
        and y.shape[0] == X.shape[0]
        and y.dtype.kind in y_kinds
        and (y.ndim == 1 or y.shape[1] > 1)
    ):
        return False
    with np.errstate(over="ignore", invalid="ignore"):
        return bool(np.isfinite(X.sum())) and (
            y.dtype.kind != "f" or bool(np.isfinite(y.sum()))
        )


def _reset_plain_features(est, X):
    """What validate_data(est, X, reset=True) records of X, by the same two
    functions: its width (n_features_in_) and its feature names, which an
    ndarray has none of (a model fitted before on a DataFrame loses them)."""
    _check_n_features(est, X, reset=True)
    _check_feature_names(est, X, reset=True)


def _as_kernel_input(X, dtype):
    """X for the kernels: a C-ordered dense array, or the three arrays of a CSR
    matrix (int64 indptr and indices, data in ``dtype``).

    A sparse X has passed _check_sparse_structure (fit and predict run it
    before validation). The kernels then read index arrays of their own,
    copied here and checked again, so that nothing done to the user's matrix
    meanwhile (another thread writing its indices, say) can send a kernel
    outside it; its values, if changed, change only the result."""
    if sp.issparse(X):
        X = X.tocsr()
        indptr = np.array(X.indptr, dtype=np.int64, order="C", copy=True)
        indices = np.array(X.indices, dtype=np.int64, order="C", copy=True)
        data = np.ascontiguousarray(X.data, dtype=dtype)
        n_rows, n_cols = X.shape
        nnz = indptr[-1] if indptr.shape[0] == n_rows + 1 else -1
        used = indices[: max(nnz, 0)]
        if not (
            indptr[0] == 0
            and 0 <= nnz <= min(indices.shape[0], data.shape[0])
            and (indptr[1:] >= indptr[:-1]).all()
            and (used.shape[0] == 0 or 0 <= used.min() <= used.max() < n_cols)
        ):
            raise ValueError(
                "The sparse matrix's index arrays changed while fastmlp read it "
                "and now point outside it."
            )
        return True, (indptr, indices, data)
    return False, np.ascontiguousarray(X, dtype=dtype)


def _views_of(params, coefs, intercepts):
    """Whether coefs_ and intercepts_ are all still views of the flat buffer
    params (no array assigned to them since)."""
    return params is not None and all(a.base is params for a in (*coefs, *intercepts))


def _narrows(src, dst):
    """Whether casting floats of dtype src to dtype dst can overflow."""
    return src.kind == dst.kind == "f" and np.finfo(src).max > np.finfo(dst).max


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
        self._kernel_blas_min = _blas_min(self._units)

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
        _check_layer_shapes(coefs, intercepts)
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
        hidden_layer_sizes = self.hidden_layer_sizes
        if not hasattr(hidden_layer_sizes, "__iter__"):
            hidden_layer_sizes = [hidden_layer_sizes]
        hidden_layer_sizes = list(hidden_layer_sizes)
        if not all(
            isinstance(h, Integral) and not isinstance(h, bool)
            for h in hidden_layer_sizes
        ):
            raise ValueError(
                "hidden_layer_sizes must hold integers (the number of units of "
                "each hidden layer), got %r." % (self.hidden_layer_sizes,)
            )
        if min(hidden_layer_sizes, default=1) <= 0:
            raise ValueError(
                "hidden_layer_sizes must be > 0, got %s." % hidden_layer_sizes
            )
        if max(hidden_layer_sizes, default=1) > np.iinfo(np.int32).max:
            raise ValueError(
                "hidden_layer_sizes must be below 2**31 units per layer, got %s."
                % hidden_layer_sizes
            )
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
        _check_sparse_structure(X)
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
            X, Y, sw = self._kernel_arrays(X, y, sample_weight, params.dtype)
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

    def _kernel_arrays(self, X, y, sample_weight, dtype):
        """X, the targets (_kernel_targets) and the weights (None: unweighted)
        in the model's dtype, as the kernels take them. A model continues in its
        own dtype: values that the cast to it turns infinite (a float32 model
        given float64 data beyond float32's range) or weights whose sum it
        overflows are refused here, before any kernel, as the checks before
        the cast would refuse an infinity."""
        dtype = np.dtype(dtype)
        if X.dtype != dtype:
            narrowed = _narrows(X.dtype, dtype)
            X = X.astype(dtype)
            values = X.data if sp.issparse(X) else X
            if narrowed and not np.isfinite(values).all():
                raise ValueError(
                    "Input X has values beyond the range of the model's %s "
                    "(largest %g): scale the data down." % (dtype, np.finfo(dtype).max)
                )
        if sp.issparse(X):
            X = X.tocsr()
        Y = _kernel_targets(y, self.out_activation_, dtype)
        if _narrows(y.dtype, Y.dtype) and not np.isfinite(Y).all():
            raise ValueError(
                "Input y has values beyond the range of the model's %s (largest "
                "%g): scale the targets down." % (dtype, np.finfo(dtype).max)
            )
        if sample_weight is None:
            return X, Y, None  # the kernels' unweighted flavour: no weights read
        sw = np.ascontiguousarray(sample_weight, dtype=dtype)
        with np.errstate(over="ignore"):
            total = sw.sum()
        if not np.isfinite(total):
            raise ValueError(
                "sample_weight's sum exceeds the range of %s: scale the weights "
                "down." % dtype
            )
        return X, Y, sw

    def _validate_fit_data(self, X, y, reset, **y_check):
        """validate_data(self, X, y, ...) as fit and partial_fit need it, with a
        one-column 2-D y made 1-D (and scikit-learn's warning about it).

        Plain arrays (see _plain_fit_arrays, with the estimator's
        _plain_y_kinds and _plain_y_ndims) skip it, in a fit as in a fitted
        model's later partial_fit call: they come back as they are (with reset,
        their width recorded as validate_data would). Returns X, y and whether
        scikit-learn checked them."""
        if _plain_fit_arrays(
            self, X, y, self._plain_y_kinds, self._plain_y_ndims, reset
        ):
            if reset:
                _reset_plain_features(self, X)
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
        """check_random_state(self.random_state), which every fit and
        partial_fit calls, as scikit-learn's do.

        For an integer seed that means a new RandomState each call, and a new
        RandomState first seeds its MT19937 from a SeedSequence (about 90 us,
        more than a small network's epoch) before the legacy seeding replaces
        that state. Seeding again the RandomState this estimator made for the
        last call gives the same state (RandomState.seed runs the same legacy
        seeding and clears the cached Gaussian) in about 1 us. A RandomState
        given by the user, or the global one, is used as it is."""
        seed = self.random_state
        own = getattr(self, "_own_random_state", None)
        if isinstance(seed, Integral) and type(own) is np.random.RandomState:
            own.seed(seed)
            return own
        rng = check_random_state(seed)
        self._own_random_state = rng if isinstance(seed, Integral) else None
        return rng

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

        sparse, Xk = _as_kernel_input(X, params.dtype)
        x_args = (None, *Xk) if sparse else (Xk, None, None, None)
        fixed = (Y, sw, idx, 0, n_samples, n_samples, units, act, out_act, alpha)
        blas_min = _blas_min(units)
        # The full batch, split into chunks of rows as a stochastic fit splits
        # its batches (a network with a BLAS layer).
        work, gpart = _training_buffers(units, n_samples, blas_min, params)
        split = gpart is not None
        losses = np.empty(gpart.shape[0] + 1) if split else None

        def loss_grad(x):
            params[order] = x
            with _kernel_threads(blas_min is not None, split) as threaded:
                if split:
                    loss = kernels.forward_backward_split(
                        grads, gpart, losses, work, params, *x_args, *fixed,
                        blas_min, threaded,
                    )  # fmt: skip
                else:
                    loss = _run_kernel(
                        "forward_backward",
                        (grads, work, params, *x_args, *fixed, blas_min),
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
            _warn("Training interrupted by user.")
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
            if self.solver == "sgd":
                self._optimizer = SGDOptimizer(
                    params,
                    self.learning_rate_init,
                    self.learning_rate,
                    self.momentum,
                    self.nesterovs_momentum,
                    self.power_t,
                )
            else:
                self._optimizer = AdamOptimizer(
                    params,
                    self.learning_rate_init,
                    self.beta_1,
                    self.beta_2,
                    self.epsilon,
                )
        opt = self._optimizer
        state_a, state_b = opt.state

        early_stopping = self.early_stopping
        if early_stopping:
            # The split scikit-learn makes, taken as row indices so that X is not
            # copied: train_test_split draws the same permutation for an index
            # array as for X itself.
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
            sample_idx = np.ascontiguousarray(train_idx, dtype=np.int64)
        else:
            sample_idx = np.arange(X.shape[0], dtype=np.int64)
        n_samples = sample_idx.shape[0]

        if self.batch_size == "auto":
            batch_size = min(200, n_samples)
        else:
            if self.batch_size > n_samples:
                _warn(
                    "Got `batch_size` less than 1 or larger than "
                    "sample size. It is going to be clipped"
                )
            batch_size = int(np.clip(self.batch_size, 1, n_samples))

        # Scratch space for one fit, allocated once.
        grads = np.empty_like(params)
        blas_min = _blas_min(units)
        work, gpart = _training_buffers(units, batch_size, blas_min, params)
        act = ACTIVATIONS[self.activation]
        out_act = OUT_ACTIVATIONS[self.out_activation_]
        rng = self._random_state
        sparse, Xk = _as_kernel_input(X, params.dtype)
        # kernels.fit_epochs takes a dense X, or the three CSR arrays, the other
        # input being None.
        x_args = (None, *Xk) if sparse else (Xk, None, None, None)
        head = (params, grads, state_a, state_b, work)
        tail = (Y, sw, sample_idx, units, act, out_act, batch_size, opt.code)

        compiled = (
            not early_stopping
            and not incremental
            and not self.verbose
            and n_samples < 2**32
        )
        mt_state = None
        if compiled and self.shuffle:
            # The Mersenne Twister's state for the kernels' shuffles; read only
            # where the compiled epochs take it (a copy costs some 30 us).
            mt_state = rng.get_state(legacy=False)
            compiled = mt_state["bit_generator"] == "MT19937"
        if compiled:
            # Every decision between epochs is arithmetic: run many epochs per
            # compiled call, the shuffles drawn from the same Mersenne Twister.
            self._run_compiled_epochs(
                head, x_args, tail, opt, mt_state, n_samples, blas_min, gpart
            )
            return

        # One epoch per call: the shuffle (any RandomState), the stopping rules
        # and the schedule stay here, so fit_epochs gets no shuffle and a rule
        # that never stops.
        ctrl_f = np.empty(6)
        ctrl_i = np.zeros(5, dtype=np.int64)
        no_key = np.empty(0, dtype=np.uint32)
        no_pos = np.zeros(1, dtype=np.int64)
        one_loss = np.empty(1)

        try:
            self.n_iter_ = 0
            for _ in range(self.max_iter):
                # The epoch whole, or not at all: see _deferred_interrupt.
                with _deferred_interrupt():
                    if self.shuffle:
                        # In place: the same draws, and the same order, as
                        # sklearn.utils.shuffle(sample_idx, random_state=rng).
                        rng.shuffle(sample_idx)
                    hyper = opt.hyperparameters(self.alpha)
                    ctrl_f[:] = (hyper[0], hyper[0], 0.0, 0.0, np.inf, np.inf)
                    ctrl_i[0] = opt.t
                    _, _, accumulated_loss = _fit_epochs(
                        head, x_args, tail, hyper, ctrl_f, ctrl_i, no_key, no_pos,
                        one_loss, 1, blas_min, gpart,
                    )  # fmt: skip
                    t = int(ctrl_i[0])
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

                    if early_stopping:
                        self._update_validation(X_val, y_val, sw_val)
                    else:
                        self._update_no_improvement_count()
                    opt.iteration_ends(self.t_)

                    if self._no_improvement_count > self.n_iter_no_change:
                        if early_stopping:
                            msg = (
                                "Validation score did not improve more than "
                                "tol=%f for %d consecutive epochs."
                                % (self.tol, self.n_iter_no_change)
                            )
                        else:
                            msg = (
                                "Training loss did not improve more than tol=%f"
                                " for %d consecutive epochs."
                                % (self.tol, self.n_iter_no_change)
                            )
                        if opt.trigger_stopping(msg, self.verbose):
                            break
                        self._no_improvement_count = 0

                    if incremental:
                        break

                    if self.n_iter_ == self.max_iter:
                        _warn(
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
            _warn("Training interrupted by user.")

        if early_stopping:
            # Restore the best weights. As in scikit-learn, the best weights and
            # the model's weights are then one and the same buffer, until a later
            # epoch improves on the best validation score.
            params[...] = self._best_params
            self._best_params = params

    def _run_compiled_epochs(
        self, head, x_args, tail, opt, mt_state, n, blas_min, gpart
    ):
        """max_iter epochs through kernels.fit_epochs, in calls of about
        EPOCH_CALL_SECONDS each (so that Ctrl-C is seen between calls)."""
        rng = self._random_state
        is_sgd = opt.code == kernels.SOLVER_SGD
        schedule = {"invscaling": 1, "adaptive": 2}.get(self.learning_rate, 0)
        ctrl_f = np.array(
            [
                opt.learning_rate,
                float(opt.learning_rate_init),
                float(self.power_t),
                float(self.tol),
                float(self.best_loss_),
                float(self.n_iter_no_change),
            ]
        )
        ctrl_i = np.array(
            [
                opt.t,
                self.t_,
                self._no_improvement_count,
                schedule if is_sgd else 0,
                int(self.shuffle),
            ],
            dtype=np.int64,
        )
        if mt_state is None:
            key = np.zeros(624, dtype=np.uint32)
            pos = np.zeros(1, dtype=np.int64)
        else:
            key = np.array(mt_state["state"]["key"], dtype=np.uint32)
            pos = np.array([mt_state["state"]["pos"]], dtype=np.int64)
        # Each call's epoch losses; no more than a call's worth is held, whatever
        # max_iter says (a huge max_iter with a tol that stops early is valid).
        max_iter = int(self.max_iter)
        losses = np.empty(min(max_iter, EPOCH_CALL_LOSSES), dtype=np.float64)
        hyper = opt.hyperparameters(self.alpha)
        self.n_iter_ = 0
        curve_start = len(self.loss_curve_)
        seen_start = int(ctrl_i[1])
        status = kernels.RAN_ALL
        chunk = 1
        recorded = 0  # epochs recorded before the latest call
        try:
            while self.n_iter_ < max_iter:
                chunk = min(chunk, max_iter - self.n_iter_, losses.shape[0])
                recorded = self.n_iter_
                t0 = time.perf_counter()
                done, status, _ = _fit_epochs(
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
                chunk = max(1, min(chunk * 8, int(EPOCH_CALL_SECONDS / per_epoch)))
        except KeyboardInterrupt:
            # Ctrl-C lands between compiled calls, possibly before the latest
            # call's epochs were recorded: count them from the kernel's own tally
            # of samples seen (ctrl_i[1], which t_ takes below), so that n_iter_
            # and loss_curve_ describe the weights that training left.
            total = (int(ctrl_i[1]) - seen_start) // n
            del self.loss_curve_[curve_start + recorded :]
            self.loss_curve_.extend(losses[: total - recorded])
            self.n_iter_ = total
            _warn("Training interrupted by user.")
        finally:
            if mt_state is not None:
                mt_state["state"] = {"key": key, "pos": int(pos[0])}
                rng.set_state(mt_state)
        if status == kernels.DIVERGED:
            raise FitDivergedError(
                "The loss became non-finite in epoch %d (batch %d): the fit "
                "diverged. Scale the input data or lower learning_rate_init."
                % (self.n_iter_ + 1, -int(ctrl_i[0]))
            )
        opt.steps_done(int(ctrl_i[0]))
        opt.learning_rate = float(ctrl_f[0]) if is_sgd else opt.learning_rate
        self.t_ = int(ctrl_i[1])
        self._no_improvement_count = int(ctrl_i[2])
        self.best_loss_ = ctrl_f[4]  # a NumPy float, as scikit-learn's
        if self.n_iter_:
            self.loss_ = self.loss_curve_[-1]
        if status == kernels.RAN_ALL and self.n_iter_ == max_iter:
            _warn(
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
        if self.loss_curve_[-1] > self.best_loss_ - self.tol:
            self._no_improvement_count += 1
        else:
            self._no_improvement_count = 0
        if self.loss_curve_[-1] < self.best_loss_:
            self.best_loss_ = self.loss_curve_[-1]

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
            _check_sparse_structure(X)
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
            sparse, Xk = _as_kernel_input(X, params.dtype)
        n = X.shape[0]
        out = np.empty((n, int(units[-1])), dtype=params.dtype)
        act = ACTIVATIONS[self.activation]
        out_act = OUT_ACTIVATIONS[self.out_activation_]
        blas_min = self._kernel_blas_min  # set with the views _flat_params checked
        wide = blas_min is not None
        block = PREDICT_BLAS_BLOCK if wide else PREDICT_BLOCK
        # A dense X, or the three CSR arrays, the other input being None.
        x_args = (None, *Xk) if sparse else (Xk, None, None, None)
        if not sparse and n < kernels.ROWS_MAX:
            # A few rows: one block through the sample-major loops, no GEMM, no
            # threads. Those loops are the same with or without the kernel's
            # BLAS code, so the call leaves it out (blas_min None) and a wide
            # network's prediction runs on the precompiled kernels too.
            head = (out, *x_args, n, params, units, act, out_act, block, None)
            bad = _run_kernel("predict_serial", head)
        else:
            # Large inputs spread their row blocks over the cores (a wide
            # network's with single-threaded GEMMs; a sparse input to one stays
            # serial, its GEMMs threaded by BLAS); one parallel call at a time,
            # calls from other threads meanwhile run serially.
            parallel = n >= PREDICT_PARALLEL_MIN_ROWS and not (wide and sparse)
            if (
                wide
                and not sparse
                and PREDICT_SPLIT_MIN_ROWS <= n < PREDICT_PARALLEL_MIN_ROWS
            ):
                block = n // 2
                parallel = True
            head = (out, *x_args, n, params, units, act, out_act, block)
            fn = None
            if parallel and wide and not sparse:
                # The same blocks, one after the other (see _precompiled_serial).
                fn = _precompiled_serial("predict_serial", (*head, blas_min))
            if fn is not None:
                bad = _run_serial(fn, (*head, blas_min))
            else:
                with _kernel_threads(wide, parallel) as parallel:
                    if parallel:
                        bad = kernels.predict_parallel(
                            *head, blas_min, _numba_threads()
                        )
                    else:
                        bad = _run_kernel("predict_serial", (*head, blas_min))
        if bad > 0:
            raise ValueError(
                "Input X contains NaN or infinity (%d non-finite values)." % bad
            )
        if bad < 0:
            # X is finite, the output not: the kernel counted it as it wrote.
            _warn(
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
