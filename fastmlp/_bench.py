"""Side-by-side benchmarks: fastmlp, scikit-learn and (where installed) PyTorch.

Every workload of the project's benchmark table runs here in one process, one
after the other, and the table reports ratios measured in this run. Compile time
is kept out of the fit timings (every fastmlp path is warmed up first) and
measured on its own (cold start, in fresh processes).

Run it with ``fastmlp bench`` or ``python benchmarks/compare.py``.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

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


def _quiet():
    from sklearn.exceptions import ConvergenceWarning

    warnings.simplefilter("ignore", ConvergenceWarning)


# numpy's OpenBLAS and the one Numba's np.dot calls (scipy's) are two libraries
# with two thread pools; threads of one spin for a while after a call and slow
# the other down. A pause before each timing lets them go idle.
SETTLE_SECONDS = 0.5


def _paired(fns, rounds, inner=1):
    """Best time of each function, run in alternation (a, b, c, a, b, c, ...), so
    that a slow spell of a shared machine falls on all of them alike. Each turn
    runs a function ``inner`` times back to back: a run of a few milliseconds
    right after the settling pause is slowed by the machine waking up (clock,
    caches), which says nothing about either library."""
    best = [np.inf] * len(fns)
    outs = [None] * len(fns)
    for _ in range(rounds):
        for i, fn in enumerate(fns):
            t, outs[i] = _best(fn, inner)
            best[i] = min(best[i], t)
    return best, outs


def _best(fn, repeats):
    best = np.inf
    out = None
    time.sleep(SETTLE_SECONDS)
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def _penguins():
    from sklearn.preprocessing import StandardScaler

    from fastmlp.datasets import load_penguins

    X, y = load_penguins(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def _wide(n_samples):
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=n_samples,
        n_features=100,
        n_informative=50,
        n_classes=10,
        random_state=0,
    )
    return X, y


def _flops_per_epoch(n, units):
    return 6.0 * n * sum(a * b for a, b in zip(units[:-1], units[1:], strict=True))


def _gemm_epoch(X, units, batch_size, chunks=None):
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


def _torch_fit(X, y, hidden, epochs, batch_size, dtype):
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


def _have_torch():
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def _blas_info():
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


def _cold(imp, env=None, repeats=3, hidden=(5, 5)):
    code = _COLD_SCRIPT.format(imp=imp, hidden=hidden)
    best_inner = np.inf
    best_wall = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        )
        best_wall = min(best_wall, time.perf_counter() - t0)
        best_inner = min(best_inner, float(out.stdout.strip().splitlines()[-1]))
    return best_wall, best_inner


_RSS_SCRIPT = """
import warnings
import numpy as np
{imp}
from fastmlp._bench import WIDE, _wide

warnings.simplefilter("ignore")


def status_kb(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])


{prep}
X, y = _wide({n})
X = X.astype(np.float32)
MLPClassifier(**{{**WIDE, "max_iter": 1}}).fit(X[:2000], y[:2000])  # code loaded
before = status_kb("VmRSS")
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # the peak (VmHWM) starts again from the current RSS
MLPClassifier(**WIDE).fit(X, y)
print(before, status_kb("VmHWM"))
"""


def _fit_memory(imp, n):
    """(RSS before, peak RSS during) a wide32 fit, in kB, in a fresh process
    (Linux's /proc): the process's peak is reset just before the fit."""
    prep = ""
    if "fastmlp" in imp:
        # The fit moves to Numba's kernels after its first second on the
        # precompiled ones: the warm-up loads Numba's, so that the peak is the
        # fit's own (Numba and LLVM take about 100 MB more).
        prep = "import fastmlp._base\nfastmlp._base.PRECOMPILED_SERIAL_SECONDS = 0.0"
    code = _RSS_SCRIPT.format(imp=imp, n=n, prep=prep)
    res = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    before, peak = res.stdout.split()[-2:]
    return int(before), int(peak)


# The project's performance targets (the README's Performance table): (row,
# what is compared, bound, higher is better). "ratio" is scikit-learn's time over fastmlp's.
TARGETS = (
    ("penguins", "ratio", 30.0, True),
    ("digits", "ratio", 5.0, True),
    ("wide32", "ratio", 3.0, True),
    ("wide32", "torch", 2.0, True),
    ("wide32", "roofline", 0.6, True),
    ("wide64", "ratio", 3.0, True),
    ("wide64", "roofline", 0.6, True),
    ("predict1", "fastmlp", 30e-6, False),
    ("predict", "ratio", 2.0, True),
    ("coldstart", "ratio", 1.0, True),
    ("first-run", "fastmlp", 20.0, False),
)


def _target_value(key, value, label=True):
    if key == "roofline":
        return ("roofline %.0f%%" if label else "%.0f%%") % (100 * value)
    if key == "torch":
        return ("%.2fx PyTorch" if label else "%.2fx") % value
    if key == "ratio":
        return "%.2fx" % value
    return _fmt(value)


def target_lines(rows):
    """Each performance target against this run's rows (from ``run``):
    lines saying met or MISSED, with the figure unrounded enough to tell (a
    5.0x printed for 4.98x is a miss), then whether all were met."""
    by_name = {r["name"]: r for r in rows}
    lines = ["Performance targets, this run:"]
    missed = []
    for name, key, bound, higher in TARGETS:
        row = by_name.get(name)
        value = None if row is None else row.get(key)
        if value is None or not np.isfinite(value):
            lines.append("  %-9s %-16s not measured" % (name, key))
            missed.append(name)
            continue
        met = value >= bound if higher else value <= bound
        shown = _target_value(key, value)
        limit = _target_value(key, bound, label=False)
        lines.append(
            "  %-9s %-16s %s %s: %s"
            % (name, shown, ">=" if higher else "<=", limit, "met" if met else "MISSED")
        )
        if not met:
            missed.append(name)
    missed = list(dict.fromkeys(missed))
    lines.append(
        "all targets met in this run"
        if not missed
        else "targets missed in this run: " + ", ".join(missed)
    )
    return lines


def run(quick=False, out=print):
    """Run every workload and print one table. Returns the rows as dicts."""
    import sklearn
    from sklearn.neural_network import MLPClassifier as SkMLP

    import fastmlp
    import fastmlp._base
    from fastmlp import MLPClassifier

    _quiet()
    # The in-process rows time where a process's work settles: a network with a
    # BLAS-sized layer on Numba's kernels, both cores, as after its first second
    # on the precompiled ones (PRECOMPILED_SERIAL_SECONDS); the fresh-process
    # rows (coldstart, cold(100,)) time the start.
    fastmlp._base.PRECOMPILED_SERIAL_SECONDS = 0.0
    repeats = 1 if quick else 3
    rows = []

    def row(name, ours, theirs, ratio_label, extra=""):
        rows.append(
            dict(
                name=name,
                fastmlp=ours,
                sklearn=theirs,
                ratio=theirs / ours,
                extra=extra,
            )
        )
        out(
            "%-10s %12s %12s %8.2fx  %s"
            % (name, _fmt(ours), _fmt(theirs), theirs / ours, extra)
        )

    out(
        "fastmlp %s, scikit-learn %s, numpy %s, %d CPUs"
        % (fastmlp.__version__, sklearn.__version__, np.__version__, os.cpu_count())
    )
    torch_ok = _have_torch()
    if torch_ok:
        import torch

        out("PyTorch %s (%d threads)" % (torch.__version__, torch.get_num_threads()))
    else:
        out(
            "PyTorch not installed: its column is left out (pip install fastmlp[compare])"
        )
    out("")
    out(
        "%-10s %12s %12s %9s  %s"
        % ("workload", "fastmlp", "scikit-learn", "ratio", "notes")
    )

    # penguins
    X, y = _penguins()
    MLPClassifier(**{**PENGUINS, "max_iter": 2}).fit(X, y)
    (t_fm, t_sk), _ = _paired(
        [
            lambda: MLPClassifier(**PENGUINS).fit(X, y),
            lambda: SkMLP(**PENGUINS).fit(X, y),
        ],
        repeats,
        inner=1 if quick else 5,
    )
    row("penguins", t_fm, t_sk, "x", "500 epochs; %.1f us/epoch" % (t_fm / 500 * 1e6))

    # partial_fit: one call (an epoch over the 342 rows) on a fitted network
    classes = np.unique(y)
    small = dict(hidden_layer_sizes=(5, 5), random_state=0)
    pf_fm = MLPClassifier(**small).partial_fit(X, y, classes=classes)
    pf_sk = SkMLP(**small).partial_fit(X, y, classes=classes)
    n_pf = 50 if quick else 300
    (t_fm, t_sk), _ = _paired(
        [
            lambda: [pf_fm.partial_fit(X, y) for _ in range(n_pf)],
            lambda: [pf_sk.partial_fit(X, y) for _ in range(n_pf)],
        ],
        3,
    )
    row(
        "partialfit",
        t_fm / n_pf,
        t_sk / n_pf,
        "x",
        "one partial_fit call on a fitted penguin network (an epoch, 342 rows)",
    )

    # digits
    X, y = _digits()
    MLPClassifier(**{**DIGITS, "max_iter": 1}).fit(X, y)
    (t_fm, t_sk), _ = _paired(
        [lambda: MLPClassifier(**DIGITS).fit(X, y), lambda: SkMLP(**DIGITS).fit(X, y)],
        repeats,
        inner=1 if quick else 2,
    )
    row("digits", t_fm, t_sk, "x", "100 epochs")

    # wide32 / wide64
    n_wide = 20_000 if quick else 100_000
    Xw, yw = _wide(n_wide)
    units = [100, 256, 128, 10]
    flops = _flops_per_epoch(n_wide, units) * WIDE["max_iter"]
    models = {}
    for name, dt in (("wide32", np.float32), ("wide64", np.float64)):
        X = Xw.astype(dt)
        MLPClassifier(**{**WIDE, "max_iter": 1}).fit(X[:2000], yw[:2000])
        fns = [
            lambda X=X: MLPClassifier(**WIDE).fit(X, yw),
            lambda X=X: SkMLP(**WIDE).fit(X, yw),
            lambda X=X: _gemm_epoch(X, units, 200),
            lambda X=X: _gemm_epoch(X, units, 200, chunks=2),
        ]
        if torch_ok:
            fns.append(
                lambda X=X, dt=dt: _torch_fit(
                    X, yw, (256, 128), WIDE["max_iter"], 200, dt
                )
            )
        times, outs = _paired(fns, 1 if quick else 2)
        t_fm, t_sk, t_epoch, t_chunk = times[:4]
        models[name] = outs[0]
        roof = t_epoch * WIDE["max_iter"]
        floor = t_chunk * WIDE["max_iter"]
        extra = (
            "%.0f GFLOP/s (sklearn %.0f); roofline %.0f%% (BLAS GEMMs alone %.2f s); "
            "chunk GEMMs alone %.2f s"
            % (flops / t_fm / 1e9, flops / t_sk / 1e9, 100 * roof / t_fm, roof, floor)
        )
        if torch_ok:
            t_pt = times[4]
            extra += "; PyTorch %.2f s (%.2fx)" % (t_pt, t_pt / t_fm)
        row(name, t_fm, t_sk, "x", extra)
        rows[-1]["roofline"] = roof / t_fm
        rows[-1]["torch"] = t_pt / t_fm if torch_ok else None

    # predict: one row, and 100k rows, on the wide float32 model
    m32 = models["wide32"]
    sk32 = SkMLP(**{**WIDE, "max_iter": 1}).fit(Xw[:5000].astype(np.float32), yw[:5000])
    one = Xw[:1].astype(np.float32)
    for _ in range(50):
        m32.predict_proba(one)
        sk32.predict_proba(one)
    n_rep = 200 if quick else 2000
    (t_fm, t_sk), _ = _paired(
        [
            lambda: [m32.predict_proba(one) for _ in range(n_rep)],
            lambda: [sk32.predict_proba(one) for _ in range(n_rep)],
        ],
        3,
    )
    row("predict1", t_fm / n_rep, t_sk / n_rep, "x", "predict_proba of one row")
    big = np.random.default_rng(1).standard_normal((100_000, 100)).astype(np.float32)
    m32.predict_proba(big)
    (t_fm, t_sk), _ = _paired(
        [lambda: m32.predict_proba(big), lambda: sk32.predict_proba(big)], 3
    )
    row(
        "predict",
        t_fm,
        t_sk,
        "x",
        "100k rows: %.2f M rows/s (sklearn %.2f)" % (0.1 / t_fm, 0.1 / t_sk),
    )

    # cold start: fresh processes, compiled-code cache warm; the penguin fit
    # runs on the precompiled kernels where the install built them, and again
    # on Numba's alone (FASTMLP_PRECOMPILED=0) for comparison
    from fastmlp.kernels import precompiled

    built = "yes" if precompiled.module() is not None else "no (not built or off)"
    numba_only = dict(os.environ, FASTMLP_PRECOMPILED="0")
    _cold("from fastmlp import MLPClassifier", repeats=1)  # fill the cache
    _cold("from fastmlp import MLPClassifier", env=numba_only, repeats=1)
    w_fm, i_fm = _cold("from fastmlp import MLPClassifier")
    w_sk, i_sk = _cold("from sklearn.neural_network import MLPClassifier")
    w_nb, i_nb = _cold("from fastmlp import MLPClassifier", env=numba_only)
    row(
        "coldstart",
        w_fm,
        w_sk,
        "x",
        "process wall time; in-process %.2f s vs %.2f s; precompiled kernels: %s "
        "(on Numba's kernels alone %.2f s, in-process %.2f s)"
        % (i_fm, i_sk, built, w_nb, i_nb),
    )
    # The same with scikit-learn's default hidden layer, (100,), a BLAS-sized
    # layer (not a target: what a first script with default settings meets).
    d100 = (100,)
    _cold("from fastmlp import MLPClassifier", repeats=1, hidden=d100)
    _cold("from fastmlp import MLPClassifier", env=numba_only, repeats=1, hidden=d100)
    w_fm, _ = _cold("from fastmlp import MLPClassifier", hidden=d100)
    w_sk, _ = _cold("from sklearn.neural_network import MLPClassifier", hidden=d100)
    w_nb, _ = _cold("from fastmlp import MLPClassifier", env=numba_only, hidden=d100)
    row(
        "cold(100,)",
        w_fm,
        w_sk,
        "x",
        "coldstart with hidden_layer_sizes=(100,), the default; on Numba's "
        "kernels alone %.2f s" % w_nb,
    )
    if not quick:
        with tempfile.TemporaryDirectory() as cache:
            env = dict(os.environ, NUMBA_CACHE_DIR=cache)
            w_first, _ = _cold("from fastmlp import MLPClassifier", env=env, repeats=1)
        with tempfile.TemporaryDirectory() as cache:
            env = dict(numba_only, NUMBA_CACHE_DIR=cache)
            w_first_nb, _ = _cold(
                "from fastmlp import MLPClassifier", env=env, repeats=1
            )
        out(
            "first run ever (empty compiled-code cache): %.1f s; on Numba's kernels "
            "alone (FASTMLP_PRECOMPILED=0): %.1f s" % (w_first, w_first_nb)
        )
        rows.append(
            dict(
                name="first-run",
                fastmlp=w_first,
                sklearn=np.nan,
                ratio=np.nan,
                extra="",
            )
        )
    # memory: the peak RSS of a wide32 fit over the RSS before it, each library
    # in a fresh process (X itself, 100k x 100 float32, is 40 MB)
    if os.path.exists("/proc/self/clear_refs"):
        try:
            mem = [
                _fit_memory("from fastmlp import MLPClassifier", n_wide),
                _fit_memory("from sklearn.neural_network import MLPClassifier", n_wide),
            ]
        except (subprocess.CalledProcessError, OSError, ValueError):
            mem = None
        if mem is not None:
            (b_fm, p_fm), (b_sk, p_sk) = mem
            g_fm, g_sk = (p_fm - b_fm) / 1024, (p_sk - b_sk) / 1024
            out(
                "%-10s %9.0f MB %9.0f MB %8.1fx  wide32 fit: peak RSS above the "
                "RSS before it (peak %.0f MB vs %.0f MB)"
                % (
                    "memory",
                    g_fm,
                    g_sk,
                    g_sk / max(g_fm, 1e-9),
                    p_fm / 1024,
                    p_sk / 1024,
                )
            )
            rows.append(
                dict(
                    name="memory",
                    fastmlp=g_fm,
                    sklearn=g_sk,
                    ratio=g_sk / max(g_fm, 1e-9),
                    extra="MB",
                )
            )
    out("")
    if not quick:
        for line in target_lines(rows):
            out(line)
        out("")
    out("BLAS libraries loaded: " + _blas_info())
    from fastmlp.kernels import blas

    out(
        "fastmlp's GEMMs call: %s"
        % (
            os.path.basename(blas.LIBRARY) + " (NumPy's own)"
            if blas.LIBRARY
            else "np.dot inside Numba (SciPy's BLAS)"
        )
    )
    return rows


def _fmt(seconds):
    if seconds < 1e-3:
        return "%.1f us" % (seconds * 1e6)
    if seconds < 1:
        return "%.1f ms" % (seconds * 1e3)
    return "%.2f s" % seconds


def main(argv=None):
    """Entry point of ``fastmlp bench``."""
    parser = argparse.ArgumentParser(
        prog="fastmlp bench",
        description="fastmlp beside scikit-learn (and PyTorch, where installed) on "
        "every benchmark workload, in one process.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="smaller wide workloads and fewer repeats"
    )
    args = parser.parse_args(argv)
    run(quick=args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
