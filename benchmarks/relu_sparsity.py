"""Would skipping the zeros of ReLU outputs beat BLAS on wide64's GEMMs?

Half of a ReLU layer's outputs are zero, so four of the five large GEMMs of a
wide64 batch (the second layer's forward, its dW and dX, the first layer's dW)
multiply by a matrix that is about half zeros. A kernel that skips them does
half the multiply-adds, but gives up BLAS's register blocking: it pays off only
if it runs at more than half of BLAS's speed.

For the shapes of one core's chunk of a wide64 batch (100 rows, float64,
single-threaded), this times C = A @ B with A a ReLU output (about half zeros)
through NumPy's BLAS and through three sparse kernels in the style of the
project's: ``rows_axpy`` (each row's nonzeros gathered, then one scaled row of
B added per nonzero, the row of C kept in memory), ``rows_axpy8`` (eight
nonzeros per pass over C's row, with FMAs) and ``rows_blocked`` (C's row
accumulated 8 columns at a time in scalars, meant for the registers; LLVM does
not vectorize it). Each sparse kernel's time includes gathering the nonzeros.
A ratio above 1 is a sparse kernel faster than BLAS.

    python benchmarks/relu_sparsity.py
"""

import time

import numpy as np
from numba import njit
from threadpoolctl import threadpool_limits

# (rows, inner, columns) of the sparse-operand GEMMs of a wide64 chunk:
# layer 2 forward (A1 @ W2), layer 2 dX (dZ2 @ W2.T), layer 1 dW (dZ1.T @ X).
SHAPES = [(100, 256, 128), (100, 128, 256), (256, 100, 100)]


@njit(cache=True, nogil=True)
def _gather(idx, val, cnt, A):
    """Each row's nonzeros of A: their columns idx[i, :cnt[i]], values val."""
    m, k = A.shape
    for i in range(m):
        nz = 0
        for p in range(k):
            a = A[i, p]
            if a != 0.0:
                idx[i, nz] = p
                val[i, nz] = a
                nz += 1
        cnt[i] = nz


@njit(cache=True, nogil=True)
def rows_axpy(C, A, B, idx, val, cnt):
    """C = A @ B over A's nonzeros: C[i] += A[i, p] * B[p] for each nonzero."""
    _gather(idx, val, cnt, A)
    m = A.shape[0]
    n = B.shape[1]
    for i in range(m):
        for j in range(n):
            C[i, j] = 0.0
        for q in range(cnt[i]):
            a = val[i, q]
            p = idx[i, q]
            for j in range(n):
                C[i, j] += a * B[p, j]


@njit(cache=True, nogil=True, fastmath={"contract"})
def rows_axpy8(C, A, B, idx, val, cnt):
    """rows_axpy with eight nonzeros per pass over C's row (one load and store
    of C per eight scaled rows of B; products contracted into FMAs)."""
    _gather(idx, val, cnt, A)
    m = A.shape[0]
    n = B.shape[1]
    for i in range(m):
        c = cnt[i]
        for j in range(n):
            C[i, j] = 0.0
        for q in range(c % 8):
            a = val[i, q]
            p = idx[i, q]
            for j in range(n):
                C[i, j] += a * B[p, j]
        for q in range(c % 8, c, 8):
            a0, a1, a2, a3 = val[i, q], val[i, q + 1], val[i, q + 2], val[i, q + 3]
            a4, a5, a6, a7 = val[i, q + 4], val[i, q + 5], val[i, q + 6], val[i, q + 7]
            p0, p1, p2, p3 = idx[i, q], idx[i, q + 1], idx[i, q + 2], idx[i, q + 3]
            p4, p5, p6, p7 = idx[i, q + 4], idx[i, q + 5], idx[i, q + 6], idx[i, q + 7]
            for j in range(n):
                C[i, j] += (
                    (a0 * B[p0, j] + a1 * B[p1, j]) + (a2 * B[p2, j] + a3 * B[p3, j])
                ) + ((a4 * B[p4, j] + a5 * B[p5, j]) + (a6 * B[p6, j] + a7 * B[p7, j]))


@njit(cache=True, nogil=True)
def rows_blocked(C, A, B, idx, val, cnt):
    """rows_axpy with C's row accumulated in 8 scalars per block of columns."""
    _gather(idx, val, cnt, A)
    m = A.shape[0]
    n = B.shape[1]
    for j0 in range(0, n - 7, 8):
        for i in range(m):
            c0 = c1 = c2 = c3 = c4 = c5 = c6 = c7 = 0.0
            for q in range(cnt[i]):
                a = val[i, q]
                p = idx[i, q]
                c0 += a * B[p, j0]
                c1 += a * B[p, j0 + 1]
                c2 += a * B[p, j0 + 2]
                c3 += a * B[p, j0 + 3]
                c4 += a * B[p, j0 + 4]
                c5 += a * B[p, j0 + 5]
                c6 += a * B[p, j0 + 6]
                c7 += a * B[p, j0 + 7]
            C[i, j0] = c0
            C[i, j0 + 1] = c1
            C[i, j0 + 2] = c2
            C[i, j0 + 3] = c3
            C[i, j0 + 4] = c4
            C[i, j0 + 5] = c5
            C[i, j0 + 6] = c6
            C[i, j0 + 7] = c7
    for j in range(n - n % 8, n):  # the columns past the last block of 8
        for i in range(m):
            s = 0.0
            for q in range(cnt[i]):
                s += val[i, q] * B[idx[i, q], j]
            C[i, j] = s


def _best(f, reps=200, rounds=5):
    f()
    best = np.inf
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(reps):
            f()
        best = min(best, (time.perf_counter() - t0) / reps)
    return best


def _shape_row(rng, m, k, n):
    """The line of the table for one shape."""
    A = np.maximum(rng.standard_normal((m, k)), 0.0)
    B = rng.standard_normal((k, n))
    C = np.empty((m, n))
    idx = np.empty((m, k), np.int64)
    val = np.empty((m, k))
    cnt = np.empty(m, np.int64)
    t_blas = _best(lambda: np.dot(A, B, out=C))
    ref = A @ B
    cells = []
    for kernel in (rows_axpy, rows_axpy8, rows_blocked):
        out = np.empty((m, n))
        kernel(out, A, B, idx, val, cnt)
        np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)
        t = _best(lambda kernel=kernel, out=out: kernel(out, A, B, idx, val, cnt))
        cells.append("%9.1f us %6.2fx" % (t * 1e6, t_blas / t))
    shape = "%d x %d x %d" % (m, k, n)
    zeros = 100 * np.mean(A == 0)
    return "%-16s %5.0f%% %8.1f us %s" % (shape, zeros, t_blas * 1e6, " ".join(cells))


def main():
    rng = np.random.default_rng(0)
    print("C = A @ B, float64, one thread; A a ReLU output; ratio = BLAS time / kernel")
    print(
        "%-16s %6s %11s %17s %17s %17s"
        % ("m x k x n", "zeros", "BLAS", "rows_axpy", "rows_axpy8", "rows_blocked")
    )
    with threadpool_limits(1):
        for m, k, n in SHAPES:
            print(_shape_row(rng, m, k, n))


if __name__ == "__main__":
    main()
