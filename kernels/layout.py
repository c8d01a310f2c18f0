"""The codes and sizes that the kernels and the estimators share, in plain
Python: importing them loads no Numba.

The estimators' layer (``fastmlp``) reads these to choose a kernel and to size
its buffers; the kernels compile them in as constants. A fit that runs on the
precompiled kernels (``fastmlp.kernels.precompiled``) never imports Numba.
"""

import math

# Hidden-layer activations (activations.py).
ACT_IDENTITY = 0
ACT_RELU = 1
ACT_TANH = 2
ACT_LOGISTIC = 3

# Output activations, each fused with its loss (losses.py).
OUT_IDENTITY = 0
OUT_LOGISTIC = 1
OUT_SOFTMAX = 2
OUT_EXP = 3

# Stochastic solvers (optimizers.py).
SOLVER_SGD = 0
SOLVER_ADAM = 1

# Learning-rate schedules of the SGD solver (Adam has none).
SCHEDULE_CONSTANT = 0
SCHEDULE_INVSCALING = 1
SCHEDULE_ADAPTIVE = 2

# The packed control arrays of fit_epochs, slot by slot. The estimators fill
# them, the kernel reads them and writes back the state it carries between
# epochs; every reader and writer uses these names.
#
# hyper (float64): the optimizer's hyperparameters, constant during a call.
HYPER_LR = 0  # learning_rate_init (Adam's base rate; SGD reads CTRL_F_LR)
HYPER_MOMENTUM = 1
HYPER_NESTEROV = 2  # 1.0 or 0.0
HYPER_BETA1 = 3
HYPER_BETA2 = 4
HYPER_EPSILON = 5
HYPER_ALPHA = 6  # the L2 penalty
HYPER_SIZE = 7
# ctrl_f (float64): scikit-learn's per-epoch rule, in and out.
CTRL_F_LR = 0  # SGD's current learning rate (the schedules change it)
CTRL_F_LR_INIT = 1
CTRL_F_POWER_T = 2
CTRL_F_TOL = 3
CTRL_F_BEST_LOSS = 4
CTRL_F_N_ITER_NO_CHANGE = 5
CTRL_F_SIZE = 6
# ctrl_i (int64), in and out.
CTRL_I_STEP = 0  # Adam's step count t; on DIVERGED, -1 - (batches done)
CTRL_I_SEEN = 1  # samples seen, the estimator's t_
CTRL_I_NO_IMPROVEMENT = 2  # epochs without improvement so far
CTRL_I_SCHEDULE = 3  # SCHEDULE_* (SGD)
CTRL_I_SHUFFLE = 4  # 1: shuffle the rows at the start of every epoch
CTRL_I_SIZE = 5

# The adaptive schedule divides the learning rate by 5 instead of stopping
# while the rate is above this.
ADAPTIVE_MIN_LEARNING_RATE = 1e-6

# What ended a run of fit_epochs.
RAN_ALL = 0
STOPPED = 1
DIVERGED = 2

# Prediction blocks smaller than this take the sample-major path (predict.py).
ROWS_MAX = 8

# A chunk of a split batch has at least this many rows (a smaller batch, the
# last of an epoch say, is cut into fewer chunks, or none), so that each
# chunk's GEMMs stay efficient. Chunks of unequal rows run side by side only
# where blas.side_by_side_ok allows it (float64), else one after the other.
CHUNK_MIN_ROWS = 64


def param_layout_size(units):
    """Length of the flat parameter buffer for layer sizes ``units``.

    Plain Python, like workspace_size: called once per fit, not worth loading
    compiled code for."""
    n = 0
    for l in range(len(units) - 1):
        n += int(units[l]) * int(units[l + 1]) + int(units[l + 1])
    return n


def workspace_size(units, capacity):
    """Length of the work buffer for batches of up to ``capacity`` samples:
    the activations and deltas, then 5 * capacity of scratch for the loss."""
    total = 0
    for l in range(len(units)):
        total += int(units[l])
    return int(capacity) * (2 * total - int(units[0]) + 5)


def chunk_count(B, max_chunks):
    """How many chunks a batch of B rows is cut into: max_chunks, or fewer so
    that each has CHUNK_MIN_ROWS rows at least, and one at least."""
    return max(1, min(max_chunks, B // CHUNK_MIN_ROWS))


def chunk_capacity(batch_size, n_chunks):
    """The most rows a chunk takes, batches of up to batch_size rows split into
    up to n_chunks chunks: ceil(batch_size / n_chunks) for a full batch, but a
    smaller batch cut into fewer chunks (B // CHUNK_MIN_ROWS of them) may give
    each up to 2 * CHUNK_MIN_ROWS - 1 rows."""
    cap = max(-(-batch_size // n_chunks), 2 * CHUNK_MIN_ROWS - 1)
    return min(cap, batch_size)


def chunk_workspace(units, batch_size, n_chunks):
    """(length of one chunk's part of the work buffer, rows per chunk at most)
    for batches of up to batch_size rows split into up to n_chunks chunks."""
    cap = chunk_capacity(int(batch_size), int(n_chunks))
    return workspace_size(units, cap), cap


# scikit-learn's per-epoch rule, written once: the estimators run these as
# Python between epochs they drive, and kernels/train.py compiles the same
# functions into fit_epochs for the epochs it runs on its own.


def no_improvement(loss, best_loss, tol, count):
    """scikit-learn's _update_no_improvement_count for an epoch's training
    loss: (the new count of epochs without improvement, the new best loss)."""
    if loss > best_loss - tol:
        count = count + 1
    else:
        count = 0
    if loss < best_loss:
        best_loss = loss
    return count, best_loss


def invscaling_learning_rate(learning_rate_init, seen, power_t):
    """SGD's invscaling schedule after ``seen`` samples in all:
    learning_rate_init / (seen + 1) ** power_t."""
    return learning_rate_init / float(seen + 1) ** power_t


def adaptive_learning_rate(learning_rate):
    """The adaptive schedule when the loss has stopped improving: the rate
    divided by 5, or 0.0 where the rate is too small and training stops."""
    if learning_rate > ADAPTIVE_MIN_LEARNING_RATE:
        return learning_rate / 5.0
    return 0.0


def adam_learning_rate(lr, beta1, beta2, t):
    """Adam's bias-corrected step size at step t (t >= 1), in float64."""
    tf = float(t)
    return lr * math.sqrt(1.0 - beta2**tf) / (1.0 - beta1**tf)
