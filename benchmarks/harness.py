"""The measuring tools of fastmlp's benchmarks: the workloads, paired timing,
the BLAS roofline of an epoch, a PyTorch reference loop, and scripts that run
in fresh processes (cold start, a process's first fits, peak memory).

``compare.py`` builds its table from these; the asv suite's cold-start
benchmark runs ``cold``. This folder is not part of the installed package:
import it with the folder on ``sys.path`` (running ``python
benchmarks/compare.py`` puts it there).
"""

import os
import subprocess
import sys
import time
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))

# --------------------------------------------------------------------------
# Workloads (BENCHMARKS.md)
# --------------------------------------------------------------------------

PENGUINS = dict(
    hidden_layer_sizes=(5, 5),
    solver="adam",
    batch_size=200,
    max_iter=500,
    tol=0.0,
    n_iter_no_change=10**9,
    random_state=0,
)
DIGITS = dict(
    hidden_layer_sizes=(100,),
    solver="adam",
    max_iter=100,
    tol=0.0,
    n_iter_no_change=10**9,
    random_state=0,
)
WIDE = dict(
    hidden_layer_sizes=(256, 128),
    solver="adam",
    batch_size=200,
    max_iter=3,
    tol=0.0,
    n_iter_no_change=10**9,
    random_state=0,
)
# The wide network's units, input to output.
WIDE_UNITS = [100, 256, 128, 10]


def quiet():
    """Silence the ConvergenceWarning of fits stopped at max_iter on purpose."""
    from sklearn.exceptions import ConvergenceWarning

    warnings.simplefilter("ignore", ConvergenceWarning)


def penguins():
    from sklearn.preprocessing import StandardScaler

    from fastmlp.datasets import load_penguins

    X, y = load_penguins(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def wide(n_samples):
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=n_samples,
        n_features=100,
        n_informative=50,
        n_classes=10,
        random_state=0,
    )
    return X, y


# --------------------------------------------------------------------------
# Timing in this process
# --------------------------------------------------------------------------

# numpy's OpenBLAS and the one Numba's np.dot calls (scipy's) are two libraries
# with two thread pools; threads of one spin for a while after a call and slow
# the other down. A pause before each timing lets them go idle.
SETTLE_SECONDS = 0.5


def paired(fns, rounds, inner=1):
    """Best time of each function, run in alternation (a, b, c, a, b, c, ...), so
    that a slow spell of a shared machine falls on all of them alike. Each turn
    runs a function ``inner`` times back to back: a run of a few milliseconds
    right after the settling pause is slowed by the machine waking up (clock,
    caches), which says nothing about either library. Returns the best times
    and each function's last result."""
    best_times = [np.inf] * len(fns)
    outs = [None] * len(fns)
    for _ in range(rounds):
        for i, fn in enumerate(fns):
            t, outs[i] = best(fn, inner)
            best_times[i] = min(best_times[i], t)
    return best_times, outs


def best(fn, repeats):
    """(best time of ``repeats`` calls of fn after the settling pause, the
    last call's result)."""
    best_time = np.inf
    out = None
    time.sleep(SETTLE_SECONDS)
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best_time = min(best_time, time.perf_counter() - t0)
    return best_time, out


def flops_per_epoch(n, units):
    return 6.0 * n * sum(a * b for a, b in zip(units[:-1], units[1:], strict=True))


def gemm_epoch(X, units, batch_size, chunks=None):
    """One epoch's GEMMs in NumPy's BLAS alone, nothing else.

    chunks None: the BLAS roofline, the bound a fit cannot beat by much:
    forward, dW and dX of every layer at the batch size, BLAS threading each
    GEMM. chunks k: the GEMMs as fastmlp's fit runs them, each batch cut into k
    chunks of rows whose GEMMs (forward and dW of every layer, dX of every
    layer but the first) run single-threaded, one chunk per core; timed for one
    chunk per batch on one thread, the least time the cores can spend on them
    side by side at one core's speed."""
    from threadpoolctl import threadpool_limits

    dt = X.dtype
    rows = batch_size if chunks is None else batch_size // chunks
    rng = np.random.default_rng(0)
    Ws = [
        rng.standard_normal((a, b)).astype(dt)
        for a, b in zip(units[:-1], units[1:], strict=True)
    ]
    acts = [np.empty((rows, u), dt) for u in units]
    deltas = [np.ones((rows, u), dt) for u in units]
    dWs = [np.empty_like(W) for W in Ws]
    n_batches = X.shape[0] // batch_size
    with threadpool_limits(limits=None if chunks is None else 1, user_api="blas"):
        t0 = time.perf_counter()
        for b in range(n_batches):
            acts[0] = X[b * batch_size : b * batch_size + rows]
            for i, W in enumerate(Ws):
                np.dot(acts[i], W, out=acts[i + 1])
            for i in range(len(Ws) - 1, -1, -1):
                np.dot(acts[i].T, deltas[i + 1], out=dWs[i])
                if i > 0 or chunks is None:
                    np.dot(deltas[i + 1], Ws[i].T, out=deltas[i])
        t = time.perf_counter() - t0
    # Scale the whole batches' time to the epoch's rows.
    return t * X.shape[0] / (n_batches * batch_size)


def torch_fit(X, y, hidden, epochs, batch_size, dtype):
    """A plain PyTorch CPU training loop with the same layers, Adam and batch size."""
    import torch

    torch.manual_seed(0)
    tdt = torch.float32 if dtype == np.float32 else torch.float64
    Xt = torch.from_numpy(X)
    yt = torch.from_numpy(y.astype(np.int64))
    layers = []
    sizes = [X.shape[1], *hidden]
    for a, b in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [torch.nn.Linear(a, b, dtype=tdt), torch.nn.ReLU()]
    layers.append(torch.nn.Linear(sizes[-1], int(y.max()) + 1, dtype=tdt))
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=0.0)
    loss_fn = torch.nn.CrossEntropyLoss()
    n = X.shape[0]
    for _ in range(epochs):
        perm = torch.randperm(n)
        for s in range(0, n, batch_size):
            idx = perm[s : s + batch_size]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(Xt[idx]), yt[idx])
            loss.backward()
            opt.step()
    return model


def have_torch():
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


# --------------------------------------------------------------------------
# The BLAS in use
# --------------------------------------------------------------------------


def blas_info():
    """Every BLAS library loaded in this process, as threadpoolctl sees it."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed"
    parts = []
    for lib in threadpool_info():
        parts.append(
            "%s %s %s (%s, %s threads, %s)"
            % (
                os.path.basename(lib.get("filepath") or "?"),
                lib.get("internal_api"),
                lib.get("version"),
                lib.get("architecture"),
                lib.get("num_threads"),
                lib.get("threading_layer"),
            )
        )
    return "; ".join(parts) or "none found"


def gemm_library():
    """Which BLAS fastmlp's kernels call for their GEMMs."""
    from fastmlp.kernels import openblas

    if openblas.LIBRARY:
        return os.path.basename(openblas.LIBRARY) + " (NumPy's own)"
    return "np.dot inside Numba (SciPy's BLAS)"


# --------------------------------------------------------------------------
# Fresh processes
# --------------------------------------------------------------------------


def _python(code, env=None):
    """Run ``code`` in a fresh interpreter; (wall seconds, its stdout)."""
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return time.perf_counter() - t0, out.stdout


_COLD_SCRIPT = """
import time, warnings
t0 = time.perf_counter()
from sklearn.preprocessing import StandardScaler
{imp}
from fastmlp.datasets import load_penguins
warnings.simplefilter("ignore")
X, y = load_penguins(return_X_y=True)
X = StandardScaler().fit_transform(X)
m = MLPClassifier(hidden_layer_sizes={hidden}, max_iter=200, random_state=0).fit(X, y)
m.predict(X)
print(time.perf_counter() - t0)
"""


def cold(imp, env=None, repeats=3, hidden=(5, 5)):
    """A fresh process that runs ``imp`` (the import of an MLPClassifier), fits
    it on the penguins for 200 epochs and predicts. Returns the best of
    ``repeats`` processes: (wall time of the process, the script's own time
    from its first line to the end of the prediction)."""
    code = _COLD_SCRIPT.format(imp=imp, hidden=hidden)
    best_inner = np.inf
    best_wall = np.inf
    for _ in range(repeats):
        wall, stdout = _python(code, env)
        best_wall = min(best_wall, wall)
        best_inner = min(best_inner, float(stdout.strip().splitlines()[-1]))
    return best_wall, best_inner


_FIRST_FITS_SCRIPT = """
import sys, time, warnings
sys.path.insert(0, {here!r})
from harness import DIGITS, digits
{imp}
warnings.simplefilter("ignore")
X, y = digits()
times = []
for _ in range({n_fits}):
    t0 = time.perf_counter()
    MLPClassifier(**DIGITS).fit(X, y)
    times.append(time.perf_counter() - t0)
print(*times)
"""


def first_fits(imp, n_fits=5, repeats=3, env=None):
    """The times of the first ``n_fits`` fits of the digits network in a fresh
    process that runs ``imp`` (the import of an MLPClassifier) and loads the
    data before the first fit: the imports and the data are not timed; what
    the library loads or starts during a fit is. Best of ``repeats``
    processes, fit by fit."""
    code = _FIRST_FITS_SCRIPT.format(here=HERE, imp=imp, n_fits=n_fits)
    times = np.full(n_fits, np.inf)
    for _ in range(repeats):
        _, stdout = _python(code, env)
        times = np.minimum(times, [float(t) for t in stdout.split()[-n_fits:]])
    return times


_RSS_SCRIPT = """
import sys, warnings
import numpy as np
sys.path.insert(0, {here!r})
from harness import WIDE, wide
{imp}

warnings.simplefilter("ignore")


def status_kb(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])


X, y = wide({n})
X = X.astype(np.float32)
MLPClassifier(**{{**WIDE, "max_iter": 1}}).fit(X[:2000], y[:2000])  # code loaded
before = status_kb("VmRSS")
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # the peak (VmHWM) starts again from the current RSS
MLPClassifier(**WIDE).fit(X, y)
print(before, status_kb("VmHWM"))
"""


def fit_memory(imp, n):
    """(RSS before, peak RSS during) a wide32 fit, in kB, in a fresh process
    (Linux's /proc): a short fit first loads the code the fit runs, then the
    process's peak is reset, so that the peak is the fit's own."""
    code = _RSS_SCRIPT.format(here=HERE, imp=imp, n=n)
    _, stdout = _python(code)
    before, peak = stdout.split()[-2:]
    return int(before), int(peak)


def fmt(seconds):
    """A time with a unit that keeps three or four digits."""
    if seconds < 1e-3:
        return "%.1f us" % (seconds * 1e6)
    if seconds < 1:
        return "%.1f ms" % (seconds * 1e3)
    return "%.2f s" % seconds
