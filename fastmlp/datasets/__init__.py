"""Small data sets bundled with fastmlp.

The data files live in ``fastmlp/datasets/data`` and are installed with the
package, so the loaders work offline.
"""

from ._penguins import load_penguins

__all__ = ["load_penguins"]
