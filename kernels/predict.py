"""Forward-only inference: X (n, n_features) -> out (n, n_outputs).

Rows are processed in blocks, in one of three ways chosen by the caller:

- ``predict_serial`` with a network that has a layer of at least ``blas_min``
  weights: sample-major blocks, whose wide layers are one BLAS GEMM each on the
  block as it lies in memory (BLAS brings its own threads);
- ``predict_serial`` otherwise: blocks transposed to feature-major and pushed
  through the hand-written loops, which vectorize over the rows; blocks of fewer
  than ROWS_MAX rows (single-row latency) stay sample-major and vectorize over
  the units;
- ``predict_parallel``: the same blocks spread over the threads with prange;
  a wide network's GEMMs then run single-threaded in each thread (the caller
  holds BLAS to one thread: no thread pool nested in another).

Both take either a dense X or the three arrays of a CSR matrix (indptr,
indices, data), the other input being None: Numba then compiles each flavour
without the other's code.

A CSR input goes through the sparse first-layer kernel instead.

Every entry point returns the number of non-finite values it met in X, so that
the API layer can refuse such input without a separate pass over it; where X
is all finite, it returns minus the number of non-finite values it wrote to
``out`` (a network overflowed by values far beyond its training data's scale),
so that the API layer can say so, again without a pass of its own.
"""

import numpy as np
from numba import njit, prange

from .activations import ACT_IDENTITY
from .blas import gemm, side_by_side_ok
from .config import JIT, JIT_PARALLEL
from .dense import (
    bias_activation,
    bias_activation_rows,
    dense_forward,
    dense_forward_blas,
    dense_forward_rows,
)
from .layout import ROWS_MAX
from .losses import output_forward, output_forward_rows
from .sparse import sparse_rows_forward


@njit(**JIT)
def _non_finite(out, r0, B, K):
    """How many of out[r0:r0 + B, :K] are NaN or infinite: a branch-free pass
    (v - v is 0 for a finite v, NaN otherwise), then a count where it found
    any."""
    chk = out.dtype.type(0.0)
    for i in range(B):
        for j in range(K):
            v = out[r0 + i, j]
            chk += v - v
    if chk == 0.0:
        return 0
    bad = 0
    for i in range(B):
        for j in range(K):
            if not np.isfinite(out[r0 + i, j]):
                bad += 1
    return bad


@njit(**JIT)
def _forward_rows(out, X, r0, B, params, units, act, out_act, buf_a, buf_b, blas_min):
    """Sample-major forward of rows r0:r0 + B; returns (the non-finite values
    met in X, the non-finite values written to out).

    Rows stay rows: wide layers are one BLAS GEMM on the block as it lies in
    memory (no transposition in or out), narrow ones the sample-major loops."""
    L = units.shape[0] - 1
    n_features = units[0]
    bad = 0
    # A wide first layer multiplies X's rows where they lie (C order, as the
    # API layer passes X); otherwise the rows are copied into the scratch.
    # blas_min None: no layer goes through BLAS, and the tests of it for None
    # (pruned by Numba) leave the BLAS code out of that compilation.
    direct = False
    if blas_min is not None:
        direct = X.flags.c_contiguous and n_features * units[1] >= blas_min
        direct = direct and B >= ROWS_MAX
    if blas_min is not None and direct:
        for i in range(B):
            for k in range(n_features):
                if not np.isfinite(X[r0 + i, k]):
                    bad += 1
    else:
        A = buf_a[: B * n_features].reshape((B, n_features))
        for i in range(B):
            for k in range(n_features):
                v = X[r0 + i, k]
                if not np.isfinite(v):
                    bad += 1
                A[i, k] = v
    p_off = 0
    src = buf_a
    dst = buf_b
    for l in range(L):
        fi = units[l]
        fo = units[l + 1]
        if blas_min is not None and l == 0 and direct:
            A = X[r0 : r0 + B]
        else:
            A = src[: B * fi].reshape((B, fi))
        Z = dst[: B * fo].reshape((B, fo))
        W = params[p_off : p_off + fi * fo].reshape((fi, fo))
        b = params[p_off + fi * fo : p_off + fi * fo + fo]
        a_l = act if l < L - 1 else 0
        # Every test of blas begins with blas_min: Numba prunes on that alone.
        blas = blas_min is not None and fi * fo >= blas_min and B >= ROWS_MAX
        if blas_min is not None and blas and l == L - 1:
            # The output layer comes out feature-major, (fo, B) = W^T A^T, so
            # that its activation (a softmax, say) vectorizes over the block's
            # rows rather than over a row's few outputs: 8x faster for 10
            # classes.
            Zt = dst[: fo * B].reshape((fo, B))
            gemm(Zt, W, True, A, True, 0.0)
            bias_activation(Zt, b, ACT_IDENTITY, fo, B)  # the bias alone
            output_forward(Zt, out_act, fo, B, src)  # src is free: its scratch
            for i in range(B):
                for j in range(fo):
                    out[r0 + i, j] = Zt[j, i]
            return bad, _non_finite(out, r0, B, fo)
        if blas_min is not None and blas:
            gemm(Z, A, False, W, False, 0.0)
            bias_activation_rows(Z, b, a_l, fo, B)
        else:
            dense_forward_rows(Z, A, W, b, a_l, fi, fo, B)
        p_off += fi * fo + fo
        src, dst = dst, src
    K = units[L]
    Z = src[: B * K].reshape((B, K))
    output_forward_rows(Z, out_act, K, B)
    for i in range(B):
        for j in range(K):
            out[r0 + i, j] = Z[i, j]
    return bad, _non_finite(out, r0, B, K)


@njit(**JIT)
def _forward_block(
    out,
    X,
    Xp,
    Xi,
    Xd,
    r0,
    B,
    params,
    units,
    act,
    out_act,
    buf_a,
    buf_b,
    blas_min,
):
    """Forward rows r0:r0 + B into out[r0:r0 + B], using two scratch buffers.
    X dense and Xp, Xi, Xd None, or X None and (Xp, Xi, Xd) CSR.

    Returns (the number of non-finite values met in X's rows (CSR: its
    data), the number of non-finite values written to out)."""
    L = units.shape[0] - 1
    n_features = units[0]
    bad = 0
    # Each flavour's code sits under a test of its own input for None, which
    # Numba prunes in the other flavour.
    if Xp is not None:
        for p in range(Xp[r0], Xp[r0 + B]):
            if not np.isfinite(Xd[p]):
                bad += 1
    if X is not None:
        A = buf_a[: n_features * B].reshape((n_features, B))
        for i in range(B):
            for k in range(n_features):
                v = X[r0 + i, k]
                if not np.isfinite(v):
                    bad += 1
                A[k, i] = v
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
        if Xp is not None and l == 0:
            sparse_rows_forward(Z, Xp, Xi, Xd, r0, W, b, a_l, fi, fo, B)
        elif blas_min is not None and fi * fo >= blas_min:
            dense_forward_blas(Z, A, W, b, a_l, fi, fo, B)
        else:
            dense_forward(Z, A, W, b, a_l, fi, fo, B)
        p_off += fi * fo + fo
        src, dst = dst, src
    K = units[L]
    Z = src[: K * B].reshape((K, B))
    output_forward(Z, out_act, K, B, dst)  # dst is free: its scratch
    for i in range(B):
        for j in range(K):
            out[r0 + i, j] = Z[j, i]
    return bad, _non_finite(out, r0, B, K)


@njit(**JIT)
def _max_width(units):
    """The widest layer, and at least 2: a buffer of width * B values also
    holds the 2 * B of scratch of the output softmax."""
    width = 2
    for l in range(units.shape[0]):
        width = max(width, units[l])
    return width


@njit(**JIT)
def predict_serial(out, X, Xp, Xi, Xd, n, params, units, act, out_act, block, blas_min):
    """Forward pass of n rows, serially, in blocks of ``block`` rows; layers with
    fan_in * fan_out >= blas_min use BLAS (blas_min None: none, and no BLAS
    code is compiled). X dense and Xp, Xi, Xd None, or X None
    and (Xp, Xi, Xd) CSR: each flavour compiles without the other's code.

    Returns the number of non-finite values in X, or, X all finite, minus
    the number of non-finite values written to out (see the module's note)."""
    width = _max_width(units)
    cap = min(block, n)
    buf_a = np.empty(width * cap, dtype=params.dtype)
    buf_b = np.empty(width * cap, dtype=params.dtype)
    # Dense input to a network with a BLAS-sized layer: sample-major blocks
    # (BLAS takes them as they lie); otherwise feature-major hand-written loops.
    rows = False
    if blas_min is not None:
        for l in range(units.shape[0] - 1):
            if units[l] * units[l + 1] >= blas_min:
                rows = True
    bad = 0
    bad_out = 0
    for r0 in range(0, n, block):
        B = min(block, n - r0)
        if X is not None and (B < ROWS_MAX or rows):
            b_in, b_out = _forward_rows(
                out, X, r0, B, params, units, act, out_act, buf_a, buf_b, blas_min
            )
        else:
            b_in, b_out = _forward_block(
                out,
                X,
                Xp,
                Xi,
                Xd,
                r0,
                B,
                params,
                units,
                act,
                out_act,
                buf_a,
                buf_b,
                blas_min,
            )
        bad += b_in
        bad_out += b_out
    return bad if bad > 0 else -bad_out


@njit(**JIT_PARALLEL)
def predict_parallel(
    out, X, Xp, Xi, Xd, n, params, units, act, out_act, block, blas_min, n_threads
):
    """predict_serial's blocks spread over n_threads threads with prange (the
    caller passes numba.get_num_threads(), which a kernel cannot read and stay
    cacheable): block i goes to thread i % n_threads, each thread with its own
    two scratch buffers.

    blas_min None: the hand-written layers, blocks feature-major (dense or
    CSR). blas_min given (a dense X): sample-major blocks whose wide layers are
    BLAS GEMMs, which must then run single-threaded (the caller holds NumPy's
    BLAS to one thread: BLAS threads inside the prange would oversubscribe the
    cores). Returns what predict_serial returns."""
    width = _max_width(units)
    cap = min(block, n)
    n_blocks = (n + block - 1) // block
    # With BLAS, a last block shorter than the others may have to run alone
    # after them (blas.side_by_side_ok).
    n_side = n_blocks
    if blas_min is not None and not side_by_side_ok(
        params, block, n - (n_blocks - 1) * block
    ):
        n_side = n // block
    n_parts = max(1, min(n_threads, n_side))
    bad = 0
    bad_out = 0
    for t in prange(n_parts):
        buf_a = np.empty(width * cap, dtype=params.dtype)
        buf_b = np.empty(width * cap, dtype=params.dtype)
        for bi in range(t, n_side, n_parts):
            r0 = bi * block
            B = min(block, n - r0)
            if blas_min is not None:
                b_in, b_out = _forward_rows(
                    out, X, r0, B, params, units, act, out_act, buf_a, buf_b,
                    blas_min,
                )  # fmt: skip
            else:
                b_in, b_out = _forward_block(
                    out, X, Xp, Xi, Xd, r0, B, params, units, act, out_act, buf_a,
                    buf_b, None,
                )  # fmt: skip
            bad += b_in
            bad_out += b_out
    if blas_min is not None and n_side < n_blocks:
        r0 = n_side * block
        buf_a = np.empty(width * cap, dtype=params.dtype)
        buf_b = np.empty(width * cap, dtype=params.dtype)
        b_in, b_out = _forward_rows(
            out, X, r0, n - r0, params, units, act, out_act, buf_a, buf_b, blas_min
        )
        bad += b_in
        bad_out += b_out
    return bad if bad > 0 else -bad_out
