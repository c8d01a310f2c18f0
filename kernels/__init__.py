"""fastmlp.kernels: C-style Numba kernels for multi-layer perceptrons.

Arrays in, arrays out. Nothing here sees a Python object, a string or a dict,
and nothing here validates its input: the API layer (``fastmlp``) checks
everything before a kernel runs. Activations and deltas are stored
*feature-major* (units x batch) so that the innermost loops run over the batch,
which is long, rather than over the units, which can be very few.

Integer codes select the activation, the output/loss pair and the solver.
Every kernel is compiled with one of the option sets of ``config`` (cached
machine code, the GIL released, NumPy's error model).

The codes, buffer sizes and slot names (``layout``) and the settings
(``config``) are plain Python and import at once; the compiled kernels are
imported on first use, so that a process whose fits all run on the
precompiled kernels (``precompiled``) never imports Numba. The estimators
reach the kernels through one module, ``fastmlp._runtime``.
"""

import importlib

from .layout import (
    ACT_IDENTITY,
    ACT_LOGISTIC,
    ACT_RELU,
    ACT_TANH,
    CHUNK_MIN_ROWS,
    DIVERGED,
    OUT_EXP,
    OUT_IDENTITY,
    OUT_LOGISTIC,
    OUT_SOFTMAX,
    RAN_ALL,
    ROWS_MAX,
    SOLVER_ADAM,
    SOLVER_SGD,
    STOPPED,
    chunk_count,
    chunk_workspace,
    param_layout_size,
    workspace_size,
)

# Each compiled kernel, by the module that defines it (imported on first use).
_KERNEL_MODULES = {
    "activation_backward": "activations",
    "activation_forward": "activations",
    "dense_backward": "dense",
    "dense_backward_blas": "dense",
    "dense_backward_blas_rows": "dense",
    "dense_forward": "dense",
    "dense_forward_blas": "dense",
    "dense_forward_blas_rows": "dense",
    "dense_forward_rows": "dense",
    "output_forward": "losses",
    "output_loss_backward": "losses",
    "adam_update": "optimizers",
    "sgd_update": "optimizers",
    "predict_parallel": "predict",
    "predict_serial": "predict",
    "sparse_dense_backward": "sparse",
    "sparse_dense_forward": "sparse",
    "sparse_rows_forward": "sparse",
    "batch_gradient": "train",
    "finish_update": "train",
    "fit_epochs": "train",
    "forward_backward": "train",
    "forward_backward_split": "train",
    "train_epoch": "train",
}

# The kernels the estimators call (everything else here is a building block of
# these): the bad-input tests replace them all to prove that validation comes
# first, the concurrency tests check that they all release the GIL.
ENTRY_POINTS = (
    "fit_epochs",
    "forward_backward",
    "forward_backward_split",
    "predict_serial",
    "predict_parallel",
    "train_epoch",
)


def __getattr__(name):
    module = _KERNEL_MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module("." + module, __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))


# The layout's names imported above, then every compiled kernel.
__all__ = [
    "ACT_IDENTITY",
    "ACT_LOGISTIC",
    "ACT_RELU",
    "ACT_TANH",
    "CHUNK_MIN_ROWS",
    "DIVERGED",
    "ENTRY_POINTS",
    "OUT_EXP",
    "OUT_IDENTITY",
    "OUT_LOGISTIC",
    "OUT_SOFTMAX",
    "RAN_ALL",
    "ROWS_MAX",
    "SOLVER_ADAM",
    "SOLVER_SGD",
    "STOPPED",
    "chunk_count",
    "chunk_workspace",
    "param_layout_size",
    "workspace_size",
    *_KERNEL_MODULES,
]
