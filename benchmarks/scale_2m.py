"""Fit on 2 million rows x 50 float32 features memory-mapped from disk, and show
that fastmlp trains on the mapping without a copy of X.

The script writes X to a temporary .npy file in chunks (it never holds X in
memory), maps it with ``np.load(mmap_mode="r")``, fits an MLPClassifier for a
few epochs and predicts every row. It prints the time of each step and the
memory, three ways:

- peak RSS (VmHWM): includes the pages of the mapped file that were read, which
  the kernel can drop again at any time; a full pass over X maps all of it;
- anonymous memory (RssAnon), sampled every few milliseconds during the fit and
  the prediction: what the process allocated; a copy of X would add X.nbytes
  (it can stay flat where the allocator reuses memory freed by an earlier step);
- the peak of NumPy's allocations during each step, traced by tracemalloc.

A copy of X, by the library or by this script, would show in both the
anonymous memory and the traced allocations; the script exits with status 1 if
either grew by half of X or more.

Usage: python benchmarks/scale_2m.py [--rows N] [--features F] [--epochs E]
"""

import argparse
import os
import tempfile
import threading
import time
import tracemalloc
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from fastmlp import MLPClassifier

MB = 1024**2


def status_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(field)


class AnonSampler:
    """Peak of RssAnon while a block runs, sampled by a helper thread."""

    def __init__(self, every=0.005):
        self.every = every

    def __enter__(self):
        self.start = status_kb("RssAnon")
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, status_kb("RssAnon"))
            time.sleep(self.every)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, status_kb("RssAnon"))

    @property
    def growth(self):
        return self.peak - self.start


def write_npy(path, rows, features, chunk=100_000, seed=0):
    """X (float32, C order) to a .npy file chunk by chunk, and labels y (3
    classes from a fixed nonlinear rule) in memory."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=features).astype(np.float32)
    y = np.empty(rows, dtype=np.int64)
    header = {
        "descr": np.lib.format.dtype_to_descr(np.dtype(np.float32)),
        "fortran_order": False,
        "shape": (rows, features),
    }
    with open(path, "wb") as fh:
        np.lib.format.write_array_header_1_0(fh, header)
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            Xc = rng.standard_normal((n, features), dtype=np.float32)
            score = Xc @ w / np.sqrt(features) + 0.5 * np.sin(3 * Xc[:, 0] * Xc[:, 1])
            y[start : start + n] = np.digitize(score, [-0.4, 0.4])
            Xc.tofile(fh)
    return y


def _args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--features", type=int, default=50)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--hidden", type=int, nargs="+", default=[64])
    ap.add_argument(
        "--dir", default=None, help="where to write X (default: a temp dir)"
    )
    return ap.parse_args()


def _warm_up(hidden, X, y):
    """Compile or load the kernels on a small slice first, so that the timings
    are of the work itself."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warm = MLPClassifier(hidden, max_iter=1).fit(X[:500], y[:500])
        warm.predict_proba(X[:3000])


def _measured_fit(est, X, y):
    """Fit, and predict every row: times, anonymous memory and traced
    allocations of each step."""
    tracemalloc.start()
    t0 = time.perf_counter()
    with AnonSampler() as fit_anon, warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    fit_s = time.perf_counter() - t0
    _, fit_traced = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    tracemalloc.start()
    t0 = time.perf_counter()
    with AnonSampler() as pred_anon:
        proba = est.predict_proba(X)
    pred_s = time.perf_counter() - t0
    _, pred_traced = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return dict(
        fit_s=fit_s,
        fit_anon=fit_anon.growth,
        fit_traced=fit_traced,
        pred_s=pred_s,
        pred_anon=pred_anon.growth,
        pred_traced=pred_traced,
        proba=proba,
    )


def _report(est, X, y, m, rss_before):
    """Print the measurements; return the checks as {what: passed}."""
    rows = X.shape[0]
    proba = m["proba"]
    accuracy = float(np.mean(est.classes_[proba.argmax(axis=1)] == y))
    print(
        "fit:     %.1f s (%d epochs, %.2f s/epoch), training loss %.4f"
        % (m["fit_s"], est.n_iter_, m["fit_s"] / est.n_iter_, est.loss_)
    )
    print(
        "predict: %.2f s for all rows (%.0f rows/s), training accuracy %.3f"
        % (m["pred_s"], rows / m["pred_s"], accuracy)
    )
    print(
        "X:                                %8.0f MB (on disk, mapped)" % (X.nbytes / MB)
    )
    print("RSS before the fit                %8.0f MB" % (rss_before / MB))
    print(
        "peak RSS (VmHWM)                  %8.0f MB  (includes the mapped "
        "file's pages; file-backed RSS, libraries included, is %.0f MB now)"
        % (status_kb("VmHWM") / MB, status_kb("RssFile") / MB)
    )
    print(
        "anonymous memory during the fit   %8.0f MB more at its peak"
        % (m["fit_anon"] / MB)
    )
    print(
        "anonymous memory during predict   %8.0f MB more at its peak "
        "(the output is %.0f MB)" % (m["pred_anon"] / MB, proba.nbytes / MB)
    )
    print(
        "NumPy allocations, peak (traced)  %8.0f MB in the fit, %.0f MB in "
        "predict" % (m["fit_traced"] / MB, m["pred_traced"] / MB)
    )
    half = X.nbytes / 2
    return {
        "the fit's anonymous memory grew by less than half of X": m["fit_anon"] < half,
        "the fit's traced NumPy allocations stayed under half of X": (
            m["fit_traced"] < half
        ),
        "predict's traced allocations stayed under half of X": (
            m["pred_traced"] < half
        ),
    }


def main():
    args = _args()
    hidden = tuple(args.hidden)
    print(
        "fastmlp scale check: %d rows x %d float32 features, memory-mapped; "
        "hidden layers %s, %d epochs, %d CPUs"
        % (args.rows, args.features, args.hidden, args.epochs, os.cpu_count())
    )
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        path = os.path.join(tmp, "X.npy")
        t0 = time.perf_counter()
        y = write_npy(path, args.rows, args.features)
        print(
            "wrote %s: %.0f MB in %.1f s"
            % (path, os.path.getsize(path) / MB, time.perf_counter() - t0)
        )
        X = np.load(path, mmap_mode="r")
        assert isinstance(X, np.memmap) and X.flags.c_contiguous
        assert X.dtype == np.float32 and not X.flags.writeable
        _warm_up(hidden, X, y)
        rss_before = status_kb("VmRSS")
        est = MLPClassifier(hidden, max_iter=args.epochs, random_state=0)
        measured = _measured_fit(est, X, y)
        checks = _report(est, X, y, measured, rss_before)
        for what, ok in checks.items():
            print("%s: %s" % ("ok  " if ok else "FAIL", what))
        del X, measured
    raise SystemExit(0 if all(checks.values()) else 1)


if __name__ == "__main__":
    main()
