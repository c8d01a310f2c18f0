"""Installing fastmlp also compiles its precompiled kernels.

``fastmlp.kernels._precompiled`` holds the kernels a small float64 network's
fit and predict run, compiled ahead of time by Numba for this machine (see
``kernels/precompiled.py``), so that a new process fits such a network without
importing Numba. Where that compilation fails (no C compiler, say), the install
goes on without it: every fit then runs on the kernels Numba compiles, as it
does for everything the module does not cover.
"""

import atexit
import importlib.util
import os
import shutil
import sys
import tempfile
import traceback
import types

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = os.path.dirname(os.path.abspath(__file__))


def _kernels_from_source():
    """Import fastmlp.kernels from this source tree (fastmlp itself left out:
    the kernels need only Numba and NumPy)."""
    if "fastmlp.kernels" in sys.modules:
        return
    package = types.ModuleType("fastmlp")
    package.__path__ = []
    sys.modules.setdefault("fastmlp", package)
    spec = importlib.util.spec_from_file_location(
        "fastmlp.kernels",
        os.path.join(ROOT, "kernels", "__init__.py"),
        submodule_search_locations=[os.path.join(ROOT, "kernels")],
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["fastmlp.kernels"] = module
    spec.loader.exec_module(module)


class BuildPrecompiled(build_ext):
    """Builds the modules of kernels.precompiled.MODULES all at once, side by
    side (the first extension's build builds them all)."""

    built = None

    def build_extension(self, ext):
        if BuildPrecompiled.built is None:
            BuildPrecompiled.built = self._build_all()
        path = BuildPrecompiled.built.get(ext.name.rsplit(".", 1)[-1])
        if path is not None:
            target = self.get_ext_fullpath(ext.name)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copy(path, target)

    def _build_all(self):
        """{module name: path of the built module}; empty where the build failed."""
        out = tempfile.mkdtemp()
        atexit.register(shutil.rmtree, out, True)
        try:
            # Numba's cache of what the build compiles stays out of the tree.
            os.environ["NUMBA_CACHE_DIR"] = os.path.join(out, "cache")
            _kernels_from_source()
            from fastmlp.kernels._build_precompiled import build_all

            paths = build_all(os.path.join(out, "modules"))
            return {os.path.basename(p).split(".", 1)[0]: p for p in paths}
        except Exception:  # noqa: BLE001 - the Numba kernels serve instead
            traceback.print_exc()
            print(
                "warning: fastmlp's precompiled kernels were not built; every fit "
                "will run on the kernels Numba compiles on first use",
                file=sys.stderr,
            )
            return {}


setup(
    ext_modules=[
        Extension("fastmlp.kernels." + name, sources=[], optional=True)
        for name in ("_precompiled", "_precompiled_f32")  # precompiled.MODULES
    ],
    cmdclass={"build_ext": BuildPrecompiled},
)
