"""fastmlp.kernels.vmath: exp and log against NumPy, in ulps, and their edges.

The error of a result is measured in ulps of the exact value: float32 results
against float64 NumPy (whose own error is some 2^-29 float32 ulps), float64
results against long double NumPy where long double has a 64-bit mantissa
(x86), and everywhere against float64 NumPy as a distance in representable
numbers. The bounds asserted are the ones measured (vmath's docstring): float32
exhaustively over every input, float64 on some 10^7 points.
"""

import os
import subprocess
import sys

import numpy as np
import pytest
from fastmlp.kernels import config, vmath
from fastmlp.kernels.vmath import (
    exp,
    f32_as_i32,
    f64_as_i64,
    i32_as_f32,
    i64_as_f64,
    log,
)
from numba import njit, types

# Largest error in ulps of the exact value, for normal and subnormal results.
BOUND = {
    ("exp", np.float64): 0.75,
    ("exp", np.float32): 0.65,
    ("log", np.float64): 0.9,
    ("log", np.float32): 0.85,
}
SUBNORMAL_BOUND = 0.8  # exp: a subnormal result is rounded twice

# The kernels' fastmath flags (config.JIT_FAST); Numba takes a set.
FASTMATH = set(config.FASTMATH)

EXTENDED = np.finfo(np.longdouble).nmant >= 63


@njit(nogil=True, error_model="numpy")
def v_exp(x, out):
    for i in range(x.shape[0]):
        out[i] = exp(x[i])


@njit(nogil=True, error_model="numpy")
def v_log(x, out):
    for i in range(x.shape[0]):
        out[i] = log(x[i])


# The same loops compiled as the kernels are: exp and log carry their own
# (strict) flags, which a fastmath caller must not override.
@njit(nogil=True, error_model="numpy", fastmath=FASTMATH)
def v_exp_fast(x, out):
    for i in range(x.shape[0]):
        out[i] = exp(x[i])


@njit(nogil=True, error_model="numpy", fastmath=FASTMATH)
def v_log_fast(x, out):
    for i in range(x.shape[0]):
        out[i] = log(x[i])


FUNCS = {"exp": (v_exp, v_exp_fast, np.exp), "log": (v_log, v_log_fast, np.log)}


def run(name, x, fast=False):
    out = np.full_like(x, 42.0)
    FUNCS[name][1 if fast else 0](x, out)
    return out


def ulps_of(exact, dtype):
    """The ulp of dtype at each (wider) exact value; fixed below the normals."""
    fi = np.finfo(dtype)
    _, e = np.frexp(np.abs(exact))
    e = np.maximum(e, fi.minexp + 1)
    return np.ldexp(np.ones_like(exact), (e - fi.nmant - 1).astype(np.int32))


def check_ulps(name, x, got):
    """got = name(x) within the bounds, in ulps of the exact value."""
    dtype = x.dtype.type
    wide = np.float64 if dtype == np.float32 else np.longdouble
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        exact = FUNCS[name][2](x.astype(wide))
    big = np.abs(exact) > np.finfo(dtype).max
    assert np.all(np.isposinf(got[big])), "overflow must give inf"
    m = ~big & (exact != 0)
    err = np.abs(got[m].astype(wide) - exact[m]) / ulps_of(exact[m], dtype)
    sub = np.abs(exact[m]) < np.finfo(dtype).tiny
    if sub.any():
        assert err[sub].max() <= SUBNORMAL_BOUND, err[sub].max()
    if (~sub).any():
        worst = np.argmax(np.where(sub, 0.0, err))
        assert err[worst] <= BOUND[name, dtype], (x[m][worst], err[worst])
    return err


def ulp_distance(a, b):
    """How many representable numbers apart a and b are (same sign)."""
    it = np.int64 if a.dtype == np.float64 else np.int32
    return np.abs(a.view(it).astype(np.int64) - b.view(it).astype(np.int64))


def exp_inputs(dtype, rng):
    fi = np.finfo(dtype)
    lo = float(np.log(np.float64(fi.smallest_subnormal))) - 1.0
    hi = float(np.log(np.float64(fi.max))) + 1.0
    x = np.concatenate(
        [
            np.linspace(lo, hi, 1_000_001),
            rng.uniform(lo, hi, 500_000),
            rng.uniform(-1.0, 1.0, 200_000),
            rng.standard_normal(200_000) * 10,
            rng.uniform(-1e-6, 1e-6, 10_000),
            # around the overflow threshold and through the subnormal results
            rng.uniform(hi - 1.5, hi, 20_000),
            rng.uniform(lo, float(np.log(np.float64(fi.tiny))) + 1, 50_000),
            # around multiples of ln 2 / 2, where the reduction changes k
            np.arange(-2000, 2000) * (np.log(2) / 2),
        ]
    )
    return x.astype(dtype)


def log_inputs(dtype, rng):
    fi = np.finfo(dtype)
    lo = np.log(np.float64(fi.smallest_subnormal))
    hi = np.log(np.float64(fi.max))
    x = np.concatenate(
        [
            np.exp(np.linspace(lo, hi, 1_000_001)),
            np.exp(rng.uniform(lo, hi, 500_000)),
            rng.uniform(0.5, 2.0, 500_000),
            rng.uniform(1 - 1e-3, 1 + 1e-3, 100_000),
            np.linspace(0.0, 1.0, 100_001)[1:],
            rng.uniform(0, 1, 100_000) * float(fi.max),
            rng.uniform(0, 1, 100_000) * float(fi.tiny),  # subnormal inputs
            2.0 ** np.arange(fi.minexp - fi.nmant, fi.maxexp),
        ]
    ).astype(dtype)
    return x[x > 0]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", ["exp", "log"])
def test_within_bound_of_exact(rng, name, dtype):
    x = (exp_inputs if name == "exp" else log_inputs)(dtype, rng)
    got = run(name, x)
    assert got.dtype == dtype
    if dtype == np.float32 or EXTENDED:
        check_ulps(name, x, got)
    # And within 1 ulp of NumPy's float64 (any two results within 1 ulp of
    # the exact value are at most 1 apart).
    if dtype == np.float64:
        with np.errstate(over="ignore"):
            want = FUNCS[name][2](x)
        assert ulp_distance(got, want).max() <= 1


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", ["exp", "log"])
def test_fastmath_caller_gets_the_same_bits(rng, name, dtype):
    x = (exp_inputs if name == "exp" else log_inputs)(dtype, rng)[::7]
    np.testing.assert_array_equal(run(name, x, fast=True), run(name, x))


def test_strict_flags_are_explicit():
    # A callee that does not set fastmath inherits its first caller's, and the
    # kernels are compiled with reassoc: that would fold (x * log2e + SHIFT) -
    # SHIFT into x * log2e and break the reduction.
    for f in (vmath.exp64, vmath.exp32, vmath.log64, vmath.log32):
        assert "fastmath" in f.targetoptions, f
        flags = f.targetoptions["fastmath"]
        assert flags is not True and "reassoc" not in flags, f


FIRST_CALLER_FASTMATH = """
import numpy as np
from numba import njit
from fastmlp.kernels.config import FASTMATH
from fastmlp.kernels.vmath import exp, log

@njit(fastmath=set(FASTMATH))
def f(x, out):
    for i in range(x.shape[0]):
        out[i] = exp(x[i]) * log(x[i])

x = np.linspace(0.5, 600.0, 10001)
out = np.empty_like(x)
f(x, out)
np.testing.assert_allclose(out, np.exp(x) * np.log(x), rtol=1e-15)
"""


def test_fastmath_first_caller_in_a_fresh_process(tmp_path):
    # Nothing compiled nor cached yet: the fastmath loop compiles exp and log.
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    subprocess.run([sys.executable, "-c", FIRST_CALLER_FASTMATH], env=env, check=True)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_exp_edges(dtype):
    fi = np.finfo(dtype)
    t_over = np.log(np.float64(fi.max))  # exp overflows just above
    x = np.array(
        [
            0.0,
            -0.0,
            np.inf,
            -np.inf,
            np.nan,
            -np.nan,
            1e30,
            -1e30,
            fi.max,
            -fi.max,
            fi.tiny,
            fi.smallest_subnormal,
            -fi.smallest_subnormal,
            fi.eps,
            -fi.eps / 2,
            np.nextafter(dtype(t_over), dtype(0)),
            np.nextafter(dtype(t_over), dtype(np.inf)),
            np.log(np.float64(fi.tiny)),  # the smallest normal result
            np.log(np.float64(fi.smallest_subnormal)),  # the smallest subnormal
            np.log(np.float64(fi.smallest_subnormal)) - 1,  # 0
        ],
        dtype=dtype,
    )
    got = run("exp", x)
    with np.errstate(over="ignore"):
        want = np.exp(x.astype(np.float64)).astype(dtype)
    assert got[0] == 1 and got[1] == 1
    assert got[2] == np.inf and got[3] == 0
    assert np.isnan(got[4]) and np.isnan(got[5])
    assert got[6] == np.inf and got[7] == 0 and got[8] == np.inf and got[9] == 0
    np.testing.assert_array_equal(np.isinf(got), np.isinf(want))
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(got == 0, want == 0)
    fin = np.isfinite(want)
    assert ulp_distance(got[fin], want[fin]).max() <= 1
    assert got[-2] > 0  # the smallest subnormal result is kept, not flushed


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_log_edges(dtype):
    fi = np.finfo(dtype)
    x = np.array(
        [
            1.0,
            0.0,
            -0.0,
            -1.0,
            -fi.smallest_subnormal,
            -np.inf,
            np.inf,
            np.nan,
            -np.nan,
            fi.max,
            fi.tiny,
            fi.smallest_subnormal,
            fi.tiny / 3,
            np.nextafter(dtype(1), dtype(0)),
            np.nextafter(dtype(1), dtype(2)),
            2.0,
            0.5,
            np.e,
        ],
        dtype=dtype,
    )
    got = run("log", x)
    assert got[0] == 0
    assert got[1] == -np.inf and got[2] == -np.inf
    assert np.isnan(got[3:6]).all()
    assert got[6] == np.inf
    assert np.isnan(got[7]) and np.isnan(got[8])
    want = np.log(x[9:].astype(np.float64)).astype(dtype)
    assert ulp_distance(got[9:], want).max() <= 1


@pytest.mark.parametrize("name", ["exp", "log"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_nan_propagates_through_a_loop(rng, name, dtype):
    # NaN in, NaN out, wherever it sits in a vectorized run; the rest unchanged.
    x = rng.uniform(0.1, 5.0, 1000).astype(dtype)
    x[rng.choice(1000, 50, replace=False)] = np.nan
    got = run(name, x)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(x))


def test_dtype_dispatch():
    @njit
    def f(x):
        return exp(x), log(x)

    f(np.float32(2.0))
    f(2.0)
    returns = {sig.args[0]: sig.return_type for sig in f.nopython_signatures}
    assert returns[types.float32] == types.UniTuple(types.float32, 2)
    assert returns[types.float64] == types.UniTuple(types.float64, 2)


@njit
def _casts64(x, bits):
    a = np.empty(x.shape[0], dtype=np.int64)
    b = np.empty(bits.shape[0], dtype=np.float64)
    for i in range(x.shape[0]):
        a[i] = f64_as_i64(x[i])
    for i in range(bits.shape[0]):
        b[i] = i64_as_f64(bits[i])
    return a, b


@njit
def _casts32(x, bits):
    a = np.empty(x.shape[0], dtype=np.int32)
    b = np.empty(bits.shape[0], dtype=np.float32)
    for i in range(x.shape[0]):
        a[i] = f32_as_i32(x[i])
    for i in range(bits.shape[0]):
        b[i] = i32_as_f32(bits[i])
    return a, b


@pytest.mark.parametrize(
    "dtype, itype, casts",
    [(np.float64, np.int64, _casts64), (np.float32, np.int32, _casts32)],
)
def test_bit_casts(rng, dtype, itype, casts):
    special = [0.0, -0.0, np.inf, -np.inf, np.nan, np.finfo(dtype).smallest_subnormal]
    x = np.concatenate([special, rng.standard_normal(100) * 1e3]).astype(dtype)
    bits = np.concatenate(
        [x.view(itype), rng.integers(np.iinfo(itype).min, np.iinfo(itype).max, 100)]
    ).astype(itype)
    a, b = casts(x, bits)
    np.testing.assert_array_equal(a, x.view(itype))
    np.testing.assert_array_equal(b.view(itype), bits)  # NaN payloads included
