"""The kernels of a small network's fit and predict, compiled ahead of time:
such a fit, in a new process, runs without importing Numba.

A new process that fits with the Numba kernels (``cache=True``) still imports
Numba, initialises its compiler's registries and loads the cached machine
code, and its interpreter exit walks Numba's objects: more than a small
network's whole fit. Installing fastmlp therefore also compiles, with Numba's
ahead-of-time compiler, the variants of ``fit_epochs`` (the stochastic
solvers), ``forward_backward`` (L-BFGS) and ``predict_serial`` that
``variants()`` lists into two extension modules (``MODULES``: float64,
float32; ``_build_precompiled`` builds them side by side): the same Python
source through the same compiler, for the same processor, as the kernels that
Numba compiles when the process runs, and the same results to the bit (the
tests check it).

The variants cover a network without a BLAS-sized layer (``blas_min`` None),
a dense X of the network's dtype, class indices or a target matrix of that
dtype, with or without sample weights of that dtype, unsplit batches. Each
variant's argument kinds are derived from the kernel's own parameter list
(read from its source), so the order of a kernel's parameters has one source.

``load`` returns the modules where they may be used, ``lookup_table`` and
``find`` the precompiled function for a call, or None, and the caller then runs
the Numba kernel (``fastmlp._runtime`` loads the modules once per process): for any other call (a BLAS-sized layer, sparse
input, other dtypes), when the modules were not built (no C compiler at
install), when they were built from other kernel sources than these (an
edited checkout: each module stores a hash of them), on another CPU or with
another Numba than the one installed, and when the environment sets
``FASTMLP_PRECOMPILED=0``, ``NUMBA_DISABLE_JIT`` or ``NUMBA_BOUNDSCHECK``
(the Numba kernels then run as those settings ask; see ``config``).
"""

import ast
import hashlib
import importlib
import os
import platform
import re
import types

import numpy as np

from . import config

# Argument kinds: "f8[:]" a C-contiguous, aligned float64 array of one
# dimension (":,:" two), "f4[:]" float32, "i8[:]" int64, "u4[:]" uint32; "i8"
# an integer, "f8" a float (Python's or NumPy's float64), "bool" a boolean,
# "none" None.

# The kernels compiled ahead of time: name -> (the file that defines it, the
# kind of its return value).
KERNELS = {
    "fit_epochs": ("train.py", "(i8,i8,f8)"),
    "forward_backward": ("train.py", "f8"),
    "predict_serial": ("predict.py", "i8"),
}


def _param_kind(name, real, y_kind, sw_kind):
    """The kind of a kernel parameter, by its name, in a variant for networks
    of dtype ``real`` ("f8" or "f4") whose targets are of y_kind and weights
    of sw_kind. The controls (hyper, ctrl_f, loss_curve) are float64 whatever
    the dtype. A parameter missing here is an error at the first lookup and at
    the build, never a silent mismatch."""
    buf, mat = real + "[:]", real + "[:,:]"
    kinds = {
        # buffers of the parameter layout, and outputs
        "params": buf, "grads": buf, "opt_a": buf, "opt_b": buf, "work": buf,
        "out": mat,
        # a dense X: the CSR flavour's three arrays None
        "X": mat, "Xp": "none", "Xi": "none", "Xd": "none",
        "Y": y_kind, "sw": sw_kind, "idx": "i8[:]", "units": "i8[:]",
        "act": "i8", "out_act": "i8", "batch_size": "i8", "solver": "i8",
        "hyper": "f8[:]", "ctrl_f": "f8[:]", "ctrl_i": "i8[:]",
        "mt_key": "u4[:]", "mt_pos": "i8[:]", "loss_curve": "f8[:]",
        "n_epochs": "i8", "start": "i8", "B": "i8", "capacity": "i8",
        "alpha": "f8", "n": "i8", "block": "i8",
        # no BLAS layer, unsplit batches: that code is compiled out
        "blas_min": "none", "gpart": "none", "threaded": "bool",
    }  # fmt: skip
    return kinds[name]


_here = os.path.dirname(os.path.abspath(__file__))


def parameters(kernel):
    """The names of ``kernel``'s parameters, in order, read from its source
    file (importing the kernel would load Numba)."""
    with open(os.path.join(_here, KERNELS[kernel][0])) as f:
        source = f.read()
    match = re.search(r"^def %s\((.*?)\):" % kernel, source, re.M | re.S)
    stub = ast.parse("def f(%s): pass" % match.group(1)).body[0]
    return tuple(a.arg for a in stub.args.args)


def _kinds(kernel, real, y_kind, sw_kind):
    return tuple(_param_kind(p, real, y_kind, sw_kind) for p in parameters(kernel))


def variants():
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
            for kernel in ("fit_epochs", "forward_backward"):
                kinds = _kinds(kernel, real, y, sw)
                out.append((kernel + "_" + name + suffix, kernel, kinds))
        kinds = _kinds("predict_serial", real, "none", "none")
        out.append(("predict_serial" + suffix, "predict_serial", kinds))
    return tuple((e, k, kinds, KERNELS[k][1]) for e, k, kinds in out)


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


def source_key(numba_version, folder=_here):
    """What the precompiled module must have been built from to be used: a
    hash of the kernels' source files (in ``folder``), this machine's
    processor (the module is compiled for the CPU it was built on) and the
    Numba version that built it."""
    h = hashlib.sha256()
    for name in sorted(os.listdir(folder)):
        if name.endswith(".py"):
            with open(os.path.join(folder, name), "rb") as f:
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


def load_built():
    """The modules the install built, whatever the environment asks for, as one
    namespace: each exported function, and build_key(), the modules' key where
    they all have the same one (else -1). Raises ImportError where one is
    missing."""
    mods = {name: importlib.import_module("." + name, __package__) for name in MODULES}
    keys = {mods[name].build_key() for name in MODULES}
    key = keys.pop() if len(keys) == 1 else -1
    ns = types.SimpleNamespace(
        build_key=lambda: key, files=[m.__file__ for m in mods.values()]
    )
    for export, *_ in variants():
        setattr(ns, export, getattr(mods[module_of(export)], export))
    return ns


def load():
    """The built modules (load_built) where they may be used here, else None:
    not switched off by the environment, and built from these sources, on
    this processor, by the Numba installed."""
    if config.environment()["FASTMLP_PRECOMPILED"] == "0":
        return None
    if config.switch_on("NUMBA_DISABLE_JIT") or config.switch_on("NUMBA_BOUNDSCHECK"):
        return None
    try:
        mod = load_built()
        if mod.build_key() != source_key(_installed_numba()):
            return None
    except Exception:  # noqa: BLE001 - not built, or not loadable here
        return None
    return mod


def lookup_table(mod):
    """{kernel name: [(exported function, argument predicates)]} of the
    modules ``mod`` (load), for find."""
    table = {}
    for export, kernel, kinds, _ in variants():
        table.setdefault(kernel, []).append(
            (getattr(mod, export), tuple(map(_matcher, kinds)))
        )
    return table


def find(table, kernel, args):
    """The precompiled function of ``table`` that runs ``kernel(*args)``, or
    None."""
    n = len(args)
    for fn, preds in table.get(kernel, ()):
        if n != len(preds):
            continue
        # Last argument first: the trailing ones are the scalars and Nones that
        # tell the variants apart (blas_min, say), the quickest to refuse.
        i = n - 1
        while i >= 0 and preds[i](args[i]):
            i -= 1
        if i < 0:
            return fn
    return None
