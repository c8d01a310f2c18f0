"""The ``fastmlp`` command line: fit, predict, info (and demo, bench).

``fastmlp fit`` reads a CSV file, standardises the feature columns, trains a
network with a progress bar and saves a model file (``fastmlp.save``: a
StandardScaler and the network in one Pipeline, arrays and JSON only).
``fastmlp predict`` applies such a file to another CSV, matching the feature
columns by name; ``fastmlp info`` describes one.

A mistake in the input (a missing file or column, text in a feature column,
an empty CSV, a file that is not a model) ends the command with one line on
stderr, ``fastmlp: error: ...``, and exit status 2.
"""

import csv
import os
import re
import sys
import threading
import time
import warnings

import numpy as np

# Integer labels written the way Python writes them ("7", "-1"); "07", "+1" and
# "-0" stay text, so that distinct labels stay distinct.
_INT_LABEL = re.compile(r"^(0|-?[1-9][0-9]*)$")


class CLIError(Exception):
    """A mistake in what the command was given: reported as one line, status 2."""


# ----------------------------------------------------------------------
# CSV input
# ----------------------------------------------------------------------
class Table:
    """A CSV file's header and rows, all as text."""

    def __init__(self, path, names, rows, lines):
        self.path = path
        self.names = names
        self.rows = rows
        self.lines = lines  # the file's line number of each row

    def column(self, name):
        j = self.names.index(name)
        return [row[j] for row in self.rows]

    def numeric(self, names, what="column"):
        """The named columns as a float64 matrix, with an error naming any bad cell."""
        out = np.empty((len(self.rows), len(names)), dtype=np.float64)
        for k, name in enumerate(names):
            out[:, k] = self.numeric_column(name, what)
        return out

    def numeric_column(self, name, what="column"):
        values = self.column(name)
        out = np.empty(len(values), dtype=np.float64)
        for i, text in enumerate(values):
            text = text.strip()
            try:
                out[i] = float(text)
            except ValueError:
                if not text:
                    raise CLIError(
                        "%s: %s %r has an empty value on line %d"
                        % (self.path, what, name, self.lines[i])
                    ) from None
                raise CLIError(
                    "%s: %s %r is not numeric (line %d: %r)"
                    % (self.path, what, name, self.lines[i], text)
                ) from None
            if not np.isfinite(out[i]):
                raise CLIError(
                    "%s: %s %r has a missing or infinite value on line %d (%r)"
                    % (self.path, what, name, self.lines[i], text)
                )
        return out


def read_csv(path):
    """Read a CSV file with a header line (UTF-8, comma-separated)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            header = None
            rows, lines = [], []
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue  # blank line
                if header is None:
                    header = [cell.strip() for cell in row]
                    continue
                if len(row) != len(header):
                    raise CLIError(
                        "%s: line %d has %d fields, the header has %d"
                        % (path, reader.line_num, len(row), len(header))
                    )
                rows.append(row)
                lines.append(reader.line_num)
    except FileNotFoundError:
        raise CLIError("%s: no such file" % path) from None
    except IsADirectoryError:
        raise CLIError("%s: is a directory, not a CSV file" % path) from None
    except PermissionError:
        raise CLIError("%s: permission denied" % path) from None
    except UnicodeDecodeError:
        raise CLIError("%s: not a text file (not UTF-8)" % path) from None
    except csv.Error as exc:
        raise CLIError("%s: not a readable CSV file (%s)" % (path, exc)) from None
    if header is None:
        raise CLIError("%s: the file is empty" % path)
    for j, name in enumerate(header):
        if not name:
            raise CLIError("%s: column %d has no name in the header" % (path, j + 1))
    seen = set()
    for name in header:
        if name in seen:
            raise CLIError("%s: the header names column %r twice" % (path, name))
        seen.add(name)
    if not rows:
        raise CLIError("%s: the file has a header but no data rows" % path)
    return Table(path, header, rows, lines)


def _columns_list(names):
    shown = ", ".join(names[:12])
    return shown + (", ..." if len(names) > 12 else "")


# ----------------------------------------------------------------------
# Progress
# ----------------------------------------------------------------------
class FitProgress:
    """A live progress bar for a fit, read from the estimator's own record.

    While ``fit`` runs in the main thread, a helper thread looks at the
    estimator every ``interval`` seconds and moves a tqdm bar to the length of
    ``loss_curve_`` (the epochs done), showing the last loss and, with early
    stopping, the last validation score. fastmlp appends to ``loss_curve_``
    after each compiled call (an epoch, or a run of epochs sized to last
    ``fastmlp.kernels.config.EPOCH_CALL_SECONDS``), so the bar moves at least
    that often. Nothing in the estimator is
    changed or switched on: the fit runs exactly as it would without the bar,
    on its fastest path, and makes the same model.
    """

    def __init__(self, est, bar, interval=0.1):
        self.est = est
        self.bar = bar
        self.interval = interval
        self.epoch = 0
        self.loss = None
        self.validation = None
        self.stop_reason = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.refresh()

    def _watch(self):
        while not self._stop.wait(self.interval):
            self.refresh()

    def refresh(self):
        curve = getattr(self.est, "loss_curve_", None)
        if not curve:
            return
        n = len(curve)
        if n <= self.epoch:
            return
        self.epoch = n
        self.loss = float(curve[n - 1])
        scores = getattr(self.est, "validation_scores_", None)
        parts = ["loss=%.5g" % self.loss]
        if scores:
            self.validation = float(scores[-1])
            parts.append("val=%.4f" % self.validation)
        self.bar.set_postfix_str(", ".join(parts), refresh=False)
        self.bar.update(n - self.bar.n)


def _stop_reason(est):
    """Why a stochastic fit stopped before max_iter, in scikit-learn's words."""
    if est.solver == "lbfgs" or est.n_iter_ >= est.max_iter:
        return None
    what = "validation score" if est.early_stopping else "training loss"
    reason = "%s did not improve more than tol=%g for %d consecutive epochs" % (
        what,
        est.tol,
        est.n_iter_no_change,
    )
    if est.solver == "sgd" and est.learning_rate == "adaptive":
        reason += ", with the adaptive learning rate already below 1e-6"
    return reason


def fit_with_progress(model, X, y, *, file=None, disable=None, interval=0.1):
    """Fit ``model`` (an MLP or a Pipeline ending in one) with a live progress bar.

    The bar (tqdm, on ``file``, default stderr; ``disable=None`` hides it where
    that is not a terminal) follows the estimator's ``loss_curve_``, see
    FitProgress. L-BFGS keeps no loss curve: its bar is brought up to date at
    the end. Returns the FitProgress (epochs, last loss and validation score,
    why training stopped) and the warnings the fit raised.
    """
    from tqdm import tqdm

    est = model.steps[-1][1] if hasattr(model, "steps") else model
    bar = tqdm(
        total=est.max_iter,
        desc="training",
        unit="epoch",
        file=sys.stderr if file is None else file,
        disable=disable,
        dynamic_ncols=True,
        leave=True,
    )
    progress = FitProgress(est, bar, interval)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with progress:
                model.fit(X, y)
        if est.solver == "lbfgs":
            bar.update(est.n_iter_ - bar.n)
        progress.stop_reason = _stop_reason(est)
        if progress.stop_reason:
            bar.set_description_str("stopped early", refresh=False)
    finally:
        bar.close()
    return progress, list(caught)


# ----------------------------------------------------------------------
# fit
# ----------------------------------------------------------------------
def _hidden_sizes(text):
    import argparse

    try:
        sizes = tuple(int(s) for s in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            "expected layer sizes like 5,5 (positive integers), got %r" % text
        ) from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError("layer sizes must be at least 1: %r" % text)
    return sizes


def _labels(values):
    """Class labels as written; integers (all of them) become int64."""
    values = [v.strip() for v in values]
    if all(_INT_LABEL.match(v) for v in values):
        return np.asarray([int(v) for v in values], dtype=np.int64)
    return np.asarray(values)


def _describe_layers(est):
    units = [est.coefs_[0].shape[0]] + [c.shape[1] for c in est.coefs_]
    inner = "".join(" -> %d" % u for u in units[1:-1])
    return "%d inputs%s -> %d outputs (%s, %s)" % (
        units[0],
        inner,
        units[-1],
        est.activation,
        est.out_activation_,
    )


def _warm_up(est, X, y):
    """Load (or compile, on the first run) the kernels this fit will use, so that
    the reported fit time is training time. Returns the seconds it took."""
    from sklearn.base import clone

    t0 = time.perf_counter()
    k = min(len(y), 200)
    tiny = clone(est).set_params(max_iter=2, warm_start=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            tiny.fit(X[:k], y[:k])
            tiny.predict(X[:k])
        except Exception:  # noqa: BLE001 - the real fit reports real problems
            pass
    return time.perf_counter() - t0


def _check_writable(path, what):
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise CLIError(
            "cannot write %s %s: no such directory %s" % (what, path, directory)
        )
    if os.path.isdir(path):
        raise CLIError("cannot write %s %s: it is a directory" % (what, path))


def _feature_names(args, table):
    """The feature columns: --features, or every column but the target."""
    target = args.target
    if target not in table.names:
        raise CLIError(
            "%s has no column %r (its columns: %s)"
            % (args.data, target, _columns_list(table.names))
        )
    if args.features:
        features = [f.strip() for f in args.features.split(",") if f.strip()]
        missing = [f for f in features if f not in table.names]
        if missing:
            raise CLIError(
                "%s has no column %s (its columns: %s)"
                % (
                    args.data,
                    ", ".join(repr(m) for m in missing),
                    _columns_list(table.names),
                )
            )
        if target in features:
            raise CLIError("the target column %r is also a feature column" % target)
    else:
        features = [n for n in table.names if n != target]
    if not features:
        raise CLIError("%s has no feature columns besides %r" % (args.data, target))
    return features


def _training_data(args, table, features):
    """X (float64, or float32 with --float32) and y (numbers with
    --regression, else class labels, at least two of them)."""
    X = table.numeric(features, what="feature column")
    if args.float32:
        X = X.astype(np.float32)
    if args.regression:
        y = table.numeric_column(args.target, what="target column")
    else:
        y = _labels(table.column(args.target))
        n_classes = len(np.unique(y))
        if n_classes < 2:
            raise CLIError(
                "the target column %r holds a single class (%r): nothing to learn"
                % (args.target, str(y[0]))
            )
    return X, y


def _check_fit_outputs(args):
    """The model file, and the plot with --plot, can be written (checked
    before training, so that a long fit is not lost to a typo)."""
    _check_writable(args.out, "the model file")
    if not args.plot:
        return
    if args.solver == "lbfgs":
        raise CLIError(
            "--plot draws the loss per epoch, which only the adam and sgd "
            "solvers record (not lbfgs)"
        )
    try:
        import matplotlib
    except ImportError:
        raise CLIError("--plot needs matplotlib: pip install 'fastmlp[plot]'") from None
    matplotlib.use("Agg", force=True)
    _check_writable(args.plot, "the plot")


def _make_estimator(args):
    """The MLPClassifier or MLPRegressor that fit's options describe, its
    parameters checked."""
    from fastmlp import MLPClassifier, MLPRegressor

    params = dict(
        hidden_layer_sizes=args.hidden,
        activation=args.activation,
        solver=args.solver,
        alpha=args.alpha,
        learning_rate_init=args.learning_rate,
        max_iter=args.max_iter,
        early_stopping=args.early_stopping,
        validation_fraction=args.validation_fraction,
        random_state=args.random_state,
    )
    if args.batch_size is not None:
        params["batch_size"] = args.batch_size
    est = MLPRegressor(**params) if args.regression else MLPClassifier(**params)
    try:
        est._validate_params()
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    return est


def _describe_task(args, table, features, y):
    if args.regression:
        what = "target %r (regression)" % args.target
    else:
        classes = np.unique(y)
        what = "target %r (%d classes: %s)" % (
            args.target,
            len(classes),
            _columns_list([str(c) for c in classes]),
        )
    return "%s: %d rows, %d feature columns, %s" % (
        args.data,
        len(table.rows),
        len(features),
        what,
    )


def _train(est, model, X, y):
    """Warm the kernels up, then fit ``model`` with a progress bar. Returns
    (warm-up seconds, fit seconds, the FitProgress, the warnings raised)."""
    try:
        warm_seconds = _warm_up(est, X, y)
        t0 = time.perf_counter()
        progress, caught = fit_with_progress(model, X, y)
    except ValueError as exc:
        raise CLIError("training failed: %s" % exc) from None
    except MemoryError as exc:
        raise CLIError(
            "training failed: not enough memory for this network (%s); use "
            "smaller --hidden layers" % (exc or "MemoryError")
        ) from None
    fit_seconds = time.perf_counter() - t0
    for w in caught:
        if "interrupted by user" in str(w.message):
            raise KeyboardInterrupt
    return warm_seconds, fit_seconds, progress, caught


def _report_training(args, est, X, timings, progress, caught, out):
    """The network, the epochs and their time, why training stopped."""
    warm_seconds, fit_seconds = timings
    out("network: %s, %s, %s" % (_describe_layers(est), est.solver, X.dtype))
    loss_text = (
        "; last epoch's training loss %.4g" % est.loss_ if hasattr(est, "loss_") else ""
    )
    out(
        "trained %d %s in %.2f s%s"
        % (
            est.n_iter_,
            "epochs" if est.solver != "lbfgs" else "iterations",
            fit_seconds,
            loss_text,
        )
    )
    if warm_seconds > 1.0:
        out(
            "(before that, %.1f s to compile the kernels: once, then cached)"
            % warm_seconds
        )
    if progress.stop_reason:
        out("stopped: %s" % progress.stop_reason)
    for w in caught:
        if w.category.__name__ == "ConvergenceWarning":
            out(
                "note: reached --max-iter %d before converging; a larger --max-iter "
                "may fit better" % args.max_iter
            )
            break


def _report_scores(args, est, score_name, scores, n_rows, out):
    """The training score, and the validation score where rows were held out."""
    train_score, val_score = scores
    out(
        "training %s: %.4f (all %d rows%s)"
        % (
            score_name,
            train_score,
            n_rows,
            ", the held-out ones included" if args.early_stopping else "",
        )
    )
    if val_score is not None:
        best_epoch = int(np.argmax(est.validation_scores_)) + 1
        out(
            "validation %s: %.4f (best epoch %d, on the %g%% of rows held out by "
            "--early-stopping; the weights of that epoch are kept)"
            % (score_name, val_score, best_epoch, 100 * args.validation_fraction)
        )
    else:
        out(
            "validation %s: none (without --early-stopping no rows are held out)"
            % score_name
        )


def _save_plot(args, model, out):
    from fastmlp import plot_loss_curve

    ax = plot_loss_curve(model)
    try:
        ax.figure.savefig(args.plot, dpi=100)
    except OSError as exc:
        raise CLIError("cannot write %s: %s" % (args.plot, exc.strerror)) from None
    out("loss curve: %s" % args.plot)


def cmd_fit(args, out=print):
    """``fastmlp fit``: read the CSV, train, report, save the model file."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from fastmlp import save

    table = read_csv(args.data)
    features = _feature_names(args, table)
    X, y = _training_data(args, table, features)
    _check_fit_outputs(args)
    est = _make_estimator(args)
    model = make_pipeline(StandardScaler(), est)
    out(_describe_task(args, table, features, y))

    warm_seconds, fit_seconds, progress, caught = _train(est, model, X, y)
    score_name = "R2" if args.regression else "accuracy"
    train_score = float(model.score(X, y))
    # The network was trained on named columns: record the names as a fit on a
    # DataFrame would, so that predict can match columns by name.
    model[0].feature_names_in_ = np.asarray(features, dtype=object)
    val_score = est.best_validation_score_ if args.early_stopping else None
    _report_training(args, est, X, (warm_seconds, fit_seconds), progress, caught, out)
    _report_scores(args, est, score_name, (train_score, val_score), len(y), out)

    metadata = {
        "target": args.target,
        "task": "regression" if args.regression else "classification",
        "training_data": os.path.basename(args.data),
        "rows": len(y),
        "fit_seconds": round(fit_seconds, 4),
        "training_score": train_score,
        "validation_score": val_score,
        "score": score_name,
    }
    try:
        save(model, args.out, metadata=metadata)
    except OSError as exc:
        raise CLIError("cannot write %s: %s" % (args.out, exc.strerror)) from None
    out("saved %s" % args.out)
    if args.plot:
        _save_plot(args, model, out)
    return 0


# ----------------------------------------------------------------------
# predict and info
# ----------------------------------------------------------------------
def _load(path):
    from fastmlp._io import _read

    try:
        return _read(path)
    except FileNotFoundError:
        raise CLIError("%s: no such file" % path) from None
    except IsADirectoryError:
        raise CLIError("%s: is a directory, not a model file" % path) from None
    except PermissionError:
        raise CLIError("%s: permission denied" % path) from None
    except ValueError as exc:
        raise CLIError(str(exc)) from None


def _final(model):
    return model.steps[-1][1] if hasattr(model, "steps") else model


def cmd_predict(args, out=print):
    header, model = _load(args.model)
    est = _final(model)
    classifier = type(est).__name__ == "MLPClassifier"
    if args.proba and not classifier:
        raise CLIError(
            "--proba needs a classifier; %s is a regression model" % args.model
        )
    table = read_csv(args.data)
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        names = [str(n) for n in names]
        missing = [n for n in names if n not in table.names]
        if len(missing) == len(names):
            raise CLIError(
                "%s has none of the model's %d feature columns (%s)"
                % (args.data, len(names), _columns_list(names))
            )
        if missing:
            raise CLIError(
                "%s has no column %s, which the model needs"
                % (args.data, _columns_list([repr(m) for m in missing]))
            )
    else:
        # A model saved from Python without column names: the columns in order.
        if len(table.names) != est.n_features_in_:
            raise CLIError(
                "%s has %d columns; the model has no feature names and takes its "
                "%d features in order"
                % (args.data, len(table.names), est.n_features_in_)
            )
        names = table.names
    X = table.numeric(names, what="feature column")

    with warnings.catch_warnings():
        # The columns were matched by name above; the array has none.
        warnings.filterwarnings("ignore", message="X does not have valid feature")
        if args.proba:
            values = model.predict_proba(X)
            columns = [str(c) for c in est.classes_]
        else:
            values = model.predict(X)
            target = (header.get("metadata") or {}).get("target")
            if values.ndim == 1:
                columns = [str(target) if target else "prediction"]
            elif classifier:
                columns = [str(c) for c in est.classes_]
            else:
                columns = ["prediction_%d" % j for j in range(values.shape[1])]
    values = values.reshape(len(X), -1)

    def write(f):
        w = csv.writer(f, lineterminator="\n")
        w.writerow(columns)
        for row in values:
            w.writerow([str(v) for v in row])

    if args.out:
        _check_writable(args.out, "the predictions")
        try:
            with open(args.out, "w", newline="", encoding="utf-8") as f:
                write(f)
        except OSError as exc:
            raise CLIError("cannot write %s: %s" % (args.out, exc.strerror)) from None
        out("wrote %d predictions to %s" % (len(values), args.out))
    else:
        write(sys.stdout)
    return 0


def cmd_info(args, out=print):
    header, model = _load(args.model)
    est = _final(model)
    entry = header["estimator"]
    meta = header.get("metadata") or {}

    def row(label, text):
        out("%-12s %s" % (label + ":", text))

    out(
        "%s: fastmlp model file, format version %d, written by fastmlp %s"
        % (args.model, header["format_version"], header["fastmlp_version"])
    )
    if hasattr(model, "steps"):
        kinds = " -> ".join(type(step).__name__ for _, step in model.steps)
        row("model", "Pipeline: %s" % kinds)
    else:
        row("model", type(est).__name__)
    row("layers", _describe_layers(est))
    row(
        "parameters",
        "%d weights and biases, %s" % (entry["n_parameters"], entry["dtype"]),
    )
    if type(est).__name__ == "MLPClassifier":
        classes = [str(c) for c in est.classes_]
        kind = est._label_binarizer.y_type_
        row("classes", "%d (%s): %s" % (len(classes), kind, _columns_list(classes)))
    else:
        row("targets", "%d (%s loss)" % (est.n_outputs_, est.loss))
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        row("features", "%d: %s" % (len(names), ", ".join(str(n) for n in names)))
    else:
        row("features", "%d, unnamed" % est.n_features_in_)
    if meta.get("target"):
        row(
            "target",
            "%s (%s), from %s, %s rows"
            % (
                meta["target"],
                meta.get("task", "?"),
                meta.get("training_data", "?"),
                meta.get("rows", "?"),
            ),
        )
    epochs = "epochs" if est.solver != "lbfgs" else "iterations"
    trained = "%s, %d %s" % (est.solver, est.n_iter_, epochs)
    if getattr(est, "t_", None):
        trained += ", %d samples seen" % est.t_
    if "fit_seconds" in meta:
        trained += ", %.2f s" % meta["fit_seconds"]
    row("trained", trained)
    loss = "%.6g" % est.loss_
    if est.solver != "lbfgs":
        loss += " (last epoch)"
    if getattr(est, "best_loss_", None) is not None:
        loss += ", best %.6g" % est.best_loss_
    row("loss", loss)
    if meta.get("training_score") is not None:
        row(
            "training", "%s %.4f" % (meta.get("score", "score"), meta["training_score"])
        )
    if getattr(est, "best_validation_score_", None) is not None:
        row(
            "validation",
            "%s %.4f (best of %d epochs, early stopping)"
            % (
                meta.get("score", "score"),
                est.best_validation_score_,
                len(est.validation_scores_),
            ),
        )
    params = est.get_params()
    row("settings", ", ".join("%s=%r" % kv for kv in sorted(params.items())))
    return 0


# ----------------------------------------------------------------------
# bench
# ----------------------------------------------------------------------
def _bench_folder():
    """The benchmarks/ folder of the source tree this fastmlp is imported from
    (an editable install of a clone, or a run from the clone itself), or None:
    the benchmark is not part of the package a wheel installs."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    folder = os.path.join(root, "benchmarks")
    wanted = [
        os.path.join(root, "pyproject.toml"),
        os.path.join(folder, "compare.py"),
        os.path.join(folder, "harness.py"),
    ]
    return folder if all(os.path.isfile(p) for p in wanted) else None


def run_bench(argv):
    """``fastmlp bench``: benchmarks/compare.py of the source tree, run in this
    process with the arguments after "bench"."""
    import importlib.util

    folder = _bench_folder()
    if folder is None:
        raise CLIError(
            "the benchmark lives in the benchmarks/ folder of fastmlp's repository, "
            "not in this installation: in a clone, run python benchmarks/compare.py"
        )
    if folder not in sys.path:
        sys.path.insert(0, folder)  # compare.py imports harness.py beside it
    spec = importlib.util.spec_from_file_location(
        "compare", os.path.join(folder, "compare.py")
    )
    compare = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(compare)
    return compare.main(argv, prog="fastmlp bench")
