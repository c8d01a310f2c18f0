"""Every setting of fastmlp in one place: the kernels' compiler options, the
tunables that choose how a call runs, and the environment switches.

Plain Python: importing it loads no Numba. Three kinds of setting live here.

* **Compiler option sets** (``JIT``, ``JIT_FAST``, ``JIT_PARALLEL``,
  ``JIT_INLINE``): the ``@njit`` options of every kernel. Constants.
* **Tunables** (``DEFAULTS``): thresholds and sizes that decide how a call runs
  (which layers call BLAS, how predictions are cut into blocks, how long one
  compiled training call lasts). None of them changes what is computed beyond
  rounding: the same fit gives the same bits on any thread count. Read them as
  attributes of this module (``config.BLAS_MIN_WEIGHTS``); change them with
  ``set(...)`` or, for a block of code, ``override(...)``; ``reset()`` restores
  the defaults. Tests and benchmarks use these, never an assignment to another
  module's globals.
* **Environment switches** (``SWITCHES``): read once by ``environment()`` when
  first asked, again after ``reset()``.

The table in ``docs/architecture.md`` lists every entry with its reason.
"""

import os
from contextlib import contextmanager

# --------------------------------------------------------------------------
# Compiler option sets
# --------------------------------------------------------------------------

# Let LLVM reassociate and contract float reductions so that sums over the
# batch vectorize. No 'nnan'/'ninf': non-finite values must stay detectable.
FASTMATH = frozenset({"reassoc", "contract", "nsz"})

# Every kernel: cached machine code (a new process loads instead of compiling),
# the GIL released (threads run kernels side by side), NumPy's error model (no
# Python-style division checks, so divisions and square roots vectorize; a
# non-finite result is detected by the caller).
JIT = {"cache": True, "nogil": True, "error_model": "numpy"}
# Loops whose float reductions may be reassociated (see FASTMATH).
JIT_FAST = {**JIT, "fastmath": set(FASTMATH)}
# Kernels that spread work over Numba's threads with prange.
JIT_PARALLEL = {**JIT, "parallel": True}
# Small helpers inlined into their callers (their options are the caller's).
JIT_INLINE = {"inline": "always", "cache": True, "nogil": True}

# --------------------------------------------------------------------------
# Tunables
# --------------------------------------------------------------------------

DEFAULTS = {
    # A layer whose weight matrix has at least this many entries runs its GEMMs
    # through BLAS; smaller layers run the hand-written loops, which have no
    # call overhead and fuse bias and activation (benchmarks/crossover.py
    # measures the crossover). A network with no such layer compiles its
    # kernels without the BLAS code.
    "BLAS_MIN_WEIGHTS": 64,
    # Training that Python need not drive epoch by epoch runs many epochs per
    # compiled call, each call sized to last about this long, so that Ctrl-C
    # is seen between calls.
    "EPOCH_CALL_SECONDS": 0.2,
    # The most epochs one such call runs (its losses are held until it returns).
    "EPOCH_CALL_LOSSES": 4096,
    # A batch of a network with a BLAS layer is cut into (up to) this many
    # chunks of rows (layout.CHUNK_MIN_ROWS each at least) whose gradients are
    # summed; the chunks run side by side on Numba's threads. A constant, not
    # the thread count: a fit gives the same bits on any number of threads.
    "SPLIT_CHUNKS": 2,
    # Predictions of this many rows or more spread row blocks over the cores.
    "PREDICT_PARALLEL_MIN_ROWS": 2048,
    # Rows per block of a parallel prediction: a small network's blocks, and a
    # wide network's (whose activations should stay in a core's L2 cache).
    "PREDICT_BLOCK": 128,
    "PREDICT_BLAS_BLOCK": 512,
    # A wide network's dense prediction of this many rows up to
    # PREDICT_PARALLEL_MIN_ROWS runs as two blocks of n // 2 rows side by side.
    # Not lower: a parallel call right after NumPy's BLAS ran on several
    # threads waits for OpenBLAS's spinning workers, which a prediction of a
    # few hundred rows would feel most.
    "PREDICT_SPLIT_MIN_ROWS": 512,
}

# --------------------------------------------------------------------------
# Environment switches: name -> (default, what it does)
# --------------------------------------------------------------------------

SWITCHES = {
    "FASTMLP_PRECOMPILED": (
        "1",
        "0: never use the precompiled kernels; every call runs on the kernels "
        "Numba compiles (the same bits).",
    ),
    "FASTMLP_NUMPY_BLAS": (
        "1",
        "0: the kernels' GEMMs call SciPy's BLAS through a compiled np.dot "
        "instead of NumPy's own OpenBLAS. Only the library changes: the same "
        "chunks are computed, one after the other, since fastmlp then cannot "
        "hold that library's threads.",
    ),
    "NUMBA_DISABLE_JIT": (
        "0",
        "Numba's own switch; set, the precompiled kernels are not used either.",
    ),
    "NUMBA_BOUNDSCHECK": (
        "0",
        "Numba's own switch; set, the precompiled kernels (compiled without "
        "bounds checks) are not used, so every kernel runs checked.",
    ),
}

_env = None


def environment():
    """The environment switches as {name: value}, read once (the defaults of
    SWITCHES where a variable is not set), and again after reset()."""
    global _env
    if _env is None:
        _env = {name: os.environ.get(name, d) for name, (d, _) in SWITCHES.items()}
    return _env


def switch_on(name):
    """Whether the switch ``name`` is set to anything but "" or "0"."""
    return environment()[name] not in ("", "0")


def set(**settings):  # noqa: A001 - config.set, as in stumpy and scikit-learn
    """Change tunables (names of DEFAULTS) for the rest of the process."""
    for name, value in settings.items():
        if name not in DEFAULTS:
            raise KeyError("fastmlp.kernels.config has no tunable %r" % name)
        globals()[name] = value


@contextmanager
def override(**settings):
    """Tunables changed for the block, restored after it."""
    saved = {name: globals()[name] for name in settings if name in DEFAULTS}
    set(**settings)
    try:
        yield
    finally:
        set(**saved)


def reset():
    """Every tunable back to its default; the environment read afresh."""
    global _env
    globals().update(DEFAULTS)
    _env = None


reset()
