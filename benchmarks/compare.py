"""fastmlp beside scikit-learn and PyTorch on every benchmark workload.

    python benchmarks/compare.py [--quick]

The same as ``fastmlp bench``; see fastmlp/_bench.py.
"""

import sys

from fastmlp._bench import main

if __name__ == "__main__":
    sys.exit(main())
