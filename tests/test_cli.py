"""The fastmlp command line, run as a user runs it (subprocesses) and in-process."""

import csv
import io
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import fastmlp
from fastmlp import MLPClassifier, MLPRegressor
from fastmlp.__main__ import main
from fastmlp._cli import fit_with_progress

REPO = str(Path(fastmlp.__file__).resolve().parent.parent)
SPECIES = np.array(["Adelie", "Gentoo", "Chinstrap"])
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def fastmlp_cli(*args, cwd):
    """Run ``python -m fastmlp ARGS`` in a fresh process, on this checkout."""
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run(
        [sys.executable, "-m", "fastmlp", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def _birds(n=150, seed=0):
    """Three species told apart by two of four measurements (text labels)."""
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 3, n)
    X = rng.normal(size=(n, 4))
    X[:, 0] += 2.0 * label
    X[:, 2] -= 1.5 * (label == 1)
    X = X * [5.0, 1.0, 20.0, 300.0] + [40.0, 17.0, 200.0, 4000.0]
    return X, SPECIES[label]


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    X, y = _birds()
    header = ["bill", "depth", "flipper", "mass", "species"]
    _write_csv(
        d / "birds.csv", header, [[*map(str, x), s] for x, s in zip(X, y, strict=True)]
    )
    # New birds: columns in another order, an extra text column, no target.
    Xn, _ = _birds(12, seed=1)
    _write_csv(
        d / "new.csv",
        ["name", "mass", "flipper", "bill", "depth"],
        [
            ["bird%d" % i, str(x[3]), str(x[2]), str(x[0]), str(x[1])]
            for i, x in enumerate(Xn)
        ],
    )
    result = fastmlp_cli(
        "fit",
        "birds.csv",
        "--target",
        "species",
        "--out",
        "birds.fastmlp",
        "--hidden",
        "6,4",
        "--learning-rate",
        "0.01",
        "--max-iter",
        "60",
        "--early-stopping",
        "--random-state",
        "0",
        "--plot",
        "curve.png",
        cwd=d,
    )
    return d, result, Xn


def _assert_user_error(result, *fragments):
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("fastmlp: error: ")
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


# ----------------------------------------------------------------------
# Subprocesses: what a user types
# ----------------------------------------------------------------------
def test_fit_classification_with_text_labels(work):
    d, result, _ = work
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    out = result.stdout
    assert "150 rows, 4 feature columns, target 'species' (3 classes" in out
    assert "4 inputs -> 6 -> 4 -> 3 outputs (relu, softmax), adam, float64" in out
    assert "training accuracy:" in out and "validation accuracy:" in out
    assert "saved birds.fastmlp" in out
    model = fastmlp.load(d / "birds.fastmlp")
    assert list(model.feature_names_in_) == ["bill", "depth", "flipper", "mass"]
    assert sorted(model.classes_) == sorted(SPECIES)
    assert model[-1].verbose is False
    assert model[-1].early_stopping is True
    png = (d / "curve.png").read_bytes()
    assert png.startswith(PNG_SIGNATURE) and len(png) > 1000


def test_predict_matches_columns_by_name(work):
    d, _, Xn = work
    result = fastmlp_cli("predict", "birds.fastmlp", "new.csv", cwd=d)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "species"
    model = fastmlp.load(d / "birds.fastmlp")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # an array has no names
        expected = model.predict(Xn)
    assert lines[1:] == list(expected)


def test_predict_proba_to_a_file(work):
    d, _, Xn = work
    result = fastmlp_cli(
        "predict", "birds.fastmlp", "new.csv", "--proba", "--out", "p.csv", cwd=d
    )
    assert result.returncode == 0, result.stderr
    assert "wrote 12 predictions to p.csv" in result.stdout
    with open(d / "p.csv", newline="") as f:
        rows = list(csv.reader(f))
    model = fastmlp.load(d / "birds.fastmlp")
    assert rows[0] == [str(c) for c in model.classes_]
    proba = np.array(rows[1:], dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        np.testing.assert_array_equal(proba, model.predict_proba(Xn))


def test_info(work):
    d, _, _ = work
    result = fastmlp_cli("info", "birds.fastmlp", cwd=d)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "format version 1, written by fastmlp %s" % fastmlp.__version__ in out
    assert "Pipeline: StandardScaler -> MLPClassifier" in out
    assert "4 inputs -> 6 -> 4 -> 3 outputs" in out
    assert "%d weights and biases, float64" % (4 * 6 + 6 + 6 * 4 + 4 + 4 * 3 + 3) in out
    assert "3 (multiclass): Adelie, Chinstrap, Gentoo" in out
    assert "4: bill, depth, flipper, mass" in out
    assert "species (classification), from birds.csv, 150 rows" in out
    assert "hidden_layer_sizes=(6, 4)" in out and "early_stopping=True" in out


def test_fit_and_predict_regression(tmp_path):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(100, 3))
    y = X @ [1.0, -2.0, 0.5] + 10
    rows = [[*map(str, x), str(t)] for x, t in zip(X, y, strict=True)]
    _write_csv(tmp_path / "r.csv", ["u", "v", "w", "target"], rows)
    fit = fastmlp_cli(
        "fit",
        "r.csv",
        "--target",
        "target",
        "--regression",
        "--out",
        "r.fastmlp",
        "--hidden",
        "8",
        "--max-iter",
        "40",
        "--float32",
        "--random-state",
        "1",
        cwd=tmp_path,
    )
    assert fit.returncode == 0, fit.stderr
    assert "training R2:" in fit.stdout
    assert "float32" in fit.stdout
    assert "note: reached --max-iter 40 before converging" in fit.stdout
    result = fastmlp_cli("predict", "r.fastmlp", "r.csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "target" and len(lines) == 101
    model = fastmlp.load(tmp_path / "r.fastmlp")
    assert model[-1].coefs_[0].dtype == np.float32
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        expected = model.predict(X)
    np.testing.assert_array_equal(np.array(lines[1:], dtype=np.float32), expected)


def test_help_and_bench_help(tmp_path):
    result = fastmlp_cli("--help", cwd=tmp_path)
    assert result.returncode == 0
    for command in ["fit", "predict", "info", "demo", "bench"]:
        assert command in result.stdout
    result = fastmlp_cli("bench", "--help", cwd=tmp_path)
    assert "Traceback" not in result.stderr
    if result.returncode == 2:  # the benchmark module is not installed here
        _assert_user_error(result, "benchmark")
    else:
        assert result.returncode == 0
        assert "fastmlp bench" in result.stdout


def test_error_missing_file(tmp_path):
    result = fastmlp_cli("fit", "nope.csv", "--target", "y", "--out", "m", cwd=tmp_path)
    _assert_user_error(result, "nope.csv: no such file")


def test_error_missing_target_column(work):
    d, _, _ = work
    result = fastmlp_cli(
        "fit", "birds.csv", "--target", "wingspan", "--out", "m", cwd=d
    )
    _assert_user_error(result, "has no column 'wingspan'", "bill, depth")


def test_error_non_numeric_feature(tmp_path):
    _write_csv(tmp_path / "t.csv", ["a", "b", "y"], [[1, 2, "x"], [3, "tall", "z"]])
    result = fastmlp_cli("fit", "t.csv", "--target", "y", "--out", "m", cwd=tmp_path)
    _assert_user_error(result, "feature column 'b' is not numeric (line 3: 'tall')")


def test_error_empty_csv(tmp_path):
    (tmp_path / "e.csv").write_text("")
    result = fastmlp_cli("fit", "e.csv", "--target", "y", "--out", "m", cwd=tmp_path)
    _assert_user_error(result, "e.csv: the file is empty")


def test_error_header_only_csv(tmp_path):
    (tmp_path / "h.csv").write_text("a,b,y\n")
    result = fastmlp_cli("fit", "h.csv", "--target", "y", "--out", "m", cwd=tmp_path)
    _assert_user_error(result, "h.csv: the file has a header but no data rows")


def test_error_not_a_model_file(work):
    d, _, _ = work
    result = fastmlp_cli("predict", "birds.csv", "new.csv", cwd=d)
    _assert_user_error(result, "birds.csv: not a fastmlp model file")


def test_error_missing_feature_column_at_predict(work):
    d, _, _ = work
    _write_csv(d / "partial.csv", ["bill", "depth", "mass"], [[40, 17, 4000]])
    result = fastmlp_cli("predict", "birds.fastmlp", "partial.csv", cwd=d)
    _assert_user_error(result, "partial.csv has no column 'flipper'")


# ----------------------------------------------------------------------
# In-process: the remaining mistakes, and the progress bar
# ----------------------------------------------------------------------
def _main_error(capsys, *argv):
    assert main([str(a) for a in argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("fastmlp: error: ")
    return err[0]


@pytest.mark.parametrize(
    "content, fragment",
    [
        ("a,b,y\n1,2,x\n3,4\n", "line 3 has 2 fields, the header has 3"),
        ("a,a,y\n1,2,x\n", "names column 'a' twice"),
        ("a,,y\n1,2,x\n", "column 2 has no name"),
        ("a,b,y\n1,2,x\n3,,z\n", "feature column 'b' has an empty value on line 3"),
        ("a,b,y\n1,2,x\n3,nan,z\n", "missing or infinite value on line 3"),
        ("a,b,y\n1,2,x\n3,4,x\n", "single class ('x')"),
        ("y\nx\nz\n", "no feature columns besides 'y'"),
    ],
)
def test_fit_mistakes_in_the_csv(tmp_path, capsys, content, fragment):
    (tmp_path / "d.csv").write_text(content)
    err = _main_error(
        capsys, "fit", tmp_path / "d.csv", "--target", "y", "--out", tmp_path / "m"
    )
    assert fragment in err
    assert not (tmp_path / "m").exists()


def test_fit_mistakes_in_the_options(tmp_path, capsys):
    data = _write_csv(tmp_path / "d.csv", ["a", "b", "y"], [[1, 2, "x"], [3, 4, "z"]])
    base = ["fit", data, "--target", "y"]
    err = _main_error(capsys, *base, "--out", tmp_path / "no" / "m")
    assert "no such directory" in err
    err = _main_error(capsys, *base, "--out", tmp_path / "m", "--regression")
    assert "target column 'y' is not numeric" in err
    err = _main_error(
        capsys, *base, "--out", tmp_path / "m", "--solver", "lbfgs", "--plot", "c.png"
    )
    assert "lbfgs" in err
    err = _main_error(capsys, *base, "--out", tmp_path / "m", "--max-iter", "0")
    assert "max_iter" in err
    err = _main_error(capsys, *base, "--out", tmp_path / "m", "--features", "a,q")
    assert "has no column 'q'" in err
    (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00garbage")
    err = _main_error(
        capsys, "fit", tmp_path / "bin.csv", "--target", "y", "--out", "m"
    )
    assert "not a text file" in err


def test_predict_mistakes(tmp_path, capsys):
    X, _ = _birds(40)
    reg = make_pipeline(
        StandardScaler(), MLPRegressor(hidden_layer_sizes=(3,), max_iter=2)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X, X[:, 0])
    fastmlp.save(reg, tmp_path / "reg.fastmlp")
    data = _write_csv(tmp_path / "d.csv", ["a", "b", "c", "d"], [[1, 2, 3, 4]])
    err = _main_error(capsys, "predict", tmp_path / "reg.fastmlp", data, "--proba")
    assert "--proba needs a classifier" in err
    # A model saved from Python without column names takes the columns in order.
    assert main(["predict", str(tmp_path / "reg.fastmlp"), str(data)]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "prediction"
    wide = _write_csv(tmp_path / "w.csv", ["a", "b", "c", "d", "e"], [[1, 2, 3, 4, 5]])
    err = _main_error(capsys, "predict", tmp_path / "reg.fastmlp", wide)
    assert "has 5 columns" in err
    truncated = tmp_path / "cut.fastmlp"
    truncated.write_bytes((tmp_path / "reg.fastmlp").read_bytes()[:500])
    err = _main_error(capsys, "info", truncated)
    assert "cut.fastmlp" in err and "truncated or damaged" in err
    err = _main_error(capsys, "info", data)
    assert "d.csv: not a fastmlp model file" in err
    err = _main_error(capsys, "info", tmp_path / "gone.fastmlp")
    assert "gone.fastmlp: no such file" in err


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_progress_bar_follows_the_fit_and_changes_nothing():
    X, y = _birds(200)
    X = StandardScaler().fit_transform(X)
    params = dict(
        hidden_layer_sizes=(5,),
        learning_rate_init=0.01,
        max_iter=40,
        early_stopping=True,
        random_state=0,
    )
    quiet = MLPClassifier(**params).fit(X, y)
    shown = MLPClassifier(**params)
    screen = io.StringIO()
    progress, caught = fit_with_progress(shown, X, y, file=screen, disable=False)
    assert shown.verbose is False
    for a, b in zip(
        quiet.coefs_ + quiet.intercepts_, shown.coefs_ + shown.intercepts_, strict=True
    ):
        np.testing.assert_array_equal(a, b)
    assert shown.loss_curve_ == quiet.loss_curve_
    assert progress.epoch == shown.n_iter_
    assert progress.loss == pytest.approx(shown.loss_, rel=1e-7)
    assert progress.validation == pytest.approx(shown.validation_scores_[-1])
    text = screen.getvalue()
    assert "epoch" in text and "loss=" in text and "val=" in text
    assert "%d/40" % shown.n_iter_ in text
    # Without early stopping too (fastmlp's many-epochs-per-call path).
    params["early_stopping"] = False
    quiet = MLPClassifier(**params).fit(X, y)
    shown = MLPClassifier(**params)
    progress, _ = fit_with_progress(shown, X, y, file=io.StringIO(), disable=False)
    np.testing.assert_array_equal(quiet.coefs_[0], shown.coefs_[0])
    assert progress.epoch == shown.n_iter_ and progress.validation is None
    if shown.n_iter_ < 40:
        assert progress.stop_reason.startswith("validation score did not improve")
    else:
        assert any(w.category is ConvergenceWarning for w in caught)


def test_progress_bar_moves_while_fit_runs():
    """The helper thread reads loss_curve_ while fit is still running."""

    class SlowFit:
        solver = "adam"
        max_iter = 50
        early_stopping = True
        n_iter_no_change = 10
        tol = 1e-4

        def fit(self, X, y):
            self.loss_curve_, self.validation_scores_ = [], []
            for epoch in range(1, 6):
                time.sleep(0.05)
                self.loss_curve_.append(1.0 / epoch)
                self.validation_scores_.append(0.5 + epoch / 100)
            self.n_iter_ = 5
            return self

    class Bar:
        def __init__(self, *args, **kwargs):
            self.n, self.seen, self.desc = 0, [], None

        def update(self, k):
            self.n += k
            self.seen.append((self.n, self.postfix))

        def set_postfix_str(self, s, refresh=True):
            self.postfix = s

        def set_description_str(self, s, refresh=True):
            self.desc = s

        def close(self):
            pass

    bar = Bar()
    with mock.patch("tqdm.tqdm", lambda *a, **k: bar):
        progress, _ = fit_with_progress(SlowFit(), None, None, interval=0.01)
    assert len(bar.seen) >= 3  # moved during the fit, not only at its end
    assert [n for n, _ in bar.seen] == sorted({n for n, _ in bar.seen})
    assert bar.seen[-1] == (5, "loss=0.2, val=0.5500")
    assert progress.epoch == 5 and progress.validation == 0.55
    assert progress.stop_reason.startswith("validation score did not improve")
    assert bar.desc == "stopped early"


@pytest.mark.parametrize(
    "labels, dtype",
    [(["0", "1", "-1"], np.int64), (["07", "7", "-1"], np.str_)],
)
def test_integer_labels_become_integers_when_written_plainly(
    tmp_path, capsys, labels, dtype
):
    X, _ = _birds(30)
    rows = [[*map(str, x), labels[i % 3]] for i, x in enumerate(X)]
    data = _write_csv(tmp_path / "d.csv", ["a", "b", "c", "d", "y"], rows)
    out = tmp_path / "m.fastmlp"
    argv = ["fit", data, "--target", "y", "--out", out, "--max-iter", "3"]
    assert main([str(a) for a in argv]) == 0
    assert "3 classes" in capsys.readouterr().out
    classes = fastmlp.load(out).classes_
    assert classes.dtype.type is dtype
    assert sorted(str(c) for c in classes) == sorted(labels)


def test_plot_without_matplotlib_names_the_extra(tmp_path, capsys):
    data = _write_csv(tmp_path / "d.csv", ["a", "y"], [[1, "x"], [2, "z"]])
    argv = ["fit", data, "--target", "y", "--out", tmp_path / "m", "--plot", "c.png"]
    with mock.patch.dict(sys.modules, {"matplotlib": None}):
        err = _main_error(capsys, *argv)
    assert "pip install 'fastmlp[plot]'" in err
    assert not (tmp_path / "m").exists()
