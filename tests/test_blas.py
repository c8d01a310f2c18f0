"""kernels.blas.gemm against NumPy's matmul, and its fallback.

gemm calls NumPy's own BLAS through an external symbol; where that library is
not found, the symbol is bound to a compiled np.dot fallback. Both bindings are
checked: the fallback in a fresh process with FASTMLP_NUMPY_BLAS=0.
"""

import os
import subprocess
import sys
import textwrap
import warnings

import naive
import numpy as np
import pytest
from fastmlp.kernels import blas
from numba import njit

from fastmlp import MLPClassifier

SHAPES = [(1, 1, 1), (1, 7, 3), (5, 1, 4), (3, 6, 1), (17, 9, 33), (64, 200, 100)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("beta", [0.0, 1.0, -0.5])
def test_gemm_matches_matmul(dtype, trans_a, trans_b, shape, beta):
    M, N, K = shape
    rng = np.random.default_rng(M * 1000 + N * 10 + K)
    A = rng.standard_normal((K, M) if trans_a else (M, K)).astype(dtype)
    B = rng.standard_normal((N, K) if trans_b else (K, N)).astype(dtype)
    C = rng.standard_normal((M, N)).astype(dtype)
    expected = naive.gemm(A, trans_a, B, trans_b, beta, C)
    blas.gemm(C, A, trans_a, B, trans_b, beta)
    assert C.dtype == dtype
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(C, expected, rtol=tol, atol=tol * max(K, 1))


def test_gemm_beta_zero_ignores_nan_in_output():
    # beta = 0 means C is not read (as BLAS defines it): stale NaN in a
    # workspace must not leak into the product.
    A = np.ones((2, 3))
    B = np.ones((3, 4))
    C = np.full((2, 4), np.nan)
    blas.gemm(C, A, False, B, False, 0.0)
    np.testing.assert_array_equal(C, np.full((2, 4), 3.0))


def test_gemm_on_views_of_a_flat_buffer():
    # The kernels pass reshaped slices of one work buffer, as here.
    rng = np.random.default_rng(1)
    work = rng.standard_normal(200)

    @njit
    def run(work):
        A = work[0:12].reshape((3, 4))
        B = work[12:32].reshape((4, 5))
        C = work[100:115].reshape((3, 5))
        blas.gemm(C, A, False, B, False, 0.0)

    A = work[0:12].reshape((3, 4)).copy()
    B = work[12:32].reshape((4, 5)).copy()
    run(work)
    np.testing.assert_allclose(work[100:115].reshape((3, 5)), A @ B, rtol=1e-12)


def test_bound_to_numpys_blas_where_bundled():
    from fastmlp.kernels import openblas

    found = openblas.find_numpy_openblas()
    assert blas.LIBRARY == (None if found is None else found[0])


def test_fallback_binding_gives_the_same_products(tmp_path):
    code = textwrap.dedent(
        """
        import numpy as np
        from fastmlp.kernels import blas
        assert blas.LIBRARY is None, blas.LIBRARY
        assert blas.blas_threads() is None
        try:
            blas.set_blas_threads(1)
        except RuntimeError as e:
            assert "not bound to NumPy's OpenBLAS" in str(e), e
        else:
            raise AssertionError("set_blas_threads on the fallback binding")
        rng = np.random.default_rng(0)
        for dtype in (np.float32, np.float64):
            for ta in (False, True):
                for tb in (False, True):
                    A = rng.standard_normal((6, 4) if ta else (4, 6)).astype(dtype)
                    B = rng.standard_normal((5, 6) if tb else (6, 5)).astype(dtype)
                    C = rng.standard_normal((4, 5)).astype(dtype)
                    want = (A.T if ta else A) @ (B.T if tb else B) + 0.5 * C
                    blas.gemm(C, A, ta, B, tb, 0.5)
                    np.testing.assert_allclose(C, want, rtol=1e-5)
        # A fit whose layers go through BLAS, against the same fit bound to
        # NumPy's BLAS (the parent process): the same model to rounding.
        from fastmlp import MLPClassifier
        X = np.random.default_rng(1).standard_normal((120, 12))
        y = (X[:, 0] + X[:, 1] > 0).astype(int)
        m = MLPClassifier((16, 8), max_iter=5, random_state=0).fit(X, y)
        np.save(sys.argv[1], m._params)
        print("ok")
        """
    )
    env = dict(os.environ, FASTMLP_NUMPY_BLAS="0")
    path = tmp_path / "params.npy"
    out = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", "import sys\n" + code, str(path)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
    X = np.random.default_rng(1).standard_normal((120, 12))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        here = MLPClassifier((16, 8), max_iter=5, random_state=0).fit(X, y)
    fitted = np.load(path)
    np.testing.assert_allclose(fitted, here._params, rtol=1e-10, atol=1e-12)
    assert np.isfinite(fitted).all()


def test_side_by_side_ok_keeps_float32_gemms_to_equal_rows():
    # float64 GEMMs may always run side by side; float32 ones only over equal
    # row counts (see the note in blas.py).
    ok = blas.side_by_side_ok.py_func
    for rows_a, rows_b in [(100, 100), (1, 1), (99, 100), (100, 99), (66, 67)]:
        assert ok(np.empty(1), rows_a, rows_b)
        assert ok(np.empty(1, np.float32), rows_a, rows_b) == (rows_a == rows_b)
