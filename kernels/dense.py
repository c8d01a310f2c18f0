"""The dense layer: matmul plus bias (activation fused) and its backward.

Feature-major storage: an activation matrix is (units, B), so row ``k`` holds
unit ``k`` for every sample of the batch and the inner loops run over B.
Weights keep scikit-learn's layout, W of shape (fan_in, fan_out), C order.

Two implementations of each op: a hand-written loop nest (no call overhead,
bias and activation fused, best for narrow layers) and one that hands the
GEMM to BLAS through ``blas.gemm`` (best for wide layers). The caller picks.
"""

import numpy as np
from numba import njit

from .activations import (
    ACT_IDENTITY,
    ACT_RELU,
    activation_backward,
    activation_forward,
)
from .blas import gemm
from .config import JIT, JIT_FAST, JIT_INLINE

# The hand-written loops below index the 2-D arrays directly (``a[k, i]``),
# never through row views (``a[k]``), and each helper runs over all the rows
# of a layer: at a batch of a few hundred samples a pass over a row lasts a
# few dozen cycles, and each view (or inlined call, which takes references on
# its array arguments) adds reference counting on top (measured: a 5 -> 5
# layer's forward 0.42 us with row views, 0.31 us without, batch 200).

# What the last pass over a row applies to each value on its way out, as one
# branch-free select (a test of a mode inside the loop keeps it from
# vectorizing). Forward (Z None): zero where s < lo, so lo = 0 is ReLU and
# lo = -inf leaves s alone. Backward: zero where Z[o, i] == zval, Z the layer's
# output, so zval = 0 is ReLU's derivative and zval = NaN (never equal) leaves
# s alone. Other activations get a pass of their own afterwards.


@njit(**JIT)
def _post(s, lo, Z, zval, o, i, zero):
    """zero where s < lo (Z None) or where Z[o, i] == zval, else s; NaN stays."""
    if Z is None:
        return zero if s < lo else s
    return zero if Z[o, i] == zval else s


@njit(**JIT_INLINE)
def _post_args(act, grad, dt):
    """(lo, zval) of _post in dtype dt for activation act: the values that
    apply it in its last pass (or, with grad, its derivative), or leave the
    values as they are for an activation that gets a pass of its own."""
    if act == ACT_RELU:
        if grad:
            return dt(-np.inf), dt(0.0)
        return dt(0.0), dt(np.nan)
    return dt(-np.inf), dt(np.nan)  # identity, or a pass of its own


@njit(**JIT_INLINE)
def _first_pass(n):
    """How many rows the first pass over the batch takes when a sum runs over
    n rows, every later pass taking exactly 4: all of them up to 5, else the
    remainder of n / 4 (with 4 more when it is 1). So n = 5 is one pass, not
    4 + 1, and no pass takes a single row unless n is 1."""
    if n <= 5:
        return n
    r = n % 4
    if r == 0:
        return 4
    return r + 4 if r == 1 else r


@njit(**JIT_FAST)
def _rows_set(out, rows, n, C, bias, lo, Z, zval, n_out, B):
    """out[o, i] = post(bias[o] + sum_{q < n} C[q, o] * rows[q, i]) for every
    o < n_out, 1 <= n <= 5 (bias None: no bias), post = _post(., lo, Z, zval).
    One pass over the batch per output row: each of the n rows is read once
    and out[o] written once, where a pass per row would read and write it n
    times."""
    zero = out.dtype.type(0.0)
    for o in range(n_out):
        base = zero if bias is None else bias[o]
        if n == 1:
            c0 = C[0, o]
            for i in range(B):
                s = c0 * rows[0, i]
                out[o, i] = _post(base + s, lo, Z, zval, o, i, zero)
        elif n == 2:
            c0, c1 = C[0, o], C[1, o]
            for i in range(B):
                s = c0 * rows[0, i] + c1 * rows[1, i]
                out[o, i] = _post(base + s, lo, Z, zval, o, i, zero)
        elif n == 3:
            c0, c1, c2 = C[0, o], C[1, o], C[2, o]
            for i in range(B):
                s = (c0 * rows[0, i] + c1 * rows[1, i]) + c2 * rows[2, i]
                out[o, i] = _post(base + s, lo, Z, zval, o, i, zero)
        elif n == 4:
            c0, c1, c2, c3 = C[0, o], C[1, o], C[2, o], C[3, o]
            for i in range(B):
                s = (c0 * rows[0, i] + c1 * rows[1, i]) + (
                    c2 * rows[2, i] + c3 * rows[3, i]
                )
                out[o, i] = _post(base + s, lo, Z, zval, o, i, zero)
        else:
            c0, c1, c2, c3, c4 = C[0, o], C[1, o], C[2, o], C[3, o], C[4, o]
            for i in range(B):
                s = (c0 * rows[0, i] + c1 * rows[1, i]) + (
                    c2 * rows[2, i] + c3 * rows[3, i]
                )
                s += c4 * rows[4, i]
                out[o, i] = _post(base + s, lo, Z, zval, o, i, zero)


@njit(**JIT_FAST)
def _rows_add4(out, rows, r0, C, lo, Z, zval, n_out, B):
    """out[o, i] = post(out[o, i] + sum_{q < 4} C[r0 + q, o] * rows[r0 + q, i])
    for every o < n_out."""
    zero = out.dtype.type(0.0)
    for o in range(n_out):
        c0, c1, c2, c3 = C[r0, o], C[r0 + 1, o], C[r0 + 2, o], C[r0 + 3, o]
        for i in range(B):
            s = (c0 * rows[r0, i] + c1 * rows[r0 + 1, i]) + (
                c2 * rows[r0 + 2, i] + c3 * rows[r0 + 3, i]
            )
            out[o, i] = _post(out[o, i] + s, lo, Z, zval, o, i, zero)


@njit(**JIT_INLINE)
def _row_sums(out, rows, C, n, bias, lo, Z, zval, n_out, B):
    """out[o, i] = post(bias[o] + sum_{r < n} C[r, o] rows[r, i]) for o < n_out:
    a first pass of up to 5 rows, then passes of 4, post (see _post) applied
    in the last pass only."""
    n0 = _first_pass(n)
    dt = out.dtype.type
    if n0 == n:
        _rows_set(out, rows, n0, C, bias, lo, Z, zval, n_out, B)
    else:
        _rows_set(out, rows, n0, C, bias, dt(-np.inf), Z, dt(np.nan), n_out, B)
    for r in range(n0, n, 4):
        if r + 4 == n:
            _rows_add4(out, rows, r, C, lo, Z, zval, n_out, B)
        else:
            _rows_add4(out, rows, r, C, dt(-np.inf), Z, dt(np.nan), n_out, B)


@njit(**JIT_FAST)
def _dots(G, A, D, r0, n, Wm, alpha, sw_sum, n_a, B):
    """G[a, r0 + q] = (sum_i A[a, i] D[r0 + q, i] + alpha Wm[a, r0 + q]) / sw_sum
    for a < n_a and q < n, 1 <= n <= 5: n dot products per pass, A[a] read once."""
    zero = A.dtype.type(0.0)
    for a in range(n_a):
        if n == 1:
            s0 = zero
            for i in range(B):
                s0 += A[a, i] * D[r0, i]
            G[a, r0] = (s0 + alpha * Wm[a, r0]) / sw_sum
        elif n == 2:
            s0 = s1 = zero
            for i in range(B):
                x = A[a, i]
                s0 += x * D[r0, i]
                s1 += x * D[r0 + 1, i]
            G[a, r0] = (s0 + alpha * Wm[a, r0]) / sw_sum
            G[a, r0 + 1] = (s1 + alpha * Wm[a, r0 + 1]) / sw_sum
        elif n == 3:
            s0 = s1 = s2 = zero
            for i in range(B):
                x = A[a, i]
                s0 += x * D[r0, i]
                s1 += x * D[r0 + 1, i]
                s2 += x * D[r0 + 2, i]
            G[a, r0] = (s0 + alpha * Wm[a, r0]) / sw_sum
            G[a, r0 + 1] = (s1 + alpha * Wm[a, r0 + 1]) / sw_sum
            G[a, r0 + 2] = (s2 + alpha * Wm[a, r0 + 2]) / sw_sum
        elif n == 4:
            s0 = s1 = s2 = s3 = zero
            for i in range(B):
                x = A[a, i]
                s0 += x * D[r0, i]
                s1 += x * D[r0 + 1, i]
                s2 += x * D[r0 + 2, i]
                s3 += x * D[r0 + 3, i]
            G[a, r0] = (s0 + alpha * Wm[a, r0]) / sw_sum
            G[a, r0 + 1] = (s1 + alpha * Wm[a, r0 + 1]) / sw_sum
            G[a, r0 + 2] = (s2 + alpha * Wm[a, r0 + 2]) / sw_sum
            G[a, r0 + 3] = (s3 + alpha * Wm[a, r0 + 3]) / sw_sum
        else:
            s0 = s1 = s2 = s3 = s4 = zero
            for i in range(B):
                x = A[a, i]
                s0 += x * D[r0, i]
                s1 += x * D[r0 + 1, i]
                s2 += x * D[r0 + 2, i]
                s3 += x * D[r0 + 3, i]
                s4 += x * D[r0 + 4, i]
            G[a, r0] = (s0 + alpha * Wm[a, r0]) / sw_sum
            G[a, r0 + 1] = (s1 + alpha * Wm[a, r0 + 1]) / sw_sum
            G[a, r0 + 2] = (s2 + alpha * Wm[a, r0 + 2]) / sw_sum
            G[a, r0 + 3] = (s3 + alpha * Wm[a, r0 + 3]) / sw_sum
            G[a, r0 + 4] = (s4 + alpha * Wm[a, r0 + 4]) / sw_sum


@njit(**JIT_FAST)
def dense_forward(out, inp, W, b, act, fan_in, fan_out, B):
    """out[j, :] = act(b[j] + sum_k W[k, j] * inp[k, :]).

    out (fan_out, B), inp (fan_in, B), W (fan_in, fan_out), b (fan_out,).
    Each output row is built in about fan_in / 4 passes over the batch (the
    first takes the bias and up to 5 inputs, the others 4 each), ReLU applied
    in the last: the row is loaded and stored once per several inputs.
    """
    lo, zval = _post_args(act, False, out.dtype.type)
    _row_sums(out, inp, W, fan_in, b, lo, None, zval, fan_out, B)
    if act != ACT_RELU and act != ACT_IDENTITY:
        for j in range(fan_out):
            activation_forward(out[j], B, act)


@njit(**JIT_FAST)
def bias_activation(out, b, act, fan_out, B):
    """out[j, :] = act(out[j, :] + b[j]) for a feature-major out (fan_out, B):
    ReLU in the same pass as the bias, 2-D indexing (no row views)."""
    zero = out.dtype.type(0.0)
    if act == ACT_RELU:
        for j in range(fan_out):
            bj = b[j]
            for i in range(B):
                v = out[j, i] + bj
                out[j, i] = zero if v < zero else v  # keeps NaN
        return
    for j in range(fan_out):
        bj = b[j]
        for i in range(B):
            out[j, i] += bj
    if act != ACT_IDENTITY:
        for j in range(fan_out):
            activation_forward(out[j], B, act)


@njit(**JIT_FAST)
def bias_activation_rows(Z, b, act, fan_out, B):
    """Z[i, :] = act(Z[i, :] + b) for a sample-major Z (B, fan_out): the
    bias_activation of a block whose rows are samples (prediction)."""
    zero = Z.dtype.type(0.0)
    if act == ACT_RELU:
        for i in range(B):
            for j in range(fan_out):
                v = Z[i, j] + b[j]
                Z[i, j] = zero if v < zero else v  # keeps NaN
        return
    for i in range(B):
        for j in range(fan_out):
            Z[i, j] += b[j]
    if act != ACT_IDENTITY:
        for i in range(B):
            activation_forward(Z[i], fan_out, act)


@njit(**JIT_FAST)
def dense_forward_blas(out, inp, W, b, act, fan_in, fan_out, B):
    """As dense_forward, with the GEMM out = W^T inp done by BLAS (blas.gemm)."""
    gemm(out, W, True, inp, False, 0.0)
    bias_activation(out, b, act, fan_out, B)


@njit(**JIT_FAST)
def dense_forward_blas_rows(out, inp_rows, W, b, act, fan_in, fan_out, B):
    """As dense_forward_blas for a sample-major input inp_rows (B, fan_in):
    out = W^T inp_rows^T, BLAS reading inp_rows transposed in place."""
    gemm(out, W, True, inp_rows, True, 0.0)
    bias_activation(out, b, act, fan_out, B)


@njit(**JIT_FAST)
def dense_backward(
    dW, db, dinp, dout, inp, W, alpha, sw_sum, act_in, fan_in, fan_out, B, want_dinp
):
    """Gradients of one dense layer, given dout = dLoss/d(pre-activation output).

    dW[k, j] = (sum_i inp[k, i] dout[j, i] + alpha W[k, j]) / sw_sum  (L2 included)
    db[j]    = sum_i dout[j, i] / sw_sum
    dinp     = (W dout) * act_in'(inp)   (only when want_dinp: the first layer's
               input is the data and needs no delta)

    As in dense_forward, each pass over the batch takes up to 5 rows of dout
    (the first) or 4 (the others): several dot products per read of inp[k],
    several rows of dout summed per write of dinp[k].
    """
    a_ = W.dtype.type(alpha)
    s_ = W.dtype.type(sw_sum)
    zero = W.dtype.type(0.0)
    # np.int64(0), not 0: while Numba types the loop, a literal 0 would compile
    # a second, throwaway specialization of _dots.
    j = np.int64(0)
    n = _first_pass(fan_out)
    while j < fan_out:
        _dots(dW, inp, dout, j, n, W, a_, s_, fan_in, B)
        j += n
        n = 4
    for j in range(fan_out):
        s = zero
        for i in range(B):
            s += dout[j, i]
        db[j] = s / s_
    if want_dinp:
        lo, zval = _post_args(act_in, True, dinp.dtype.type)
        # dinp[k] = sum_j W[k, j] dout[j]: the coefficients are W's rows, W.T's
        # columns.
        _row_sums(dinp, dout, W.T, fan_out, None, lo, inp, zval, fan_in, B)
        if act_in != ACT_RELU and act_in != ACT_IDENTITY:
            for k in range(fan_in):
                activation_backward(dinp[k], inp[k], B, act_in)


@njit(**JIT_FAST)
def _finish_gradients(dW, db, dout, W, alpha, sw_sum, fan_in, fan_out, B):
    """dW = (dW + alpha W) / sw_sum in place, db[j] = sum_i dout[j, i] / sw_sum.

    With alpha 0 and sw_sum 1 the dW pass would change nothing, and is
    skipped: a split batch's chunks ask for exactly that, the raw sums, which
    finish_update (train.py) finishes for the whole batch."""
    a_ = W.dtype.type(alpha)
    s_ = W.dtype.type(sw_sum)
    zero = W.dtype.type(0.0)
    if alpha != 0.0 or sw_sum != 1.0:
        for k in range(fan_in):
            for j in range(fan_out):
                dW[k, j] = (dW[k, j] + a_ * W[k, j]) / s_
    for j in range(fan_out):
        d = dout[j]
        s = zero
        for i in range(B):
            s += d[i]
        db[j] = s / s_


@njit(**JIT_FAST)
def dense_backward_blas(
    dW, db, dinp, dout, inp, W, alpha, sw_sum, act_in, fan_in, fan_out, B, want_dinp
):
    """As dense_backward, with dW = inp dout^T and dinp = W dout done by BLAS."""
    gemm(dW, inp, False, dout, True, 0.0)
    _finish_gradients(dW, db, dout, W, alpha, sw_sum, fan_in, fan_out, B)
    if want_dinp:
        gemm(dinp, W, False, dout, False, 0.0)
        for k in range(fan_in):
            activation_backward(dinp[k], inp[k], B, act_in)


@njit(**JIT_FAST)
def dense_backward_blas_rows(
    dW, db, dout, inp_rows, W, alpha, sw_sum, fan_in, fan_out, B
):
    """dW and db of a first layer whose input is sample-major, inp_rows (B,
    fan_in): dW = inp_rows^T dout^T by BLAS. A first layer needs no dinp."""
    gemm(dW, inp_rows, True, dout, True, 0.0)
    _finish_gradients(dW, db, dout, W, alpha, sw_sum, fan_in, fan_out, B)


@njit(**JIT_FAST)
def dense_forward_rows(out, inp, W, b, act, fan_in, fan_out, B):
    """Sample-major variant for a handful of rows: out[i, :] = act(b + inp[i, :] W).

    out (B, fan_out), inp (B, fan_in). The inner loop runs over fan_out, which is
    what vectorizes when B is 1 or a few (prediction of single rows).
    """
    for i in range(B):
        row = out[i]
        x = inp[i]
        for j in range(fan_out):
            row[j] = b[j]
        for k in range(fan_in):
            a = x[k]
            Wk = W[k]
            for j in range(fan_out):
                row[j] += a * Wk[j]
        activation_forward(row, fan_out, act)
