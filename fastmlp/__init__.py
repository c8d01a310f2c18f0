"""fastmlp: multi-layer perceptrons for tabular data on hand-written Numba kernels.

A drop-in for scikit-learn's ``MLPClassifier``: the same parameters, methods and
fitted attributes, and in float64 with the same ``random_state`` the same model.
"""

from fastmlp._io import load, model_info, save
from fastmlp._multilayer_perceptron import MLPClassifier, MLPRegressor
from fastmlp._plot import plot_loss_curve

__version__ = "0.1.0"

__all__ = [
    "MLPClassifier",
    "MLPRegressor",
    "__version__",
    "load",
    "model_info",
    "plot_loss_curve",
    "save",
]
