"""Every kernel in fastmlp.kernels against its plain-NumPy twin in naive.py.

The kernels store activations and deltas feature-major, (units, B); the naive
references are sample-major, (n, units), so the comparisons transpose. Inputs
are drawn in the kernel's dtype and the references run on float64 copies of
the very same values. Tolerances: float64 rtol 1e-10, float32 rtol 1e-4, each
with an absolute floor of rtol times the largest magnitude in the expected
array (sums over the batch cancel).

All arrays passed to a kernel are C-contiguous, index arrays are int64 and
scalars are Python ints, floats and bools, so that each kernel compiles once
per dtype.
"""

import naive
import numpy as np
import pytest
import scipy.sparse as sp
from fastmlp.kernels import (
    ACT_IDENTITY,
    ACT_LOGISTIC,
    ACT_RELU,
    ACT_TANH,
    OUT_EXP,
    OUT_IDENTITY,
    OUT_LOGISTIC,
    OUT_SOFTMAX,
    SOLVER_ADAM,
    SOLVER_SGD,
    activation_backward,
    activation_forward,
    adam_update,
    chunk_workspace,
    dense_backward_blas,
    dense_backward_blas_rows,
    dense_forward_blas,
    dense_forward_blas_rows,
    forward_backward,
    forward_backward_split,
    output_forward,
    output_loss_backward,
    param_layout_size,
    predict_parallel,
    predict_serial,
    sgd_update,
    train_epoch,
    workspace_size,
)
from fastmlp.kernels import dense_backward as k_dense_backward
from fastmlp.kernels import dense_forward as k_dense_forward
from fastmlp.kernels import dense_forward_rows as k_dense_forward_rows
from fastmlp.kernels.blas import blas_threads, set_blas_threads
from fastmlp.kernels.optimizers import adam_learning_rate
from fastmlp.kernels.train import _UPDATE_BLOCK, NO_UPDATE, finish_update
from naive import (
    activation,
    activation_derivative,
    adam_step,
    backprop,
    dense_backward,
    dense_forward,
    output_activation,
    pack,
    per_sample_loss,
    predict,
    sgd_step,
    unpack,
)

ACTS = {
    ACT_IDENTITY: "identity",
    ACT_RELU: "relu",
    ACT_TANH: "tanh",
    ACT_LOGISTIC: "logistic",
}
OUTS = {
    OUT_IDENTITY: "identity",
    OUT_LOGISTIC: "logistic",
    OUT_SOFTMAX: "softmax",
    OUT_EXP: "exp",
}
ACT_CODES = list(ACTS)
OUT_CODES = list(OUTS)
DTYPES = [np.float64, np.float32]
RTOL = {np.float64: 1e-10, np.float32: 1e-4}
NEVER_BLAS = 2**62  # blas_min that no layer reaches
BLAS_MIN = 4096  # the threshold the estimators use

act_ids = pytest.mark.parametrize("act", ACT_CODES, ids=list(ACTS.values()))
out_ids = pytest.mark.parametrize("out", OUT_CODES, ids=list(OUTS.values()))
dtype_ids = pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
# For the epoch and split-batch kernels, whose every argument kind compiles the
# whole training kernel anew: float32 runs with the exhaustive tests (the
# default run covers float32 training through the estimators' tests).
f64_dtype_ids = pytest.mark.parametrize(
    "dtype",
    [np.float64, pytest.param(np.float32, marks=pytest.mark.exhaustive)],
    ids=["f64", "f32"],
)


# ----------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------
class one_blas_thread:
    """NumPy's BLAS held to one thread, as the estimators hold it around a
    kernel whose GEMMs run inside a prange."""

    def __enter__(self):
        self.threads = blas_threads()
        if self.threads is not None:
            set_blas_threads(1)

    def __exit__(self, *exc):
        if self.threads is not None:
            set_blas_threads(self.threads)


def assert_close(got, want, dtype, rtol=None):
    """allclose with rtol for the dtype and an atol of rtol * max|want|."""
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape
    rtol = RTOL[dtype] if rtol is None else rtol
    scale = float(np.max(np.abs(want))) if want.size else 0.0
    atol = rtol * max(scale, np.finfo(np.float64).tiny)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


def f64(a):
    return np.asarray(a, dtype=np.float64)


def hidden_output(rng, shape, act, dtype):
    """Valid outputs of the activation ``act`` (relu's include exact zeros)."""
    return activation(rng.standard_normal(shape), ACTS[act]).astype(dtype)


def make_targets(rng, n, k, out, dtype):
    """Targets that suit the output: reals, 0/1 labels, one-hot rows, counts."""
    if out == OUT_IDENTITY:
        Y = rng.standard_normal((n, k))
    elif out == OUT_LOGISTIC:
        Y = rng.integers(0, 2, (n, k))
    elif out == OUT_SOFTMAX:
        Y = np.eye(k)[rng.integers(0, k, n)]
    else:
        Y = rng.poisson(1.5, (n, k))  # includes zeros: xlogy(0, .) = 0
    return np.ascontiguousarray(Y, dtype=dtype)


def make_weights(rng, n, mode, dtype, positive_row):
    """Sample weights: all ones, random, or random with every third one zero.
    "absent" is all ones too, for the reference; the kernel then gets None
    (see kernel_weights).

    The row ``positive_row`` always gets a positive weight so that no batch has
    a zero weight sum.
    """
    if mode in ("none", "absent"):
        sw = np.ones(n)
    else:
        sw = rng.uniform(0.25, 2.0, n)
        if mode == "zeros":
            sw[::3] = 0.0
    if mode != "absent":
        sw[positive_row] = 1.25
    return np.ascontiguousarray(sw, dtype=dtype)


def kernel_weights(sw, mode):
    """What the kernels get for sample weights sw made in ``mode``: None for
    "absent" (the unweighted flavour, which reads no weights)."""
    return None if mode == "absent" else sw


def make_network(rng, units, dtype):
    """Random weights and biases; the flat buffer in ``dtype`` and the float64
    lists (of the same, rounded, values) for the references."""
    Ws, bs = [], []
    for fi, fo in zip(units[:-1], units[1:], strict=True):
        bound = 1.5 * np.sqrt(6.0 / (fi + fo))
        Ws.append(rng.uniform(-bound, bound, (fi, fo)))
        bs.append(rng.uniform(-0.5, 0.5, fo))
    params = np.ascontiguousarray(pack(Ws, bs), dtype=dtype)
    Ws, bs = unpack(f64(params), units)
    return params, Ws, bs


def fit_units(units, out):
    """Softmax needs at least two outputs."""
    units = tuple(units)
    if out == OUT_SOFTMAX and units[-1] < 2:
        units = units[:-1] + (2,)
    return units


def layer_offsets(units, capacity):
    """Offsets of A_0..A_L and D_1..D_L in the work buffer (see kernels/train.py)."""
    a_off = [capacity * sum(units[:l]) for l in range(len(units))]
    d0 = capacity * sum(units)
    d_off = [None] + [d0 + capacity * sum(units[1:l]) for l in range(1, len(units))]
    return a_off, d_off


# ----------------------------------------------------------------------------
# The references themselves, against scikit-learn
# ----------------------------------------------------------------------------
@out_ids
@pytest.mark.parametrize("mode", ["none", "zeros"])
def test_naive_loss_is_sklearns(rng, out, mode):
    from sklearn.neural_network._base import LOSS_FUNCTIONS

    n, k = 13, 3
    Y = make_targets(rng, n, k, out, np.float64)
    P = output_activation(rng.standard_normal((n, k)), OUTS[out])
    sw = None if mode == "none" else make_weights(rng, n, mode, np.float64, 0)
    want = LOSS_FUNCTIONS[naive.LOSS_OF_OUTPUT[OUTS[out]]](Y, P, sw)
    np.testing.assert_allclose(naive.loss(Y, P, OUTS[out], sw), want, rtol=1e-13)


@act_ids
@out_ids
def test_naive_backprop_is_sklearns(rng, act, out):
    from sklearn.neural_network import MLPRegressor

    units = fit_units((4, 5, 3, 3), out)
    n = 9
    _, Ws, bs = make_network(rng, units, np.float64)
    X = rng.standard_normal((n, units[0]))
    Y = make_targets(rng, n, units[-1], out, np.float64)
    sw = make_weights(rng, n, "zeros", np.float64, 0)

    sk = MLPRegressor(activation=ACTS[act], alpha=0.3)
    sk.loss = "log_loss" if out in (OUT_LOGISTIC, OUT_SOFTMAX) else "squared_error"
    if out == OUT_EXP:
        sk.loss = "poisson"
    sk.out_activation_ = OUTS[out]
    sk.n_layers_ = len(units)
    sk.coefs_ = [W.copy() for W in Ws]
    sk.intercepts_ = [b.copy() for b in bs]
    L = len(units) - 1
    loss, dW, db = sk._backprop(
        X, Y, sw, [X] + [None] * L, [None] * L, [None] * L, [None] * L
    )

    got_loss, got_dW, got_db = backprop(X, Y, Ws, bs, ACTS[act], OUTS[out], 0.3, sw)
    np.testing.assert_allclose(got_loss, loss, rtol=1e-13)
    for l in range(L):
        np.testing.assert_allclose(got_dW[l], dW[l], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(got_db[l], db[l], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("nesterov", [False, True])
def test_naive_optimizers_are_sklearns(rng, nesterov):
    from sklearn.neural_network._stochastic_optimizers import (
        AdamOptimizer,
        SGDOptimizer,
    )

    shapes = [(3, 4), (4,), (4, 2), (2,)]
    params = [rng.standard_normal(s) for s in shapes]
    grads_seq = [[rng.standard_normal(s) for s in shapes] for _ in range(3)]

    sk_p = [p.copy() for p in params]
    sgd = SGDOptimizer(sk_p, learning_rate_init=0.05, momentum=0.8, nesterov=nesterov)
    flat, vel = np.concatenate([p.ravel() for p in params]), 0.0
    for grads in grads_seq:
        sgd.update_params(sk_p, grads)
        g = np.concatenate([x.ravel() for x in grads])
        flat, vel = sgd_step(flat, vel, g, 0.05, 0.8, nesterov)
    np.testing.assert_allclose(flat, np.concatenate([p.ravel() for p in sk_p]))

    sk_p = [p.copy() for p in params]
    adam = AdamOptimizer(sk_p, learning_rate_init=0.01)
    flat = np.concatenate([p.ravel() for p in params])
    m = v = np.zeros_like(flat)
    t = 0
    for grads in grads_seq:
        adam.update_params(sk_p, grads)
        g = np.concatenate([x.ravel() for x in grads])
        flat, m, v, t = adam_step(flat, m, v, g, t, 0.01, 0.9, 0.999, 1e-8)
    assert t == adam.t == 3
    np.testing.assert_allclose(flat, np.concatenate([p.ravel() for p in sk_p]))


# ----------------------------------------------------------------------------
# Layout sizes
# ----------------------------------------------------------------------------
LAYOUTS = [(1, 1), (4, 3), (5, 8, 3), (3, 7, 6, 2), (100, 64, 64, 10), (1, 4100, 1)]


@pytest.mark.parametrize("units", LAYOUTS, ids=str)
def test_param_layout_size(units):
    u = np.array(units, dtype=np.int64)
    assert param_layout_size(u) == naive.n_params(units)
    params = pack(*make_network(np.random.default_rng(0), units, np.float64)[1:])
    assert params.shape[0] == param_layout_size(u)


@pytest.mark.parametrize("units", LAYOUTS, ids=str)
@pytest.mark.parametrize("capacity", [1, 7, 200])
def test_workspace_size(units, capacity):
    u = np.array(units, dtype=np.int64)
    assert workspace_size(u, capacity) == naive.workspace_size(units, capacity)


# ----------------------------------------------------------------------------
# Activations
# ----------------------------------------------------------------------------
@act_ids
@dtype_ids
def test_activation_forward(rng, act, dtype):
    z = rng.standard_normal(50) * 4
    z[:4] = [1e4, -1e4, 0.0, 1e-30]  # saturation, and relu's edge
    z = z.astype(dtype)
    n = 41
    want = activation(f64(z[:n]), ACTS[act])
    tail = z[n:].copy()
    activation_forward(z, n, act)
    assert np.all(np.isfinite(z))
    assert_close(z[:n], want, dtype)
    np.testing.assert_array_equal(z[n:], tail)  # nothing past n is touched


@act_ids
@dtype_ids
def test_activation_backward(rng, act, dtype):
    a = hidden_output(rng, 50, act, dtype)
    delta = rng.standard_normal(50).astype(dtype)
    n = 37
    want = f64(delta[:n]) * activation_derivative(f64(a[:n]), ACTS[act])
    tail = delta[n:].copy()
    activation_backward(delta, a, n, act)
    assert_close(delta[:n], want, dtype)
    np.testing.assert_array_equal(delta[n:], tail)


# ----------------------------------------------------------------------------
# Dense layers: both implementations, at every size
# ----------------------------------------------------------------------------
# (fan_in, fan_out, B); the last four have >= 4096 weights, where the estimators
# switch to the BLAS variants. Both variants run on every shape.
DENSE_SHAPES = [
    (1, 1, 1),
    (1, 6, 5),
    (6, 1, 5),
    (3, 4, 1),
    (7, 13, 33),
    (33, 20, 129),
    (64, 63, 3),
    (64, 64, 2),
    (4100, 1, 2),
    (1, 4100, 3),
    (70, 61, 9),
]
DENSE_FORWARD = {"loops": k_dense_forward, "blas": dense_forward_blas}
DENSE_BACKWARD = {"loops": k_dense_backward, "blas": dense_backward_blas}


def dense_case(rng, fan_in, fan_out, B, act_in, dtype):
    inp = hidden_output(rng, (fan_in, B), act_in, dtype)
    W = (rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in)).astype(dtype)
    b = rng.standard_normal(fan_out).astype(dtype)
    return inp, W, b


@pytest.mark.parametrize("variant", list(DENSE_FORWARD))
@pytest.mark.parametrize("shape", DENSE_SHAPES, ids=str)
@act_ids
@dtype_ids
def test_dense_forward(rng, variant, shape, act, dtype):
    fan_in, fan_out, B = shape
    inp, W, b = dense_case(rng, fan_in, fan_out, B, ACT_TANH, dtype)
    out = np.full((fan_out, B), np.nan, dtype=dtype)
    DENSE_FORWARD[variant](out, inp, W, b, act, fan_in, fan_out, B)
    want = dense_forward(f64(inp).T, f64(W), f64(b), ACTS[act]).T
    assert_close(out, want, dtype)


@pytest.mark.parametrize("shape", DENSE_SHAPES, ids=str)
@act_ids
@dtype_ids
def test_dense_forward_rows(rng, shape, act, dtype):
    # The sample-major twin: inp (B, fan_in) -> out (B, fan_out).
    fan_in, fan_out, B = shape
    inp, W, b = dense_case(rng, fan_in, fan_out, B, ACT_TANH, dtype)
    rows = np.ascontiguousarray(inp.T)
    out = np.full((B, fan_out), np.nan, dtype=dtype)
    k_dense_forward_rows(out, rows, W, b, act, fan_in, fan_out, B)
    assert_close(out, dense_forward(f64(rows), f64(W), f64(b), ACTS[act]), dtype)


@pytest.mark.parametrize("variant", list(DENSE_BACKWARD))
@pytest.mark.parametrize("shape", DENSE_SHAPES, ids=str)
@act_ids
@pytest.mark.parametrize("want_dinp", [True, False], ids=["dinp", "no-dinp"])
@dtype_ids
def test_dense_backward(rng, variant, shape, act, want_dinp, dtype):
    fan_in, fan_out, B = shape
    inp, W, _ = dense_case(rng, fan_in, fan_out, B, act, dtype)
    dout = rng.standard_normal((fan_out, B)).astype(dtype)
    alpha, sw_sum = 0.3, 0.7 * B + 0.1
    dW = np.full((fan_in, fan_out), np.nan, dtype=dtype)
    db = np.full(fan_out, np.nan, dtype=dtype)
    dinp = np.full((fan_in, B), np.nan, dtype=dtype)
    DENSE_BACKWARD[variant](
        dW, db, dinp, dout, inp, W, alpha, sw_sum, act, fan_in, fan_out, B, want_dinp
    )
    want_dW, want_db, want_dinp_ = dense_backward(
        f64(inp).T, f64(W), f64(dout).T, alpha, sw_sum, ACTS[act]
    )
    assert_close(dW, want_dW, dtype)
    assert_close(db, want_db, dtype)
    if want_dinp:
        assert_close(dinp, want_dinp_.T, dtype)
    else:
        assert np.isnan(dinp).all()  # not written


@act_ids
@dtype_ids
def test_dense_loops_every_pass_split(rng, act, dtype):
    # The hand-written loops take a first pass of up to 7 rows, then passes of
    # 4, with the activation (or its derivative) fused into the last: every
    # fan_in and fan_out up to 13 covers each first-pass width, one to three
    # later passes, and the activation landing in either.
    for fan_in in range(1, 14):
        for fan_out in range(1, 14):
            for B in (1, 7, 37):
                inp, W, b = dense_case(rng, fan_in, fan_out, B, act, dtype)
                out = np.full((fan_out, B), np.nan, dtype=dtype)
                k_dense_forward(out, inp, W, b, act, fan_in, fan_out, B)
                want = dense_forward(f64(inp).T, f64(W), f64(b), ACTS[act]).T
                assert_close(out, want, dtype)
                dout = rng.standard_normal((fan_out, B)).astype(dtype)
                alpha, sw_sum = 0.3, 0.7 * B + 0.1
                dW = np.full((fan_in, fan_out), np.nan, dtype=dtype)
                db = np.full(fan_out, np.nan, dtype=dtype)
                dinp = np.full((fan_in, B), np.nan, dtype=dtype)
                k_dense_backward(
                    dW,
                    db,
                    dinp,
                    dout,
                    inp,
                    W,
                    alpha,
                    sw_sum,
                    act,
                    fan_in,
                    fan_out,
                    B,
                    True,
                )
                want_dW, want_db, want_dinp = dense_backward(
                    f64(inp).T, f64(W), f64(dout).T, alpha, sw_sum, ACTS[act]
                )
                assert_close(dW, want_dW, dtype)
                assert_close(db, want_db, dtype)
                assert_close(dinp, want_dinp.T, dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
def test_dense_loops_keep_nan(dtype):
    # ReLU fused into the last pass keeps a NaN (np.maximum does), and its
    # derivative zeroes exactly where the layer's output is zero.
    fan_in, fan_out, B = 5, 3, 9
    inp = np.ones((fan_in, B), dtype=dtype)
    inp[2, 4] = np.nan
    W = np.ones((fan_in, fan_out), dtype=dtype)
    b = np.full(fan_out, -10.0, dtype=dtype)
    out = np.empty((fan_out, B), dtype=dtype)
    k_dense_forward(out, inp, W, b, ACT_RELU, fan_in, fan_out, B)
    assert np.isnan(out[:, 4]).all()
    assert (out[:, np.arange(B) != 4] == 0).all()
    z = np.array([[0.0, 1.0, 0.0, 2.0]] * fan_in, dtype=dtype)
    dout = np.ones((fan_out, 4), dtype=dtype)
    dW = np.empty((fan_in, fan_out), dtype=dtype)
    db = np.empty(fan_out, dtype=dtype)
    dinp = np.full((fan_in, 4), np.nan, dtype=dtype)
    k_dense_backward(
        dW, db, dinp, dout, z, W, 0.0, 1.0, ACT_RELU, fan_in, fan_out, 4, True
    )
    np.testing.assert_array_equal(dinp, [[0.0, 3.0, 0.0, 3.0]] * fan_in)


@pytest.mark.parametrize("shape", DENSE_SHAPES, ids=str)
@act_ids
@dtype_ids
def test_dense_forward_blas_rows(rng, shape, act, dtype):
    # A first layer's BLAS forward from a sample-major input (B, fan_in).
    fan_in, fan_out, B = shape
    inp, W, b = dense_case(rng, fan_in, fan_out, B, ACT_TANH, dtype)
    rows = np.ascontiguousarray(inp.T)
    out = np.full((fan_out, B), np.nan, dtype=dtype)
    dense_forward_blas_rows(out, rows, W, b, act, fan_in, fan_out, B)
    want = dense_forward(f64(rows), f64(W), f64(b), ACTS[act]).T
    assert_close(out, want, dtype)


@pytest.mark.parametrize("shape", DENSE_SHAPES, ids=str)
@dtype_ids
def test_dense_backward_blas_rows(rng, shape, dtype):
    # A first layer's BLAS gradients from a sample-major input (no dinp).
    fan_in, fan_out, B = shape
    inp, W, _ = dense_case(rng, fan_in, fan_out, B, ACT_IDENTITY, dtype)
    rows = np.ascontiguousarray(inp.T)
    dout = rng.standard_normal((fan_out, B)).astype(dtype)
    alpha, sw_sum = 0.3, 0.7 * B + 0.1
    dW = np.full((fan_in, fan_out), np.nan, dtype=dtype)
    db = np.full(fan_out, np.nan, dtype=dtype)
    dense_backward_blas_rows(dW, db, dout, rows, W, alpha, sw_sum, fan_in, fan_out, B)
    want_dW, want_db, _ = dense_backward(
        f64(rows), f64(W), f64(dout).T, alpha, sw_sum, "identity"
    )
    assert_close(dW, want_dW, dtype)
    assert_close(db, want_db, dtype)


# ----------------------------------------------------------------------------
# Output activations and losses
# ----------------------------------------------------------------------------
# (K, B): outputs by batch size
OUT_SHAPES = [(1, 1), (2, 7), (3, 33), (5, 64), (4, 1)]


@out_ids
@pytest.mark.parametrize("shape", OUT_SHAPES, ids=str)
@dtype_ids
def test_output_forward(rng, out, shape, dtype):
    K, B = shape
    if out == OUT_SOFTMAX and K == 1:
        K = 2
    z = (3 * rng.standard_normal((K, B))).astype(dtype)
    want = output_activation(f64(z).T, OUTS[out]).T
    scratch = np.full(2 * B + 3, np.nan, dtype=dtype)
    output_forward(z, out, K, B, scratch)
    assert_close(z, want, dtype)
    assert np.isnan(scratch[2 * B :]).all()  # nothing past 2 * B is touched
    if out == OUT_SOFTMAX:
        assert_close(z.sum(axis=0), np.ones(B), dtype)


@pytest.mark.parametrize(
    "targets", ["soft", "two-ones", "empty-row", "negative", "one-hot-but-one"]
)
@pytest.mark.parametrize("shape", [(3, 1), (3, 40), (10, 64)], ids=str)
@dtype_ids
def test_softmax_loss_with_targets_not_one_hot(rng, targets, shape, dtype):
    # A classifier's one-hot targets take one log per sample; any other target
    # matrix must still get the general cross-entropy sum.
    K, B = shape
    n, start = B + 5, 3
    idx = rng.permutation(n).astype(np.int64)
    rows = idx[start : start + B]
    Y = np.eye(K)[rng.integers(0, K, n)]
    r = rows[B // 2]
    if targets == "soft":
        Y = rng.dirichlet(np.ones(K), n)
    elif targets == "two-ones":
        Y[r] = 0.0
        Y[r, :2] = 1.0
    elif targets == "empty-row":
        Y[r] = 0.0
    elif targets == "negative":
        Y[r] = 0.0
        Y[r, 0] = -1.0
        Y[r, 1] = 2.0
    else:  # one target of 0.5 among one-hot rows
        Y[r] = 0.0
        Y[r, 0] = 0.5
        Y[r, 1] = 0.5
    Y = np.ascontiguousarray(Y, dtype=dtype)
    sw = rng.uniform(0.5, 2.0, n).astype(dtype)
    z = (2 * rng.standard_normal((K, B))).astype(dtype)
    delta = np.empty((K, B), dtype=dtype)
    P = output_activation(f64(z).T, "softmax")
    y, w = f64(Y[rows]), f64(sw[rows])
    per = w * per_sample_loss(y, P, "softmax", eps=np.finfo(dtype).eps)
    scratch = np.empty(5 * B, dtype=dtype)
    total = output_loss_backward(
        delta, z, Y, sw, idx, start, OUT_SOFTMAX, K, B, scratch
    )
    np.testing.assert_allclose(
        total, per.sum(), rtol=RTOL[dtype], atol=RTOL[dtype] * np.abs(per).sum()
    )
    assert_close(delta, ((P - y) * w[:, None]).T, dtype)


@out_ids
@pytest.mark.parametrize("shape", OUT_SHAPES, ids=str)
@pytest.mark.parametrize("mode", ["none", "random", "zeros"])
@dtype_ids
def test_output_loss_backward(rng, out, shape, mode, dtype):
    K, B = shape
    if out == OUT_SOFTMAX and K == 1:
        K = 2
    n, start = B + 6, 4
    idx = rng.permutation(n).astype(np.int64)
    rows = idx[start : start + B]
    Y = make_targets(rng, n, K, out, dtype)
    sw = make_weights(rng, n, mode, dtype, rows[0])
    z = (2 * rng.standard_normal((K, B))).astype(dtype)
    delta = np.full((K, B), np.nan, dtype=dtype)

    P = output_activation(f64(z).T, OUTS[out])
    y, w = f64(Y[rows]), f64(sw[rows])
    per = w * per_sample_loss(y, P, OUTS[out], eps=np.finfo(dtype).eps)

    scratch = np.full(5 * B + 3, np.nan, dtype=dtype)
    total = output_loss_backward(delta, z, Y, sw, idx, start, out, K, B, scratch)
    assert np.isnan(scratch[5 * B :]).all()  # nothing past 5 * B is touched
    assert isinstance(total, float)
    assert_close(z, P.T, dtype)
    assert_close(delta, ((P - y) * w[:, None]).T, dtype)
    np.testing.assert_allclose(
        total, per.sum(), rtol=RTOL[dtype], atol=RTOL[dtype] * np.abs(per).sum()
    )


@pytest.mark.parametrize("shape", [(2, 1), (3, 7), (10, 33)], ids=str)
@pytest.mark.parametrize("mode", ["none", "random", "zeros", "absent"])
@dtype_ids
def test_output_loss_backward_class_labels(rng, shape, mode, dtype):
    # One-hot targets as their class indices (the classifier's flavour) give
    # what the one-hot matrix gives, to the bit, for every output activation.
    K, B = shape
    n, start = B + 6, 4
    idx = rng.permutation(n).astype(np.int64)
    labels = rng.integers(0, K, n).astype(np.int64)
    Y = np.zeros((n, K), dtype=dtype)
    Y[np.arange(n), labels] = 1.0
    sw = kernel_weights(make_weights(rng, n, mode, dtype, idx[start]), mode)
    z = (2 * rng.standard_normal((K, B))).astype(dtype)
    for out in OUT_CODES:
        want_z, got_z = z.copy(), z.copy()
        want_d = np.full((K, B), np.nan, dtype=dtype)
        got_d = np.full((K, B), np.nan, dtype=dtype)
        scratch = np.empty(5 * B, dtype=dtype)
        want = output_loss_backward(
            want_d, want_z, Y, sw, idx, start, out, K, B, scratch
        )
        got = output_loss_backward(
            got_d, got_z, labels, sw, idx, start, out, K, B, scratch
        )
        assert got == want or (np.isnan(got) and np.isnan(want))
        np.testing.assert_array_equal(got_z, want_z)
        np.testing.assert_array_equal(got_d, want_d)


@out_ids
@dtype_ids
def test_nan_logit_gives_nan_loss(rng, out, dtype):
    # Training stops on a non-finite batch loss: a NaN logit must reach it,
    # through the clipping and whatever the targets are. Only its sample's
    # outputs turn NaN.
    K, B, n = 3, 19, 19
    z = (2 * rng.standard_normal((K, B))).astype(dtype)
    z[1, 11] = np.nan
    Y = make_targets(rng, n, K, out, dtype)
    sw = np.ones(n, dtype=dtype)
    idx = np.arange(n, dtype=np.int64)
    delta = np.empty((K, B), dtype=dtype)
    scratch = np.empty(5 * B, dtype=dtype)
    total = output_loss_backward(delta, z, Y, sw, idx, 0, out, K, B, scratch)
    assert np.isnan(total)
    nan_at = np.isnan(z)
    assert nan_at[1, 11] and not nan_at[:, np.arange(B) != 11].any()
    if out == OUT_SOFTMAX:
        assert nan_at[:, 11].all()


@pytest.mark.parametrize("big", [80.0, 1e4, 1e30])
@dtype_ids
def test_large_logits_do_not_overflow(big, dtype):
    z = np.array([[big, -big, 0.0], [-big, big, 0.0], [0.0, 0.0, big]], dtype=dtype)
    for out in (OUT_LOGISTIC, OUT_SOFTMAX):
        p = z.copy()
        output_forward(p, out, 3, 3, np.empty(6, dtype=dtype))
        assert np.all(np.isfinite(p)), out
        assert np.all((p >= 0) & (p <= 1)), out
        if out == OUT_SOFTMAX:
            assert_close(p.sum(axis=0), np.ones(3), dtype)
    for act in (ACT_LOGISTIC, ACT_TANH):
        a = z.ravel().copy()
        activation_forward(a, 9, act)
        assert np.all(np.isfinite(a)) and np.all(np.abs(a) <= 1), act


@pytest.mark.parametrize(
    "out", [OUT_LOGISTIC, OUT_SOFTMAX], ids=["logistic", "softmax"]
)
@dtype_ids
def test_loss_clips_probabilities(out, dtype):
    # Two samples, two outputs. Sample 0 is confidently wrong (p = [1, 0] for
    # y = [0, 1]), sample 1 confidently right (p = [0, 1]). The logs see
    # p clipped to [eps, 1 - eps].
    big = 1e4
    z = np.array([[big, -big], [-big, big]], dtype=dtype)
    Y = np.array([[0.0, 1.0], [0.0, 1.0]], dtype=dtype)
    sw = np.array([2.0, 0.5], dtype=dtype)
    idx = np.arange(2, dtype=np.int64)
    delta = np.empty((2, 2), dtype=dtype)
    total = output_loss_backward(
        delta, z, Y, sw, idx, 0, out, 2, 2, np.empty(8, dtype=dtype)
    )
    eps = float(np.finfo(dtype).eps)
    wrong, right = -np.log(eps), -np.log1p(-eps)
    if out == OUT_LOGISTIC:  # both outputs count
        want = 2.0 * (2 * wrong) + 0.5 * (2 * right)
    else:  # only the true class counts
        want = 2.0 * wrong + 0.5 * right
    assert np.isfinite(total)
    np.testing.assert_allclose(total, want, rtol=1e-12)
    np.testing.assert_array_equal(z, [[1.0, 0.0], [0.0, 1.0]])
    np.testing.assert_array_equal(delta, [[2.0, 0.0], [-2.0, 0.0]])


# ----------------------------------------------------------------------------
# Optimizers
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("nesterov", [False, True], ids=["momentum", "nesterov"])
@pytest.mark.parametrize("momentum", [0.0, 0.9])
@dtype_ids
def test_sgd_update(rng, nesterov, momentum, dtype):
    size, n = 41, 38
    params = rng.standard_normal(size).astype(dtype)
    velocity = (0.1 * rng.standard_normal(size)).astype(dtype)
    grads = rng.standard_normal(size).astype(dtype)
    want_p, want_v = sgd_step(
        f64(params[:n]), f64(velocity[:n]), f64(grads[:n]), 0.05, momentum, nesterov
    )
    tail_p, tail_v = params[n:].copy(), velocity[n:].copy()
    sgd_update(params, velocity, grads, 0.05, momentum, nesterov, n)
    assert_close(params[:n], want_p, dtype)
    assert_close(velocity[:n], want_v, dtype)
    np.testing.assert_array_equal(params[n:], tail_p)
    np.testing.assert_array_equal(velocity[n:], tail_v)


@pytest.mark.parametrize("t", [1, 2, 10, 1000])
def test_adam_learning_rate(t):
    for lr, b1, b2 in [(0.001, 0.9, 0.999), (0.1, 0.5, 0.75)]:
        np.testing.assert_allclose(
            adam_learning_rate(lr, b1, b2, t),
            naive.adam_learning_rate(lr, b1, b2, t),
            rtol=1e-14,
        )


@pytest.mark.parametrize("t", [0, 6])
@dtype_ids
def test_adam_update(rng, t, dtype):
    size, n = 41, 38
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    params = rng.standard_normal(size).astype(dtype)
    m = (0.1 * rng.standard_normal(size)).astype(dtype)
    v = (0.01 * rng.uniform(size=size)).astype(dtype)
    if t == 0:
        m[:] = 0
        v[:] = 0
    grads = rng.standard_normal(size).astype(dtype)
    want_p, want_m, want_v, t1 = adam_step(
        f64(params[:n]), f64(m[:n]), f64(v[:n]), f64(grads[:n]), t, lr, b1, b2, eps
    )
    lr_t = adam_learning_rate(lr, b1, b2, t + 1)
    tails = params[n:].copy(), m[n:].copy(), v[n:].copy()
    adam_update(params, m, v, grads, lr_t, b1, b2, eps, n)
    assert t1 == t + 1
    assert_close(params[:n], want_p, dtype)
    assert_close(m[:n], want_m, dtype)
    assert_close(v[:n], want_v, dtype)
    for got, want in zip((params[n:], m[n:], v[n:]), tails, strict=True):
        np.testing.assert_array_equal(got, want)


# Nets whose parameters fill several of finish_update's blocks, the blocks
# cutting through weights and biases (70 * 64 + 64 + 64 * 3 + 3 = 4739).
FINISH_NETS = [(4, 3), (5, 8, 3), (70, 64, 3), (3, 40, 50, 40, 2)]


@pytest.mark.parametrize("units", FINISH_NETS, ids=str)
@pytest.mark.parametrize("n_parts", [0, 1, 2])
@pytest.mark.parametrize("solver", [NO_UPDATE, SOLVER_SGD, SOLVER_ADAM],
                         ids=["none", "sgd", "adam"])  # fmt: skip
@dtype_ids
def test_finish_update(rng, units, n_parts, solver, dtype):
    # The split batch's one pass: the chunks' raw sums added in order, the L2
    # term on the weights, divided by the weight sum; then the optimizer's
    # step, as sgd_step / adam_step take it. Blocks side by side or one after
    # the other: the same bits.
    u = np.array(units, dtype=np.int64)
    P = param_layout_size(units)
    assert max(map(param_layout_size, FINISH_NETS)) > 2 * _UPDATE_BLOCK
    alpha, sw_sum, t = 0.3, 7.5, 4
    hyper = np.array([0.01, 0.9, 1.0, 0.9, 0.999, 1e-8, alpha])
    params = rng.standard_normal(P).astype(dtype)
    grads = rng.standard_normal(P).astype(dtype)
    gpart = rng.standard_normal((n_parts + 1, P)).astype(dtype)
    opt_a = (0.1 * rng.standard_normal(P)).astype(dtype)
    opt_b = (0.01 * rng.uniform(size=P)).astype(dtype)
    raw = f64(grads) + f64(gpart[:n_parts]).sum(axis=0)
    is_weight = np.zeros(P, dtype=bool)
    off = 0
    for fi, fo in zip(units[:-1], units[1:], strict=True):
        is_weight[off : off + fi * fo] = True
        off += fi * fo + fo
    want_g = (raw + np.where(is_weight, alpha * f64(params), 0.0)) / sw_sum
    want_p, want_a, want_b = f64(params), f64(opt_a), f64(opt_b)
    step = 0.0
    if solver == SOLVER_SGD:
        step = 0.05
        want_p, want_a = sgd_step(want_p, want_a, want_g, step, 0.9, True)
    elif solver == SOLVER_ADAM:
        step = adam_learning_rate(0.01, 0.9, 0.999, t + 1)
        want_p, want_a, want_b, _ = adam_step(
            want_p, want_a, want_b, want_g, t, 0.01, 0.9, 0.999, 1e-8
        )
    results = []
    for threaded in (False, True):
        g, p, a, b = grads.copy(), params.copy(), opt_a.copy(), opt_b.copy()
        gp = gpart.copy()
        finish_update(
            g, gp, n_parts, p, u, alpha, sw_sum, a, b, solver, step, hyper, threaded
        )
        np.testing.assert_array_equal(gp, gpart)  # parts are read only
        if not (solver == SOLVER_ADAM and n_parts >= 1):
            # Adam over a split batch keeps the finished gradient in registers
            # (grads is scratch there); its step below is checked against the
            # one want_g gives.
            assert_close(g, want_g, dtype)
        assert_close(p, want_p, dtype)
        assert_close(a, want_a, dtype)
        assert_close(b, want_b, dtype)
        results.append((g, p, a, b))
    for x, y in zip(*results, strict=True):
        np.testing.assert_array_equal(x, y)


# ----------------------------------------------------------------------------
# One batch forward and backward
# ----------------------------------------------------------------------------
# (units, n rows, capacity, start, B)
FB_NETS = [
    ((4, 3), 20, 12, 5, 9),
    ((5, 8, 3), 30, 16, 0, 16),
    ((3, 7, 6, 2), 11, 4, 10, 1),
    ((1, 1, 1), 7, 7, 0, 7),
    ((70, 64, 3), 25, 20, 2, 17),  # 4480 weights, then 192: both paths at 4096
]
# (sample weights, blas_min); blas_min None compiles the kernel without BLAS code
FB_MODES = [
    ("none", NEVER_BLAS),
    ("random", 0),
    ("zeros", BLAS_MIN),
    ("random", None),
    ("absent", NEVER_BLAS),
    ("absent", 0),
]


def _batch_problem(rng, net, out, mode, dtype):
    """A network, data and one batch (rows idx[start:start + B]) for the
    forward-backward tests: (units, n, capacity, start, B) from net, (sample
    weights, blas_min) from mode."""
    units, n, capacity, start, B = net
    units = fit_units(units, out)
    params, Ws, bs = make_network(rng, units, dtype)
    X = rng.standard_normal((n, units[0])).astype(dtype)
    Y = make_targets(rng, n, units[-1], out, dtype)
    idx = rng.permutation(n).astype(np.int64)
    rows = idx[start : start + B]
    sw = make_weights(rng, n, mode[0], dtype, rows[0])
    u = np.array(units, dtype=np.int64)
    return units, u, params, Ws, bs, X, Y, idx, rows, sw, capacity, start, B


@pytest.mark.parametrize("net", FB_NETS, ids=lambda c: str(c[0]))
@act_ids
@out_ids
@pytest.mark.parametrize("mode", FB_MODES, ids=lambda m: f"{m[0]}-blas{m[1]}")
@dtype_ids
def test_forward_backward(rng, net, act, out, mode, dtype):
    sw_mode, blas_min = mode
    alpha = 0.01
    units, u, params, Ws, bs, X, Y, idx, rows, sw, capacity, start, B = _batch_problem(
        rng, net, out, mode, dtype
    )
    grads = np.full_like(params, np.nan)
    work = np.full(workspace_size(u, capacity), np.nan, dtype=dtype)
    params_before = params.copy()

    got = forward_backward(
        grads,
        work,
        params,
        X,
        None,
        None,
        None,
        Y,
        kernel_weights(sw, sw_mode),
        idx,
        start,
        B,
        capacity,
        u,
        act,
        out,
        alpha,
        blas_min,
    )

    want, dWs, dbs, A, D = backprop(
        f64(X[rows]),
        f64(Y[rows]),
        Ws,
        bs,
        ACTS[act],
        OUTS[out],
        alpha,
        f64(sw[rows]),
        eps=np.finfo(dtype).eps,
        deltas=True,
    )
    np.testing.assert_array_equal(params, params_before)
    np.testing.assert_allclose(got, want, rtol=RTOL[dtype])
    got_dWs, got_dbs = unpack(grads, units)
    for l in range(len(units) - 1):
        assert_close(got_dWs[l], dWs[l], dtype)
        assert_close(got_dbs[l], dbs[l], dtype)

    # The work buffer holds A_0..A_L (A_L the output activation) and D_1..D_L,
    # each feature-major (units[l], B), at the documented offsets; A_0 is
    # sample-major (B, units[0]) when the first layer goes through BLAS.
    a_off, d_off = layer_offsets(units, capacity)
    for l, k in enumerate(units):
        if l == 0 and blas_min is not None and units[0] * units[1] >= blas_min:
            a = work[a_off[l] : a_off[l] + k * B].reshape(B, k).T
        else:
            a = work[a_off[l] : a_off[l] + k * B].reshape(k, B)
        assert_close(a, A[l].T, dtype)
        if l > 0:
            d = work[d_off[l] : d_off[l] + k * B].reshape(k, B)
            assert_close(d, D[l].T, dtype)


def _split_call(grads, gpart, work, params, X, Y, sw, idx, start, B, cap, u, act, out,
                alpha, blas_min, threaded):  # fmt: skip
    losses = np.full(gpart.shape[0] + 1, np.nan)
    with one_blas_thread():
        return forward_backward_split(
            grads, gpart, losses, work, params, X, None, None, None, Y, sw, idx,
            start, B, cap, u, act, out, alpha, blas_min, threaded,
        )  # fmt: skip


# (units, n rows, capacity, start, B): batches of 2 or 3 chunks of at least
# CHUNK_MIN_ROWS rows, and one (B = 100) too small to split.
SPLIT_NETS = [
    ((5, 8, 3), 400, 200, 10, 200),
    ((3, 7, 6, 2), 300, 150, 0, 129),
    ((70, 64, 3), 300, 200, 5, 191),
    ((1, 1, 1), 200, 200, 0, 200),
    ((4, 3), 150, 128, 20, 100),
]


@pytest.mark.parametrize("net", SPLIT_NETS, ids=lambda c: f"{c[0]}-B{c[4]}")
@pytest.mark.parametrize("act", [ACT_RELU, ACT_TANH], ids=["relu", "tanh"])
@pytest.mark.parametrize(
    "out", [OUT_SOFTMAX, OUT_IDENTITY], ids=["softmax", "identity"]
)
@pytest.mark.parametrize("mode", FB_MODES, ids=lambda m: f"{m[0]}-blas{m[1]}")
@pytest.mark.parametrize("n_chunks", [2, 3])
@f64_dtype_ids
def test_forward_backward_split(rng, net, act, out, mode, n_chunks, dtype):
    # A batch cut into chunks of rows, each chunk's gradient in its own buffer,
    # then summed: the batch's loss and gradient, as forward_backward computes
    # them; the chunks side by side (threaded) or one after the other give the
    # same bits.
    sw_mode, blas_min = mode
    alpha = 0.01
    units, u, params, Ws, bs, X, Y, idx, rows, sw, capacity, start, B = _batch_problem(
        rng, net, out, mode, dtype
    )
    ws, _ = chunk_workspace(u, capacity, n_chunks)
    want, dWs, dbs = backprop(
        f64(X[rows]),
        f64(Y[rows]),
        Ws,
        bs,
        ACTS[act],
        OUTS[out],
        alpha,
        f64(sw[rows]),
        eps=np.finfo(dtype).eps,
    )
    results = []
    for threaded in (False, True):
        grads = np.full_like(params, np.nan)
        gpart = np.full((n_chunks - 1, params.shape[0]), np.nan, dtype=dtype)
        work = np.full(n_chunks * ws, np.nan, dtype=dtype)
        params_before = params.copy()
        got = _split_call(
            grads, gpart, work, params, X, Y, kernel_weights(sw, sw_mode), idx,
            start, B, capacity, u, act, out, alpha, blas_min, threaded,
        )  # fmt: skip
        np.testing.assert_array_equal(params, params_before)
        np.testing.assert_allclose(got, want, rtol=RTOL[dtype])
        got_dWs, got_dbs = unpack(grads, units)
        for l in range(len(units) - 1):
            assert_close(got_dWs[l], dWs[l], dtype)
            assert_close(got_dbs[l], dbs[l], dtype)
        results.append((got, grads))
    (l0, g0), (l1, g1) = results
    assert l0 == l1 or (np.isnan(l0) and np.isnan(l1))
    np.testing.assert_array_equal(g0, g1)


def test_split_chunks_fit_their_capacity():
    # A batch of B rows (B <= batch_size) is cut into max(1, min(n_chunks,
    # B // CHUNK_MIN_ROWS)) chunks of consecutive rows: every row once, none
    # empty, sizes differing by one at most, none larger than the rows each
    # chunk's part of the work buffer holds, none below CHUNK_MIN_ROWS rows
    # when the batch is split at all.
    from fastmlp.kernels.train import (
        CHUNK_MIN_ROWS,
        _chunk_rows,
        _n_chunks,
        chunk_capacity,
    )

    for batch_size in list(range(1, 300)) + [512, 1000, 1023]:
        for n_chunks in (1, 2, 3, 4, 7):
            cap = chunk_capacity(batch_size, n_chunks)
            for B in range(1, batch_size + 1):
                k = _n_chunks.py_func(B, n_chunks)
                bounds = [_chunk_rows.py_func(c, k, B) for c in range(k)]
                assert bounds[0][0] == 0 and bounds[-1][1] == B
                assert all(bounds[c][1] == bounds[c + 1][0] for c in range(k - 1))
                sizes = [hi - lo for lo, hi in bounds]
                assert max(sizes) - min(sizes) <= 1
                assert max(sizes) <= cap
                assert k == 1 or min(sizes) >= CHUNK_MIN_ROWS


def _fd_problem(rng, act, out, k):
    units = (3, 4, 3, k)
    n = 6
    u = np.array(units, dtype=np.int64)
    params, _, _ = make_network(rng, units, np.float64)
    X = rng.standard_normal((n, 3))
    Y = make_targets(rng, n, k, out, np.float64)
    sw = make_weights(rng, n, "zeros", np.float64, 1)
    idx = np.arange(n, dtype=np.int64)
    grads = np.empty_like(params)
    work = np.empty(workspace_size(u, n))

    def loss_and_grad(p, alpha):
        value = forward_backward(
            grads,
            work,
            p,
            X,
            None,
            None,
            None,
            Y,
            sw,
            idx,
            0,
            n,
            n,
            u,
            act,
            out,
            alpha,
            NEVER_BLAS,
        )
        return value, grads.copy()

    return params, sw, loss_and_grad


def central_differences(f, params, h=1e-6):
    fd = np.empty_like(params)
    for q in range(params.shape[0]):
        p = params.copy()
        p[q] += h
        up = f(p)
        p[q] -= 2 * h
        fd[q] = (up - f(p)) / (2 * h)
    return fd


@act_ids
@out_ids
def test_forward_backward_finite_differences(rng, act, out):
    # For squared error scikit-learn's output delta is p - y whatever the
    # number of outputs K, while its loss averages over the outputs: the two
    # agree only when K = 1 (see the test below for K > 1).
    k = {OUT_IDENTITY: 1, OUT_LOGISTIC: 3, OUT_SOFTMAX: 3, OUT_EXP: 2}[out]
    params, _, loss_and_grad = _fd_problem(rng, act, out, k)
    _, grads = loss_and_grad(params, 0.1)
    fd = central_differences(lambda p: loss_and_grad(p, 0.1)[0], params)
    np.testing.assert_allclose(grads, fd, rtol=1e-6, atol=1e-8)


@act_ids
def test_squared_error_gradient_convention(rng, act):
    # K outputs: the gradient is that of K * data loss + the L2 term
    # (scikit-learn's convention), not of the reported loss.
    k, alpha = 3, 0.1
    params, sw, loss_and_grad = _fd_problem(rng, act, OUT_IDENTITY, k)
    units = (3, 4, 3, k)

    def objective(p):
        Ws, _ = unpack(p, units)
        l2 = 0.5 * alpha * sum(np.sum(W * W) for W in Ws) / sw.sum()
        return k * (loss_and_grad(p, alpha)[0] - l2) + l2

    _, grads = loss_and_grad(params, alpha)
    fd = central_differences(objective, params)
    np.testing.assert_allclose(grads, fd, rtol=1e-6, atol=1e-8)


# ----------------------------------------------------------------------------
# One epoch of training
# ----------------------------------------------------------------------------
SOLVERS = {
    "sgd": (SOLVER_SGD, False),
    "sgd-nesterov": (SOLVER_SGD, True),
    "adam": (SOLVER_ADAM, False),
}
# (act, out, sample weights, blas_min): every code appears at least once;
# "absent" weights reach the kernel as None (its unweighted flavour).
EPOCH_CASES = [
    (ACT_RELU, OUT_SOFTMAX, "none", NEVER_BLAS),
    (ACT_RELU, OUT_SOFTMAX, "absent", NEVER_BLAS),
    (ACT_TANH, OUT_IDENTITY, "absent", 0),
    (ACT_TANH, OUT_LOGISTIC, "zeros", 0),
    (ACT_LOGISTIC, OUT_IDENTITY, "random", NEVER_BLAS),
    (ACT_IDENTITY, OUT_EXP, "zeros", 0),
]


def _epoch_problem(rng, act, out, sw_mode, dtype, units=(4, 6, 5, 3), n=23):
    u = np.array(units, dtype=np.int64)
    params, _, _ = make_network(rng, units, dtype)
    if out == OUT_EXP:
        params *= 0.5  # keep exp's outputs moderate
    X = rng.standard_normal((n, units[0])).astype(dtype)
    Y = make_targets(rng, n, units[-1], out, dtype)
    idx = rng.permutation(n).astype(np.int64)
    sw = make_weights(rng, n, "random" if sw_mode == "zeros" else sw_mode, dtype, 0)
    if sw_mode == "zeros":
        sw[idx[[1, 6, 12, 21]]] = 0  # one row in each of four batches of 5
    return u, params, X, Y, sw, idx


@pytest.mark.parametrize("blas_min", [None, NEVER_BLAS, 0], ids=str)
@pytest.mark.parametrize("mode", ["absent", "zeros"])
@f64_dtype_ids
def test_train_epoch_class_labels(rng, blas_min, mode, dtype):
    # A softmax classifier's targets as class indices train the very network
    # that the one-hot matrix trains, to the bit.
    units = (4, 6, 5, 3)
    u = np.array(units, dtype=np.int64)
    n, batch_size = 23, 5
    params, _, _ = make_network(rng, units, dtype)
    X = rng.standard_normal((n, units[0])).astype(dtype)
    labels = rng.integers(0, units[-1], n).astype(np.int64)
    Y = np.zeros((n, units[-1]), dtype=dtype)
    Y[np.arange(n), labels] = 1.0
    idx = rng.permutation(n).astype(np.int64)
    sw = make_weights(rng, n, "random" if mode == "zeros" else mode, dtype, 0)
    if mode == "zeros":
        sw[idx[[1, 6]]] = 0
    sw = kernel_weights(sw, mode)
    hyper = np.array([0.05, 0.8, 0.0, 0.9, 0.99, 1e-7, 0.02])
    results = []
    for targets in (Y, labels):
        p, a, b = params.copy(), np.zeros_like(params), np.zeros_like(params)
        work = np.full(workspace_size(u, batch_size), np.nan, dtype=dtype)
        acc, t = train_epoch(
            p,
            np.empty_like(p),
            a,
            b,
            work,
            X,
            targets,
            sw,
            idx,
            u,
            ACT_RELU,
            OUT_SOFTMAX,
            batch_size,
            SOLVER_ADAM,
            hyper,
            0,
            blas_min,
        )
        results.append((acc, t, p))
    (acc0, t0, p0), (acc1, t1, p1) = results
    assert acc0 == acc1 and t0 == t1
    np.testing.assert_array_equal(p0, p1)


@pytest.mark.parametrize("solver", list(SOLVERS))
@pytest.mark.parametrize(
    "case", EPOCH_CASES, ids=lambda c: f"{ACTS[c[0]]}-{OUTS[c[1]]}-{c[2]}-{c[3]}"
)
@dtype_ids
def test_train_epoch(rng, solver, case, dtype):
    act, out, sw_mode, blas_min = case
    code, nesterov = SOLVERS[solver]
    batch_size = 5  # 23 rows: four batches of 5, then one of 3
    u, params, X, Y, sw, idx = _epoch_problem(rng, act, out, sw_mode, dtype)
    units = tuple(int(x) for x in u)
    lr, momentum, b1, b2, eps, alpha = 0.05, 0.8, 0.9, 0.99, 1e-7, 0.02
    hyper = np.array([lr, momentum, float(nesterov), b1, b2, eps, alpha])
    state_a = (0.1 * rng.standard_normal(params.shape)).astype(dtype)
    state_b = (0.01 * rng.uniform(size=params.shape)).astype(dtype)
    t0 = 3 if code == SOLVER_ADAM else 0

    want_p, want_a, want_b, want_acc, want_t = naive.train_epoch(
        f64(params),
        f64(state_a),
        f64(state_b),
        f64(X),
        f64(Y),
        f64(sw),
        idx,
        units,
        ACTS[act],
        OUTS[out],
        batch_size,
        "adam" if code == SOLVER_ADAM else "sgd",
        t0,
        lr=lr,
        momentum=momentum,
        nesterov=nesterov,
        beta1=b1,
        beta2=b2,
        epsilon=eps,
        alpha=alpha,
        eps=np.finfo(dtype).eps,
    )

    b_before = state_b.copy()
    grads = np.empty_like(params)
    work = np.full(workspace_size(u, batch_size), np.nan, dtype=dtype)
    acc, t = train_epoch(
        params,
        grads,
        state_a,
        state_b,
        work,
        X,
        Y,
        kernel_weights(sw, sw_mode),
        idx,
        u,
        act,
        out,
        batch_size,
        code,
        hyper,
        t0,
        blas_min,
    )

    assert t == want_t == (t0 + 5 if code == SOLVER_ADAM else 0)
    np.testing.assert_allclose(acc, want_acc, rtol=RTOL[dtype])
    assert_close(params, want_p, dtype)
    assert_close(state_a, want_a, dtype)
    if code == SOLVER_ADAM:
        assert_close(state_b, want_b, dtype)
    else:
        np.testing.assert_array_equal(state_b, b_before)  # unused by SGD


@pytest.mark.parametrize("solver", list(SOLVERS))
@pytest.mark.parametrize("case", EPOCH_CASES[::2], ids=lambda c: f"{ACTS[c[0]]}-{c[3]}")
@pytest.mark.parametrize("n_chunks", [2, 3], ids=lambda k: f"chunks{k}")
@f64_dtype_ids
def test_train_epoch_split(rng, solver, case, n_chunks, dtype):
    # Each batch split into chunks of rows, as the estimators train networks
    # with a BLAS layer: 300 rows in batches of 200 (2 or 3 chunks) and 100 (too
    # few rows to split). The chunks one after the other and side by side give
    # the same bits, and the reference's epoch.
    act, out, sw_mode, blas_min = case
    code, nesterov = SOLVERS[solver]
    batch_size = 200
    u, params, X, Y, sw, idx = _epoch_problem(rng, act, out, sw_mode, dtype, n=300)
    units = tuple(int(x) for x in u)
    lr, momentum, b1, b2, eps, alpha = 0.05, 0.8, 0.9, 0.99, 1e-7, 0.02
    hyper = np.array([lr, momentum, float(nesterov), b1, b2, eps, alpha])
    want_p, _, _, want_acc, want_t = naive.train_epoch(
        f64(params),
        np.zeros(params.shape),
        np.zeros(params.shape),
        f64(X),
        f64(Y),
        f64(sw),
        idx,
        units,
        ACTS[act],
        OUTS[out],
        batch_size,
        "adam" if code == SOLVER_ADAM else "sgd",
        0,
        lr=lr,
        momentum=momentum,
        nesterov=nesterov,
        beta1=b1,
        beta2=b2,
        epsilon=eps,
        alpha=alpha,
        eps=np.finfo(dtype).eps,
    )
    ws, _ = chunk_workspace(u, batch_size, n_chunks)
    results = []
    for threaded in (False, True):
        p = params.copy()
        work = np.full(n_chunks * ws, np.nan, dtype=dtype)
        gpart = np.full((n_chunks - 1, p.shape[0]), np.nan, dtype=dtype)
        with one_blas_thread():
            acc, t = train_epoch(
                p,
                np.empty_like(p),
                np.zeros_like(p),
                np.zeros_like(p),
                work,
                X,
                Y,
                kernel_weights(sw, sw_mode),
                idx,
                u,
                act,
                out,
                batch_size,
                code,
                hyper,
                0,
                blas_min,
                gpart,
                threaded,
            )
        assert t == want_t
        np.testing.assert_allclose(acc, want_acc, rtol=RTOL[dtype])
        assert_close(p, want_p, dtype)
        results.append((acc, p))
    assert results[0][0] == results[1][0]
    np.testing.assert_array_equal(results[0][1], results[1][1])


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_train_epoch_stops_on_nonfinite_loss(rng, solver):
    code, _ = SOLVERS[solver]
    batch_size = 5
    u, params, X, Y, sw, idx = _epoch_problem(
        rng, ACT_IDENTITY, OUT_IDENTITY, "none", np.float64
    )
    units = tuple(int(x) for x in u)
    X[idx[batch_size + 2], 1] = np.inf  # a row of the second batch
    hyper = np.array([0.05, 0.9, 1.0, 0.9, 0.999, 1e-8, 0.0])
    state_a, state_b = np.zeros_like(params), np.zeros_like(params)

    # The expected state: exactly one batch applied.
    want_p, *_ = naive.train_epoch(
        params.copy(),
        state_a.copy(),
        state_b.copy(),
        X,
        Y,
        sw,
        idx[:batch_size],
        units,
        "identity",
        "identity",
        batch_size,
        solver,
        0,
        lr=0.05,
        momentum=0.9,
        nesterov=True,
    )
    grads = np.empty_like(params)
    work = np.empty(workspace_size(u, batch_size))
    acc, t = train_epoch(
        params,
        grads,
        state_a,
        state_b,
        work,
        X,
        Y,
        sw,
        idx,
        u,
        ACT_IDENTITY,
        OUT_IDENTITY,
        batch_size,
        code,
        hyper,
        0,
        NEVER_BLAS,
    )
    assert t == -2  # -1 - (batches done)
    assert not np.isfinite(acc)
    assert_close(params, want_p, np.float64)


# ----------------------------------------------------------------------------
# Inference
# ----------------------------------------------------------------------------
NO_BLAS = 2**62


def _serial(out, X, params, u, act, out_act, block):
    n = X.shape[0]
    return predict_serial(
        out, X, None, None, None, n, params, u, act, out_act, block, NO_BLAS
    )


def _serial_none(out, X, params, u, act, out_act, block):
    # blas_min None: the flavour compiled without BLAS code (small networks).
    n = X.shape[0]
    return predict_serial(
        out, X, None, None, None, n, params, u, act, out_act, block, None
    )


def _serial_blas(out, X, params, u, act, out_act, block):
    n = X.shape[0]
    return predict_serial(
        out, X, None, None, None, n, params, u, act, out_act, block, 1
    )


def _parallel(out, X, params, u, act, out_act, block):
    n = X.shape[0]
    return predict_parallel(
        out, X, None, None, None, n, params, u, act, out_act, block, None, 2
    )


def _parallel_blas(out, X, params, u, act, out_act, block):
    # Sample-major blocks side by side, every layer through single-threaded BLAS.
    n = X.shape[0]
    with one_blas_thread():
        return predict_parallel(
            out, X, None, None, None, n, params, u, act, out_act, block, 1, 3
        )


def _csr(out, Xs, params, u, act, out_act, block, parallel):
    """predict_serial or predict_parallel on a scipy CSR matrix."""
    x_args = (
        None,
        Xs.indptr.astype(np.int64),
        Xs.indices.astype(np.int64),
        Xs.data,
        Xs.shape[0],
    )
    if parallel:
        return predict_parallel(out, *x_args, params, u, act, out_act, block, None, 2)
    return predict_serial(out, *x_args, params, u, act, out_act, block, NO_BLAS)


# serial: hand-written layers (blocks under ROWS_MAX rows take the sample-major
# path), serial-none the same compiled without BLAS code; serial-blas: every
# layer through BLAS; parallel: prange row blocks; parallel-blas: prange row
# blocks, every layer through BLAS.
PREDICT = {
    "serial": _serial,
    "serial-none": _serial_none,
    "serial-blas": _serial_blas,
    "parallel": _parallel,
    "parallel-blas": _parallel_blas,
}
PREDICT_NETS = [(5, 7, 4, 3), (3, 2), (1, 1), (2, 9, 1)]
BLOCK = 32


@pytest.mark.parametrize("func", list(PREDICT))
@pytest.mark.parametrize("units", PREDICT_NETS, ids=str)
@act_ids
@out_ids
@dtype_ids
def test_predict_forward(rng, func, units, act, out, dtype):
    units = fit_units(units, out)
    u = np.array(units, dtype=np.int64)
    params, Ws, bs = make_network(rng, units, dtype)
    for n in (1, 3, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK + 7):
        X = rng.standard_normal((n, units[0])).astype(dtype)
        got = np.full((n, units[-1]), np.nan, dtype=dtype)
        assert PREDICT[func](got, X, params, u, act, out, BLOCK) == 0
        assert_close(got, predict(f64(X), Ws, bs, ACTS[act], OUTS[out]), dtype)
        if out == OUT_SOFTMAX:
            assert_close(got.sum(axis=1), np.ones(n), dtype)


@pytest.mark.parametrize("func", list(PREDICT))
def test_predict_forward_block_larger_than_n(rng, func):
    units = (4, 6, 3)
    u = np.array(units, dtype=np.int64)
    params, Ws, bs = make_network(rng, units, np.float64)
    X = rng.standard_normal((10, 4))
    got = np.full((10, 3), np.nan)
    assert PREDICT[func](got, X, params, u, ACT_RELU, OUT_SOFTMAX, 128) == 0
    assert_close(got, predict(X, Ws, bs, "relu", "softmax"), np.float64)


@pytest.mark.parametrize("func", list(PREDICT))
@pytest.mark.parametrize("n", [1, 5, 40, 100])
def test_predict_forward_counts_non_finite_input(rng, func, n):
    units = (4, 6, 3)
    u = np.array(units, dtype=np.int64)
    params, _, _ = make_network(rng, units, np.float64)
    X = rng.standard_normal((n, 4))
    X[n - 1, 2] = np.nan
    X[0, 0] = np.inf
    got = np.empty((n, 3))
    assert PREDICT[func](got, X, params, u, ACT_RELU, OUT_SOFTMAX, 32) == 2


@pytest.mark.parametrize("func", list(PREDICT))
@pytest.mark.parametrize("n", [1, 5, 40, 100])
@out_ids
@dtype_ids
def test_predict_forward_counts_non_finite_output(rng, func, n, out, dtype):
    # A finite X far beyond the network's scale overflows it: the kernels write
    # the non-finite outputs the naive forward pass gives and return minus
    # their count (X itself being all finite). The network makes every output
    # of the row X = big NaN (every hidden unit +inf, each output the sum of
    # +inf and -inf), and the row X = -big finite (every hidden unit 0).
    units = fit_units((4, 6, 3), out)
    K = units[-1]
    u = np.array(units, dtype=np.int64)
    params, _, _ = make_network(rng, units, dtype)
    W1 = params[: 4 * 6].reshape((4, 6))
    W1[...] = np.abs(W1) + 1  # so the row X = big sums past the largest float
    W2 = params[4 * 6 + 6 : 4 * 6 + 6 + 6 * K].reshape((6, K))
    W2[...] = np.abs(W2) * np.array([1, -1, 1, -1, 1, -1])[:, None]
    # The reference in the kernels' dtype: float32 overflows where float64 not.
    Ws, bs = unpack(params, units)
    big = np.finfo(dtype).max / 2
    X = rng.standard_normal((n, 4)).astype(dtype)
    X[n - 1] = -big
    X[n // 2] = big
    got = np.empty((n, K), dtype=dtype)
    with np.errstate(all="ignore"):
        want = predict(X, Ws, bs, "relu", OUTS[out])
    bad = ~np.isfinite(want)
    assert bad[n // 2].all() and bad.sum() == K
    assert PREDICT[func](got, X, params, u, ACT_RELU, out, 32) == -K
    np.testing.assert_array_equal(~np.isfinite(got), bad)
    assert_close(got[~bad], want[~bad], dtype)


@pytest.mark.parametrize("parallel", [False, True], ids=["serial", "parallel"])
@dtype_ids
def test_predict_forward_csr(rng, parallel, dtype):
    units = (12, 7, 5, 3)
    u = np.array(units, dtype=np.int64)
    params, Ws, bs = make_network(rng, units, dtype)
    for n in (1, 5, 31, 100):
        Xs = sp.random(n, 12, density=0.3, format="csr", random_state=n)
        Xs = Xs.astype(dtype)
        got = np.full((n, 3), np.nan, dtype=dtype)
        bad = _csr(got, Xs, params, u, ACT_RELU, OUT_SOFTMAX, 32, parallel)
        assert bad == 0
        want = predict(f64(Xs.toarray()), Ws, bs, "relu", "softmax")
        assert_close(got, want, dtype)
    Xs.data[0] = np.nan
    bad = _csr(got, Xs, params, u, ACT_RELU, OUT_SOFTMAX, 32, parallel)
    assert bad == 1


@pytest.mark.parametrize("seed", [0, 1, 12345])
@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 5, 17, 65, 342, 624, 1000, 1025, 5000])
def test_mt_shuffle_matches_randomstate(seed, n):
    from fastmlp.kernels.rng import shuffle

    ref = np.random.RandomState(seed)
    ours = np.random.RandomState(seed)
    ref.uniform(size=5)
    ours.uniform(size=5)
    a = np.arange(n, dtype=np.int64)
    b = np.arange(n, dtype=np.int64)
    for _ in range(4):  # several shuffles: the state carries over, past a refill
        ref.shuffle(a)
        state = ours.get_state(legacy=True)
        key = state[1].copy()
        pos = np.array([state[2]], dtype=np.int64)
        shuffle(b, key, pos)
        ours.set_state((state[0], key, int(pos[0]), state[3], state[4]))
        np.testing.assert_array_equal(a, b)
    # The generator ends where RandomState's own shuffles leave it.
    assert ref.uniform() == ours.uniform()
