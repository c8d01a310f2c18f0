"""Compile ``fastmlp.kernels._precompiled`` (see ``precompiled``) with Numba's
ahead-of-time compiler: run at install by ``setup.py``, or by hand with
``python -m fastmlp.kernels._build_precompiled OUTPUT_DIR``.

Each exported function is the kernel's own Python function, compiled with the
options its ``@njit`` gives it (NumPy's error model, the GIL released while it
runs); everything it calls is compiled as the Numba kernels are.
"""

import inspect
import os
import sys


def build(output_dir, name):
    """Write the extension module ``name`` (one of precompiled.MODULES) into
    output_dir; returns its path."""
    import numba
    from numba import types
    from numba.core import codegen
    from numba.pycc import CC
    from numba.pycc import compiler as pycc_compiler

    from . import precompiled, predict, train

    kernels = {
        "fit_epochs": train.fit_epochs,
        "forward_backward": train.forward_backward,
        "predict_serial": predict.predict_serial,
    }
    scalar = {"i8": types.int64, "f8": types.float64, "bool": types.boolean}
    arrays = {
        "f8": types.float64,
        "f4": types.float32,
        "i8": types.int64,
        "u4": types.uint32,
    }

    def numba_type(kind):
        if kind == "none":
            return types.none
        if kind.startswith("("):
            return types.Tuple([numba_type(k) for k in kind[1:-1].split(",")])
        if "[" in kind:
            return types.Array(arrays[kind[:2]], kind.count(":"), "C")
        return scalar[kind]

    for kernel, dispatcher in kernels.items():
        # The argument kinds come from the parameter list read from the source;
        # it must be the compiled function's own.
        signature = tuple(inspect.signature(dispatcher.py_func).parameters)
        assert precompiled.parameters(kernel) == signature, kernel

    key = precompiled.source_key(numba.__version__)
    cc = CC(name)
    cc.output_dir = output_dir
    # For this machine's processor, as the Numba kernels are compiled: its name
    # and the instruction sets it reports (see the patch of the features below).
    cc.target_cpu = "host"
    cc.verbose = False
    for export, kernel, kinds, ret in precompiled.variants():
        if precompiled.module_of(export) != name:
            continue
        dispatcher = kernels[kernel]
        sig = numba_type(ret)(*map(numba_type, kinds))
        cc.export(export, sig)(dispatcher.py_func)

    def build_key():
        return key

    cc.export("build_key", "int64()")(build_key)

    # The exported functions get the options of the kernels' @njit: the
    # ahead-of-time compiler would otherwise compile them with Python's error
    # model (a division checks for zero) and hold the GIL while they run.
    options = kernels["fit_epochs"].targetoptions
    assert all(d.targetoptions == options for d in kernels.values())

    class Flags(pycc_compiler.Flags):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.error_model = options["error_model"]
            self.release_gil = bool(options["nogil"])

    # And the instruction sets that the processor reports, as the Numba kernels
    # get them: the ahead-of-time compiler would take those that the CPU model's
    # name implies, which a virtual machine may not all offer.
    aot = codegen.AOTCPUCodegen
    saved = pycc_compiler.Flags, aot._customize_tm_features
    pycc_compiler.Flags = Flags
    aot._customize_tm_features = codegen.JITCPUCodegen._customize_tm_features
    try:
        cc.compile()
    finally:
        pycc_compiler.Flags, aot._customize_tm_features = saved
    return os.path.join(output_dir, cc.output_file)


def build_all(output_dir):
    """Every module of precompiled.MODULES into output_dir, side by side in
    forked processes (one per module: each compilation is single-threaded);
    returns their paths."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from . import precompiled

    names = precompiled.MODULES
    # Numba is imported before the fork (its threads are not started until a
    # parallel kernel runs, which the compilation never does).
    import numba  # noqa: F401

    ctx = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(len(names), mp_context=ctx) as pool:
        return list(pool.map(build, [output_dir] * len(names), names))


if __name__ == "__main__":
    for path in build_all(
        sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(__file__)
    ):
        print(path)
