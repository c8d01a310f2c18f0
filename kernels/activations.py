"""Hidden-layer activations: forward in place, and the derivative written in
terms of the activation's *output* (as scikit-learn does), both over one
contiguous run of ``n`` values."""

import numpy as np
from numba import njit

from .config import JIT_FAST
from .layout import ACT_IDENTITY, ACT_LOGISTIC, ACT_RELU, ACT_TANH  # noqa: F401
from .vmath import exp


@njit(**JIT_FAST)
def activation_forward(z, n, act):
    """z[:n] = act(z[:n]) in place."""
    one = z.dtype.type(1.0)
    zero = z.dtype.type(0.0)
    if act == ACT_RELU:
        for i in range(n):
            if z[i] < zero:
                z[i] = zero
    elif act == ACT_TANH:
        for i in range(n):
            z[i] = np.tanh(z[i])
    elif act == ACT_LOGISTIC:
        # exp(-x) may overflow to inf for x << 0; 1 / (1 + inf) is exactly 0.
        for i in range(n):
            z[i] = one / (one + exp(-z[i]))


@njit(**JIT_FAST)
def activation_backward(delta, z, n, act):
    """delta[:n] *= act'(.) where z[:n] holds the activation's output."""
    one = z.dtype.type(1.0)
    zero = z.dtype.type(0.0)
    if act == ACT_RELU:
        for i in range(n):
            if z[i] == zero:
                delta[i] = zero
    elif act == ACT_TANH:
        # tanh' = 1 - tanh^2
        for i in range(n):
            delta[i] *= one - z[i] * z[i]
    elif act == ACT_LOGISTIC:
        # sigma' = sigma (1 - sigma)
        for i in range(n):
            delta[i] = delta[i] * z[i] * (one - z[i])
