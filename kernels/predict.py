"""Forward-only inference: X (n, n_features) -> out (n, n_outputs).

Rows are processed in blocks; each block is transposed to feature-major and
pushed through the layers with the hand-written dense kernel (no BLAS call, so
that the parallel version can run blocks on every core without nesting thread
pools). A CSR input goes through the sparse first-layer kernel instead.
"""

import numpy as np
from numba import njit, prange

from .dense import dense_forward
from .losses import output_forward
from .sparse import sparse_rows_forward


@njit(cache=True)
def _forward_block(
    out, X, Xp, Xi, Xd, sparse, r0, B, params, units, act, out_act, buf_a, buf_b
):
    """Forward rows r0:r0 + B into out[r0:r0 + B], using two scratch buffers."""
    L = units.shape[0] - 1
    n_features = units[0]
    if not sparse:
        A = buf_a[: n_features * B].reshape((n_features, B))
        for i in range(B):
            for k in range(n_features):
                A[k, i] = X[r0 + i, k]
    p_off = 0
    src = buf_a
    dst = buf_b
    for l in range(L):
        fi = units[l]
        fo = units[l + 1]
        A = src[: fi * B].reshape((fi, B))
        Z = dst[: fo * B].reshape((fo, B))
        W = params[p_off : p_off + fi * fo].reshape((fi, fo))
        b = params[p_off + fi * fo : p_off + fi * fo + fo]
        a_l = act if l < L - 1 else 0
        if l == 0 and sparse:
            sparse_rows_forward(Z, Xp, Xi, Xd, r0, W, b, a_l, fi, fo, B)
        else:
            dense_forward(Z, A, W, b, a_l, fi, fo, B)
        p_off += fi * fo + fo
        src, dst = dst, src
    K = units[L]
    Z = src[: K * B].reshape((K, B))
    output_forward(Z, out_act, K, B)
    for i in range(B):
        for j in range(K):
            out[r0 + i, j] = Z[j, i]


@njit(cache=True)
def _max_width(units):
    width = 0
    for l in range(units.shape[0]):
        width = max(width, units[l])
    return width


@njit(cache=True)
def _predict_serial(out, X, Xp, Xi, Xd, sparse, n, params, units, act, out_act, block):
    width = _max_width(units)
    cap = min(block, n)
    buf_a = np.empty(width * cap, dtype=params.dtype)
    buf_b = np.empty(width * cap, dtype=params.dtype)
    for r0 in range(0, n, block):
        B = min(block, n - r0)
        _forward_block(
            out, X, Xp, Xi, Xd, sparse, r0, B, params, units, act, out_act, buf_a, buf_b
        )


@njit(cache=True, parallel=True)
def _predict_parallel(
    out, X, Xp, Xi, Xd, sparse, n, params, units, act, out_act, block
):
    width = _max_width(units)
    n_blocks = (n + block - 1) // block
    for bi in prange(n_blocks):
        r0 = bi * block
        B = min(block, n - r0)
        buf_a = np.empty(width * B, dtype=params.dtype)
        buf_b = np.empty(width * B, dtype=params.dtype)
        _forward_block(
            out, X, Xp, Xi, Xd, sparse, r0, B, params, units, act, out_act, buf_a, buf_b
        )


@njit(cache=True)
def predict_forward(out, X, params, units, act, out_act, block):
    """Serial forward pass: the fast path for a few rows."""
    no_i = np.empty(0, dtype=np.int64)
    no_d = np.empty(0, dtype=params.dtype)
    _predict_serial(
        out, X, no_i, no_i, no_d, False, X.shape[0], params, units, act, out_act, block
    )


@njit(cache=True)
def predict_forward_parallel(out, X, params, units, act, out_act, block):
    """Forward pass with row blocks spread over the threads (prange)."""
    no_i = np.empty(0, dtype=np.int64)
    no_d = np.empty(0, dtype=params.dtype)
    _predict_parallel(
        out, X, no_i, no_i, no_d, False, X.shape[0], params, units, act, out_act, block
    )


@njit(cache=True)
def predict_forward_csr(out, Xp, Xi, Xd, params, units, act, out_act, block, parallel):
    """Forward pass of a CSR input (indptr, indices, data), serial or in parallel."""
    no_x = np.empty((0, units[0]), dtype=params.dtype)
    n = Xp.shape[0] - 1
    if parallel:
        _predict_parallel(
            out, no_x, Xp, Xi, Xd, True, n, params, units, act, out_act, block
        )
    else:
        _predict_serial(
            out, no_x, Xp, Xi, Xd, True, n, params, units, act, out_act, block
        )
