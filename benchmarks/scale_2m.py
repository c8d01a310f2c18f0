"""Fit on 2 million rows x 50 float32 features memory-mapped from disk, and show
that fastmlp trains on the mapping itself, without a copy of X.

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

It also checks directly that the array the training kernel reads is the mapping
(``np.shares_memory``). It exits with status 1 if any check fails.

Usage: python benchmarks/scale_2m.py [--rows N] [--features F] [--epochs E]
"""

import argparse
import os
import tempfile
import threading
import time
import tracemalloc
import warnings

import fastmlp.kernels
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


def watch_training_input(X):
    """Wrap the training kernels so that each call records whether an array of
    X's shape among its arguments is the mapping itself."""
    seen = []
    for name in ("fit_epochs",):
        kernel = getattr(fastmlp.kernels, name)

        def wrapped(*args, _kernel=kernel):
            for a in args:
                if isinstance(a, np.ndarray) and a.shape == X.shape:
                    seen.append(np.shares_memory(a, X))
            return _kernel(*args)

        setattr(fastmlp.kernels, name, wrapped)
    return seen


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--features", type=int, default=50)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--hidden", type=int, nargs="+", default=[64])
    ap.add_argument(
        "--dir", default=None, help="where to write X (default: a temp dir)"
    )
    args = ap.parse_args()

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
        seen = watch_training_input(X)

        est = MLPClassifier(tuple(args.hidden), max_iter=args.epochs, random_state=0)
        # Compile or load the kernels on a small slice first, so that the
        # timings below are of the work itself.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            warm = MLPClassifier(tuple(args.hidden), max_iter=1).fit(X[:500], y[:500])
            warm.predict_proba(X[:3000])
        seen.clear()
        rss_before = status_kb("VmRSS")

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
        accuracy = float(np.mean(est.classes_[proba.argmax(axis=1)] == y))

        x_mb = X.nbytes / MB
        print(
            "fit:     %.1f s (%d epochs, %.2f s/epoch), training loss %.4f"
            % (fit_s, est.n_iter_, fit_s / est.n_iter_, est.loss_)
        )
        print(
            "predict: %.2f s for all rows (%.0f rows/s), training accuracy %.3f"
            % (pred_s, args.rows / pred_s, accuracy)
        )
        print("X:                                %8.0f MB (on disk, mapped)" % x_mb)
        print("RSS before the fit                %8.0f MB" % (rss_before / MB))
        print(
            "peak RSS (VmHWM)                  %8.0f MB  (includes the mapped "
            "file's pages; file-backed RSS, libraries included, is %.0f MB now)"
            % (status_kb("VmHWM") / MB, status_kb("RssFile") / MB)
        )
        print(
            "anonymous memory during the fit   %8.0f MB more at its peak"
            % (fit_anon.growth / MB)
        )
        print(
            "anonymous memory during predict   %8.0f MB more at its peak "
            "(the output is %.0f MB)" % (pred_anon.growth / MB, proba.nbytes / MB)
        )
        print(
            "NumPy allocations, peak (traced)  %8.0f MB in the fit, %.0f MB in "
            "predict" % (fit_traced / MB, pred_traced / MB)
        )

        checks = {
            "the training kernel read the mapping itself": bool(seen) and all(seen),
            "the fit's anonymous memory grew by less than half of X": (
                fit_anon.growth < X.nbytes / 2
            ),
            "the fit's traced NumPy allocations stayed under half of X": (
                fit_traced < X.nbytes / 2
            ),
            "predict's traced allocations stayed under half of X": (
                pred_traced < X.nbytes / 2
            ),
        }
        for what, ok in checks.items():
            print("%s: %s" % ("ok  " if ok else "FAIL", what))
        del X, proba
    raise SystemExit(0 if all(checks.values()) else 1)


if __name__ == "__main__":
    main()
