"""fastmlp: multi-layer perceptrons for tabular data on hand-written Numba kernels.

A drop-in for scikit-learn's ``MLPClassifier`` and ``MLPRegressor``: the same
parameters, methods and fitted attributes, and in float64 with the same
``random_state`` the same model.

The public names are imported on first use, so that ``import fastmlp`` (and the
command line's help and error messages) do not wait for scikit-learn and Numba.
"""

import importlib

__version__ = "0.1.0"

_LAZY = {
    "MLPClassifier": "fastmlp._multilayer_perceptron",
    "MLPRegressor": "fastmlp._multilayer_perceptron",
    "load": "fastmlp._io",
    "model_info": "fastmlp._io",
    "save": "fastmlp._io",
    "plot_loss_curve": "fastmlp._plot",
}

__all__ = [
    "MLPClassifier",
    "MLPRegressor",
    "__version__",
    "load",
    "model_info",
    "plot_loss_curve",
    "save",
]


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'fastmlp' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
