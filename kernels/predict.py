"""Forward-only inference: X (n, n_features) -> out (n, n_outputs).

Rows are processed in blocks; each block is transposed to feature-major and
pushed through the layers with the hand-written dense kernel (no BLAS call, so
that the parallel version can run blocks on every core without nesting thread
pools).
"""

import numpy as np
from numba import njit, prange

from .dense import dense_forward
from .losses import output_forward


@njit(cache=True)
def _forward_block(out, X, r0, B, params, units, act, out_act, buf_a, buf_b):
    """Forward rows r0:r0 + B of X into out[r0:r0 + B], using two scratch buffers."""
    L = units.shape[0] - 1
    n_features = units[0]
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
        dense_forward(Z, A, W, b, act if l < L - 1 else 0, fi, fo, B)
        p_off += fi * fo + fo
        src, dst = dst, src
    K = units[L]
    Z = src[: K * B].reshape((K, B))
    output_forward(Z, out_act, K, B)
    for i in range(B):
        for j in range(K):
            out[r0 + i, j] = Z[j, i]


@njit(cache=True)
def predict_forward(out, X, params, units, act, out_act, block):
    """Serial forward pass: the fast path for a few rows."""
    n = X.shape[0]
    width = 0
    for l in range(units.shape[0]):
        width = max(width, units[l])
    cap = min(block, n)
    buf_a = np.empty(width * cap, dtype=params.dtype)
    buf_b = np.empty(width * cap, dtype=params.dtype)
    for r0 in range(0, n, block):
        B = min(block, n - r0)
        _forward_block(out, X, r0, B, params, units, act, out_act, buf_a, buf_b)


@njit(cache=True, parallel=True)
def predict_forward_parallel(out, X, params, units, act, out_act, block):
    """Forward pass with row blocks spread over the threads (prange)."""
    n = X.shape[0]
    width = 0
    for l in range(units.shape[0]):
        width = max(width, units[l])
    n_blocks = (n + block - 1) // block
    for bi in prange(n_blocks):
        r0 = bi * block
        B = min(block, n - r0)
        buf_a = np.empty(width * B, dtype=params.dtype)
        buf_b = np.empty(width * B, dtype=params.dtype)
        _forward_block(out, X, r0, B, params, units, act, out_act, buf_a, buf_b)
