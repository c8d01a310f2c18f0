"""Stochastic optimizers: the schedule lives here, the arithmetic in the kernels.

Each optimizer owns its state as flat buffers of the parameter layout and
exposes what the epoch kernel needs (a solver code, its state buffers and its
hyper-parameters); the kernel performs the fused update after every
mini-batch. Learning-rate schedules and stopping rules
follow scikit-learn's ``sklearn/neural_network/_stochastic_optimizers.py``.
"""

import numpy as np

from fastmlp.kernels.layout import (
    HYPER_ALPHA,
    HYPER_BETA1,
    HYPER_BETA2,
    HYPER_EPSILON,
    HYPER_LR,
    HYPER_MOMENTUM,
    HYPER_NESTEROV,
    HYPER_SIZE,
    SOLVER_ADAM,
    SOLVER_SGD,
    adam_learning_rate,
    adaptive_learning_rate,
    invscaling_learning_rate,
)


class BaseOptimizer:
    """Base class for the stochastic optimizers.

    Parameters
    ----------
    learning_rate_init : float
        The initial learning rate.
    """

    code = -1

    def __init__(self, learning_rate_init=0.1):
        self.learning_rate_init = learning_rate_init
        self.learning_rate = float(learning_rate_init)
        # fit_epochs' hyper array (slots: kernels.layout.HYPER_*)
        self.hyper = np.zeros(HYPER_SIZE, dtype=np.float64)

    def steps_done(self, t):
        """Record that the kernel has taken the optimizer to step ``t``."""
        self.t = t

    def iteration_ends(self, time_step):
        """Perform updates to the learning rate at the end of an epoch."""

    def trigger_stopping(self, msg, verbose):
        """Decide whether training stops when no improvement was seen.

        Returns
        -------
        is_stopping : bool
        """
        if verbose:
            print(msg + " Stopping.")
        return True


class SGDOptimizer(BaseOptimizer):
    """Stochastic gradient descent with momentum (and optionally Nesterov's).

    Parameters
    ----------
    params : ndarray
        The flat parameter buffer.
    learning_rate_init : float, default=0.1
    lr_schedule : {'constant', 'adaptive', 'invscaling'}, default='constant'
    momentum : float, default=0.9
    nesterov : bool, default=True
    power_t : float, default=0.5
    """

    code = SOLVER_SGD

    def __init__(
        self,
        params,
        learning_rate_init=0.1,
        lr_schedule="constant",
        momentum=0.9,
        nesterov=True,
        power_t=0.5,
    ):
        super().__init__(learning_rate_init)
        self.lr_schedule = lr_schedule
        self.momentum = momentum
        self.nesterov = nesterov
        self.power_t = power_t
        self.velocities = np.zeros_like(params)
        self.t = 0

    @property
    def state(self):
        return self.velocities, self.velocities

    def hyperparameters(self, alpha):
        h = self.hyper
        h[HYPER_LR] = self.learning_rate
        h[HYPER_MOMENTUM] = self.momentum
        h[HYPER_NESTEROV] = 1.0 if self.nesterov else 0.0
        h[HYPER_ALPHA] = alpha
        return h

    def iteration_ends(self, time_step):
        """``invscaling``: learning_rate_init / (time_step + 1) ** power_t."""
        if self.lr_schedule == "invscaling":
            self.learning_rate = invscaling_learning_rate(
                float(self.learning_rate_init), time_step, self.power_t
            )

    def trigger_stopping(self, msg, verbose):
        if self.lr_schedule != "adaptive":
            if verbose:
                print(msg + " Stopping.")
            return True
        reduced = adaptive_learning_rate(self.learning_rate)
        if reduced == 0.0:
            if verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        self.learning_rate = reduced
        if verbose:
            print(msg + " Setting learning rate to %f" % self.learning_rate)
        return False


class AdamOptimizer(BaseOptimizer):
    """Adam (Kingma and Ba, 2014).

    Parameters
    ----------
    params : ndarray
        The flat parameter buffer.
    learning_rate_init : float, default=0.001
    beta_1 : float, default=0.9
    beta_2 : float, default=0.999
    epsilon : float, default=1e-8
    """

    code = SOLVER_ADAM

    def __init__(
        self, params, learning_rate_init=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-8
    ):
        super().__init__(learning_rate_init)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.t = 0
        self.ms = np.zeros_like(params)
        self.vs = np.zeros_like(params)

    @property
    def state(self):
        return self.ms, self.vs

    def hyperparameters(self, alpha):
        h = self.hyper
        h[HYPER_LR] = self.learning_rate_init
        h[HYPER_BETA1] = self.beta_1
        h[HYPER_BETA2] = self.beta_2
        h[HYPER_EPSILON] = self.epsilon
        h[HYPER_ALPHA] = alpha
        return h

    def steps_done(self, t):
        """Record that the kernel has taken the optimizer to step ``t``."""
        self.t = t
        if t > 0:
            # The kernel's own formula, run as Python (same pow, no compiled
            # code to load for one number).
            self.learning_rate = adam_learning_rate(
                float(self.learning_rate_init), self.beta_1, self.beta_2, t
            )
