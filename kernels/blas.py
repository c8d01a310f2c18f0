"""GEMM through the BLAS library that NumPy itself runs on.

Numba's ``np.dot`` calls SciPy's copy of OpenBLAS, while NumPy (and so
scikit-learn, and any NumPy code around a fit) calls its own bundled copy: two
libraries, two pools of worker threads. A pool's threads spin for a while after
each call, so right after NumPy's BLAS work the two pools fight over the cores
(a digits fit measured 1.5x slower right after a scikit-learn fit than after
another fastmlp fit). The kernels therefore call ``cblas_?gemm`` of NumPy's
library directly: one pool, shared with everything else in the process, and
``threadpoolctl`` limits on NumPy's BLAS apply to the kernels too.

The kernels call an external symbol, ``fastmlp_cblas_sgemm`` or
``fastmlp_cblas_dgemm``, with the 64-bit-integer CBLAS signature. It is bound at
import to NumPy's bundled OpenBLAS (the ``scipy_cblas_?gemm64_`` symbols of the
PyPI wheels, found by ``openblas``). Where that library is not found (NumPy built against another
BLAS), the symbol is bound instead to a compiled function of the same signature
that does the product with ``np.dot``, i.e. SciPy's BLAS: the kernels' machine
code (and its on-disk cache) is the same either way. Setting the environment
variable ``FASTMLP_NUMPY_BLAS=0`` before import chooses the fallback.

Only what the kernels need is supported: row-major, C-contiguous operands.
"""

import numpy as np
from llvmlite import binding as ll
from numba import carray, cfunc, njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from . import openblas
from .config import JIT, JIT_INLINE

ROW_MAJOR = 101
NO_TRANS = 111
TRANS = 112


def _signature(real):
    return types.void(
        types.int32,  # order
        types.int32,  # transA
        types.int32,  # transB
        types.int64,  # M
        types.int64,  # N
        types.int64,  # K
        real,  # alpha
        types.voidptr,  # A
        types.int64,  # lda
        types.voidptr,  # B
        types.int64,  # ldb
        real,  # beta
        types.voidptr,  # C
        types.int64,  # ldc
    )


_SGEMM = types.ExternalFunction("fastmlp_cblas_sgemm", _signature(types.float32))
_DGEMM = types.ExternalFunction("fastmlp_cblas_dgemm", _signature(types.float64))


@njit(**JIT)
def _fallback_product(c, a, trans_a, b, trans_b, alpha, beta):
    """c = alpha op(a) op(b) + beta c with np.dot; each branch hands np.dot
    operands of a fixed contiguous layout (C, or F for a transpose)."""
    if trans_a:
        prod = np.dot(a.T, b.T) if trans_b else np.dot(a.T, b)
    else:
        prod = np.dot(a, b.T) if trans_b else np.dot(a, b)
    M, N = c.shape
    for i in range(M):
        for j in range(N):
            v = alpha * prod[i, j]
            c[i, j] = v + beta * c[i, j] if beta != 0 else v


def _make_fallbacks():
    """C-callable gemms of the CBLAS signature doing the product with np.dot.

    Row-major, C-contiguous operands only (lda, ldb, ldc equal to the column
    counts), which is all the kernels pass. Compiled (or loaded from Numba's
    cache) only where NumPy's own BLAS is not found."""

    @cfunc(_signature(types.float32), nopython=True, cache=True)
    def sgemm_fallback(order, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc):
        a = carray(A, (K, M) if ta == TRANS else (M, K), dtype=np.float32)
        b = carray(B, (N, K) if tb == TRANS else (K, N), dtype=np.float32)
        c = carray(C, (M, N), dtype=np.float32)
        _fallback_product(c, a, ta == TRANS, b, tb == TRANS, alpha, beta)

    @cfunc(_signature(types.float64), nopython=True, cache=True)
    def dgemm_fallback(order, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc):
        a = carray(A, (K, M) if ta == TRANS else (M, K), dtype=np.float64)
        b = carray(B, (N, K) if tb == TRANS else (K, N), dtype=np.float64)
        c = carray(C, (M, N), dtype=np.float64)
        _fallback_product(c, a, ta == TRANS, b, tb == TRANS, alpha, beta)

    return sgemm_fallback, dgemm_fallback


_FALLBACKS = ()


def _bind():
    """Point the two external symbols at NumPy's BLAS, or at the fallbacks.
    Returns the path of the library bound, or None for the fallbacks."""
    global _FALLBACKS
    if openblas.FOUND is not None:
        _, s, d = openblas.FOUND
        ll.add_symbol("fastmlp_cblas_sgemm", s)
        ll.add_symbol("fastmlp_cblas_dgemm", d)
        return openblas.LIBRARY
    _FALLBACKS = _make_fallbacks()
    ll.add_symbol("fastmlp_cblas_sgemm", _FALLBACKS[0].address)
    ll.add_symbol("fastmlp_cblas_dgemm", _FALLBACKS[1].address)
    return None


# The thread count of the library bound (kernels.openblas, which loads no Numba).
blas_threads = openblas.blas_threads
set_blas_threads = openblas.set_blas_threads


# Measured with NumPy's OpenBLAS 0.3.31 (SkylakeX kernels, the ones an AMD Zen 4
# machine gets; benchmarks/blas_side_by_side.py reproduces it): two float32
# GEMMs out = W^T A^T (both operands transposed) of different row counts, run
# single-threaded at the same time in two threads, now and then return wrong
# values (5 x 8 weights, 66 and 67 rows: ~5 in 10,000 calls; 64 x 100, 99 and
# 98 rows: ~1 in 10,000). The same GEMMs of equal row counts never did (0 in
# 100,000), nor float64 (0 in 430,000), nor the Haswell kernels
# (OPENBLAS_CORETYPE=Haswell). fastmlp therefore runs float32 GEMMs side by
# side only over equal row counts.
@njit(**JIT_INLINE)
def side_by_side_ok(C, rows_a, rows_b):
    """Whether GEMMs into arrays of C's dtype over rows_a and rows_b rows may
    run at the same time in two threads: float64 always, float32 only when the
    row counts are equal (see the note above)."""
    return C.itemsize == 8 or rows_a == rows_b


@intrinsic
def data_ptr(typingctx, arr):
    """The address of an array's first element, as a void pointer."""
    sig = types.voidptr(arr)

    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        return builder.bitcast(ary.data, cgutils.voidptr_t)

    return sig, codegen


@njit(**JIT)
def gemm(C, A, trans_a, B, trans_b, beta):
    """C = op(A) op(B) + beta C, op(X) = X.T where trans_x, else X.

    A, B, C: C-contiguous 2-D arrays of one dtype (float32 or float64), C of
    shape (M, N), op(A) (M, K), op(B) (K, N); nothing is checked here."""
    M = C.shape[0]
    N = C.shape[1]
    K = A.shape[0] if trans_a else A.shape[1]
    ta = TRANS if trans_a else NO_TRANS
    tb = TRANS if trans_b else NO_TRANS
    if C.itemsize == 4:
        _SGEMM(
            ROW_MAJOR,
            ta,
            tb,
            M,
            N,
            K,
            np.float32(1.0),
            data_ptr(A),
            A.shape[1],
            data_ptr(B),
            B.shape[1],
            np.float32(beta),
            data_ptr(C),
            N,
        )
    else:
        _DGEMM(
            ROW_MAJOR,
            ta,
            tb,
            M,
            N,
            K,
            1.0,
            data_ptr(A),
            A.shape[1],
            data_ptr(B),
            B.shape[1],
            float(beta),
            data_ptr(C),
            N,
        )


LIBRARY = _bind()
