"""The one door from the estimators to the kernels.

The estimators (``_base``) decide what to compute and hand this module plain
arrays and integer codes; this module alone decides how the kernels run:

* **which kernels**: the precompiled ones (``kernels.precompiled``: the same
  machine code, without Numba in the process) where they take the call's
  arguments, else those Numba compiles and caches;
* **on how many threads**: Numba's thread pool serves one kernel at a time
  (calls from other threads meanwhile run serially), and not at all in a
  process forked from one that used it;
* **the BLAS hold**: while a kernel that calls BLAS runs, NumPy's BLAS is held
  to one thread, so that no BLAS pool runs inside Numba's and every GEMM runs
  single-threaded whatever else the process does (OpenBLAS rounds the rows at
  its tile edges differently over two threads: the hold keeps the bits);
* **how work is cut**: a network with a BLAS-sized layer trains each batch as
  chunks of rows whose gradients are summed, and predicts in row blocks.

The route a call takes depends on its arguments (and the settings in
``kernels.config``), never on what the process did before: the same call
gives the same bits on one thread or many, first or last.
"""

import os
import sys
import threading
from contextlib import contextmanager

import numpy as np

from fastmlp import kernels
from fastmlp.kernels import config, openblas, precompiled

# --------------------------------------------------------------------------
# Threads
# --------------------------------------------------------------------------

# One kernel at a time runs on Numba's thread pool (a parallel prediction, or a
# training call with its chunks side by side); calls from other threads
# meanwhile run serially instead of piling thread pools on top of each other.
_THREAD_POOL = threading.Lock()

# Numba's OpenMP threading layer (GNU OpenMP) cannot be used again in a process
# forked from one that has used it: Numba stops such a child with SIGTERM. A
# forked child (multiprocessing's default start method on Linux) therefore runs
# its kernels serially once its parent has started Numba's thread pool.
_parallel_after_fork = True


def _after_fork_in_child():
    global _parallel_after_fork
    if "numba.np.ufunc.parallel" not in sys.modules:
        return  # no kernel of the parent has run on Numba's threads
    try:
        from numba.np.ufunc import parallel as numba_parallel

        if getattr(numba_parallel, "_is_initialized", True):
            _parallel_after_fork = False
    except Exception:  # noqa: BLE001 - when in doubt, stay serial
        _parallel_after_fork = False


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


# Calls from several threads share the BLAS hold; the last one out gives BLAS
# back the thread count it had before the first came (the user's setting).
_BLAS_HOLD = threading.Lock()
_blas_holders = 0
_blas_threads_before = None


def hold_blas():
    """Hold NumPy's BLAS to one thread; returns the thread count it had before
    the first holder came, or None where the kernels run on the fallback
    binding (kernels.blas), whose BLAS fastmlp does not steer."""
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


def release_blas():
    global _blas_holders

    with _BLAS_HOLD:
        _blas_holders -= 1
        if _blas_holders == 0 and _blas_threads_before != 1:
            openblas.set_blas_threads(_blas_threads_before)


def numba_threads():
    """Numba's thread count (imports Numba: only for kernels that run on it)."""
    import numba

    return numba.get_num_threads()


@contextmanager
def kernel_threads(blas, parallel=True):
    """Around a kernel call: yields whether the call may run on Numba's thread
    pool. ``blas``: the call runs BLAS GEMMs, and NumPy's BLAS is held to one
    thread meanwhile (hold_blas); such a call goes parallel only where the
    BLAS can be held and the user's BLAS setting (threadpoolctl) and Numba's
    (set_num_threads) both allow two threads or more. Any call: only when
    ``parallel`` is wanted, no other kernel holds the pool and the process is
    not a fork of one that used the pool."""
    user = hold_blas() if blas else None
    held = user is not None
    try:
        ok = parallel and _parallel_after_fork
        if ok and blas:
            ok = held and user >= 2 and numba_threads() >= 2
        if ok and not _THREAD_POOL.acquire(blocking=False):
            ok = False
        try:
            yield ok
        finally:
            if ok:
                _THREAD_POOL.release()
    finally:
        if held:
            release_blas()


# --------------------------------------------------------------------------
# How work is cut
# --------------------------------------------------------------------------


def blas_min(units):
    """The kernels' blas_min for layer sizes ``units``: config.BLAS_MIN_WEIGHTS
    when a layer has that many weights, else None, which compiles the kernels
    without their BLAS code (a small network compiles only what it runs)."""
    threshold = config.BLAS_MIN_WEIGHTS
    for l in range(len(units) - 1):
        if int(units[l]) * int(units[l + 1]) >= threshold:
            return threshold
    return None


def split_chunks(batch_size, blas_min):
    """How many chunks of rows each training batch is cut into: 1 for a
    network without a BLAS layer, else config.SPLIT_CHUNKS, fewer where the
    batch has too few rows for kernels.CHUNK_MIN_ROWS in each. A function of
    the network and the batch size alone: the chunks run side by side or one
    after the other (kernel_threads decides) to the same bits."""
    if blas_min is None:
        return 1
    return kernels.chunk_count(batch_size, config.SPLIT_CHUNKS)


def training_buffers(units, batch_size, blas_min, params):
    """The scratch of one fit, allocated once: (work, gpart) for batches of up
    to batch_size rows. Unsplit batches: one work buffer, gpart None. Split:
    each chunk its own part of work and, past the first, its own gradient
    buffer, a row of gpart."""
    n_chunks = split_chunks(batch_size, blas_min)
    if n_chunks == 1:
        work = np.empty(kernels.workspace_size(units, batch_size), dtype=params.dtype)
        return work, None
    chunk_ws, _ = kernels.chunk_workspace(units, batch_size, n_chunks)
    work = np.empty(n_chunks * chunk_ws, dtype=params.dtype)
    gpart = np.empty((n_chunks - 1, params.shape[0]), dtype=params.dtype)
    return work, gpart


# --------------------------------------------------------------------------
# The entry points
# --------------------------------------------------------------------------


# The precompiled modules and their lookup table, looked for once per process:
# (modules or None, table or None).
_precompiled = None


def precompiled_module():
    """The precompiled modules if they may be used here (precompiled.load),
    else None."""
    global _precompiled
    if _precompiled is None:
        mod = precompiled.load()
        _precompiled = (mod, None if mod is None else precompiled.lookup_table(mod))
    return _precompiled[0]


def lookup(name, args):
    """The precompiled function that runs kernels.<name>(*args), or None."""
    if precompiled_module() is None:
        return None
    return precompiled.find(_precompiled[1], name, args)


def run_kernel(name, args):
    """kernels.<name>(*args), on the precompiled kernels where they take these
    arguments, else on Numba's."""
    fn = lookup(name, args)
    if fn is None:
        fn = getattr(kernels, name)
    return fn(*args)


def fit_epochs(
    head, x_args, tail, hyper, ctrl_f, ctrl_i, key, pos, losses, n_epochs, blas_min,
    gpart,
):  # fmt: skip
    """kernels.fit_epochs(*head, *x_args, *tail, hyper, ...): up to n_epochs
    epochs of a stochastic fit. Split batches (gpart given) run their chunks
    side by side where kernel_threads allows it, else one after the other."""
    args = (
        *head, *x_args, *tail, hyper, ctrl_f, ctrl_i, key, pos, losses, n_epochs,
        blas_min, gpart,
    )  # fmt: skip
    with kernel_threads(blas_min is not None, gpart is not None) as threaded:
        return run_kernel("fit_epochs", (*args, threaded))


def loss_gradient(grads, work, gpart, losses, params, x_args, fixed, blas_min):
    """L-BFGS's loss and gradient over the full batch into grads:
    kernels.forward_backward, or forward_backward_split where the batch is cut
    into chunks (gpart given, losses one slot per chunk)."""
    with kernel_threads(blas_min is not None, gpart is not None) as threaded:
        if gpart is not None:
            return kernels.forward_backward_split(
                grads, gpart, losses, work, params, *x_args, *fixed, blas_min,
                threaded,
            )  # fmt: skip
        return run_kernel(
            "forward_backward", (grads, work, params, *x_args, *fixed, blas_min)
        )


def predict(out, x_args, sparse, n, params, units, act, out_act, blas_min):
    """The network's outputs for n rows into out; returns the kernels' count:
    > 0 non-finite values read in X, < 0 non-finite outputs written for a
    finite X, 0 neither.

    x_args: a dense X and three Nones, or None and a CSR matrix's three arrays.
    Fewer than kernels.ROWS_MAX dense rows take one block through the
    sample-major loops, with no GEMM and no threads (blas_min None: those loops
    are the same with or without the kernel's BLAS code, so a wide network's
    few rows run on the precompiled kernels too). Larger inputs are cut into
    row blocks that run side by side from config.PREDICT_PARALLEL_MIN_ROWS rows
    (a wide network's GEMMs then single-threaded; a sparse input to a wide
    network stays serial, its GEMMs threaded by BLAS), and a wide network's
    dense input from config.PREDICT_SPLIT_MIN_ROWS as two blocks of n // 2
    rows. The blocks depend on n alone, so the bits do not depend on threads.
    """
    wide = blas_min is not None
    block = config.PREDICT_BLAS_BLOCK if wide else config.PREDICT_BLOCK
    if not sparse and n < kernels.ROWS_MAX:
        head = (out, *x_args, n, params, units, act, out_act, block, None)
        return run_kernel("predict_serial", head)
    parallel = n >= config.PREDICT_PARALLEL_MIN_ROWS and not (wide and sparse)
    if wide and not sparse and config.PREDICT_SPLIT_MIN_ROWS <= n and not parallel:
        block = n // 2
        parallel = True
    head = (out, *x_args, n, params, units, act, out_act, block, blas_min)
    with kernel_threads(wide, parallel) as parallel:
        if parallel:
            return kernels.predict_parallel(*head, numba_threads())
        return run_kernel("predict_serial", head)
