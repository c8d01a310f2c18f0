"""fastmlp.plot_loss_curve."""

import builtins
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fastmlp import MLPClassifier, MLPRegressor, plot_loss_curve

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def _quiet_and_closed():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield
    plt.close("all")


def _data(n=120):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 3))
    return X, np.where(X[:, 0] + X[:, 1] > 0, "up", "down")


def test_loss_curve_with_validation_scores_written_as_png(tmp_path):
    X, y = _data()
    model = MLPClassifier((5,), max_iter=30, early_stopping=True, random_state=0)
    model.fit(X, y)
    ax = plot_loss_curve(model)
    loss_line = ax.get_lines()[0]
    np.testing.assert_array_equal(loss_line.get_ydata(), model.loss_curve_)
    np.testing.assert_array_equal(
        loss_line.get_xdata(), np.arange(1, model.n_iter_ + 1)
    )
    right = ax.right_ax
    np.testing.assert_array_equal(
        right.get_lines()[0].get_ydata(), model.validation_scores_
    )
    assert right.get_ylabel() == "validation accuracy"
    assert ax.get_xlabel() == "epoch"
    assert "log-loss" in ax.get_ylabel()
    assert "MLPClassifier" in ax.get_title()
    path = tmp_path / "curve.png"
    ax.figure.savefig(path)
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 1000


def test_regressor_in_a_pipeline_on_given_axes():
    X, _ = _data()
    model = make_pipeline(
        StandardScaler(), MLPRegressor(hidden_layer_sizes=(4,), max_iter=10)
    )
    model.fit(X, X[:, 0] * 2)
    _, ax = plt.subplots()
    assert plot_loss_curve(model, ax=ax) is ax
    assert len(ax.get_lines()) == 1  # no validation scores without early stopping
    assert not hasattr(ax, "right_ax")
    assert "squared error" in ax.get_ylabel()


def test_no_loss_curve_for_lbfgs():
    X, y = _data()
    model = MLPClassifier((3,), solver="lbfgs", max_iter=5).fit(X, y)
    with pytest.raises(ValueError, match="lbfgs"):
        plot_loss_curve(model)


def test_missing_matplotlib_names_the_extra(monkeypatch):
    X, y = _data()
    model = MLPClassifier((3,), max_iter=3).fit(X, y)
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError("No module named 'matplotlib'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    with pytest.raises(ImportError, match=r"fastmlp\[plot\]"):
        plot_loss_curve(model)
