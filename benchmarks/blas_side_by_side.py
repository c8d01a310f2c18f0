"""Are two single-threaded GEMMs side by side safe with this BLAS?

fastmlp runs the chunks of a split batch, and the row blocks of a large
prediction, side by side on Numba's threads, each GEMM a single-threaded call of
NumPy's BLAS. This script runs the first layer's forward GEMM of such a chunk,
out = W^T A^T (both operands transposed, the call fastmlp makes), in two threads
at once, many times, and counts the results that differ from the first run's:
for equal and for unequal row counts in the two threads, in float32 and float64.

Some builds of NumPy's OpenBLAS (its SkylakeX kernels) return wrong float32
results now and then for unequal row counts side by side, and none for equal
ones or for float64; this script tells whether the BLAS at hand does. It is the
reason fastmlp never runs float32 chunks of unequal rows, or a float32
prediction's shorter last block, beside another
(fastmlp.kernels.blas.side_by_side_ok).

    python benchmarks/blas_side_by_side.py [--trials N]
"""

import argparse
import sys

import numpy as np
from fastmlp.kernels import openblas
from fastmlp.kernels.blas import gemm
from numba import njit, prange

# (fan_in, fan_out, rows in thread 0, rows in thread 1)
CASES = [
    (5, 8, 66, 67),
    (5, 8, 66, 66),
    (8, 5, 66, 67),
    (8, 5, 66, 66),
    (64, 100, 99, 98),
    (64, 100, 100, 100),
]


@njit(parallel=True)
def _side_by_side(out, W, A, rows0, rows1):
    fan_in, fan_out = W.shape
    for c in prange(2):
        rows = rows0 if c == 0 else rows1
        a = A[c, : rows * fan_in].reshape((rows, fan_in))
        gemm(out[c, : fan_out * rows].reshape((fan_out, rows)), W, True, a, True, 0.0)


def count_wrong(dtype, fan_in, fan_out, rows0, rows1, trials, seed=0):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((fan_in, fan_out)).astype(dtype)
    rows = max(rows0, rows1)
    A = rng.standard_normal((2, rows * fan_in)).astype(dtype)
    want = np.full((2, fan_out * rows), np.nan, dtype=dtype)
    _side_by_side(want, W, A, rows0, rows1)
    wrong = 0
    for _ in range(trials):
        got = np.full_like(want, np.nan)
        _side_by_side(got, W, A, rows0, rows1)
        if not np.array_equal(got, want, equal_nan=True):
            wrong += 1
    return wrong


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20000)
    args = parser.parse_args(argv)
    if openblas.blas_threads() is None:
        print("fastmlp's GEMMs do not run on NumPy's OpenBLAS here; nothing to check")
        return 0
    before = openblas.blas_threads()
    openblas.set_blas_threads(1)
    try:
        print("dtype    fan_in x fan_out  rows  wrong / trials")
        for dtype in (np.float32, np.float64):
            for fan_in, fan_out, rows0, rows1 in CASES:
                wrong = count_wrong(dtype, fan_in, fan_out, rows0, rows1, args.trials)
                print(
                    "%-8s %6d x %-8d %3d/%-3d %6d / %d"
                    % (
                        np.dtype(dtype).name,
                        fan_in,
                        fan_out,
                        rows0,
                        rows1,
                        wrong,
                        args.trials,
                    )
                )
    finally:
        openblas.set_blas_threads(before)
    return 0


if __name__ == "__main__":
    sys.exit(main())
