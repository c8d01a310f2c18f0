"""Slow, obviously-right reference implementations for the kernel tests.

Everything here is plain NumPy written the way a textbook writes it:
sample-major arrays of shape (n_samples, units), one layer at a time, the
network as lists of weight matrices W (fan_in, fan_out) and bias vectors b
(fan_out,). The formulas are scikit-learn's (sklearn/neural_network/_base.py,
_multilayer_perceptron.py and _stochastic_optimizers.py). Nothing here is
fast and nothing here is fused; the kernels are tested against these.

Activations and output functions are named by string, as scikit-learn names
them; the tests map the kernels' integer codes onto these names.

Every function computes in the dtype of its inputs: the tests feed float64
copies when checking float32 kernels, passing the float32 ``eps`` explicitly
where the loss clips probabilities.
"""

import numpy as np

HIDDEN_ACTIVATIONS = ("identity", "relu", "tanh", "logistic")
OUTPUT_ACTIVATIONS = ("identity", "logistic", "softmax", "exp")

# The loss that goes with each output activation (its canonical pairing).
LOSS_OF_OUTPUT = {
    "identity": "squared_error",
    "logistic": "binary_log_loss",
    "softmax": "log_loss",
    "exp": "poisson",
}


# ----------------------------------------------------------------------------
# Element-wise functions
# ----------------------------------------------------------------------------
def logistic(z):
    """1 / (1 + exp(-z)), without overflow warnings for large |z|."""
    z = np.asarray(z)
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out


def activation(z, name):
    """A hidden layer's activation function, applied element-wise."""
    if name == "identity":
        return z.copy()
    if name == "relu":
        return np.maximum(z, 0)
    if name == "tanh":
        return np.tanh(z)
    if name == "logistic":
        return logistic(z)
    raise ValueError(name)


def activation_derivative(a, name):
    """d activation / dz, written in terms of the activation's output a."""
    if name == "identity":
        return np.ones_like(a)
    if name == "relu":
        return (a > 0).astype(a.dtype)
    if name == "tanh":
        return 1 - a**2
    if name == "logistic":
        return a * (1 - a)
    raise ValueError(name)


def output_activation(z, name):
    """The output layer's activation; softmax normalises each row (sample)."""
    if name == "identity":
        return z.copy()
    if name == "logistic":
        return logistic(z)
    if name == "exp":
        with np.errstate(over="ignore"):
            return np.exp(z)
    if name == "softmax":
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    raise ValueError(name)


def xlogy(x, y):
    """x * log(y), and 0 wherever x == 0 (as scipy.special.xlogy)."""
    x = np.asarray(x)
    y = np.asarray(y)
    safe_y = np.where(x == 0, 1, y)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x == 0, 0, x * np.log(safe_y))


# ----------------------------------------------------------------------------
# Losses
# ----------------------------------------------------------------------------
def per_sample_loss(y, p, output, eps=None):
    """The data loss of each sample (row), shape (n,).

    squared error: 0.5 * mean over outputs of (y - p)^2
    binary log-loss: -sum_j [y log p + (1 - y) log(1 - p)]
    log-loss: -sum_j y log p
    half Poisson deviance: sum_j [y log(y / p) - y + p]

    Probabilities inside a log are clipped to [eps, 1 - eps], eps defaulting to
    the machine epsilon of p's dtype.
    """
    if eps is None:
        eps = np.finfo(p.dtype).eps
    if output == "identity":
        return 0.5 * np.mean((y - p) ** 2, axis=1)
    if output == "logistic":
        pc = np.clip(p, eps, 1 - eps)
        return -np.sum(xlogy(y, pc) + xlogy(1 - y, 1 - pc), axis=1)
    if output == "softmax":
        pc = np.clip(p, eps, 1 - eps)
        return -np.sum(xlogy(y, pc), axis=1)
    if output == "exp":
        with np.errstate(divide="ignore"):
            return np.sum(xlogy(y, y / p) - y + p, axis=1)
    raise ValueError(output)


def loss(y, p, output, sample_weight=None, eps=None):
    """The sample-weighted mean of the per-sample data loss."""
    per = per_sample_loss(y, p, output, eps)
    if sample_weight is None:
        return per.mean()
    return np.sum(sample_weight * per) / np.sum(sample_weight)


# ----------------------------------------------------------------------------
# Layers and networks
# ----------------------------------------------------------------------------
def dense_forward(inp, W, b, act):
    """act(inp @ W + b) for inp (n, fan_in)."""
    return activation(inp @ W + b, act)


def dense_backward(inp, W, dout, alpha, sw_sum, act_in):
    """One layer's gradients from dout = dLoss/d(pre-activation), (n, fan_out).

    Returns dW = (inp^T dout + alpha W) / sw_sum, db = sum(dout) / sw_sum and the
    delta of the layer below, (dout W^T) * act_in'(inp), inp being the output
    of the activation act_in.
    """
    dW = (inp.T @ dout + alpha * W) / sw_sum
    db = dout.sum(axis=0) / sw_sum
    dinp = (dout @ W.T) * activation_derivative(inp, act_in)
    return dW, db, dinp


def forward(X, Ws, bs, act, output):
    """All the layers' activations [X, A_1, ..., A_L]; A_L is the output."""
    activations = [X]
    L = len(Ws)
    for l in range(L):
        z = activations[-1] @ Ws[l] + bs[l]
        if l < L - 1:
            activations.append(activation(z, act))
        else:
            activations.append(output_activation(z, output))
    return activations


def predict(X, Ws, bs, act, output):
    """The output layer's activation for every row of X."""
    return forward(X, Ws, bs, act, output)[-1]


def backprop(
    X, Y, Ws, bs, act, output, alpha=0.0, sample_weight=None, eps=None, deltas=False
):
    """Loss and gradient of a network on the batch (X, Y), as scikit-learn's
    MLP ``_backprop`` defines them.

    loss = weighted mean data loss + 0.5 * alpha * sum(W**2) / sum(sw)
    output delta = (p - y) * sw; hidden deltas = (D W^T) * act'(A).

    Returns (loss, dWs, dbs), plus (activations, deltas) when ``deltas``.
    """
    n = X.shape[0]
    sw = np.ones(n, dtype=X.dtype) if sample_weight is None else sample_weight
    sw_sum = sw.sum()
    A = forward(X, Ws, bs, act, output)
    value = loss(Y, A[-1], output, sw, eps)
    value += 0.5 * alpha * sum(np.sum(W * W) for W in Ws) / sw_sum

    L = len(Ws)
    D = [None] * (L + 1)
    D[L] = (A[L] - Y) * sw[:, None]
    dWs = [None] * L
    dbs = [None] * L
    for l in range(L - 1, -1, -1):
        dWs[l] = (A[l].T @ D[l + 1] + alpha * Ws[l]) / sw_sum
        dbs[l] = D[l + 1].sum(axis=0) / sw_sum
        if l > 0:
            D[l] = (D[l + 1] @ Ws[l].T) * activation_derivative(A[l], act)
    if deltas:
        return value, dWs, dbs, A, D
    return value, dWs, dbs


# ----------------------------------------------------------------------------
# The flat parameter buffer [W0.ravel(), b0, W1.ravel(), b1, ...]
# ----------------------------------------------------------------------------
def n_params(units):
    return sum(units[l] * units[l + 1] + units[l + 1] for l in range(len(units) - 1))


def pack(Ws, bs):
    """Flatten the network into [W0.ravel(), b0, W1.ravel(), b1, ...]."""
    parts = []
    for W, b in zip(Ws, bs, strict=True):
        parts.append(np.ravel(W))
        parts.append(np.ravel(b))
    return np.concatenate(parts)


def unpack(flat, units):
    """Inverse of pack: lists of W (units[l], units[l+1]) and b (units[l+1],)."""
    Ws, bs = [], []
    pos = 0
    for l in range(len(units) - 1):
        fi, fo = units[l], units[l + 1]
        Ws.append(flat[pos : pos + fi * fo].reshape(fi, fo).copy())
        pos += fi * fo
        bs.append(flat[pos : pos + fo].copy())
        pos += fo
    assert pos == flat.shape[0]
    return Ws, bs


def workspace_size(units, capacity):
    """Activations A_0..A_L plus deltas D_1..D_L, each (units[l], capacity),
    plus 5 * capacity of scratch for the output layer and loss."""
    return capacity * sum(units) + capacity * sum(units[1:]) + 5 * capacity


# ----------------------------------------------------------------------------
# Optimizers: one step, written from scikit-learn's formulas
# ----------------------------------------------------------------------------
def sgd_step(params, velocity, grads, lr, momentum, nesterov):
    """SGD with momentum; returns the new (params, velocity).

    velocity <- momentum * velocity - lr * grad
    update    = velocity, or momentum * velocity - lr * grad with Nesterov
    params   <- params + update
    """
    velocity = momentum * velocity - lr * grads
    if nesterov:
        update = momentum * velocity - lr * grads
    else:
        update = velocity
    return params + update, velocity


def adam_learning_rate(lr, beta1, beta2, t):
    """lr * sqrt(1 - beta2^t) / (1 - beta1^t), t the step count (t >= 1)."""
    return lr * np.sqrt(1 - beta2**t) / (1 - beta1**t)


def adam_step(params, m, v, grads, t, lr, beta1, beta2, eps):
    """Adam; ``t`` is the step count before this step.

    Returns the new (params, m, v, t).
    """
    t = t + 1
    m = beta1 * m + (1 - beta1) * grads
    v = beta2 * v + (1 - beta2) * grads**2
    lr_t = adam_learning_rate(lr, beta1, beta2, t)
    return params - lr_t * m / (np.sqrt(v) + eps), m, v, t


def train_epoch(
    params,
    state_a,
    state_b,
    X,
    Y,
    sw,
    idx,
    units,
    act,
    output,
    batch_size,
    solver,
    t,
    lr=0.1,
    momentum=0.9,
    nesterov=True,
    beta1=0.9,
    beta2=0.999,
    epsilon=1e-8,
    alpha=0.0,
    eps=None,
):
    """One epoch of mini-batch training over the rows idx, in order.

    solver is "sgd" (state_a: velocity) or "adam" (state_a, state_b: m, v).
    Returns (params, state_a, state_b, sum of batch_loss * batch_len, t).
    """
    n = len(idx)
    acc = 0.0
    for start in range(0, n, batch_size):
        rows = idx[start : start + batch_size]
        Ws, bs = unpack(params, units)
        value, dWs, dbs = backprop(
            X[rows], Y[rows], Ws, bs, act, output, alpha, sw[rows], eps
        )
        acc += value * len(rows)
        grads = pack(dWs, dbs)
        if solver == "sgd":
            params, state_a = sgd_step(params, state_a, grads, lr, momentum, nesterov)
        elif solver == "adam":
            params, state_a, state_b, t = adam_step(
                params, state_a, state_b, grads, t, lr, beta1, beta2, epsilon
            )
        else:
            raise ValueError(solver)
    return params, state_a, state_b, acc, t


def gemm(A, trans_a, B, trans_b, beta, C):
    """op(A) @ op(B) + beta * C, op(X) = X.T where trans_x (a new array).

    As BLAS defines it, C is not read when beta == 0."""
    prod = (A.T if trans_a else A) @ (B.T if trans_b else B)
    return prod if beta == 0 else prod + beta * C
