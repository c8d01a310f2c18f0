"""Fused optimizer updates over the one flat parameter buffer.

The formulas and their order of operations are scikit-learn's
(sklearn/neural_network/_stochastic_optimizers.py), so that float64 runs give
the same model to rounding.
"""

import numpy as np
from numba import njit

from . import layout
from .config import JIT, JIT_INLINE
from .layout import SOLVER_ADAM, SOLVER_SGD  # noqa: F401


@njit(**JIT)
def sgd_update(params, velocity, grads, lr, momentum, nesterov, n):
    """v = momentum v - lr g;  params += v  (or momentum v - lr g with Nesterov)."""
    lr_ = params.dtype.type(lr)
    mu = params.dtype.type(momentum)
    if nesterov:
        for p in range(n):
            g = grads[p]
            v = mu * velocity[p] - lr_ * g
            velocity[p] = v
            params[p] += mu * v - lr_ * g
    else:
        for p in range(n):
            v = mu * velocity[p] - lr_ * grads[p]
            velocity[p] = v
            params[p] += v


# Adam's bias-corrected step size at step t (layout.adam_learning_rate, which
# the estimators also run as Python).
adam_learning_rate = njit(**JIT)(layout.adam_learning_rate)


@njit(**JIT_INLINE)
def adam_constants(params, lr_t, beta1, beta2, eps):
    """Adam's constants in the parameters' dtype, for adam_step:
    (b1, 1 - b1, b2, 1 - b2, -lr_t, eps)."""
    dt = params.dtype.type
    return dt(beta1), dt(1.0 - beta1), dt(beta2), dt(1.0 - beta2), dt(-lr_t), dt(eps)


@njit(**JIT_INLINE)
def adam_step(params, m, v, p, g, b1, c1, b2, c2, nlr, e):
    """Adam's step of parameter p with gradient g (constants: adam_constants)."""
    mp = b1 * m[p] + c1 * g
    vp = b2 * v[p] + c2 * (g * g)
    m[p] = mp
    v[p] = vp
    params[p] += nlr * mp / (np.sqrt(vp) + e)


@njit(**JIT)
def adam_update(params, m, v, grads, lr_t, beta1, beta2, eps, n):
    """m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;  params -= lr_t m / (sqrt(v) + eps)."""
    b1, c1, b2, c2, nlr, e = adam_constants(params, lr_t, beta1, beta2, eps)
    for p in range(n):
        adam_step(params, m, v, p, grads[p], b1, c1, b2, c2, nlr, e)
