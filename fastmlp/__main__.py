"""The ``fastmlp`` command line (also ``python -m fastmlp``)."""

import argparse
import sys


def main(argv=None):
    """Entry point of the ``fastmlp`` command."""
    parser = argparse.ArgumentParser(
        prog="fastmlp",
        description="Multi-layer perceptrons for tabular data on Numba kernels.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser(
        "demo",
        help="train the course network on the Palmer penguins, beside scikit-learn",
    )
    demo.add_argument(
        "--repeats", type=int, default=5, help="timed fits per library (default 5)"
    )
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if args.command == "demo":
        if args.repeats < 1:
            parser.error("--repeats must be at least 1")
        from fastmlp._demo import run_demo

        run_demo(repeats=args.repeats)
        return 0
    return 2  # pragma: no cover


if __name__ == "__main__":
    sys.exit(main())
