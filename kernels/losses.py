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

from ._config import FASTMATH

OUT_IDENTITY = 0
OUT_LOGISTIC = 1
OUT_SOFTMAX = 2
OUT_EXP = 3


@njit(cache=True, nogil=True, error_model="numpy", fastmath=FASTMATH)
def output_forward(z, out_act, K, B):
    """z = out_act(z) in place, z of shape (K, B)."""
    one = z.dtype.type(1.0)
    if out_act == OUT_LOGISTIC:
        for j in range(K):
            r = z[j]
            for i in range(B):
                r[i] = one / (one + np.exp(-r[i]))
    elif out_act == OUT_EXP:
        for j in range(K):
            r = z[j]
            for i in range(B):
                r[i] = np.exp(r[i])
    elif out_act == OUT_SOFTMAX:
        # exp(z - max z) / sum: never overflows.
        for i in range(B):
            m = z[0, i]
            for j in range(1, K):
                if z[j, i] > m:
                    m = z[j, i]
            s = z.dtype.type(0.0)
            for j in range(K):
                e = np.exp(z[j, i] - m)
                z[j, i] = e
                s += e
            for j in range(K):
                z[j, i] /= s


@njit(cache=True, nogil=True, error_model="numpy", fastmath=FASTMATH)
def output_forward_rows(z, out_act, K, B):
    """z = out_act(z) in place for sample-major z of shape (B, K)."""
    one = z.dtype.type(1.0)
    for i in range(B):
        r = z[i]
        if out_act == OUT_LOGISTIC:
            for j in range(K):
                r[j] = one / (one + np.exp(-r[j]))
        elif out_act == OUT_EXP:
            for j in range(K):
                r[j] = np.exp(r[j])
        elif out_act == OUT_SOFTMAX:
            m = r[0]
            for j in range(1, K):
                if r[j] > m:
                    m = r[j]
            s = z.dtype.type(0.0)
            for j in range(K):
                e = np.exp(r[j] - m)
                r[j] = e
                s += e
            for j in range(K):
                r[j] /= s


@njit(cache=True, nogil=True, error_model="numpy")
def _xlogy(x, y):
    """x * log(y), and 0 where x == 0 (scipy.special.xlogy)."""
    if x == 0.0:
        return 0.0
    return x * math.log(y)


@njit(cache=True, nogil=True, error_model="numpy")
def output_loss_backward(delta, z, Y, sw, idx, start, out_act, K, B):
    """Output activation, loss and gradient for one batch.

    On return z holds the output activation p, delta[j, i] = (p - y) * sw and
    the result is the weighted loss *sum* over the batch (float64): divide by
    the batch's weight sum for scikit-learn's mean loss. Log arguments are
    clipped to [eps, 1 - eps] as scikit-learn clips them.
    """
    output_forward(z, out_act, K, B)
    eps = np.finfo(z.dtype).eps
    lo = float(eps)
    hi = 1.0 - lo
    total = 0.0
    for i in range(B):
        r = idx[start + i]
        w = sw[r]
        li = 0.0
        for j in range(K):
            p = z[j, i]
            y = Y[r, j]
            delta[j, i] = (p - y) * w
            pf = float(p)
            yf = float(y)
            if out_act == OUT_IDENTITY:
                li += (yf - pf) * (yf - pf)
            elif out_act == OUT_SOFTMAX:
                pc = min(max(pf, lo), hi)
                li -= _xlogy(yf, pc)
            elif out_act == OUT_LOGISTIC:
                pc = min(max(pf, lo), hi)
                li -= _xlogy(yf, pc) + _xlogy(1.0 - yf, 1.0 - pc)
            else:  # OUT_EXP: half Poisson deviance
                li += _xlogy(yf, yf / pf) - yf + pf
        if out_act == OUT_IDENTITY:
            li *= 0.5 / K
        total += float(w) * li
    return total
