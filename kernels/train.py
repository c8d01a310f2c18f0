"""Training: one batch's forward and backward pass, and the epoch loop.

Memory layout (all flat, allocated once per fit by the caller):

    params, grads : [W0, b0, W1, b1, ...], W_l of shape (units[l], units[l+1])
    work          : activations A_0..A_L then deltas D_1..D_L, each feature-major
                    (units[l], B) with room for ``capacity`` samples, then
                    5 * capacity of scratch for the output layer and loss

A_0 is the batch of input rows gathered by index (the rows are never copied
anywhere else), A_L the output layer's activation. A_0 alone is sample-major,
(B, units[0]), when the first layer goes through BLAS. With a sparse (CSR)
input, A_0 is not used: the first layer reads the nonzeros directly.

``fit_epochs`` is the training kernel: the estimators call it for every
stochastic fit, many epochs per call or one (when Python does the per-epoch
work: verbose output, early stopping, partial_fit), and ``forward_backward``
serves L-BFGS. Both take either a dense X or the three arrays of a CSR matrix,
the other input being None, so that Numba compiles each flavour without the
other's code. ``train_epoch`` is one epoch of fit_epochs for the kernel tests.
"""

import numpy as np
from numba import njit, prange

from . import layout
from .blas import side_by_side_ok
from .config import JIT, JIT_FAST, JIT_INLINE, JIT_PARALLEL
from .dense import (
    dense_backward,
    dense_backward_blas,
    dense_backward_blas_rows,
    dense_forward,
    dense_forward_blas,
    dense_forward_blas_rows,
)
from .layout import (  # noqa: F401
    CHUNK_MIN_ROWS,
    CTRL_F_BEST_LOSS,
    CTRL_F_LR,
    CTRL_F_LR_INIT,
    CTRL_F_N_ITER_NO_CHANGE,
    CTRL_F_POWER_T,
    CTRL_F_TOL,
    CTRL_I_NO_IMPROVEMENT,
    CTRL_I_SCHEDULE,
    CTRL_I_SEEN,
    CTRL_I_SHUFFLE,
    CTRL_I_STEP,
    DIVERGED,
    HYPER_ALPHA,
    HYPER_BETA1,
    HYPER_BETA2,
    HYPER_EPSILON,
    HYPER_LR,
    HYPER_MOMENTUM,
    HYPER_NESTEROV,
    RAN_ALL,
    SCHEDULE_ADAPTIVE,
    SCHEDULE_CONSTANT,
    SCHEDULE_INVSCALING,
    STOPPED,
    chunk_capacity,
    chunk_count,
    chunk_workspace,
    param_layout_size,
    workspace_size,
)
from .losses import output_loss_backward
from .optimizers import (
    SOLVER_ADAM,
    SOLVER_SGD,
    adam_constants,
    adam_learning_rate,
    adam_step,
    adam_update,
    sgd_update,
)
from .rng import shuffle as mt_shuffle
from .sparse import sparse_dense_backward, sparse_dense_forward


@njit(**JIT_FAST)
def _sum_squares(a, start, n):
    """sum(a[start:start + n] ** 2), accumulated in float64."""
    # Through a view indexed from 0: a loop over range(start, start + n) would
    # index with a possibly negative q, which Numba wraps around, and the loop
    # would not vectorize (7x slower).
    b = a[start : start + n]
    s = 0.0
    for q in range(n):
        v = float(b[q])
        s += v * v
    return s


@njit(**JIT)
def _l2_sum(params, units):
    """sum of the squared weights (biases excluded), accumulated in float64."""
    p_off = np.int64(0)
    l2 = 0.0
    for l in range(units.shape[0] - 1):
        fi = units[l]
        fo = units[l + 1]
        l2 += _sum_squares(params, p_off, fi * fo)
        p_off += fi * fo + fo
    return l2


@njit(**JIT)
def _weight_sum(sw, idx, start, B):
    """sum(sw[idx[start:start + B]]); B when sw is None (every weight 1)."""
    if sw is None:
        return float(B)
    s = 0.0
    for i in range(B):
        s += sw[idx[start + i]]
    return s


@njit(**JIT)
def forward_backward(
    grads,
    work,
    params,
    X,
    Xp,
    Xi,
    Xd,
    Y,
    sw,
    idx,
    start,
    B,
    capacity,
    units,
    act,
    out_act,
    alpha,
    blas_min,
):
    """Loss and gradient of one batch: the rows idx[start:start + B] of X, Y,
    weighted by sw (None: all weights 1, without reading any).

    X a dense matrix and Xp, Xi, Xd None, or X None and (Xp, Xi, Xd) a CSR
    matrix (indptr, indices, data); the branches of the None input are pruned
    when Numba compiles each flavour. Writes the gradient (L2 term included)
    into ``grads`` and returns the batch's loss as scikit-learn defines it
    (weighted mean data loss plus alpha / 2 * ||W||^2 / sum(sw)). A layer goes
    through BLAS when fan_in * fan_out >= blas_min; blas_min None (a network
    without such a layer) compiles no BLAS code at all.
    """
    sw_sum = _weight_sum(sw, idx, start, B)
    l2 = _l2_sum(params, units)
    loss_sum = batch_gradient(
        grads,
        work,
        params,
        X,
        Xp,
        Xi,
        Xd,
        Y,
        sw,
        idx,
        start,
        B,
        capacity,
        units,
        act,
        out_act,
        alpha,
        sw_sum,
        blas_min,
    )
    return loss_sum / sw_sum + (0.5 * alpha) * l2 / sw_sum


@njit(**JIT)
def batch_gradient(
    grads,
    work,
    params,
    X,
    Xp,
    Xi,
    Xd,
    Y,
    sw,
    idx,
    start,
    B,
    capacity,
    units,
    act,
    out_act,
    alpha,
    sw_sum,
    blas_min,
):
    """forward_backward's work for the rows idx[start:start + B], the batch's
    weight sum sw_sum given: writes (sum_i sw_i dLoss_i/dparams + alpha W) /
    sw_sum into grads and returns the data loss summed over the rows (weighted,
    not divided by sw_sum, no L2 term). A batch split into chunks sums these
    over its chunks, alpha given to one chunk only.
    """
    L = units.shape[0] - 1
    n_features = units[0]

    # A first layer that goes through BLAS takes its input sample-major: the
    # batch's rows are copied whole (BLAS reads them transposed in place), which
    # costs far less than scattering each row across the feature-major rows.
    # blas_min None: no layer goes through BLAS, and (the tests below on
    # blas_min being pruned by Numba) none of the BLAS code is compiled.
    rows0 = False
    if blas_min is not None:
        rows0 = units[0] * units[1] >= blas_min
    if X is not None:
        if blas_min is not None and rows0:
            # Gather the batch, sample-major: A0[i, :] = X[idx[start + i], :].
            A0r = work[: n_features * B].reshape((B, n_features))
            for i in range(B):
                r = idx[start + i]
                for k in range(n_features):
                    A0r[i, k] = X[r, k]
        else:
            # Gather the batch, feature-major: A0[k, i] = X[idx[start + i], k].
            A0 = work[: n_features * B].reshape((n_features, B))
            for i in range(B):
                r = idx[start + i]
                for k in range(n_features):
                    A0[k, i] = X[r, k]

    # Forward.
    a_off = 0
    p_off = 0
    for l in range(L):
        fi = units[l]
        fo = units[l + 1]
        A = work[a_off : a_off + fi * B].reshape((fi, B))
        z_off = a_off + capacity * fi
        Z = work[z_off : z_off + fo * B].reshape((fo, B))
        W = params[p_off : p_off + fi * fo].reshape((fi, fo))
        b = params[p_off + fi * fo : p_off + fi * fo + fo]
        # The output layer's activation is applied together with the loss.
        a_l = act if l < L - 1 else 0
        if Xp is not None and l == 0:
            sparse_dense_forward(Z, Xp, Xi, Xd, idx, start, W, b, a_l, fi, fo, B)
        elif X is not None and blas_min is not None and l == 0 and rows0:
            A0r = work[: fi * B].reshape((B, fi))
            dense_forward_blas_rows(Z, A0r, W, b, a_l, fi, fo, B)
        elif blas_min is not None and fi * fo >= blas_min:
            dense_forward_blas(Z, A, W, b, a_l, fi, fo, B)
        else:
            dense_forward(Z, A, W, b, a_l, fi, fo, B)
        a_off += capacity * fi
        p_off += fi * fo + fo

    # Loss and output delta. a_off now points at A_L.
    K = units[L]
    n_units = a_off + capacity * K  # start of the deltas
    d_off = n_units - capacity * n_features  # D_l lives at d_off + (offset of A_l)
    AL = work[a_off : a_off + K * B].reshape((K, B))
    DL = work[d_off + a_off : d_off + a_off + K * B].reshape((K, B))
    scratch = work[d_off + n_units : d_off + n_units + 5 * B]  # after D_L
    loss_sum = output_loss_backward(DL, AL, Y, sw, idx, start, out_act, K, B, scratch)

    # Backward, last layer first.
    for l in range(L - 1, -1, -1):
        fi = units[l]
        fo = units[l + 1]
        p_off -= fi * fo + fo
        a_in = a_off - capacity * fi
        A = work[a_in : a_in + fi * B].reshape((fi, B))
        D = work[d_off + a_off : d_off + a_off + fo * B].reshape((fo, B))
        # D_0 does not exist; the first layer's dinp is a dummy view never written.
        if l > 0:
            Din = work[d_off + a_in : d_off + a_in + fi * B].reshape((fi, B))
        else:
            Din = A
        W = params[p_off : p_off + fi * fo].reshape((fi, fo))
        dW = grads[p_off : p_off + fi * fo].reshape((fi, fo))
        db = grads[p_off + fi * fo : p_off + fi * fo + fo]
        if Xp is not None and l == 0:
            sparse_dense_backward(
                dW, db, D, Xp, Xi, Xd, idx, start, W, alpha, sw_sum, fi, fo, B
            )
        elif X is not None and blas_min is not None and l == 0 and rows0:
            A0r = work[: fi * B].reshape((B, fi))
            dense_backward_blas_rows(dW, db, D, A0r, W, alpha, sw_sum, fi, fo, B)
        elif blas_min is not None and fi * fo >= blas_min:
            dense_backward_blas(
                dW, db, Din, D, A, W, alpha, sw_sum, act, fi, fo, B, l > 0
            )
        else:
            dense_backward(dW, db, Din, D, A, W, alpha, sw_sum, act, fi, fo, B, l > 0)
        a_off = a_in
    return loss_sum


# Compiled twins of layout's chunk_count, chunk_capacity and workspace_size,
# for fit_epochs and forward_backward_split.
_n_chunks = njit(**JIT_INLINE)(chunk_count)


@njit(**JIT_INLINE)
def _chunk_rows(c, n_chunks, B):
    """The rows [lo, hi) of a batch of B rows that chunk c of n_chunks takes."""
    return (c * B) // n_chunks, ((c + 1) * B) // n_chunks


@njit(**JIT)
def _chunk_gradient(
    c, n_chunks, grads, gpart, work, chunk_ws, params, X, Xp, Xi, Xd, Y, sw, idx,
    start, B, chunk_cap, units, act, out_act, blas_min,
):  # fmt: skip
    """batch_gradient of chunk c, raw (alpha 0, weight sum 1: the sums over the
    chunk's rows alone): into grads for chunk 0, into gpart[c - 1] for the
    others, each in its own part of work."""
    lo, hi = _chunk_rows(c, n_chunks, B)
    g = grads if c == 0 else gpart[c - 1]
    return batch_gradient(
        g,
        work[c * chunk_ws : (c + 1) * chunk_ws],
        params,
        X,
        Xp,
        Xi,
        Xd,
        Y,
        sw,
        idx,
        start + lo,
        hi - lo,
        chunk_cap,
        units,
        act,
        out_act,
        0.0,
        1.0,
        blas_min,
    )


@njit(**JIT_PARALLEL)
def _chunks_threaded(
    losses, n_chunks, grads, gpart, work, chunk_ws, params, X, Xp, Xi, Xd, Y, sw,
    idx, start, B, chunk_cap, units, act, out_act, blas_min,
):  # fmt: skip
    """The chunks of a batch side by side (prange); each chunk's BLAS calls
    must run single-threaded."""
    for c in prange(n_chunks):
        losses[c] = _chunk_gradient(
            c, n_chunks, grads, gpart, work, chunk_ws, params, X, Xp, Xi, Xd, Y,
            sw, idx, start, B, chunk_cap, units, act, out_act, blas_min,
        )  # fmt: skip


@njit(**JIT)
def _chunks_serial(
    losses, n_chunks, grads, gpart, work, chunk_ws, params, X, Xp, Xi, Xd, Y, sw,
    idx, start, B, chunk_cap, units, act, out_act, blas_min,
):  # fmt: skip
    """_chunks_threaded one chunk after the other: the same arithmetic, bit for
    bit, without a thread pool."""
    for c in range(n_chunks):
        losses[c] = _chunk_gradient(
            c, n_chunks, grads, gpart, work, chunk_ws, params, X, Xp, Xi, Xd, Y,
            sw, idx, start, B, chunk_cap, units, act, out_act, blas_min,
        )  # fmt: skip


# Parameters per block of the pass that sums the chunks' gradients and applies
# the optimizer's update: a few blocks even for small networks, so that both
# cores take part, each block's arrays resident in the core's L2 cache.
_UPDATE_BLOCK = 2048

# solver of finish_update that finishes the gradient and updates nothing.
NO_UPDATE = -1


@njit(**JIT_FAST)
def _finish_range(grads, gpart, n_parts, params, a_, s_, weights, lo, hi):
    """grads[q] = (grads[q] + gpart[0, q] + ... + gpart[n_parts - 1, q]
    + a_ params[q]) / s_ for q in [lo, hi), the parts added in order, the L2
    term a_ params[q] only where ``weights``."""
    n = hi - lo
    g = grads[lo:hi]
    for c in range(n_parts):
        gp = gpart[c, lo:hi]
        for q in range(n):
            g[q] += gp[q]
    if weights:
        w = params[lo:hi]
        for q in range(n):
            g[q] = (g[q] + a_ * w[q]) / s_
    else:
        for q in range(n):
            g[q] = g[q] / s_


@njit(**JIT)
def _finish_adam_range(
    grads, gpart, n_parts, params, m, v, a_, s_, step, hyper, lo, hi
):
    """_finish_range's sum (n_parts >= 1), then adam_update's step, for each
    parameter of [lo, hi) in one loop: each parameter's arrays read once.
    Without fastmath, as adam_update: no product is contracted into an FMA, so
    the step rounds as scikit-learn's does (_finish_range, with fastmath, may
    round its L2 term differently by an ulp).

    The finished gradient is not stored back into grads: this block's grads
    were written by the core that ran chunk 0 and will be written by it again
    in the next batch, and a store here would pull each line over to this
    core and back (measured on a digits batch: the pass 18-22 -> 11-12 us)."""
    b1, c1, b2, c2, nlr, e = adam_constants(
        params, step, hyper[HYPER_BETA1], hyper[HYPER_BETA2], hyper[HYPER_EPSILON]
    )
    n = hi - lo
    g = grads[lo:hi]
    w = params[lo:hi]
    ms = m[lo:hi]
    vs = v[lo:hi]
    for c in range(n_parts - 1):
        gp = gpart[c, lo:hi]
        for q in range(n):
            g[q] += gp[q]
    gp = gpart[n_parts - 1, lo:hi]
    for q in range(n):
        gq = ((g[q] + gp[q]) + a_ * w[q]) / s_
        adam_step(w, ms, vs, q, gq, b1, c1, b2, c2, nlr, e)


@njit(**JIT)
def _finish_update_block(
    blk, grads, gpart, n_parts, params, units, alpha, sw_sum, opt_a, opt_b,
    solver, step, hyper,
):  # fmt: skip
    """Block blk of finish_update: the finished gradient of its parameters,
    then (solver not NO_UPDATE) the optimizer's update of them; Adam's in the
    same pass where the batch was split (n_parts >= 1)."""
    lo = blk * _UPDATE_BLOCK
    hi = min(lo + _UPDATE_BLOCK, params.shape[0])
    a_ = params.dtype.type(alpha)
    s_ = params.dtype.type(sw_sum)
    zero = params.dtype.type(0.0)
    fused = solver == SOLVER_ADAM and n_parts >= 1
    p_off = np.int64(0)
    for l in range(units.shape[0] - 1):
        nw = units[l] * units[l + 1]
        end = p_off + nw + units[l + 1]
        # The block's share of the layer's weights, then of its biases (no L2).
        for seg in range(2):
            a = max(lo, p_off if seg == 0 else p_off + nw)
            b = min(hi, p_off + nw if seg == 0 else end)
            if a >= b:
                continue
            if fused:
                _finish_adam_range(
                    grads, gpart, n_parts, params, opt_a, opt_b,
                    a_ if seg == 0 else zero, s_, step, hyper, a, b,
                )  # fmt: skip
            else:
                _finish_range(grads, gpart, n_parts, params, a_, s_, seg == 0, a, b)
        p_off = end
    if solver == SOLVER_SGD:
        sgd_update(
            params[lo:hi], opt_a[lo:hi], grads[lo:hi], step,
            hyper[HYPER_MOMENTUM], hyper[HYPER_NESTEROV] != 0.0, hi - lo,
        )  # fmt: skip
    elif solver != NO_UPDATE and not fused:
        adam_update(
            params[lo:hi], opt_a[lo:hi], opt_b[lo:hi], grads[lo:hi], step,
            hyper[HYPER_BETA1], hyper[HYPER_BETA2], hyper[HYPER_EPSILON], hi - lo,
        )  # fmt: skip


@njit(**JIT_PARALLEL)
def _finish_update_threaded(
    grads, gpart, n_parts, params, units, alpha, sw_sum, opt_a, opt_b, solver,
    step, hyper,
):  # fmt: skip
    """finish_update's blocks side by side (prange)."""
    n_blocks = (params.shape[0] + _UPDATE_BLOCK - 1) // _UPDATE_BLOCK
    for blk in prange(n_blocks):
        _finish_update_block(
            blk, grads, gpart, n_parts, params, units, alpha, sw_sum, opt_a,
            opt_b, solver, step, hyper,
        )  # fmt: skip


@njit(**JIT)
def _finish_update_serial(
    grads, gpart, n_parts, params, units, alpha, sw_sum, opt_a, opt_b, solver,
    step, hyper,
):  # fmt: skip
    """_finish_update_threaded one block after the other, to the same bits."""
    n_blocks = (params.shape[0] + _UPDATE_BLOCK - 1) // _UPDATE_BLOCK
    for blk in range(n_blocks):
        _finish_update_block(
            blk, grads, gpart, n_parts, params, units, alpha, sw_sum, opt_a,
            opt_b, solver, step, hyper,
        )  # fmt: skip


@njit(**JIT)
def finish_update(
    grads, gpart, n_parts, params, units, alpha, sw_sum, opt_a, opt_b, solver,
    step, hyper, threaded,
):  # fmt: skip
    """One pass over the parameters, block by block, that turns the raw
    gradient sums of a split batch into the gradient and applies the update.

    grads = (grads + gpart[0] + ... + gpart[n_parts - 1] + alpha W) / sw_sum
    (the L2 term on the weights only, the parts added in order), then, as
    fit_epochs would after forward_backward: solver SOLVER_SGD:
    sgd_update(params, opt_a, grads, step, momentum, nesterov); SOLVER_ADAM:
    adam_update(params, opt_a, opt_b, grads, step, beta1, beta2, epsilon), step
    being Adam's bias-corrected rate and the others hyper's (layout.HYPER_*); NO_UPDATE: nothing (opt_a,
    opt_b, step and hyper unread). ``threaded`` runs the blocks side by side
    (prange), to the same bits: every parameter's arithmetic is its own.

    Adam over a split batch (n_parts >= 1) takes each finished gradient
    straight into its step without storing it: grads is then scratch, its
    values afterwards unspecified (fit_epochs reads no gradient after the
    update). NO_UPDATE and SGD leave the finished gradient in grads.
    """
    if threaded is not None and threaded:  # None: pruned, as in _split_loss_sum
        _finish_update_threaded(
            grads, gpart, n_parts, params, units, alpha, sw_sum, opt_a, opt_b,
            solver, step, hyper,
        )  # fmt: skip
    else:
        _finish_update_serial(
            grads, gpart, n_parts, params, units, alpha, sw_sum, opt_a, opt_b,
            solver, step, hyper,
        )  # fmt: skip


_chunk_capacity = njit(**JIT_INLINE)(chunk_capacity)
_workspace_size = njit(**JIT_INLINE)(workspace_size)


@njit(**JIT_INLINE)
def _chunk_workspace(units, batch_size, n_chunks):
    cap = _chunk_capacity(batch_size, n_chunks)
    return _workspace_size(units, cap), cap


@njit(**JIT)
def _split_loss_sum(
    grads, gpart, losses, work, chunk_ws, chunk_cap, params, X, Xp, Xi, Xd, Y,
    sw, idx, start, B, units, act, out_act, blas_min, threaded,
):  # fmt: skip
    """The chunks of a split batch (see forward_backward_split), raw: each
    chunk's sums into grads or gpart, for finish_update, each chunk in its
    chunk_ws-long part of work, with room for chunk_cap rows (chunk_workspace).
    Returns (the data loss summed over the batch, the number of chunks)."""
    n_chunks = _n_chunks(B, gpart.shape[0] + 1)
    # Chunk 0 has the fewest rows (B // n_chunks), the last chunk the most.
    lo_last, _ = _chunk_rows(n_chunks - 1, n_chunks, B)
    # threaded None (the precompiled kernels, which run no thread pool): the
    # test is pruned with the threaded code it guards.
    if (
        threaded is not None
        and threaded
        and side_by_side_ok(params, B // n_chunks, B - lo_last)
    ):
        _chunks_threaded(
            losses, n_chunks, grads, gpart, work, chunk_ws, params, X, Xp, Xi, Xd,
            Y, sw, idx, start, B, chunk_cap, units, act, out_act, blas_min,
        )  # fmt: skip
    else:
        _chunks_serial(
            losses, n_chunks, grads, gpart, work, chunk_ws, params, X, Xp, Xi, Xd,
            Y, sw, idx, start, B, chunk_cap, units, act, out_act, blas_min,
        )  # fmt: skip
    loss_sum = 0.0
    for c in range(n_chunks):
        loss_sum += losses[c]
    return loss_sum, n_chunks


@njit(**JIT)
def forward_backward_split(
    grads, gpart, losses, work, params, X, Xp, Xi, Xd, Y, sw, idx, start, B,
    batch_size, units, act, out_act, alpha, blas_min, threaded,
):  # fmt: skip
    """forward_backward with the batch split into chunks of rows, each with its
    own part of ``work`` and its own gradient buffer (chunk 0: grads, chunk c:
    gpart[c - 1]), the gradients then summed into grads.

    gpart (n_chunks - 1, n_params); losses (n_chunks,) scratch; work holds
    n_chunks parts of chunk_workspace(units, batch_size, n_chunks)[0]. A batch
    of B rows is cut into min(n_chunks, B // CHUNK_MIN_ROWS) chunks (at least
    one) of consecutive rows, the same cut whether or not ``threaded``:
    threaded runs the chunks side by side with prange (each chunk's GEMMs must
    then be single-threaded BLAS calls; float32 chunks of unequal rows still
    run one after the other), and the pass that sums them over blocks of
    parameters too; otherwise one after the other, to the same bits.
    """
    sw_sum = _weight_sum(sw, idx, start, B)
    l2 = _l2_sum(params, units)
    chunk_ws, chunk_cap = _chunk_workspace(units, batch_size, gpart.shape[0] + 1)
    loss_sum, n_chunks = _split_loss_sum(
        grads, gpart, losses, work, chunk_ws, chunk_cap, params, X, Xp, Xi, Xd, Y,
        sw, idx, start, B, units, act, out_act, blas_min, threaded,
    )  # fmt: skip
    finish_update(
        grads, gpart, n_chunks - 1, params, units, alpha, sw_sum, params, params,
        NO_UPDATE, 0.0, np.empty(0), threaded,
    )  # fmt: skip
    return loss_sum / sw_sum + (0.5 * alpha) * l2 / sw_sum


# scikit-learn's per-epoch rule, compiled from layout's plain Python (which the
# estimators run between the epochs they drive).
_no_improvement = njit(**JIT)(layout.no_improvement)
_invscaling_learning_rate = njit(**JIT)(layout.invscaling_learning_rate)
_adaptive_learning_rate = njit(**JIT)(layout.adaptive_learning_rate)


@njit(**JIT)
def fit_epochs(
    params,
    grads,
    opt_a,
    opt_b,
    work,
    X,
    Xp,
    Xi,
    Xd,
    Y,
    sw,
    idx,
    units,
    act,
    out_act,
    batch_size,
    solver,
    hyper,
    ctrl_f,
    ctrl_i,
    mt_key,
    mt_pos,
    loss_curve,
    n_epochs,
    blas_min,
    gpart,
    threaded,
):
    """Up to n_epochs epochs of mini-batch training, with scikit-learn's
    per-epoch control done here: the one training kernel the estimators call.

    Input: X a dense matrix and Xp, Xi, Xd None, or X None and (Xp, Xi, Xd) a
    CSR matrix (indptr, indices, data); each flavour compiles without the
    other's code. The rows trained on are idx, in place: shuffled at the start
    of each epoch with the Mersenne Twister state (mt_key, mt_pos) when
    ctrl_i[CTRL_I_SHUFFLE] != 0, then cut into batches of batch_size; a batch
    whose sample weights are all zero is skipped. sw None: every weight 1, none read;
    blas_min None: no BLAS layer, none of the BLAS code compiled. gpart None:
    each batch in one piece (forward_backward); else each batch split into
    gpart.shape[0] + 1 chunks of rows (as forward_backward_split, which takes
    ``threaded`` and the work buffer laid out for it), the chunks' gradients
    summed and the update applied in one pass (finish_update).

    opt_a, opt_b: the optimizer's state (SGD: velocity, unused; Adam: m, v).
    hyper (float64), ctrl_f (float64) and ctrl_i (int64): the packed controls,
    slot by slot as layout's HYPER_*, CTRL_F_* and CTRL_I_* name them; ctrl_f
    and ctrl_i are updated in place.

    Each epoch records its mean loss in loss_curve, then applies scikit-learn's
    per-epoch rule in its order (layout's no_improvement, then
    invscaling_learning_rate, then adaptive_learning_rate or a stop). Returns
    (epochs run, RAN_ALL | STOPPED | DIVERGED, the last epoch's sum over
    batches of batch_loss * batch_size). On DIVERGED (a non-finite batch loss),
    ctrl_i[CTRL_I_STEP] holds -1 - (batches done in that epoch) and the epoch's
    loss is not recorded.
    """
    n = idx.shape[0]
    n_params = params.shape[0]
    is_sgd = solver == SOLVER_SGD
    momentum = hyper[HYPER_MOMENTUM]
    nesterov = hyper[HYPER_NESTEROV] != 0.0
    beta1 = hyper[HYPER_BETA1]
    beta2 = hyper[HYPER_BETA2]
    eps = hyper[HYPER_EPSILON]
    alpha = hyper[HYPER_ALPHA]
    schedule = ctrl_i[CTRL_I_SCHEDULE]
    n_chunks = 1
    chunk_ws = chunk_cap = 0
    if gpart is not None:
        n_chunks = gpart.shape[0] + 1
        chunk_ws, chunk_cap = _chunk_workspace(units, batch_size, n_chunks)
    losses = np.empty(n_chunks)  # each chunk's loss (forward_backward_split)
    acc = 0.0
    for e in range(n_epochs):
        if ctrl_i[CTRL_I_SHUFFLE] != 0:
            mt_shuffle(idx, mt_key, mt_pos)
        lr = ctrl_f[CTRL_F_LR] if is_sgd else hyper[HYPER_LR]
        t = ctrl_i[CTRL_I_STEP]
        acc = 0.0
        n_batches = 0
        for start in range(0, n, batch_size):
            B = min(batch_size, n - start)
            # forward_backward's three steps, written out: one call level less
            # for Numba to optimize (about 2 s of a first fit's compilation).
            sw_sum = _weight_sum(sw, idx, start, B)
            if sw is not None and sw_sum == 0.0:
                continue  # a batch of zero-weight samples carries no gradient
            l2 = _l2_sum(params, units)
            if gpart is None:
                loss_sum = batch_gradient(
                    grads,
                    work,
                    params,
                    X,
                    Xp,
                    Xi,
                    Xd,
                    Y,
                    sw,
                    idx,
                    start,
                    B,
                    batch_size,
                    units,
                    act,
                    out_act,
                    alpha,
                    sw_sum,
                    blas_min,
                )
            else:
                # The chunks' raw sums; finish_update below sums them and
                # applies the update in one pass, block by block.
                loss_sum, n_chunks = _split_loss_sum(
                    grads, gpart, losses, work, chunk_ws, chunk_cap, params, X, Xp,
                    Xi, Xd, Y, sw, idx, start, B, units, act, out_act, blas_min,
                    threaded,
                )  # fmt: skip
            loss = loss_sum / sw_sum + (0.5 * alpha) * l2 / sw_sum
            if not np.isfinite(loss):
                ctrl_i[CTRL_I_STEP] = -1 - n_batches
                return e, DIVERGED, acc + loss * B
            acc += loss * B
            n_batches += 1
            if is_sgd:
                step = lr
            else:
                t += 1
                step = adam_learning_rate(lr, beta1, beta2, t)
            if gpart is None:
                if is_sgd:
                    sgd_update(params, opt_a, grads, step, momentum, nesterov, n_params)
                else:
                    adam_update(
                        params, opt_a, opt_b, grads, step, beta1, beta2, eps, n_params
                    )
            else:
                finish_update(
                    grads, gpart, n_chunks - 1, params, units, alpha, sw_sum, opt_a,
                    opt_b, solver, step, hyper, threaded,
                )  # fmt: skip
        ctrl_i[CTRL_I_STEP] = t
        loss = acc / n
        loss_curve[e] = loss
        ctrl_i[CTRL_I_SEEN] += n
        # scikit-learn's _update_no_improvement_count (training loss)
        count, best = _no_improvement(
            loss,
            ctrl_f[CTRL_F_BEST_LOSS],
            ctrl_f[CTRL_F_TOL],
            ctrl_i[CTRL_I_NO_IMPROVEMENT],
        )
        ctrl_i[CTRL_I_NO_IMPROVEMENT] = count
        ctrl_f[CTRL_F_BEST_LOSS] = best
        # iteration_ends
        if is_sgd and schedule == SCHEDULE_INVSCALING:
            ctrl_f[CTRL_F_LR] = _invscaling_learning_rate(
                ctrl_f[CTRL_F_LR_INIT], ctrl_i[CTRL_I_SEEN], ctrl_f[CTRL_F_POWER_T]
            )
        # trigger_stopping; a stop leaves the learning rate as it was
        if ctrl_i[CTRL_I_NO_IMPROVEMENT] > ctrl_f[CTRL_F_N_ITER_NO_CHANGE]:
            reduced = 0.0
            if is_sgd and schedule == SCHEDULE_ADAPTIVE:
                reduced = _adaptive_learning_rate(ctrl_f[CTRL_F_LR])
            if reduced == 0.0:
                return e + 1, STOPPED, acc
            ctrl_f[CTRL_F_LR] = reduced
            ctrl_i[CTRL_I_NO_IMPROVEMENT] = 0
    return n_epochs, RAN_ALL, acc


@njit(**JIT)
def train_epoch(
    params,
    grads,
    opt_a,
    opt_b,
    work,
    X,
    Y,
    sw,
    idx,
    units,
    act,
    out_act,
    batch_size,
    solver,
    hyper,
    t,
    blas_min,
    gpart=None,
    threaded=False,
):
    """One epoch of fit_epochs over the rows idx (already shuffled) of a dense
    X, without shuffle or stopping rule: the one-epoch view the kernel tests
    compare with the reference.

    opt_a, opt_b: the optimizer's state (SGD: velocity, unused; Adam: m, v).
    hyper (float64): [learning_rate, momentum, nesterov, beta_1, beta_2,
    epsilon, alpha]. t: Adam's step count before this epoch.

    A batch whose sample weights are all zero is skipped. Returns (sum over
    batches of batch_loss * batch_size, t after the epoch), or stops early,
    returning t = -1 - (batches done), when a loss turns non-finite.
    """
    ctrl_f = np.array([hyper[0], hyper[0], 0.0, 0.0, np.inf, np.inf])
    ctrl_i = np.array([t, 0, 0, SCHEDULE_CONSTANT, 0], dtype=np.int64)
    no_key = np.empty(0, dtype=np.uint32)
    no_pos = np.zeros(1, dtype=np.int64)
    loss_curve = np.empty(1)
    _, _, acc = fit_epochs(
        params,
        grads,
        opt_a,
        opt_b,
        work,
        X,
        None,
        None,
        None,
        Y,
        sw,
        idx,
        units,
        act,
        out_act,
        batch_size,
        solver,
        hyper,
        ctrl_f,
        ctrl_i,
        no_key,
        no_pos,
        loss_curve,
        1,
        blas_min,
        gpart,
        threaded,
    )
    return acc, ctrl_i[0]
