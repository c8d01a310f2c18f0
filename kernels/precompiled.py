"""The kernels that a fit and a predict run most often (float64 or float32),
compiled ahead of time: such a fit, in a new process, runs without importing
Numba.

A new process that fits with the Numba kernels (``cache=True``) still imports
Numba (about 0.12 s here), initialises its compiler's registries and loads the
cached machine code (about 0.15 s), and its interpreter exit walks Numba's
objects (about 0.15 s): more than a small network's whole 200-epoch fit.
Installing fastmlp therefore also compiles, with Numba's ahead-of-time
compiler, the variants of ``fit_epochs`` (the stochastic solvers),
``forward_backward`` (L-BFGS) and ``predict_serial`` listed in ``VARIANTS``
into two extension modules (``MODULES``: float64, float32; see
``_build_precompiled``, which builds them side by side): the same Python source
through the same compiler, for the same processor, as the kernels that Numba
compiles when the process runs, and the same results to the bit (the tests
check it).

The variants cover a dense X of the network's dtype, with class indices or a
target matrix: for a network without a BLAS-sized layer, every solver, with or
without sample weights; for one with such a layer (scikit-learn's default
(100,) among them), the stochastic solvers without sample weights, batches
split into chunks run one after the other (``threaded`` None: the kernels'
threaded code is left out, since the module has no thread pool), and
``predict_serial`` with its GEMMs. Those call ``fastmlp_cblas_?gemm``, which in
the modules are two C functions (``_gemm_shim.c``) that call through pointers
set here, at load, to NumPy's OpenBLAS, the library the Numba kernels call
(``openblas``).

``lookup`` returns the precompiled function for a call, or None, and then the
caller runs the Numba kernel: for any other variant (sparse input, sample
weights of another dtype than the network's, a BLAS layer with sample weights,
L-BFGS or batches too small to split, a call that runs on threads), when the
modules were not built (no C compiler at install), when they were built from
other kernel sources than these (an edited checkout: each module stores a hash
of them), on another CPU, or with another Numba than the one installed, and
when the environment sets ``FASTMLP_PRECOMPILED=0``, ``NUMBA_DISABLE_JIT`` or
``NUMBA_BOUNDSCHECK`` (the Numba kernels then run as those settings ask). The
GEMM variants also wait for NumPy's OpenBLAS (``FASTMLP_NUMPY_BLAS=0``, or no
bundled OpenBLAS: none of them runs). The estimators run a call that Numba's
kernels would spread over the cores on these serial variants only in a process
that has not started Numba, and for a second of such calls at most
(``fastmlp._base.PRECOMPILED_SERIAL_SECONDS``).
"""

import ctypes
import hashlib
import importlib
import os
import platform
import types

import numpy as np

# Argument kinds: "f8[:]" a C-contiguous, aligned float64 array of one
# dimension (":,:" two), "f4[:]" float32, "i8[:]" int64, "u4[:]" uint32; "i8"
# an integer, "f8" a float (Python's or NumPy's float64), "bool" a boolean,
# "none" None. ``real`` below is "f8" or "f4": the network's dtype.


# fit_epochs(params, grads, opt_a, opt_b, work, X, Xp, Xi, Xd, Y, sw, idx,
# units, act, out_act, batch_size, solver, hyper, ctrl_f, ctrl_i, mt_key,
# mt_pos, loss_curve, n_epochs, blas_min, gpart, threaded) for a dense X of the
# network's dtype, Y the class indices (softmax) or a matrix of that dtype, sw
# None or of that dtype; no BLAS layer and unsplit batches, or (gemm) a BLAS
# layer and batches split into chunks of rows run one after the other
# (threaded None: the threaded code is left out). The controls (hyper, ctrl_f,
# loss_curve) are float64 whatever the dtype.
def _fit_args(real, y_kind, sw_kind, gemm=False):
    buf = real + "[:]"
    tail = ("i8", real + "[:,:]", "none") if gemm else ("none", "none", "bool")
    return (
        (buf,) * 5
        + (real + "[:,:]", "none", "none", "none", y_kind, sw_kind, "i8[:]", "i8[:]")
        + ("i8", "i8", "i8", "i8", "f8[:]", "f8[:]", "i8[:]", "u4[:]", "i8[:]")
        + ("f8[:]", "i8")
        + tail
    )


# forward_backward(grads, work, params, X, Xp, Xi, Xd, Y, sw, idx, start, B,
# capacity, units, act, out_act, alpha, blas_min): L-BFGS's loss and gradient,
# for the same inputs.
def _lbfgs_args(real, y_kind, sw_kind):
    buf = real + "[:]"
    return (
        (buf,) * 3
        + (real + "[:,:]", "none", "none", "none", y_kind, sw_kind, "i8[:]", "i8")
        + ("i8", "i8", "i8[:]", "i8", "i8", "f8", "none")
    )


# predict_serial(out, X, Xp, Xi, Xd, n, params, units, act, out_act, block,
# blas_min) for a dense X; no BLAS layer, or (gemm) a BLAS layer.
def _predict_args(real, gemm=False):
    return (real + "[:,:]", real + "[:,:]", "none", "none", "none", "i8") + (
        (real + "[:]", "i8[:]", "i8", "i8", "i8", "i8" if gemm else "none")
    )


# The exported names of the variants that call the GEMM symbols contain this.
GEMM_TAG = "_blas"


def _variants():
    """(exported name, kernel, argument kinds, return kind) for each variant:
    float64 networks under the plain names, float32 ones with "_f32" added;
    those for a network with a BLAS layer (stochastic solvers without sample
    weights, and predict) with GEMM_TAG in the name."""
    out = []
    for real, suffix in (("f8", ""), ("f4", "_f32")):
        for y, sw, name in (
            ("i8[:]", "none", "codes"),
            ("i8[:]", real + "[:]", "codes_sw"),
            (real + "[:,:]", "none", "matrix"),
            (real + "[:,:]", real + "[:]", "matrix_sw"),
        ):
            out.append(
                ("fit_epochs_" + name + suffix, "fit_epochs",
                 _fit_args(real, y, sw), "(i8,i8,f8)")
            )  # fmt: skip
            if sw == "none":  # each of these adds about 12 s to the install
                out.append(
                    ("fit_epochs" + GEMM_TAG + "_" + name + suffix, "fit_epochs",
                     _fit_args(real, y, sw, gemm=True), "(i8,i8,f8)")
                )  # fmt: skip
            out.append(
                ("forward_backward_" + name + suffix, "forward_backward",
                 _lbfgs_args(real, y, sw), "f8")
            )  # fmt: skip
        out.append(
            ("predict_serial" + suffix, "predict_serial", _predict_args(real), "i8")
        )
        out.append(
            ("predict_serial" + GEMM_TAG + suffix, "predict_serial",
             _predict_args(real, gemm=True), "i8")
        )  # fmt: skip
    return tuple(out)


VARIANTS = _variants()

# The extension modules, one per dtype (the install builds them side by side):
# the float64 variants in the first, the float32 ones ("_f32") in the second.
MODULES = ("_precompiled", "_precompiled_f32")


def module_of(export):
    """The name of the module that holds an exported variant."""
    return MODULES[1] if export.endswith("_f32") else MODULES[0]


_DTYPES = {
    "f8": np.dtype(np.float64),
    "f4": np.dtype(np.float32),
    "i8": np.dtype(np.int64),
    "u4": np.dtype(np.uint32),
}


def _matcher(kind):
    """A predicate: does an argument pass, unconverted, as this kind?"""
    if kind == "none":
        return lambda a: a is None
    if kind == "bool":
        return lambda a: type(a) is bool or type(a) is np.bool_
    if kind == "f8":
        return lambda a: isinstance(a, float)  # float or np.float64
    if kind == "i8":
        return lambda a: (
            (type(a) is int or isinstance(a, np.integer)) and (-(2**63) <= a < 2**63)
        )
    dtype = _DTYPES[kind[:2]]
    ndim = kind.count(":")

    def array(a):
        # "is": NumPy's native dtypes are single objects; an equal dtype that is
        # another object (one with metadata, say) is refused, which is safe.
        if type(a) is not np.ndarray or a.dtype is not dtype or a.ndim != ndim:
            return False
        flags = a.flags
        return flags.c_contiguous and flags.aligned

    return array


def source_key(numba_version):
    """What the precompiled module must have been built from to be used: a
    hash of the kernels' source files, this machine's processor (the module is
    compiled for the CPU it was built on) and the Numba version that built it.
    """
    h = hashlib.sha256()
    here = os.path.dirname(os.path.abspath(__file__))
    for name in sorted(os.listdir(here)):
        if name.endswith((".py", ".c")):
            with open(os.path.join(here, name), "rb") as f:
                h.update(name.encode() + b"\0" + f.read() + b"\0")
    h.update(_processor().encode() + b"\0" + numba_version.encode())
    return int.from_bytes(h.digest()[:7], "little")  # fits an int64


def _processor():
    """The processor's name and instruction-set flags (Linux), or what the
    platform module says elsewhere."""
    try:
        with open("/proc/cpuinfo") as f:
            seen = {}
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key in ("model name", "flags", "Features", "CPU part"):
                    seen.setdefault(key, value.strip())
            if seen:
                return repr(sorted(seen.items()))
    except OSError:
        pass
    return platform.machine() + " " + platform.processor()


def _installed_numba():
    try:
        from importlib.metadata import version

        return version("numba")
    except Exception:  # noqa: BLE001 - no metadata: never match
        return "?"


_loaded = None  # (modules or None,) once looked for
_built = None  # the modules as load_built found them
_gemm_bound = False  # whether the modules' GEMM symbols call NumPy's OpenBLAS


def module():
    """The precompiled modules, as one namespace of their exported functions
    (load_built), if they may be used here, else None."""
    global _loaded
    if _loaded is None:
        _loaded = (_load(),)
    return _loaded[0]


def load_built():
    """The modules the install built, whatever the environment asks for, as one
    namespace: each exported function, and build_key(), the modules' key where
    they all have the same one (else -1). Raises ImportError where one is
    missing."""
    global _built
    if _built is None:
        mods = {
            name: importlib.import_module("." + name, __package__) for name in MODULES
        }
        keys = {mods[name].build_key() for name in MODULES}
        key = keys.pop() if len(keys) == 1 else -1
        ns = types.SimpleNamespace(
            build_key=lambda: key, files=[m.__file__ for m in mods.values()]
        )
        for export, *_ in VARIANTS:
            setattr(ns, export, getattr(mods[module_of(export)], export))
        _built = ns
    return _built


def _load():
    env = os.environ
    if env.get("FASTMLP_PRECOMPILED", "1") == "0":
        return None
    for name in ("NUMBA_DISABLE_JIT", "NUMBA_BOUNDSCHECK"):
        if env.get(name, "0") not in ("", "0"):
            return None
    try:
        mod = load_built()
        if mod.build_key() != source_key(_installed_numba()):
            return None
    except Exception:  # noqa: BLE001 - not built, or not loadable here
        return None
    _bind_gemm(mod.files)
    return mod


def _bind_gemm(files):
    """Point the modules' GEMM symbols (_gemm_shim.c) at NumPy's OpenBLAS, the
    library the Numba kernels call; where it is not used (kernels.openblas
    found none, or the environment chose the fallback), the variants that call
    them stay unused."""
    global _gemm_bound
    from . import openblas

    if openblas.FOUND is None:
        return
    try:
        for path in files:
            lib = ctypes.CDLL(path)
            s, d = openblas.FOUND[1:]
            ctypes.c_void_p.in_dll(lib, "fastmlp_sgemm_ptr").value = s
            ctypes.c_void_p.in_dll(lib, "fastmlp_dgemm_ptr").value = d
    except (OSError, ValueError):
        return
    _gemm_bound = True


# kernel name -> [(exported name, argument predicates, calls the GEMMs)]
_TABLE = {}
for _export, _kernel, _kinds, _ in VARIANTS:
    _TABLE.setdefault(_kernel, []).append(
        (_export, tuple(map(_matcher, _kinds)), GEMM_TAG in _export)
    )


def lookup(kernel, args):
    """The precompiled function that runs ``kernel(*args)``, or None."""
    mod = module()
    if mod is None:
        return None
    n = len(args)
    for export, preds, gemm in _TABLE.get(kernel, ()):
        if n != len(preds) or (gemm and not _gemm_bound):
            continue
        # Last argument first: the trailing ones are the scalars and Nones that
        # tell the variants apart (blas_min, say), the quickest to refuse.
        i = n - 1
        while i >= 0 and preds[i](args[i]):
            i -= 1
        if i < 0:
            return getattr(mod, export)
    return None
