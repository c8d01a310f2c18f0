"""Input checks that run before any kernel: the kernels trust their arguments
(no bounds checks), so these are also what keeps memory safe.

Each check raises a ValueError or TypeError that names the problem. The
conversions here hand the kernels their arrays: a dense C-ordered X or a CSR
matrix's three arrays (copied and checked again), the targets as the kernels
take them, and weights in the model's dtype.
"""

from contextlib import contextmanager
from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.utils.multiclass import check_classification_targets


def check_sparse_structure(X):
    """Refuse a sparse matrix whose index arrays point outside it.

    Runs before anything converts or reads the matrix: scipy's conversions
    (CSC or COO to CSR) are C++ loops that trust the index arrays, as are the
    kernels, so a corrupted matrix would read or write out of bounds.
    """
    if not sp.issparse(X):
        return
    try:
        if X.format in ("csr", "csc", "bsr"):
            X.check_format(full_check=True)
        elif X.format == "coo":
            coords = getattr(X, "coords", None) or (X.row, X.col)
            for axis, idx in enumerate(coords):
                if idx.shape != X.data.shape:
                    raise ValueError(
                        "index array %d has %d entries for %d values"
                        % (axis, idx.shape[0], X.data.shape[0])
                    )
                if idx.size and (idx.min() < 0 or idx.max() >= X.shape[axis]):
                    raise ValueError(
                        "indices along axis %d must lie in [0, %d)"
                        % (axis, X.shape[axis])
                    )
    except ValueError as e:
        raise ValueError(
            "Sparse input X has corrupted index arrays: %s." % str(e).rstrip(".")
        ) from e


def check_layer_shapes(coefs, intercepts):
    """coefs_ and intercepts_ that a user assigned must chain into a network:
    the kernels read the flat buffer by the layer sizes that they imply."""
    if not coefs or len(coefs) != len(intercepts):
        raise ValueError(
            "coefs_ and intercepts_ must be lists of the same, non-zero length; "
            "got %d and %d." % (len(coefs), len(intercepts))
        )
    for i, (c, b) in enumerate(zip(coefs, intercepts, strict=True)):
        fan_in = coefs[i - 1].shape[1] if i else None
        if (
            c.ndim != 2
            or min(c.shape) < 1
            or (fan_in is not None and c.shape[0] != fan_in)
            or b.shape != (c.shape[1],)
        ):
            raise ValueError(
                "coefs_[%d] has shape %s and intercepts_[%d] shape %s: each layer "
                "needs a (fan_in, fan_out) weight matrix whose fan_in is the "
                "previous layer's fan_out, and fan_out biases."
                % (i, c.shape, i, b.shape)
            )


def narrows(src, dst):
    """Whether casting floats of dtype src to dtype dst can overflow."""
    return src.kind == dst.kind == "f" and np.finfo(src).max > np.finfo(dst).max


def as_kernel_input(X, dtype):
    """X for the kernels: a C-ordered dense array, or the three arrays of a CSR
    matrix (int64 indptr and indices, data in ``dtype``).

    A sparse X has passed check_sparse_structure (fit and predict run it
    before validation). The kernels then read index arrays of their own,
    copied here and checked again, so that nothing done to the user's matrix
    meanwhile (another thread writing its indices, say) can send a kernel
    outside it; its values, if changed, change only the result."""
    if sp.issparse(X):
        X = X.tocsr()
        indptr = np.array(X.indptr, dtype=np.int64, order="C", copy=True)
        indices = np.array(X.indices, dtype=np.int64, order="C", copy=True)
        data = np.ascontiguousarray(X.data, dtype=dtype)
        n_rows, n_cols = X.shape
        nnz = indptr[-1] if indptr.shape[0] == n_rows + 1 else -1
        used = indices[: max(nnz, 0)]
        if not (
            indptr[0] == 0
            and 0 <= nnz <= min(indices.shape[0], data.shape[0])
            and (indptr[1:] >= indptr[:-1]).all()
            and (used.shape[0] == 0 or 0 <= used.min() <= used.max() < n_cols)
        ):
            raise ValueError(
                "The sparse matrix's index arrays changed while fastmlp read it "
                "and now point outside it."
            )
        return True, (indptr, indices, data)
    return False, np.ascontiguousarray(X, dtype=dtype)


def kernel_targets(y, out_activation, dtype):
    """The targets as the kernels take them: a softmax output's one-hot rows as
    their class indices (int64, n values instead of n x K, and one gather per
    sample in the loss instead of one per class), anything else as a matrix of
    the model's dtype."""
    if (
        out_activation == "softmax"
        and y.dtype == bool
        and y.shape[0] > 0
        and bool(np.all(np.count_nonzero(y, axis=1) == 1))
    ):
        return np.argmax(y, axis=1).astype(np.int64)
    return np.ascontiguousarray(y, dtype=dtype)


@contextmanager
def orderable_labels(what, y=None):
    """Class labels are sorted; labels of mixed types (str and int, or None
    among strings) cannot be, and Python's TypeError does not say which input
    is at fault. A continuous y is named as such rather than printed.
    scikit-learn's own TypeErrors (bytes labels, say) pass through as they are."""
    try:
        yield
    except TypeError as e:
        if "not supported between instances" not in str(e):
            raise
        raise TypeError(
            "The class labels in %s cannot be sorted (%s): use labels of one "
            "type, all strings or all numbers, and no None." % (what, e)
        ) from e
    except ValueError:
        if y is not None:
            check_classification_targets(y)
        raise


def check_hidden_layer_sizes(hidden_layer_sizes):
    """hidden_layer_sizes as a list of positive integers, each below 2**31
    (the kernels index units with int32-safe arithmetic), or a ValueError."""
    sizes = hidden_layer_sizes
    if not hasattr(sizes, "__iter__"):
        sizes = [sizes]
    sizes = list(sizes)
    if not all(isinstance(h, Integral) and not isinstance(h, bool) for h in sizes):
        raise ValueError(
            "hidden_layer_sizes must hold integers (the number of units of "
            "each hidden layer), got %r." % (hidden_layer_sizes,)
        )
    if min(sizes, default=1) <= 0:
        raise ValueError("hidden_layer_sizes must be > 0, got %s." % sizes)
    if max(sizes, default=1) > np.iinfo(np.int32).max:
        raise ValueError(
            "hidden_layer_sizes must be below 2**31 units per layer, got %s." % sizes
        )
    return sizes


def kernel_arrays(X, y, sample_weight, dtype, out_activation):
    """X, the targets (kernel_targets) and the weights (None: unweighted) in
    the model's dtype, as the kernels take them. A model continues in its own
    dtype: values that the cast to it turns infinite (a float32 model given
    float64 data beyond float32's range) or weights whose sum it overflows are
    refused here, before any kernel, as the checks before the cast would
    refuse an infinity."""
    dtype = np.dtype(dtype)
    if X.dtype != dtype:
        narrowed = narrows(X.dtype, dtype)
        X = X.astype(dtype)
        values = X.data if sp.issparse(X) else X
        if narrowed and not np.isfinite(values).all():
            raise ValueError(
                "Input X has values beyond the range of the model's %s "
                "(largest %g): scale the data down." % (dtype, np.finfo(dtype).max)
            )
    if sp.issparse(X):
        X = X.tocsr()
    Y = kernel_targets(y, out_activation, dtype)
    if narrows(y.dtype, Y.dtype) and not np.isfinite(Y).all():
        raise ValueError(
            "Input y has values beyond the range of the model's %s (largest "
            "%g): scale the targets down." % (dtype, np.finfo(dtype).max)
        )
    if sample_weight is None:
        return X, Y, None  # the kernels' unweighted flavour: no weights read
    sw = np.ascontiguousarray(sample_weight, dtype=dtype)
    with np.errstate(over="ignore"):
        total = sw.sum()
    if not np.isfinite(total):
        raise ValueError(
            "sample_weight's sum exceeds the range of %s: scale the weights "
            "down." % dtype
        )
    return X, Y, sw
