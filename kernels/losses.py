"""Output activations fused with their loss and its gradient.

Each output activation is paired with its canonical loss, so that the gradient
with respect to the output layer's pre-activation is simply ``p - y``:

    OUT_IDENTITY  identity  + half squared error
    OUT_LOGISTIC  logistic  + binary log-loss (one column per label)
    OUT_SOFTMAX   softmax   + categorical cross-entropy
    OUT_EXP       exp       + half Poisson deviance

z is feature-major (K, B). Y is the targets in sample-major order (n, K), read
through the row indices idx[start:start + B]; sw the sample weights (n,).
"""

import math

import numpy as np
from numba import njit
from numba.extending import overload

from .config import JIT, JIT_FAST
from .layout import OUT_EXP, OUT_IDENTITY, OUT_LOGISTIC, OUT_SOFTMAX  # noqa: F401
from .vmath import exp, log


@njit(**JIT_FAST)
def output_forward(z, out_act, K, B, scratch):
    """z = out_act(z) in place, z of shape (K, B).

    scratch: room for 2 * B values of z's dtype, overwritten by the softmax (the
    per-sample max and sum), unused otherwise. Every loop runs over the B
    samples, contiguous, so that the exps vectorize.
    """
    one = z.dtype.type(1.0)
    if out_act == OUT_LOGISTIC:
        # exp(-x) may overflow to inf for x << 0; 1 / (1 + inf) is exactly 0.
        for j in range(K):
            r = z[j]
            for i in range(B):
                r[i] = one / (one + exp(-r[i]))
    elif out_act == OUT_EXP:
        for j in range(K):
            r = z[j]
            for i in range(B):
                r[i] = exp(r[i])
    elif out_act == OUT_SOFTMAX:
        # exp(z - max z) / sum per sample: never overflows.
        m = scratch[:B]
        s = scratch[B : 2 * B]
        r = z[0]
        for i in range(B):
            m[i] = r[i]
            s[i] = 0.0
        for j in range(1, K):
            r = z[j]
            for i in range(B):
                if r[i] > m[i]:
                    m[i] = r[i]
        for j in range(K):
            r = z[j]
            for i in range(B):
                e = exp(r[i] - m[i])
                r[i] = e
                s[i] += e
        # One division per sample, then products (divisions cost several
        # multiplications each).
        for i in range(B):
            s[i] = one / s[i]
        for j in range(K):
            r = z[j]
            for i in range(B):
                r[i] *= s[i]


@njit(**JIT_FAST)
def output_forward_rows(z, out_act, K, B):
    """z = out_act(z) in place for sample-major z of shape (B, K)."""
    one = z.dtype.type(1.0)
    for i in range(B):
        r = z[i]
        if out_act == OUT_LOGISTIC:
            for j in range(K):
                r[j] = one / (one + exp(-r[j]))
        elif out_act == OUT_EXP:
            for j in range(K):
                r[j] = exp(r[j])
        elif out_act == OUT_SOFTMAX:
            m = r[0]
            for j in range(1, K):
                if r[j] > m:
                    m = r[j]
            s = z.dtype.type(0.0)
            for j in range(K):
                e = exp(r[j] - m)
                r[j] = e
                s += e
            for j in range(K):
                r[j] /= s


@njit(**JIT)
def _xlogy(x, y):
    """x * log(y), and 0 where x == 0 (scipy.special.xlogy)."""
    if x == 0.0:
        return 0.0
    return x * math.log(y)


# The targets Y: the (n, K) matrix, or, for a classifier's one-hot targets,
# the (n,) int64 vector of class indices. With the vector, a batch's labels are
# gathered once (B loads through idx) and each class's targets are compared out
# of them, where the matrix takes B loads through idx per class.


def _batch_labels(lab_b, Y, idx, start, B):
    """lab_b[i] = Y[idx[start + i]] for a label vector Y; nothing for a matrix."""


@overload(_batch_labels, jit_options={"error_model": "numpy"})
def _ol_batch_labels(lab_b, Y, idx, start, B):
    if Y.ndim == 1:

        def labels_impl(lab_b, Y, idx, start, B):
            for i in range(B):
                lab_b[i] = Y[idx[start + i]]

        return labels_impl

    def matrix_impl(lab_b, Y, idx, start, B):
        pass

    return matrix_impl


def _class_targets(y_b, Y, lab_b, idx, start, j, B):
    """y_b[i] = the target of sample idx[start + i] for output j."""


@overload(_class_targets, jit_options={"error_model": "numpy"})
def _ol_class_targets(y_b, Y, lab_b, idx, start, j, B):
    if Y.ndim == 1:

        def labels_impl(y_b, Y, lab_b, idx, start, j, B):
            one = y_b.dtype.type(1.0)
            zero = y_b.dtype.type(0.0)
            for i in range(B):
                y_b[i] = one if lab_b[i] == j else zero

        return labels_impl

    def matrix_impl(y_b, Y, lab_b, idx, start, j, B):
        for i in range(B):
            y_b[i] = Y[idx[start + i], j]

    return matrix_impl


@njit(**JIT_FAST)
def output_loss_backward(delta, z, Y, sw, idx, start, out_act, K, B, scratch):
    """Output activation, loss and gradient for one batch.

    On return z holds the output activation p, delta[j, i] = (p - y) * sw (sw
    None: all weights 1) and the result is the weighted loss *sum* over the
    batch (float64): divide by the batch's weight sum for scikit-learn's mean
    loss. Log arguments are
    clipped to [eps, 1 - eps] as scikit-learn clips them. Y: the (n, K) targets,
    or the (n,) class indices of one-hot targets. scratch: room for 5 * B
    values of z's dtype (output_forward uses the first 2 * B).

    The loops run class by class over the samples. With the log arguments
    clipped, y * log(p) is finite, so it equals scikit-learn's xlogy(y, p) (0
    where y == 0) without a branch, and the loops vectorize. With softmax and
    one-hot targets (a classifier's), the loss of a sample is -log of its
    clipped probability of the true class: one log per sample instead of one
    per class. Each batch is checked to be one-hot as the classes go by;
    other targets take the general sum.
    """
    output_forward(z, out_act, K, B, scratch)
    eps = np.finfo(z.dtype).eps
    lo = float(eps)
    hi = 1.0 - lo
    zero = z.dtype.type(0.0)
    one = z.dtype.type(1.0)
    lo_t = z.dtype.type(lo)
    hi_t = z.dtype.type(hi)
    q_b = scratch[2 * B : 3 * B]
    c_b = scratch[3 * B : 4 * B]
    not_one_hot = 0
    # The scratch is free again: the batch's weights and, class by class, its
    # targets are gathered there, so that the loops below read contiguous runs.
    w_b = scratch[:B]
    y_b = scratch[B : 2 * B]
    lab_b = scratch[4 * B : 5 * B]
    _batch_labels(lab_b, Y, idx, start, B)
    if sw is None:  # all weights 1
        for i in range(B):
            w_b[i] = one
    else:
        for i in range(B):
            w_b[i] = sw[idx[start + i]]
    if out_act == OUT_SOFTMAX:
        for i in range(B):
            q_b[i] = zero
            c_b[i] = zero
    total = 0.0
    for j in range(K):
        _class_targets(y_b, Y, lab_b, idx, start, j, B)
        p_j = z[j]
        d_j = delta[j]
        acc = 0.0
        if out_act == OUT_IDENTITY:
            for i in range(B):
                d_j[i] = (p_j[i] - y_b[i]) * w_b[i]
                e = float(y_b[i]) - float(p_j[i])
                acc += float(w_b[i]) * (e * e)
        elif out_act == OUT_SOFTMAX:
            # q_i gathers y_ij * clip(p_ij), c_i the targets' sum, and off
            # |y (1 - y)|, zero only for targets in {0, 1}: one-hot rows leave
            # q_i = the true class's clipped probability and c_i = 1.
            off = zero
            for i in range(B):
                y = y_b[i]
                p = p_j[i]
                d_j[i] = (p - y) * w_b[i]
                q_b[i] += y * min(max(p, lo_t), hi_t)
                c_b[i] += y
                off += abs(y * (one - y))
            if not off == zero:  # NaN too
                not_one_hot += 1
        elif out_act == OUT_LOGISTIC:
            for i in range(B):
                d_j[i] = (p_j[i] - y_b[i]) * w_b[i]
                pc = min(max(float(p_j[i]), lo), hi)
                y = float(y_b[i])
                acc -= float(w_b[i]) * (y * log(pc) + (1.0 - y) * log(1.0 - pc))
        else:  # OUT_EXP: half Poisson deviance
            for i in range(B):
                d_j[i] = (p_j[i] - y_b[i]) * w_b[i]
                pf = float(p_j[i])
                y = float(y_b[i])
                acc += float(w_b[i]) * (_xlogy(y, y / pf) - y + pf)
        total += acc
    if out_act == OUT_IDENTITY:
        total *= 0.5 / K
    elif out_act == OUT_SOFTMAX:
        miss = zero
        for i in range(B):
            miss += abs(c_b[i] - one)
        if not miss == zero:  # NaN too
            not_one_hot += 1
        if not_one_hot == 0:
            for i in range(B):
                # np.float64: Numba's float() keeps a float32 a float32.
                total -= np.float64(w_b[i]) * log(np.float64(q_b[i]))
        else:
            for j in range(K):
                _class_targets(y_b, Y, lab_b, idx, start, j, B)
                p_j = z[j]
                acc = 0.0
                for i in range(B):
                    pc = min(max(float(p_j[i]), lo), hi)
                    acc -= float(w_b[i]) * (float(y_b[i]) * log(pc))
                total += acc
    return total
