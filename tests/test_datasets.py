"""Tests for the bundled data sets in fastmlp.datasets."""

import csv
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from sklearn.utils import Bunch

import fastmlp.datasets
from fastmlp.datasets import load_penguins

FEATURE_NAMES = [
    "bill_length_mm",
    "bill_depth_mm",
    "flipper_length_mm",
    "body_mass_g",
]
TARGET_NAMES = ["Adelie", "Gentoo", "Chinstrap"]
N_SAMPLES = 342
CLASS_COUNTS = {"Adelie": 151, "Gentoo": 123, "Chinstrap": 68}


def _data_file():
    return resources.files("fastmlp.datasets") / "data" / "penguins.csv"


def test_exports():
    assert fastmlp.datasets.__all__ == ["load_penguins"]


def test_bunch_keys():
    penguins = load_penguins()
    assert isinstance(penguins, Bunch)
    assert set(penguins) == {
        "data",
        "target",
        "frame",
        "feature_names",
        "target_names",
        "DESCR",
    }
    assert penguins.frame is None


def test_shapes_and_dtypes():
    penguins = load_penguins()
    assert isinstance(penguins.data, np.ndarray)
    assert isinstance(penguins.target, np.ndarray)
    assert penguins.data.shape == (N_SAMPLES, 4)
    assert penguins.target.shape == (N_SAMPLES,)
    assert penguins.data.dtype == np.float64
    assert penguins.target.dtype == np.int64


def test_no_missing_values():
    penguins = load_penguins()
    assert np.isfinite(penguins.data).all()
    assert (penguins.data > 0).all()


def test_feature_and_target_names():
    penguins = load_penguins()
    assert penguins.feature_names == FEATURE_NAMES
    assert isinstance(penguins.target_names, np.ndarray)
    assert penguins.target_names.tolist() == TARGET_NAMES
    assert set(np.unique(penguins.target)) == {0, 1, 2}


def test_class_counts():
    penguins = load_penguins()
    names, counts = np.unique(
        penguins.target_names[penguins.target], return_counts=True
    )
    assert dict(zip(names.tolist(), counts.tolist(), strict=True)) == CLASS_COUNTS


def test_matches_csv():
    # Independent reading of the file: same rows, same order, same labels.
    with resources.as_file(_data_file()) as path:
        with open(path, newline="", encoding="utf-8") as f:
            records = list(csv.DictReader(f))
    assert len(records) == 344
    complete = [r for r in records if all(r[c] != "NA" for c in FEATURE_NAMES)]
    expected_X = np.array([[float(r[c]) for c in FEATURE_NAMES] for r in complete])
    expected_species = [r["species"] for r in complete]

    penguins = load_penguins()
    np.testing.assert_array_equal(penguins.data, expected_X)
    assert penguins.target_names[penguins.target].tolist() == expected_species
    np.testing.assert_array_equal(penguins.data[0], [39.1, 18.7, 181.0, 3750.0])


def test_return_X_y():
    penguins = load_penguins()
    X, y = load_penguins(return_X_y=True)
    np.testing.assert_array_equal(X, penguins.data)
    np.testing.assert_array_equal(y, penguins.target)
    assert X.dtype == np.float64
    assert y.dtype == np.int64


def test_calls_return_independent_arrays():
    X1, _ = load_penguins(return_X_y=True)
    X1[:] = 0.0
    X2, _ = load_penguins(return_X_y=True)
    assert (X2 > 0).all()


def test_descr_mentions_attribution():
    descr = load_penguins().DESCR
    assert isinstance(descr, str)
    for fragment in [
        "Gorman",
        "Williams",
        "Fraser",
        "PLoS ONE 9(3): e90081",
        "Horst",
        "palmerpenguins",
        "CC0",
        str(N_SAMPLES),
    ]:
        assert fragment in descr


def test_keyword_only_arguments():
    with pytest.raises(TypeError):
        load_penguins(True)


def test_as_frame():
    pd = pytest.importorskip("pandas")
    penguins = load_penguins(as_frame=True)
    assert isinstance(penguins.data, pd.DataFrame)
    assert isinstance(penguins.target, pd.Series)
    assert isinstance(penguins.frame, pd.DataFrame)
    assert list(penguins.data.columns) == FEATURE_NAMES
    assert penguins.data.shape == (N_SAMPLES, 4)
    assert (penguins.data.dtypes == np.float64).all()
    assert penguins.target.name == "species"
    assert penguins.target.dtype == np.int64
    assert list(penguins.frame.columns) == FEATURE_NAMES + ["species"]
    assert penguins.frame.shape == (N_SAMPLES, 5)

    array_penguins = load_penguins()
    np.testing.assert_array_equal(penguins.data.to_numpy(), array_penguins.data)
    np.testing.assert_array_equal(penguins.target.to_numpy(), array_penguins.target)

    X, y = load_penguins(return_X_y=True, as_frame=True)
    assert isinstance(X, pd.DataFrame)
    assert isinstance(y, pd.Series)


def test_as_frame_without_pandas(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "pandas" or name.startswith("pandas."):
            raise ImportError("No module named 'pandas'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match="requires pandas"):
        load_penguins(as_frame=True)


def test_data_files_installed():
    # The CSV and its attribution are package data, found next to the module
    # wherever the package is installed.
    data_dir = resources.files("fastmlp.datasets") / "data"
    assert (data_dir / "penguins.csv").is_file()
    assert (data_dir / "README.md").is_file()
    header = (data_dir / "penguins.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header.split(",")[:6] == ["species", "island", *FEATURE_NAMES]
    module_dir = Path(fastmlp.datasets.__file__).parent
    assert (module_dir / "data" / "penguins.csv").is_file()
