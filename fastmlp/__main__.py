"""The ``fastmlp`` command line (also ``python -m fastmlp``).

Subcommands: ``fit`` (train on a CSV file, save a model file), ``predict``,
``info``, ``demo`` and ``bench``. See ``fastmlp COMMAND --help``.
"""

import argparse
import os
import sys


def _parser():
    from fastmlp import __version__

    parser = argparse.ArgumentParser(
        prog="fastmlp",
        description="Multi-layer perceptrons for tabular data on Numba kernels.",
    )
    parser.add_argument(
        "--version", action="version", version="fastmlp %s" % __version__
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_fit(sub)
    _add_predict(sub)
    _add_info(sub)
    _add_demo(sub)
    _add_bench(sub)
    return parser


def _add_fit(sub):
    fit = sub.add_parser(
        "fit",
        help="train a network on a CSV file and save it as a model file",
        description="Train a network on a CSV file with a header line. The "
        "feature columns must be numeric; they are standardised (the scaler is "
        "saved with the model). The target column holds class labels (text or "
        "integers) or, with --regression, numbers.",
    )
    fit.add_argument("data", metavar="DATA.csv", help="training data, with a header")
    fit.add_argument(
        "--target", required=True, metavar="COLUMN", help="the column to predict"
    )
    fit.add_argument(
        "--out", required=True, metavar="MODEL.fastmlp", help="model file to write"
    )
    fit.add_argument(
        "--features",
        metavar="A,B,...",
        help="feature columns (default: every column but the target)",
    )
    fit.add_argument(
        "--regression",
        action="store_true",
        help="predict a number (MLPRegressor) instead of a class",
    )
    _add_network_options(fit)
    _add_training_options(fit)


def _add_network_options(fit):
    """fit's options for the network: layers, activation, solver, penalty."""
    from fastmlp._cli import _hidden_sizes

    fit.add_argument(
        "--hidden",
        type=_hidden_sizes,
        default=(100,),
        metavar="N[,N...]",
        help="hidden layer sizes (default: 100)",
    )
    fit.add_argument(
        "--activation",
        choices=["relu", "tanh", "logistic", "identity"],
        default="relu",
        help="hidden activation (default: relu)",
    )
    fit.add_argument(
        "--solver",
        choices=["adam", "sgd", "lbfgs"],
        default="adam",
        help="optimizer (default: adam)",
    )
    fit.add_argument(
        "--learning-rate",
        type=float,
        default=0.001,
        metavar="RATE",
        help="initial learning rate, adam and sgd (default: 0.001)",
    )
    fit.add_argument(
        "--alpha",
        type=float,
        default=0.0001,
        help="L2 penalty (default: 0.0001)",
    )


def _add_training_options(fit):
    """fit's options for the training run and its outputs."""
    fit.add_argument(
        "--batch-size",
        type=int,
        metavar="N",
        help="mini-batch size (default: min(200, rows))",
    )
    fit.add_argument(
        "--max-iter", type=int, default=200, metavar="N", help="epochs (default: 200)"
    )
    fit.add_argument(
        "--early-stopping",
        action="store_true",
        help="hold out --validation-fraction of the rows, stop when their score "
        "stops improving and keep the best weights",
    )
    fit.add_argument(
        "--validation-fraction",
        type=float,
        default=0.1,
        metavar="F",
        help="share of rows held out by --early-stopping (default: 0.1)",
    )
    fit.add_argument(
        "--random-state",
        type=int,
        metavar="N",
        help="seed for the initial weights and the shuffling (repeatable fits)",
    )
    fit.add_argument(
        "--float32", action="store_true", help="train and predict in float32"
    )
    fit.add_argument(
        "--plot",
        metavar="CURVE.png",
        help="also draw the loss curve into a PNG file (needs fastmlp[plot])",
    )


def _add_predict(sub):
    predict = sub.add_parser(
        "predict",
        help="predict with a model file, one line per CSV row",
        description="Predict for every row of a CSV file. The model's feature "
        "columns are found by name (in any order; other columns are ignored).",
    )
    predict.add_argument("model", metavar="MODEL.fastmlp")
    predict.add_argument("data", metavar="DATA.csv")
    predict.add_argument(
        "--proba",
        action="store_true",
        help="class probabilities, one column per class",
    )
    predict.add_argument(
        "--out", metavar="PRED.csv", help="write a CSV file instead of to stdout"
    )


def _add_info(sub):
    info = sub.add_parser(
        "info",
        help="describe a model file: layers, classes, features, training",
    )
    info.add_argument("model", metavar="MODEL.fastmlp")


def _add_demo(sub):
    demo = sub.add_parser(
        "demo",
        help="train the course network on the Palmer penguins, beside scikit-learn",
    )
    demo.add_argument(
        "--repeats", type=int, default=5, help="timed fits per library (default 5)"
    )


def _add_bench(sub):
    sub.add_parser(
        "bench",
        help="fastmlp beside scikit-learn on the benchmark workloads "
        "(fastmlp bench --help)",
        add_help=False,
    )


def _run(argv):
    from fastmlp import _cli

    if argv and argv[0] == "bench":
        # Everything after "bench" belongs to the benchmark's own parser.
        return _cli.run_bench(argv[1:])
    parser = _parser()
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
    if args.command == "fit":
        return _cli.cmd_fit(args)
    if args.command == "predict":
        return _cli.cmd_predict(args)
    if args.command == "info":
        return _cli.cmd_info(args)
    return 2  # pragma: no cover


def main(argv=None):
    """Entry point of the ``fastmlp`` command."""
    from fastmlp._cli import CLIError

    if argv is None:
        argv = sys.argv[1:]
    try:
        return _run(list(argv))
    except CLIError as exc:
        print("fastmlp: error: %s" % " ".join(str(exc).split()), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fastmlp: interrupted; nothing was saved", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of stdout went away (e.g. `fastmlp predict ... | head`).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
