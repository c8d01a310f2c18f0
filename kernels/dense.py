"""The dense layer: matmul plus bias (activation fused) and its backward.

Feature-major storage: an activation matrix is (units, B), so row ``k`` holds
unit ``k`` for every sample of the batch and the inner loops run over B.
Weights keep scikit-learn's layout, W of shape (fan_in, fan_out), C order.

Two implementations of each op: a hand-written loop nest (no call overhead,
bias and activation fused, best for narrow layers) and one that hands the
GEMM to BLAS through ``blas.gemm`` (best for wide layers). The caller picks.
"""

from numba import njit

from ._config import FASTMATH
from .activations import activation_backward, activation_forward
from .blas import gemm


@njit(cache=True, nogil=True, error_model="numpy", fastmath=FASTMATH)
def dense_forward(out, inp, W, b, act, fan_in, fan_out, B):
    """out[j, :] = act(b[j] + sum_k W[k, j] * inp[k, :]).

    out (fan_out, B), inp (fan_in, B), W (fan_in, fan_out), b (fan_out,).
    Four inputs per pass over the batch: each output row is loaded and stored
    once per four inputs rather than once per input.
    """
    for j in range(fan_out):
        row = out[j]
        bj = b[j]
        k = 0
        if fan_in >= 4:
            # The first four inputs and the bias in the pass that sets the row.
            w0 = W[0, j]
            w1 = W[1, j]
            w2 = W[2, j]
            w3 = W[3, j]
            a0 = inp[0]
            a1 = inp[1]
            a2 = inp[2]
            a3 = inp[3]
            for i in range(B):
                row[i] = bj + ((w0 * a0[i] + w1 * a1[i]) + (w2 * a2[i] + w3 * a3[i]))
            k = 4
        else:
            for i in range(B):
                row[i] = bj
        while k + 4 <= fan_in:
            w0 = W[k, j]
            w1 = W[k + 1, j]
            w2 = W[k + 2, j]
            w3 = W[k + 3, j]
            a0 = inp[k]
            a1 = inp[k + 1]
            a2 = inp[k + 2]
            a3 = inp[k + 3]
            for i in range(B):
                row[i] += (w0 * a0[i] + w1 * a1[i]) + (w2 * a2[i] + w3 * a3[i])
            k += 4
        while k < fan_in:
            w = W[k, j]
            a = inp[k]
            for i in range(B):
                row[i] += w * a[i]
            k += 1
        activation_forward(row, B, act)


@njit(cache=True, nogil=True, error_model="numpy", fastmath=FASTMATH)
def _bias_activation(out, b, act, fan_out, B):
    """out[j, :] = act(out[j, :] + b[j])."""
    for j in range(fan_out):
        row = out[j]
        bj = b[j]
        for i in range(B):
            row[i] += bj
        activation_forward(row, B, act)


@njit(cache=True, nogil=True, error_model="numpy", fastmath=FASTMATH)
def dense_forward_blas(out, inp, W, b, act, fan_in, fan_out, B):
    """As dense_forward, with the GEMM out = W^T inp done by BLAS (blas.gemm)."""
    gemm(out, W, True, inp, False, 0.0)
    _bias_activation(out, b, act, fan_out, B)


@njit(cache=True, nogil=True, error_model="numpy", fastmath=FASTMATH)
def dense_forward_blas_rows(out, inp_rows, W, b, act, fan_in, fan_out, B):
    """As dense_forward_blas for a sample-major input inp_rows (B, fan_in):
    out = W^T inp_rows^T, BLAS reading inp_rows transposed in place."""
    gemm(out, W, True, inp_rows, True, 0.0)
    _bias_activation(out, b, act, fan_out, B)


@njit(cache=True, nogil=True, error_model="numpy", fastmath=FASTMATH)
def dense_backward(
    dW, db, dinp, dout, inp, W, alpha, sw_sum, act_in, fan_in, fan_out, B, want_dinp
):
    """Gradients of one dense layer, given dout = dLoss/d(pre-activation output).

    dW[k, j] = (sum_i inp[k, i] dout[j, i] + alpha W[k, j]) / sw_sum  (L2 included)
    db[j]    = sum_i dout[j, i] / sw_sum
    dinp     = (W dout) * act_in'(inp)   (only when want_dinp: the first layer's
               input is the data and needs no delta)

    As in dense_forward, four rows of dout go through each pass over the batch.
    """
    a_ = W.dtype.type(alpha)
    s_ = W.dtype.type(sw_sum)
    zero = W.dtype.type(0.0)
    for k in range(fan_in):
        a = inp[k]
        j = 0
        while j + 4 <= fan_out:
            d0 = dout[j]
            d1 = dout[j + 1]
            d2 = dout[j + 2]
            d3 = dout[j + 3]
            s0 = zero
            s1 = zero
            s2 = zero
            s3 = zero
            for i in range(B):
                ai = a[i]
                s0 += ai * d0[i]
                s1 += ai * d1[i]
                s2 += ai * d2[i]
                s3 += ai * d3[i]
            dW[k, j] = (s0 + a_ * W[k, j]) / s_
            dW[k, j + 1] = (s1 + a_ * W[k, j + 1]) / s_
            dW[k, j + 2] = (s2 + a_ * W[k, j + 2]) / s_
            dW[k, j + 3] = (s3 + a_ * W[k, j + 3]) / s_
            j += 4
        while j < fan_out:
            d = dout[j]
            s = zero
            for i in range(B):
                s += a[i] * d[i]
            dW[k, j] = (s + a_ * W[k, j]) / s_
            j += 1
    for j in range(fan_out):
        d = dout[j]
        s = zero
        for i in range(B):
            s += d[i]
        db[j] = s / s_
    if want_dinp:
        for k in range(fan_in):
            r = dinp[k]
            j = 0
            if fan_out >= 4:
                w0 = W[k, 0]
                w1 = W[k, 1]
                w2 = W[k, 2]
                w3 = W[k, 3]
                d0 = dout[0]
                d1 = dout[1]
                d2 = dout[2]
                d3 = dout[3]
                for i in range(B):
                    r[i] = (w0 * d0[i] + w1 * d1[i]) + (w2 * d2[i] + w3 * d3[i])
                j = 4
            else:
                for i in range(B):
                    r[i] = zero
            while j + 4 <= fan_out:
                w0 = W[k, j]
                w1 = W[k, j + 1]
                w2 = W[k, j + 2]
                w3 = W[k, j + 3]
                d0 = dout[j]
                d1 = dout[j + 1]
                d2 = dout[j + 2]
                d3 = dout[j + 3]
                for i in range(B):
                    r[i] += (w0 * d0[i] + w1 * d1[i]) + (w2 * d2[i] + w3 * d3[i])
                j += 4
            while j < fan_out:
                w = W[k, j]
                d = dout[j]
                for i in range(B):
                    r[i] += w * d[i]
                j += 1
            activation_backward(r, inp[k], B, act_in)


@njit(cache=True, nogil=True, error_model="numpy", fastmath=FASTMATH)
def _finish_gradients(dW, db, dout, W, alpha, sw_sum, fan_in, fan_out, B):
    """dW = (dW + alpha W) / sw_sum in place, db[j] = sum_i dout[j, i] / sw_sum."""
    a_ = W.dtype.type(alpha)
    s_ = W.dtype.type(sw_sum)
    zero = W.dtype.type(0.0)
    for k in range(fan_in):
        for j in range(fan_out):
            dW[k, j] = (dW[k, j] + a_ * W[k, j]) / s_
    for j in range(fan_out):
        d = dout[j]
        s = zero
        for i in range(B):
            s += d[i]
        db[j] = s / s_


@njit(cache=True, nogil=True, error_model="numpy", fastmath=FASTMATH)
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


@njit(cache=True, nogil=True, error_model="numpy", fastmath=FASTMATH)
def dense_backward_blas_rows(
    dW, db, dout, inp_rows, W, alpha, sw_sum, fan_in, fan_out, B
):
    """dW and db of a first layer whose input is sample-major, inp_rows (B,
    fan_in): dW = inp_rows^T dout^T by BLAS. A first layer needs no dinp."""
    gemm(dW, inp_rows, True, dout, True, 0.0)
    _finish_gradients(dW, db, dout, W, alpha, sw_sum, fan_in, fan_out, B)


@njit(cache=True, nogil=True, error_model="numpy", fastmath=FASTMATH)
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
