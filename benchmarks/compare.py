"""fastmlp beside scikit-learn and (where installed) PyTorch on every benchmark
workload, in one table.

    python benchmarks/compare.py [--quick]

``fastmlp bench`` runs the same where fastmlp is installed from a clone of the
repository. Every workload of BENCHMARKS.md runs here, one after the other,
and the table reports ratios measured in this run. The in-process rows time
warm fits: every path is run once before timing, so that loading or compiling
code is not part of them. What a user meets before that is timed in fresh
processes, with the compiled-code cache warm (the ``(fresh)``, ``coldstart``
and ``cold(100,)`` rows) and empty (the first run ever). The run ends with each
performance target, met or MISSED, and the BLAS libraries in use.
"""

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
from harness import (
    DIGITS,
    PENGUINS,
    WIDE,
    WIDE_UNITS,
    blas_info,
    cold,
    digits,
    first_fits,
    fit_memory,
    flops_per_epoch,
    fmt,
    gemm_epoch,
    gemm_library,
    have_torch,
    paired,
    penguins,
    quiet,
    torch_fit,
    wide,
)

FASTMLP = "from fastmlp import MLPClassifier"
SKLEARN = "from sklearn.neural_network import MLPClassifier"

# --------------------------------------------------------------------------
# Targets
# --------------------------------------------------------------------------

# The project's performance targets (BENCHMARKS.md): (row, what is compared,
# bound, higher is better). "ratio" is scikit-learn's time over fastmlp's.
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
    return fmt(value)


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


# --------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------


class Table:
    """The rows of one run, printed as they are measured."""

    ROW = "%-14s %12s %12s %8.2fx  %s"

    def __init__(self, out):
        self.out = out
        self.rows = []

    def header(self):
        self.out(
            "%-14s %12s %12s %9s  %s"
            % ("workload", "fastmlp", "scikit-learn", "ratio", "notes")
        )

    def add(self, name, ours, theirs, extra="", **more):
        """A row of two times (seconds); the ratio is scikit-learn's over ours."""
        ratio = theirs / ours
        self.rows.append(
            dict(name=name, fastmlp=ours, sklearn=theirs, ratio=ratio, extra=extra)
        )
        self.rows[-1].update(more)
        self.out(self.ROW % (name, fmt(ours), fmt(theirs), ratio, extra))


def _versions(out):
    import sklearn

    import fastmlp

    out(
        "fastmlp %s, scikit-learn %s, numpy %s, %d CPUs"
        % (fastmlp.__version__, sklearn.__version__, np.__version__, os.cpu_count())
    )
    if have_torch():
        import torch

        out("PyTorch %s (%d threads)" % (torch.__version__, torch.get_num_threads()))
    else:
        out(
            "PyTorch not installed: its column is left out (pip install fastmlp[compare])"
        )
    out("")


# --------------------------------------------------------------------------
# Rows in this process: warm fits
# --------------------------------------------------------------------------


def bench_penguins(table, quick):
    from sklearn.neural_network import MLPClassifier as SkMLP

    from fastmlp import MLPClassifier

    X, y = penguins()
    MLPClassifier(**{**PENGUINS, "max_iter": 2}).fit(X, y)
    (t_fm, t_sk), _ = paired(
        [
            lambda: MLPClassifier(**PENGUINS).fit(X, y),
            lambda: SkMLP(**PENGUINS).fit(X, y),
        ],
        1 if quick else 3,
        inner=1 if quick else 5,
    )
    table.add("penguins", t_fm, t_sk, "500 epochs; %.1f us/epoch" % (t_fm / 500 * 1e6))


def bench_partial_fit(table, quick):
    """One partial_fit call (an epoch over the 342 rows) on a fitted network."""
    from sklearn.neural_network import MLPClassifier as SkMLP

    from fastmlp import MLPClassifier

    X, y = penguins()
    classes = np.unique(y)
    small = dict(hidden_layer_sizes=(5, 5), random_state=0)
    pf_fm = MLPClassifier(**small).partial_fit(X, y, classes=classes)
    pf_sk = SkMLP(**small).partial_fit(X, y, classes=classes)
    n_pf = 50 if quick else 300
    (t_fm, t_sk), _ = paired(
        [
            lambda: [pf_fm.partial_fit(X, y) for _ in range(n_pf)],
            lambda: [pf_sk.partial_fit(X, y) for _ in range(n_pf)],
        ],
        3,
    )
    table.add(
        "partialfit",
        t_fm / n_pf,
        t_sk / n_pf,
        "one partial_fit call on a fitted penguin network (an epoch, 342 rows)",
    )


def bench_digits(table, quick):
    from sklearn.neural_network import MLPClassifier as SkMLP

    from fastmlp import MLPClassifier

    X, y = digits()
    MLPClassifier(**{**DIGITS, "max_iter": 1}).fit(X, y)
    (t_fm, t_sk), _ = paired(
        [lambda: MLPClassifier(**DIGITS).fit(X, y), lambda: SkMLP(**DIGITS).fit(X, y)],
        1 if quick else 3,
        inner=1 if quick else 2,
    )
    table.add("digits", t_fm, t_sk, "100 epochs")


def bench_wide(table, quick):
    """wide32 and wide64 against scikit-learn, the BLAS roofline and PyTorch.
    Returns the fitted float32 model and the data."""
    from sklearn.neural_network import MLPClassifier as SkMLP

    from fastmlp import MLPClassifier

    torch_ok = have_torch()
    n_wide = 20_000 if quick else 100_000
    Xw, yw = wide(n_wide)
    epochs = WIDE["max_iter"]
    flops = flops_per_epoch(n_wide, WIDE_UNITS) * epochs
    model32 = None
    for name, dt in (("wide32", np.float32), ("wide64", np.float64)):
        X = Xw.astype(dt)
        MLPClassifier(**{**WIDE, "max_iter": 1}).fit(X[:2000], yw[:2000])
        fns = [
            lambda X=X: MLPClassifier(**WIDE).fit(X, yw),
            lambda X=X: SkMLP(**WIDE).fit(X, yw),
            lambda X=X: gemm_epoch(X, WIDE_UNITS, 200),
            lambda X=X: gemm_epoch(X, WIDE_UNITS, 200, chunks=2),
        ]
        if torch_ok:
            fns.append(lambda X=X, dt=dt: torch_fit(X, yw, (256, 128), epochs, 200, dt))
        times, outs = paired(fns, 1 if quick else 2)
        t_fm, t_sk, t_epoch, t_chunk = times[:4]
        if model32 is None:
            model32 = outs[0]
        roof = t_epoch * epochs
        extra = (
            "%.0f GFLOP/s (sklearn %.0f); roofline %.0f%% (BLAS GEMMs alone %.2f s); "
            "chunk GEMMs alone %.2f s"
            % (
                flops / t_fm / 1e9,
                flops / t_sk / 1e9,
                100 * roof / t_fm,
                roof,
                t_chunk * epochs,
            )
        )
        vs_torch = None
        if torch_ok:
            vs_torch = times[4] / t_fm
            extra += "; PyTorch %.2f s (%.2fx)" % (times[4], vs_torch)
        table.add(name, t_fm, t_sk, extra, roofline=roof / t_fm, torch=vs_torch)
    return model32, Xw, yw


def bench_predict(table, quick, model32, Xw, yw):
    """predict_proba of one row, and of 100k rows, on the wide float32 model."""
    from sklearn.neural_network import MLPClassifier as SkMLP

    sk32 = SkMLP(**{**WIDE, "max_iter": 1}).fit(Xw[:5000].astype(np.float32), yw[:5000])
    one = Xw[:1].astype(np.float32)
    for _ in range(50):
        model32.predict_proba(one)
        sk32.predict_proba(one)
    n_rep = 200 if quick else 2000
    (t_fm, t_sk), _ = paired(
        [
            lambda: [model32.predict_proba(one) for _ in range(n_rep)],
            lambda: [sk32.predict_proba(one) for _ in range(n_rep)],
        ],
        3,
    )
    table.add("predict1", t_fm / n_rep, t_sk / n_rep, "predict_proba of one row")
    big = np.random.default_rng(1).standard_normal((100_000, 100)).astype(np.float32)
    model32.predict_proba(big)
    (t_fm, t_sk), _ = paired(
        [lambda: model32.predict_proba(big), lambda: sk32.predict_proba(big)], 3
    )
    table.add(
        "predict",
        t_fm,
        t_sk,
        "100k rows: %.2f M rows/s (sklearn %.2f)" % (0.1 / t_fm, 0.1 / t_sk),
    )


# --------------------------------------------------------------------------
# Rows in fresh processes
# --------------------------------------------------------------------------


def bench_digits_fresh(table, quick, n_fits=5):
    """The digits network's first fits in a new process (compiled-code cache
    warm, imports and data loading not timed): what a script meets before the
    warm fits of the digits row. No target."""
    repeats = 1 if quick else 3
    first_fits(FASTMLP, n_fits, repeats=1)  # the cache filled
    ours = first_fits(FASTMLP, n_fits, repeats=repeats)
    theirs = first_fits(SKLEARN, n_fits, repeats=repeats)
    table.add(
        "digits (fresh)",
        ours[0],
        theirs[0],
        "the first fit in a new process (imports excluded); fits 1-%d: %s "
        "(scikit-learn %s)"
        % (
            n_fits,
            ", ".join(fmt(t) for t in ours),
            ", ".join(fmt(t) for t in theirs),
        ),
    )


def _numba_only():
    """The environment of a process that runs Numba's kernels alone."""
    return dict(os.environ, FASTMLP_PRECOMPILED="0")


def bench_coldstart(table):
    """A fresh process: import, fit the penguins for 200 epochs, predict; on
    the precompiled kernels where the install built them, and on Numba's alone
    for comparison."""
    from fastmlp.kernels import precompiled

    built = "yes" if precompiled.load() is not None else "no (not built or off)"
    numba_only = _numba_only()
    cold(FASTMLP, repeats=1)  # the cache filled
    cold(FASTMLP, env=numba_only, repeats=1)
    w_fm, i_fm = cold(FASTMLP)
    w_sk, i_sk = cold(SKLEARN)
    w_nb, i_nb = cold(FASTMLP, env=numba_only)
    table.add(
        "coldstart",
        w_fm,
        w_sk,
        "process wall time; in-process %.2f s vs %.2f s; precompiled kernels: %s "
        "(on Numba's kernels alone %.2f s, in-process %.2f s)"
        % (i_fm, i_sk, built, w_nb, i_nb),
    )


def bench_cold100(table):
    """The cold start with scikit-learn's default hidden layer, (100,), a
    BLAS-sized one: what a first script with default settings meets. No
    target."""
    d100 = (100,)
    cold(FASTMLP, repeats=1, hidden=d100)  # the cache filled
    w_fm, _ = cold(FASTMLP, hidden=d100)
    w_sk, _ = cold(SKLEARN, hidden=d100)
    table.add(
        "cold(100,)",
        w_fm,
        w_sk,
        "coldstart with hidden_layer_sizes=(100,), the default",
    )


def bench_first_run(table):
    """The cold start with an empty compiled-code cache: a first run ever."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        w_first, _ = cold(FASTMLP, env=env, repeats=1)
    with tempfile.TemporaryDirectory() as cache:
        env = dict(_numba_only(), NUMBA_CACHE_DIR=cache)
        w_first_nb, _ = cold(FASTMLP, env=env, repeats=1)
    table.out(
        "first run ever (empty compiled-code cache): %.1f s; on Numba's kernels "
        "alone (FASTMLP_PRECOMPILED=0): %.1f s" % (w_first, w_first_nb)
    )
    table.rows.append(
        dict(name="first-run", fastmlp=w_first, sklearn=np.nan, ratio=np.nan, extra="")
    )


def bench_memory(table, quick):
    """The peak RSS of a wide32 fit over the RSS before it, each library in a
    fresh process (Linux only). X itself, 100k x 100 float32, is 40 MB."""
    if not os.path.exists("/proc/self/clear_refs"):
        return
    n_wide = 20_000 if quick else 100_000
    try:
        b_fm, p_fm = fit_memory(FASTMLP, n_wide)
        b_sk, p_sk = fit_memory(SKLEARN, n_wide)
    except (subprocess.CalledProcessError, OSError, ValueError):
        return
    g_fm, g_sk = (p_fm - b_fm) / 1024, (p_sk - b_sk) / 1024
    ratio = g_sk / max(g_fm, 1e-9)
    table.out(
        "%-14s %9.0f MB %9.0f MB %8.1fx  wide32 fit: peak RSS above the "
        "RSS before it (peak %.0f MB vs %.0f MB)"
        % ("memory", g_fm, g_sk, ratio, p_fm / 1024, p_sk / 1024)
    )
    table.rows.append(
        dict(name="memory", fastmlp=g_fm, sklearn=g_sk, ratio=ratio, extra="MB")
    )


# --------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------


def run(quick=False, out=print):
    """Run every workload and print one table, the targets (not in a quick
    run) and the BLAS in use. Returns the rows as dicts."""
    quiet()
    _versions(out)
    table = Table(out)
    table.header()
    bench_penguins(table, quick)
    bench_partial_fit(table, quick)
    bench_digits(table, quick)
    bench_digits_fresh(table, quick)
    model32, Xw, yw = bench_wide(table, quick)
    bench_predict(table, quick, model32, Xw, yw)
    bench_coldstart(table)
    bench_cold100(table)
    if not quick:
        bench_first_run(table)
    bench_memory(table, quick)
    out("")
    if not quick:
        for line in target_lines(table.rows):
            out(line)
        out("")
    out("BLAS libraries loaded: " + blas_info())
    out("fastmlp's GEMMs call: %s" % gemm_library())
    return table.rows


def main(argv=None, prog=None):
    """Entry point of ``python benchmarks/compare.py`` and ``fastmlp bench``."""
    parser = argparse.ArgumentParser(
        prog=prog,
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
