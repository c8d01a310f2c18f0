"""Fast stand-ins for scikit-learn helpers, in one place.

Each function here gives what the scikit-learn function it names gives (the
same values, dtypes, errors and warnings) for the inputs it takes on, and hands
every other input to that function itself. They exist because the helpers'
generic checks cost more than a small network's epoch or a one-row prediction.
This module is the drift surface of the drop-in promise: on a scikit-learn
upgrade, ``tests/test_sklearn_compat.py`` holds each one to the function it
replaces.

=========================  ===================================================
stand-in                   replaces
=========================  ===================================================
plain_fit_arrays           validate_data(est, X, y, ...) handing X, y back as
                           they are (with reset_plain_features for reset=True)
seeded_random_state        check_random_state(est.random_state)
fit_binarizer              LabelBinarizer().fit(y)
distinct_labels            unique_labels(y)
one_hot                    LabelBinarizer.transform(y), as bool
decode_labels              LabelBinarizer.inverse_transform(y_pred)
validation_accuracy        accuracy_score(y_true, y_pred, sample_weight=...)
validation_r2              r2_score(y_true, y_pred, sample_weight=...)
=========================  ===================================================
"""

from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.metrics import r2_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import unique_labels
from sklearn.utils.sparsefuncs import count_nonzero
from sklearn.utils.validation import _check_feature_names, _check_n_features

_NATIVE_FLOATS = (np.dtype(np.float64), np.dtype(np.float32))


def plain_fit_arrays(est, X, y, y_kinds, y_ndims, reset=False):
    """Whether validate_data(est, X, y, reset=reset, multi_output=True,
    dtype=(np.float64, np.float32), order="C", ...) would hand X and y back
    unchanged, without an error or a warning, as it does for the common input
    of a fit or of a fitted model's partial_fit: X a C-ordered float64 or
    float32 ndarray with rows and columns (reset=False: the fitted number of
    columns, and no feature names on the model's side), y an ndarray of as
    many rows, of a dtype kind in ``y_kinds`` and with ``y_ndims`` dimensions,
    and no NaN or infinity in either. With reset, validate_data would also
    record X's width (n_features_in_) and drop the model's feature names
    (reset_plain_features does both).

    The check costs a few microseconds where validate_data costs about 0.2 ms,
    more than an epoch of a small network. Finiteness is checked on the sum, as
    scikit-learn does first: a sum is finite only if every term is; a sum that
    is not (which may be an overflow) sends the arrays through validate_data."""
    if not (
        type(X) is np.ndarray
        and X.ndim == 2
        and X.dtype in _NATIVE_FLOATS  # not a byte-swapped one
        and X.flags.c_contiguous
        and X.shape[0] > 0
        and X.shape[1] > 0
        and (reset or X.shape[1] == getattr(est, "n_features_in_", None))
        and (reset or not hasattr(est, "feature_names_in_"))
        and type(y) is np.ndarray
        and y.ndim in y_ndims
        and y.shape[0] == X.shape[0]
        and y.dtype.kind in y_kinds
        and (y.ndim == 1 or y.shape[1] > 1)
    ):
        return False
    with np.errstate(over="ignore", invalid="ignore"):
        return bool(np.isfinite(X.sum())) and (
            y.dtype.kind != "f" or bool(np.isfinite(y.sum()))
        )


def reset_plain_features(est, X):
    """What validate_data(est, X, reset=True) records of X, by the same two
    functions: its width (n_features_in_) and its feature names, which an
    ndarray has none of (a model fitted before on a DataFrame loses them)."""
    _check_n_features(est, X, reset=True)
    _check_feature_names(est, X, reset=True)


def seeded_random_state(est):
    """check_random_state(est.random_state), which every fit and partial_fit
    calls, as scikit-learn's do.

    For an integer seed that means a new RandomState each call, and a new
    RandomState first seeds its MT19937 from a SeedSequence (more than a small
    network's epoch) before the legacy seeding replaces that state. Seeding
    again the RandomState made for the estimator's last call gives the same
    state (RandomState.seed runs the same legacy seeding and clears the cached
    Gaussian) at a fraction of the cost. A RandomState given by the user, or
    the global one, is used as it is."""
    seed = est.random_state
    own = getattr(est, "_own_random_state", None)
    if isinstance(seed, Integral) and type(own) is np.random.RandomState:
        own.seed(seed)
        return own
    rng = check_random_state(seed)
    est._own_random_state = rng if isinstance(seed, Integral) else None
    return rng


def fit_binarizer(y):
    """LabelBinarizer().fit(y).

    A 1-D array of integer labels, the common case, is fitted directly: its
    target type is "binary" for at most two distinct labels and "multiclass"
    otherwise, and its classes are its sorted distinct values, which is what
    LabelBinarizer.fit finds by running scikit-learn's type_of_target twice
    (some 200 us, more than a small network's whole fit). Anything else
    (strings, floats, objects, multilabel, empty) goes through the binarizer
    itself."""
    binarizer = LabelBinarizer()
    if (
        isinstance(y, np.ndarray)
        and y.ndim == 1
        and y.dtype.kind in "iu"
        and y.shape[0] > 0
    ):
        classes = np.unique(y)
        binarizer.y_type_ = "binary" if classes.shape[0] <= 2 else "multiclass"
        binarizer.sparse_input_ = False
        binarizer.classes_ = classes
        return binarizer
    return binarizer.fit(y)


def distinct_labels(y):
    """unique_labels(y): the sorted distinct class labels of a target.

    A 1-D array of integers, booleans or strings has target type "binary" or
    "multiclass" and labels all of one type, so unique_labels comes down to
    np.unique, without the two passes of type_of_target (about 0.15 ms a call,
    which partial_fit pays for every block of rows). Anything else goes through
    unique_labels and its checks."""
    if (
        type(y) is np.ndarray
        and y.ndim == 1
        and y.dtype.kind in "iubU"
        and y.shape[0] > 0
    ):
        return np.unique(y)
    return unique_labels(y)


def one_hot(label_binarizer, y):
    """label_binarizer.transform(y) as a bool matrix.

    For the common case, single-label y whose labels are all among the
    binarizer's sorted ``classes_``, the indicator matrix is built directly from
    a binary search: LabelBinarizer.transform re-derives the target type and
    re-checks the labels, which costs more than a small network's whole fit.
    Anything else (multilabel y, a single class, labels that do not match) goes
    through the binarizer itself."""
    classes = label_binarizer.classes_
    kind = label_binarizer.y_type_
    K = len(classes)
    if y.ndim == 1 and (kind == "multiclass" or (kind == "binary" and K == 2)):
        try:
            pos = np.searchsorted(classes, y)
        except TypeError:
            pos = None
        if pos is not None and pos.size == y.size:
            ok = bool(np.all(pos < K)) and bool(
                np.all(classes[np.minimum(pos, K - 1)] == y)
            )
            if ok:
                if kind == "binary":
                    return (pos == 1).reshape(-1, 1)
                Y = np.zeros((y.shape[0], K), dtype=bool)
                Y[np.arange(y.shape[0]), pos] = True
                return Y
    return label_binarizer.transform(y).astype(bool)


def decode_labels(label_binarizer, y_pred):
    """label_binarizer.inverse_transform(y_pred) for the network's own output: a
    dense float array, (n,) for a single output, else (n, n_outputs).

    The same arithmetic as the binarizer's (argmax for multiclass, the
    threshold between neg_label and pos_label otherwise; the same dtypes)
    without its checks and array-API dispatch, about 35 us a call: more than a
    one-row prediction, and 30 times a small network's epoch when early
    stopping scores every epoch. A binarizer fitted on a sparse target still
    goes through inverse_transform, which returns a sparse matrix."""
    lb = label_binarizer
    if getattr(lb, "sparse_input_", True):
        return lb.inverse_transform(y_pred)
    if lb.y_type_ == "multiclass":
        return lb.classes_[np.argmax(y_pred, axis=1)]
    threshold = (lb.pos_label + lb.neg_label) / 2.0
    # scikit-learn's index dtype (indexing_dtype): that of np.asarray(0).
    y = np.asarray(y_pred > threshold, dtype=np.asarray(0).dtype)
    if lb.y_type_ == "binary":
        if y.ndim == 2 and y.shape[1] == 2:
            return lb.classes_[y[:, 1]]
        if lb.classes_.shape[0] == 1:
            return np.repeat(lb.classes_[0], len(y))
        return lb.classes_[y.reshape(-1)]
    return y  # multilabel-indicator


def validation_accuracy(y_true, y_pred, sample_weight=None):
    """scikit-learn's accuracy_score of early stopping's validation rows, without
    its input checks: both label arrays come from the estimator's own label
    binarizer, so they are of one kind, one dtype and one length. The same
    comparison (in multilabel, a row counts when all its labels match) and the
    same np.average as accuracy_score, hence the same float; the checks cost
    about 0.4 ms per epoch, 30 times a small network's epoch."""
    if sp.issparse(y_true) or sp.issparse(y_pred):
        # A multilabel y given sparse is decoded sparse: accuracy_score's count
        # of the labels that differ in each row.
        differing = count_nonzero(sp.csr_matrix(y_true) - sp.csr_matrix(y_pred), axis=1)
        score = differing == 0
    elif y_true.ndim == 2:
        score = (y_true == y_pred).all(axis=1)
    else:
        score = y_true == y_pred
    return float(np.average(score, weights=sample_weight))


def validation_r2(y_true, y_pred, sample_weight=None):
    """scikit-learn's r2_score (uniform average over the outputs, non-finite
    scores forced finite) of early stopping's validation rows, without its
    input checks: the same dtype, the same sums and the same rules for zero
    numerators and denominators, hence the same float; the checks cost about
    0.3 ms per epoch."""
    arrays = [a for a in (y_true, y_pred, sample_weight) if a is not None]
    floats = [a.dtype for a in arrays if a.dtype.kind == "f"]
    dtype = np.result_type(*floats) if floats else np.float64
    y_true = np.asarray(y_true, dtype=dtype)
    y_pred = np.asarray(y_pred, dtype=dtype)
    if y_true.shape[0] < 2:
        return r2_score(y_true, y_pred, sample_weight=sample_weight)  # warns, NaN
    if y_true.ndim == 1:
        y_true = y_true.reshape((-1, 1))
    if y_pred.ndim == 1:
        y_pred = y_pred.reshape((-1, 1))
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=dtype)
        weight = sample_weight[:, None]
    else:
        weight = 1.0
    numerator = np.sum(weight * (y_true - y_pred) ** 2, axis=0)
    mean = np.average(y_true, axis=0, weights=sample_weight)
    denominator = np.sum(weight * (y_true - mean) ** 2, axis=0)
    nonzero_numerator = numerator != 0
    nonzero_denominator = denominator != 0
    scores = np.ones(y_true.shape[1], dtype=numerator.dtype)
    valid = nonzero_denominator & nonzero_numerator
    scores[valid] = 1 - (numerator[valid] / denominator[valid])
    scores[nonzero_numerator & ~nonzero_denominator] = 0.0
    return float(np.average(scores))
