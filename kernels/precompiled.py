"""The kernels a small network's fit and predict run (float64 or float32),
compiled ahead of time: such a fit, in a new process, runs without importing
Numba.

A new process that fits with the Numba kernels (``cache=True``) still imports
Numba (about 0.12 s here), initialises its compiler's registries and loads the
cached machine code (about 0.15 s), and its interpreter exit walks Numba's
objects (about 0.15 s): more than the whole 200-epoch fit. Installing fastmlp
therefore also compiles, with Numba's ahead-of-time compiler, the variants of
``fit_epochs`` (the stochastic solvers), ``forward_backward`` (L-BFGS) and
``predict_serial`` listed in ``VARIANTS`` into the extension module
``fastmlp.kernels._precompiled`` (see ``_build_precompiled``): the same Python
source through the same compiler, for the same processor, as the kernels that
Numba compiles when the process runs, and the same results to the bit (the
tests check it).

``lookup`` returns the precompiled function for a call, or None, and then the
caller runs the Numba kernel: for any other variant (sparse input, sample
weights of another dtype than the network's, a BLAS-sized layer, a split
batch), when the module was not built (no C compiler at install), when it was
built from other kernel sources than these (an edited checkout: the module
stores a hash of them), on another CPU, or with another Numba than the one
installed now, and when the environment sets ``FASTMLP_PRECOMPILED=0``,
``NUMBA_DISABLE_JIT`` or ``NUMBA_BOUNDSCHECK`` (the Numba kernels then run as
those settings ask).
"""

import hashlib
import importlib
import os
import platform

import numpy as np

# Argument kinds: "f8[:]" a C-contiguous, aligned float64 array of one
# dimension (":,:" two), "f4[:]" float32, "i8[:]" int64, "u4[:]" uint32; "i8"
# an integer, "f8" a float (Python's or NumPy's float64), "bool" a boolean,
# "none" None. ``real`` below is "f8" or "f4": the network's dtype.


# fit_epochs(params, grads, opt_a, opt_b, work, X, Xp, Xi, Xd, Y, sw, idx,
# units, act, out_act, batch_size, solver, hyper, ctrl_f, ctrl_i, mt_key,
# mt_pos, loss_curve, n_epochs, blas_min, gpart, threaded) for a dense X of the
# network's dtype, Y the class indices (softmax) or a matrix of that dtype, sw
# None or of that dtype, no BLAS layer, unsplit batches. The controls (hyper,
# ctrl_f, loss_curve) are float64 whatever the dtype.
def _fit_args(real, y_kind, sw_kind):
    buf = real + "[:]"
    return (
        (buf,) * 5
        + (real + "[:,:]", "none", "none", "none", y_kind, sw_kind, "i8[:]", "i8[:]")
        + ("i8", "i8", "i8", "i8", "f8[:]", "f8[:]", "i8[:]", "u4[:]", "i8[:]")
        + ("f8[:]", "i8", "none", "none", "bool")
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
# blas_min) for a dense X and no BLAS layer.
def _predict_args(real):
    return (real + "[:,:]", real + "[:,:]", "none", "none", "none", "i8") + (
        (real + "[:]", "i8[:]", "i8", "i8", "i8", "none")
    )


def _variants():
    """(exported name, kernel, argument kinds, return kind) for each variant:
    float64 networks under the plain names, float32 ones with "_f32" added."""
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
            out.append(
                ("forward_backward_" + name + suffix, "forward_backward",
                 _lbfgs_args(real, y, sw), "f8")
            )  # fmt: skip
        out.append(
            ("predict_serial" + suffix, "predict_serial", _predict_args(real), "i8")
        )
    return tuple(out)


VARIANTS = _variants()

MODULE = "_precompiled"

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
        if name.endswith(".py"):
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


_loaded = None  # (module or None,) once looked for


def module():
    """The precompiled extension module if it may be used here, else None."""
    global _loaded
    if _loaded is None:
        _loaded = (_load(),)
    return _loaded[0]


def _load():
    env = os.environ
    if env.get("FASTMLP_PRECOMPILED", "1") == "0":
        return None
    for name in ("NUMBA_DISABLE_JIT", "NUMBA_BOUNDSCHECK"):
        if env.get(name, "0") not in ("", "0"):
            return None
    try:
        mod = importlib.import_module("." + MODULE, __package__)
        if mod.build_key() != source_key(_installed_numba()):
            return None
    except Exception:  # noqa: BLE001 - not built, or not loadable here
        return None
    return mod


# kernel name -> [(exported name, argument predicates)]
_TABLE = {}
for _export, _kernel, _kinds, _ in VARIANTS:
    _TABLE.setdefault(_kernel, []).append((_export, tuple(map(_matcher, _kinds))))


def lookup(kernel, args):
    """The precompiled function that runs ``kernel(*args)``, or None."""
    mod = module()
    if mod is None:
        return None
    n = len(args)
    for export, preds in _TABLE.get(kernel, ()):
        if n != len(preds):
            continue
        # Last argument first: the trailing ones are the scalars and Nones that
        # tell the variants apart (blas_min, say), the quickest to refuse.
        i = n - 1
        while i >= 0 and preds[i](args[i]):
            i -= 1
        if i < 0:
            return getattr(mod, export)
    return None
