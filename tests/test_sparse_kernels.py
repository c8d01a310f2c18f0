"""The sparse first-layer kernels (fastmlp.kernels.sparse) against plain NumPy.

X is a scipy CSR matrix handed to the kernels as its three arrays; the
references densify it with ``X.toarray()`` (which sums duplicate indices) and
compute in float64 from the very same (dtype-rounded) values. Conventions as in
the kernels: outputs and deltas feature-major (units, B), W (fan_in, fan_out),
the batch is the rows idx[start:start + B].

Tolerances: float64 rtol 1e-10 with an absolute floor of rtol * max|expected|
(sums cancel), float32 rtol 1e-4 and atol 1e-5.

All arrays passed to a kernel are C-contiguous, index arrays are int64 and
scalars are Python ints and floats, so that each kernel compiles once per dtype.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from fastmlp.kernels import (
    ACT_IDENTITY,
    ACT_LOGISTIC,
    ACT_RELU,
    ACT_TANH,
    dense_forward,
)
from fastmlp.kernels.sparse import (
    sparse_dense_backward,
    sparse_dense_forward,
    sparse_rows_forward,
)

ACTS = {
    ACT_IDENTITY: "identity",
    ACT_RELU: "relu",
    ACT_TANH: "tanh",
    ACT_LOGISTIC: "logistic",
}
DTYPES = [np.float64, np.float32]
DENSITIES = [0.0, 0.05, 0.5, 1.0]
# (n_rows, fan_in, fan_out, B, start): start > 0 except where the batch is all rows.
SHAPES = [
    (30, 17, 9, 12, 5),
    (30, 17, 1, 12, 3),  # a single output unit
    (30, 17, 9, 1, 7),  # a single sample
    (25, 40, 6, 25, 0),  # the whole (shuffled) data set in one batch
]

act_ids = pytest.mark.parametrize("act", list(ACTS), ids=list(ACTS.values()))
dtype_ids = pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
density_ids = pytest.mark.parametrize("density", DENSITIES)
shape_ids = pytest.mark.parametrize(
    "shape", SHAPES, ids=["-".join(map(str, s)) for s in SHAPES]
)


# ----------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------
@pytest.fixture
def rng():
    """A freshly seeded Generator: the same draws in every test."""
    return np.random.default_rng(20240611)


def assert_close(got, want, dtype):
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape
    if dtype == np.float64:
        rtol = 1e-10
        scale = float(np.max(np.abs(want))) if want.size else 0.0
        atol = rtol * max(scale, np.finfo(np.float64).tiny)
    else:
        rtol, atol = 1e-4, 1e-5
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


def activation(z, act):
    if act == ACT_IDENTITY:
        return z
    if act == ACT_RELU:
        return np.maximum(z, 0.0)
    if act == ACT_TANH:
        return np.tanh(z)
    return 1.0 / (1.0 + np.exp(-z))


def random_csr(rng, n, m, density, dtype):
    """A canonical CSR matrix in ``dtype`` with roughly ``density`` nonzeros and
    every fourth row empty."""
    mask = rng.random((n, m)) < density
    mask[::4] = False
    dense = np.where(mask, rng.standard_normal((n, m)), 0.0).astype(dtype)
    return sp.csr_matrix(dense)


def csr_arrays(X, dtype):
    """indptr, indices (int64) and data (dtype), each C-contiguous."""
    return (
        np.ascontiguousarray(X.indptr, dtype=np.int64),
        np.ascontiguousarray(X.indices, dtype=np.int64),
        np.ascontiguousarray(X.data, dtype=dtype),
    )


def weights(rng, fan_in, fan_out, dtype):
    W = np.ascontiguousarray(rng.standard_normal((fan_in, fan_out)), dtype=dtype)
    b = np.ascontiguousarray(rng.standard_normal(fan_out), dtype=dtype)
    return W, b


def ref_forward(X, rows, W, b, act):
    """(fan_out, B): act(W^T X[rows]^T + b), in float64."""
    Xb = X.toarray().astype(np.float64)[rows]
    Z = Xb @ W.astype(np.float64) + b.astype(np.float64)
    return activation(Z, act).T


def ref_backward(X, rows, dout, W, alpha, sw_sum):
    """dW (fan_in, fan_out) and db (fan_out,), in float64."""
    Xb = X.toarray().astype(np.float64)[rows]
    d = dout.astype(np.float64)
    dW = (Xb.T @ d.T + alpha * W.astype(np.float64)) / sw_sum
    db = d.sum(axis=1) / sw_sum
    return dW, db


def noncanonical_csr(dtype):
    """A 6 x 5 CSR matrix built by hand: unsorted and duplicate column indices,
    explicit zeros (one of them duplicated with a nonzero) and empty rows."""
    indptr = np.array([0, 4, 4, 7, 8, 8, 12], dtype=np.int64)
    indices = np.array([3, 0, 3, 1, 4, 2, 4, 0, 2, 2, 0, 2], dtype=np.int64)
    data = np.array(
        [1.5, -2.0, 0.25, 3.0, 0.0, 1.0, -0.75, 0.0, 2.0, -0.5, 1.25, 0.0],
        dtype=dtype,
    )
    X = sp.csr_matrix((data, indices, indptr), shape=(6, 5))
    assert not X.has_canonical_format
    return X, indptr, indices, data


# ----------------------------------------------------------------------------
# Forward
# ----------------------------------------------------------------------------
@dtype_ids
@act_ids
@shape_ids
@density_ids
def test_sparse_dense_forward(rng, dtype, act, shape, density):
    n, fan_in, fan_out, B, start = shape
    X = random_csr(rng, n, fan_in, density, dtype)
    indptr, indices, data = csr_arrays(X, dtype)
    idx = rng.permutation(n).astype(np.int64)
    W, b = weights(rng, fan_in, fan_out, dtype)
    out = np.full((fan_out, B), np.nan, dtype=dtype)
    sparse_dense_forward(
        out, indptr, indices, data, idx, start, W, b, act, fan_in, fan_out, B
    )
    assert_close(out, ref_forward(X, idx[start : start + B], W, b, act), dtype)


@dtype_ids
@act_ids
@shape_ids
@density_ids
def test_sparse_rows_forward(rng, dtype, act, shape, density):
    n, fan_in, fan_out, B, r0 = shape
    X = random_csr(rng, n, fan_in, density, dtype)
    indptr, indices, data = csr_arrays(X, dtype)
    W, b = weights(rng, fan_in, fan_out, dtype)
    out = np.full((fan_out, B), np.nan, dtype=dtype)
    r0 = min(r0, n - B)
    sparse_rows_forward(out, indptr, indices, data, r0, W, b, act, fan_in, fan_out, B)
    assert_close(out, ref_forward(X, np.arange(r0, r0 + B), W, b, act), dtype)


@dtype_ids
@density_ids
def test_sparse_forward_matches_dense_forward(rng, dtype, density):
    n, fan_in, fan_out, B, start = 40, 23, 7, 15, 11
    X = random_csr(rng, n, fan_in, density, dtype)
    indptr, indices, data = csr_arrays(X, dtype)
    idx = rng.permutation(n).astype(np.int64)
    W, b = weights(rng, fan_in, fan_out, dtype)
    # The gathered, densified batch, transposed to feature-major.
    A = np.ascontiguousarray(X[idx[start : start + B]].toarray().T, dtype=dtype)
    want = np.empty((fan_out, B), dtype=dtype)
    dense_forward(want, A, W, b, ACT_IDENTITY, fan_in, fan_out, B)
    got = np.empty((fan_out, B), dtype=dtype)
    sparse_dense_forward(
        got, indptr, indices, data, idx, start, W, b, ACT_IDENTITY, fan_in, fan_out, B
    )
    assert_close(got, want, dtype)


# ----------------------------------------------------------------------------
# Backward
# ----------------------------------------------------------------------------
@dtype_ids
@shape_ids
@density_ids
@pytest.mark.parametrize("alpha", [0.0, 0.37])
def test_sparse_dense_backward(rng, dtype, shape, density, alpha):
    n, fan_in, fan_out, B, start = shape
    X = random_csr(rng, n, fan_in, density, dtype)
    indptr, indices, data = csr_arrays(X, dtype)
    idx = rng.permutation(n).astype(np.int64)
    W, _ = weights(rng, fan_in, fan_out, dtype)
    dout = np.ascontiguousarray(rng.standard_normal((fan_out, B)), dtype=dtype)
    sw_sum = 0.5 + B
    dW = np.full((fan_in, fan_out), np.nan, dtype=dtype)
    db = np.full(fan_out, np.nan, dtype=dtype)
    inputs = [a.copy() for a in (dout, indptr, indices, data, idx, W)]
    sparse_dense_backward(
        dW,
        db,
        dout,
        indptr,
        indices,
        data,
        idx,
        start,
        W,
        alpha,
        sw_sum,
        fan_in,
        fan_out,
        B,
    )
    dW_want, db_want = ref_backward(X, idx[start : start + B], dout, W, alpha, sw_sum)
    assert_close(dW, dW_want, dtype)
    assert_close(db, db_want, dtype)
    for before, after in zip(
        inputs, (dout, indptr, indices, data, idx, W), strict=True
    ):
        np.testing.assert_array_equal(before, after)


def test_sparse_dense_backward_finite_differences(rng):
    """dW, db against central differences of the scalar loss
    (sum(out * G) + alpha / 2 ||W||^2) / sw_sum, identity activation, float64.

    The loss is quadratic in (W, b), so central differences are exact up to
    rounding."""
    n, fan_in, fan_out, B, start = 20, 7, 4, 9, 6
    dtype = np.float64
    X = random_csr(rng, n, fan_in, 0.4, dtype)
    indptr, indices, data = csr_arrays(X, dtype)
    idx = rng.permutation(n).astype(np.int64)
    W, b = weights(rng, fan_in, fan_out, dtype)
    G = np.ascontiguousarray(rng.standard_normal((fan_out, B)))
    alpha, sw_sum = 0.3, 2.5

    def loss(W_, b_):
        out = np.empty((fan_out, B))
        sparse_dense_forward(
            out,
            indptr,
            indices,
            data,
            idx,
            start,
            W_,
            b_,
            ACT_IDENTITY,
            fan_in,
            fan_out,
            B,
        )
        return (np.sum(out * G) + 0.5 * alpha * np.sum(W_ * W_)) / sw_sum

    h = 1e-4
    dW_fd = np.empty_like(W)
    for k in range(fan_in):
        for j in range(fan_out):
            Wp, Wm = W.copy(), W.copy()
            Wp[k, j] += h
            Wm[k, j] -= h
            dW_fd[k, j] = (loss(Wp, b) - loss(Wm, b)) / (2 * h)
    db_fd = np.empty_like(b)
    for j in range(fan_out):
        bp, bm = b.copy(), b.copy()
        bp[j] += h
        bm[j] -= h
        db_fd[j] = (loss(W, bp) - loss(W, bm)) / (2 * h)

    dW = np.empty_like(W)
    db = np.empty_like(b)
    sparse_dense_backward(
        dW,
        db,
        G,
        indptr,
        indices,
        data,
        idx,
        start,
        W,
        alpha,
        sw_sum,
        fan_in,
        fan_out,
        B,
    )
    np.testing.assert_allclose(dW, dW_fd, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(db, db_fd, rtol=1e-7, atol=1e-9)


# ----------------------------------------------------------------------------
# Non-canonical CSR: duplicates summed, unsorted indices, explicit zeros
# ----------------------------------------------------------------------------
@dtype_ids
@act_ids
def test_noncanonical_csr_forward(rng, dtype, act):
    X, indptr, indices, data = noncanonical_csr(dtype)
    n, fan_in = X.shape
    fan_out = 3
    W, b = weights(rng, fan_in, fan_out, dtype)
    idx = np.array([5, 1, 0, 3, 2, 4, 0, 2], dtype=np.int64)  # repeats allowed
    start, B = 1, 7
    out = np.full((fan_out, B), np.nan, dtype=dtype)
    sparse_dense_forward(
        out, indptr, indices, data, idx, start, W, b, act, fan_in, fan_out, B
    )
    assert_close(out, ref_forward(X, idx[start : start + B], W, b, act), dtype)

    out = np.full((fan_out, n - 1), np.nan, dtype=dtype)
    sparse_rows_forward(
        out, indptr, indices, data, 1, W, b, act, fan_in, fan_out, n - 1
    )
    assert_close(out, ref_forward(X, np.arange(1, n), W, b, act), dtype)


@dtype_ids
def test_noncanonical_csr_backward(rng, dtype):
    X, indptr, indices, data = noncanonical_csr(dtype)
    n, fan_in = X.shape
    fan_out = 3
    W, _ = weights(rng, fan_in, fan_out, dtype)
    idx = np.array([4, 0, 2, 5, 1, 3, 0], dtype=np.int64)
    start, B = 1, 6
    dout = np.ascontiguousarray(rng.standard_normal((fan_out, B)), dtype=dtype)
    alpha, sw_sum = 0.2, 3.0
    dW = np.full((fan_in, fan_out), np.nan, dtype=dtype)
    db = np.full(fan_out, np.nan, dtype=dtype)
    sparse_dense_backward(
        dW,
        db,
        dout,
        indptr,
        indices,
        data,
        idx,
        start,
        W,
        alpha,
        sw_sum,
        fan_in,
        fan_out,
        B,
    )
    dW_want, db_want = ref_backward(X, idx[start : start + B], dout, W, alpha, sw_sum)
    assert_close(dW, dW_want, dtype)
    assert_close(db, db_want, dtype)
