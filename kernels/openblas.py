"""NumPy's bundled OpenBLAS, found and steered with ctypes alone: importing this
loads no Numba.

The kernels' GEMMs call this library (``blas`` binds Numba's kernels to it),
and the runtime (``fastmlp._runtime``) holds its thread count while a kernel
runs. The library is looked for once, where NumPy's PyPI
wheels put it (``numpy.libs/libscipy_openblas64_*``, or ``.dylibs`` on macOS),
unless the environment sets ``FASTMLP_NUMPY_BLAS=0`` (see ``config``).
"""

import ctypes
import glob
import os

import numpy as np

from . import config


def find_numpy_openblas():
    """(path, address of cblas_sgemm, address of cblas_dgemm) of NumPy's bundled
    OpenBLAS (64-bit integers, scipy_ symbol prefix), or None."""
    root = os.path.dirname(os.path.abspath(np.__file__))
    patterns = [
        os.path.join(os.path.dirname(root), "numpy.libs", "libscipy_openblas64_*"),
        os.path.join(root, ".dylibs", "libscipy_openblas64_*"),
    ]
    for pattern in patterns:
        for path in sorted(glob.glob(pattern)):
            try:
                lib = ctypes.CDLL(path)
                s = ctypes.cast(lib.scipy_cblas_sgemm64_, ctypes.c_void_p).value
                d = ctypes.cast(lib.scipy_cblas_dgemm64_, ctypes.c_void_p).value
            except (OSError, AttributeError):
                continue
            return path, s, d
    return None


def _find():
    if config.environment()["FASTMLP_NUMPY_BLAS"] == "0":
        return None, None
    found = find_numpy_openblas()
    if found is None:
        return None, None
    threads = None
    try:
        lib = ctypes.CDLL(found[0])
        get = lib.scipy_openblas_get_num_threads64_
        put = lib.scipy_openblas_set_num_threads64_
        get.restype = ctypes.c_int
        get.argtypes = ()
        put.restype = None
        put.argtypes = (ctypes.c_int,)
        threads = (get, put)
    except AttributeError:
        pass
    return found, threads


# (path, sgemm address, dgemm address) or None; (get, set) of its thread count
# or None.
FOUND, _THREADS = _find()
LIBRARY = None if FOUND is None else FOUND[0]


def blas_threads():
    """The number of threads NumPy's BLAS (the kernels' BLAS) runs a call on
    now, or None where the kernels do not run on it (see ``blas``)."""
    return None if _THREADS is None else int(_THREADS[0]())


def set_blas_threads(n):
    """Set the number of threads of NumPy's BLAS (as threadpoolctl would).

    Raises RuntimeError where the kernels do not run on it (see blas_threads):
    fastmlp then has no hold on the BLAS's threads."""
    if _THREADS is None:
        raise RuntimeError(
            "fastmlp's kernels are not bound to NumPy's OpenBLAS (LIBRARY is None: "
            "FASTMLP_NUMPY_BLAS=0, or no bundled OpenBLAS found), so they cannot "
            "set its thread count; use threadpoolctl on the BLAS in use"
        )
    _THREADS[1](int(n))
