"""Where BLAS starts to beat the hand-written dense kernels.

For square-ish layers fan_in x fan_out at batch 200, times one layer's forward
(matmul + bias + relu) and backward (dW, db, dX) with the hand-written loops and
with np.dot (BLAS) inside the kernels, per dtype, and prints the ratio. The
smallest weight count from which BLAS wins on every larger shape is the
crossover; the default of fastmlp.kernels.config.BLAS_MIN_WEIGHTS is set from
it.

    python benchmarks/crossover.py
"""

import time

import numpy as np

from fastmlp import kernels as K

SHAPES = [
    (4, 5),
    (16, 16),
    (32, 32),
    (64, 32),
    (48, 64),
    (64, 64),
    (64, 100),
    (100, 100),
    (128, 128),
    (100, 256),
    (256, 128),
]
B = 200


def _time(f, min_time=0.2):
    f()
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            f()
        dt = time.perf_counter() - t0
        if dt > min_time:
            return dt / n
        n *= 2


def measure(fi, fo, dt, rng):
    """Seconds for one layer's forward + backward: (hand-written, BLAS)."""
    inp = rng.standard_normal((fi, B)).astype(dt)
    W = rng.standard_normal((fi, fo)).astype(dt)
    b = rng.standard_normal(fo).astype(dt)
    out = np.empty((fo, B), dt)
    dout = rng.standard_normal((fo, B)).astype(dt)
    dW = np.empty((fi, fo), dt)
    db = np.empty(fo, dt)
    dinp = np.empty((fi, B), dt)

    def loops():
        K.dense_forward(out, inp, W, b, 1, fi, fo, B)
        K.dense_backward(dW, db, dinp, dout, inp, W, 1e-4, 200.0, 1, fi, fo, B, True)

    def blas():
        K.dense_forward_blas(out, inp, W, b, 1, fi, fo, B)
        K.dense_backward_blas(
            dW, db, dinp, dout, inp, W, 1e-4, 200.0, 1, fi, fo, B, True
        )

    return _time(loops), _time(blas)


def main():
    rng = np.random.default_rng(0)
    print("%-10s %-8s %12s %12s %8s" % ("shape", "dtype", "loops", "BLAS", "BLAS x"))
    for dt in (np.float32, np.float64):
        for fi, fo in SHAPES:
            t_l, t_b = measure(fi, fo, dt, rng)
            print(
                "%-10s %-8s %10.1f us %10.1f us %7.2fx"
                % (
                    "%dx%d" % (fi, fo),
                    np.dtype(dt).name,
                    t_l * 1e6,
                    t_b * 1e6,
                    t_l / t_b,
                )
            )


if __name__ == "__main__":
    main()
