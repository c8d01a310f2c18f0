"""fastmlp.save / fastmlp.load: exact round trips, and refusals of bad files."""

import io
import json
import pickle
import warnings
import zipfile

import joblib
import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

import fastmlp
from fastmlp import MLPClassifier, MLPRegressor, load, model_info, save
from fastmlp._io import FORMAT_VERSION, HEADER_KEY


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _data(n=80, d=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng, rng.normal(size=(n, d))


def _case(name, dtype=np.float64):
    rng, X = _data()
    X = X.astype(dtype)
    small = dict(hidden_layer_sizes=(6, 4), max_iter=15, random_state=0)
    if name == "binary":
        y = np.where(X[:, 0] + X[:, 1] > 0, "spam", "ham")
        return MLPClassifier(**small), X, y
    if name == "multiclass":
        y = rng.integers(0, 3, X.shape[0]) * 10 - 5  # int labels -5, 5, 15
        return MLPClassifier(**small, early_stopping=True), X, y
    if name == "multilabel":
        y = (X[:, :3] > 0).astype(np.int64)
        return MLPClassifier(**small), X, y
    if name == "regressor":
        y = X @ np.arange(1.0, 5.0)
        return MLPRegressor(**small), X, y
    if name == "regressor-2d-poisson":
        y = np.exp(X[:, :2] / 2)
        return MLPRegressor(loss="poisson", **small), X, y
    if name == "lbfgs":
        y = rng.choice(["a", "b", "c"], X.shape[0])
        return MLPClassifier(solver="lbfgs", **small), X, y
    if name == "pipeline":
        y = np.where(X[:, 0] > 0, "yes", "no")
        return make_pipeline(StandardScaler(), MLPClassifier(**small)), X * 7 + 3, y
    raise AssertionError(name)


CASES = [
    "binary",
    "multiclass",
    "multilabel",
    "regressor",
    "regressor-2d-poisson",
    "lbfgs",
    "pipeline",
]

FITTED = [
    "classes_",
    "n_features_in_",
    "n_layers_",
    "n_outputs_",
    "out_activation_",
    "loss_",
    "best_loss_",
    "loss_curve_",
    "validation_scores_",
    "best_validation_score_",
    "n_iter_",
    "t_",
]


def _final(model):
    return model.steps[-1][1] if isinstance(model, Pipeline) else model


def _outputs(model, X):
    out = [model.predict(X)]
    if hasattr(model, "predict_proba"):
        out.append(model.predict_proba(X))
    return out


def _assert_same_model(a, b, X):
    assert type(a) is type(b)
    for pa, pb in zip(_outputs(a, X), _outputs(b, X), strict=True):
        assert pa.dtype == pb.dtype
        np.testing.assert_array_equal(pa, pb)
    ea, eb = _final(a), _final(b)
    assert ea.get_params() == eb.get_params()
    for attr in FITTED:
        assert hasattr(ea, attr) == hasattr(eb, attr), attr
        if hasattr(ea, attr):
            va, vb = getattr(ea, attr), getattr(eb, attr)
            if isinstance(va, np.ndarray):
                assert va.dtype == vb.dtype, attr
                np.testing.assert_array_equal(va, vb)
            else:
                assert va == vb or (va != va and vb != vb), attr
    for ca, cb in zip(
        ea.coefs_ + ea.intercepts_, eb.coefs_ + eb.intercepts_, strict=True
    ):
        assert ca.dtype == cb.dtype
        np.testing.assert_array_equal(ca, cb)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", CASES)
def test_round_trip_is_exact(tmp_path, case, dtype):
    model, X, y = _case(case, dtype)
    model.fit(X, y)
    path = tmp_path / "model.fastmlp"
    save(model, path)
    loaded = load(path)
    _assert_same_model(model, loaded, X)
    assert _final(loaded).coefs_[0].dtype == dtype
    # The name is used as given, and no temporary file is left behind.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.fastmlp"]


def test_round_trip_through_file_objects():
    model, X, y = _case("binary")
    model.fit(X, y)
    buf = io.BytesIO()
    save(model, buf)
    buf.seek(0)
    _assert_same_model(model, load(buf), X)


def test_label_binarizer_is_rebuilt():
    for case, y_type in [
        ("binary", "binary"),
        ("multiclass", "multiclass"),
        ("multilabel", "multilabel-indicator"),
    ]:
        model, X, y = _case(case)
        model.fit(X, y)
        buf = io.BytesIO()
        save(model, buf)
        buf.seek(0)
        lb = load(buf)._label_binarizer
        assert lb.y_type_ == model._label_binarizer.y_type_ == y_type
        np.testing.assert_array_equal(lb.classes_, model._label_binarizer.classes_)
        Y = model._label_binarizer.transform(y)
        np.testing.assert_array_equal(lb.transform(y), Y)
        np.testing.assert_array_equal(lb.inverse_transform(Y), y)


def test_label_types_kept():
    _, X = _data()
    for y in [
        np.where(X[:, 0] > 0, True, False),
        np.where(X[:, 0] > 0, 1.5, -2.0).astype(np.float32) * 2,
        np.where(X[:, 0] > 0, "a longer label", "b"),
        np.asarray(np.where(X[:, 0] > 0, "x", "y"), dtype=object),
    ]:
        model = MLPClassifier((3,), max_iter=5, random_state=0).fit(X, y)
        buf = io.BytesIO()
        save(model, buf)
        buf.seek(0)
        loaded = load(buf)
        assert loaded.classes_.dtype == model.classes_.dtype
        np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_feature_names_kept():
    pd = pytest.importorskip("pandas")
    _, X = _data()
    df = pd.DataFrame(X, columns=["bill", "depth", "flipper", "mass"])
    y = np.where(X[:, 0] > 0, "a", "b")
    model = make_pipeline(StandardScaler(), MLPClassifier((3,), max_iter=5))
    model.fit(df, y)
    buf = io.BytesIO()
    save(model, buf)
    buf.seek(0)
    loaded = load(buf)
    assert list(loaded.feature_names_in_) == ["bill", "depth", "flipper", "mass"]
    # As after fit: the scaler holds the names, the network sees plain arrays.
    assert not hasattr(loaded[-1], "feature_names_in_")
    alone = MLPClassifier((3,), max_iter=5).fit(df, y)
    buf = io.BytesIO()
    save(alone, buf)
    buf.seek(0)
    assert list(load(buf).feature_names_in_) == list(df.columns)
    np.testing.assert_array_equal(loaded.predict(df), model.predict(df))
    with pytest.raises(ValueError, match="feature names"):
        loaded.predict(df[["depth", "bill", "flipper", "mass"]])


@pytest.mark.parametrize("early_stopping", [False, True])
def test_warm_start_continues_as_the_saved_model_would(early_stopping):
    _, X = _data(120)
    y = np.where(X[:, 0] * X[:, 1] > 0, "a", "b")
    model = MLPClassifier(
        (6,), max_iter=8, random_state=0, early_stopping=early_stopping
    ).fit(X, y)
    buf = io.BytesIO()
    save(model, buf)
    buf.seek(0)
    loaded = load(buf)
    for m in (model, loaded):
        m.set_params(warm_start=True, max_iter=6)
        m.fit(X, y)
    _assert_same_model(model, loaded, X)


def test_metadata_and_model_info(tmp_path):
    model, X, y = _case("pipeline")
    model.fit(X, y)
    path = tmp_path / "m.fastmlp"
    save(model, path, metadata={"target": "label", "rows": 80})
    info = model_info(path)
    assert info["format"] == "fastmlp-model"
    assert info["format_version"] == FORMAT_VERSION
    assert info["fastmlp_version"] == fastmlp.__version__
    assert info["metadata"] == {"target": "label", "rows": 80}
    est = info["estimator"]
    assert est["class"] == "MLPClassifier"
    assert est["layer_units"] == [4, 6, 4, 1]
    assert est["n_parameters"] == 4 * 6 + 6 + 6 * 4 + 4 + 4 * 1 + 1
    assert est["params"]["hidden_layer_sizes"] == [6, 4]
    assert est["dtype"] == "float64"
    assert info["pipeline"]["steps"] == ["standardscaler", "mlpclassifier"]
    with pytest.raises(TypeError):
        save(model, path, metadata={"bad": object()})


def test_save_refuses_what_it_cannot_write(tmp_path):
    path = tmp_path / "m.fastmlp"
    _, X = _data()
    y = (X[:, 0] > 0).astype(int)
    with pytest.raises(NotFittedError):
        save(MLPClassifier(), path)
    with pytest.raises(TypeError, match="not MLPClassifier"):
        save(SklearnMLPClassifier((3,), max_iter=5).fit(X, y), path)
    fitted = MLPClassifier((3,), max_iter=5).fit(X, y)
    with pytest.raises(TypeError, match="StandardScaler"):
        save(make_pipeline(MinMaxScaler(), fitted).fit(X, y), path)
    with pytest.raises(TypeError, match="two steps"):
        save(make_pipeline(StandardScaler(), MinMaxScaler(), fitted).fit(X, y), path)
    assert not path.exists()


def test_random_state_object_is_not_stored():
    _, X = _data()
    model = MLPClassifier((3,), max_iter=5, random_state=np.random.RandomState(1))
    model.fit(X, X[:, 0] > 0)
    buf = io.BytesIO()
    save(model, buf)
    buf.seek(0)
    loaded = load(buf)
    assert loaded.random_state is None
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_pickle_and_joblib_round_trips(tmp_path):
    for case in ["multiclass", "pipeline"]:
        model, X, y = _case(case)
        model.fit(X, y)
        _assert_same_model(model, pickle.loads(pickle.dumps(model)), X)
        joblib.dump(model, tmp_path / "m.joblib")
        _assert_same_model(model, joblib.load(tmp_path / "m.joblib"), X)
        # A model read from a model file pickles too.
        buf = io.BytesIO()
        save(model, buf)
        buf.seek(0)
        loaded = load(buf)
        _assert_same_model(model, pickle.loads(pickle.dumps(loaded)), X)


# ----------------------------------------------------------------------
# Files that are not (intact) fastmlp model files
# ----------------------------------------------------------------------
@pytest.fixture
def saved(tmp_path):
    model, X, y = _case("multiclass")
    model.fit(X, y)
    path = tmp_path / "good.fastmlp"
    save(model, path)
    return path


def _members(path):
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    header = json.loads(arrays.pop(HEADER_KEY).tobytes().decode())
    return header, arrays


def _write(path, header, arrays):
    text = json.dumps(header).encode()
    with open(path, "wb") as f:
        np.savez(f, **arrays, **{HEADER_KEY: np.frombuffer(text, np.uint8)})
    return path


def _refused(path, *fragments):
    with pytest.raises(ValueError) as info:
        load(path)
    message = str(info.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, message
    with pytest.raises(ValueError):
        model_info(path)
    return message


def test_empty_file(tmp_path):
    path = tmp_path / "empty.fastmlp"
    path.write_bytes(b"")
    _refused(path, "not a fastmlp model file", "empty")


def test_random_bytes(tmp_path):
    path = tmp_path / "noise.fastmlp"
    path.write_bytes(np.random.default_rng(0).bytes(3000))
    _refused(path, "not a fastmlp model file")


def test_truncated_files(saved):
    data = saved.read_bytes()
    for cut in [10, len(data) // 3, len(data) // 2, len(data) - 30, len(data) - 1]:
        saved.write_bytes(data[:cut])
        _refused(saved)


def test_corrupted_bytes(saved):
    data = bytearray(saved.read_bytes())
    start = data.find(b"params.npy")
    # Flip bytes inside the parameter array's data: the zip checksum catches it.
    data[start + 300] ^= 0xFF
    saved.write_bytes(bytes(data))
    _refused(saved, "damaged")


def test_plain_npz_without_header(tmp_path):
    path = tmp_path / "plain.npz"
    np.savez(path, params=np.zeros(10))
    _refused(path, "without a fastmlp header")


def test_single_npy_array(tmp_path):
    path = tmp_path / "array.npy"
    np.save(path, np.zeros(10))
    _refused(path, "single NumPy array")


def test_zip_that_is_not_npz(tmp_path):
    path = tmp_path / "notes.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", "hello")
    _refused(path, "without a fastmlp header")


def test_pickled_member_is_never_unpickled(saved, tmp_path):
    marker = tmp_path / "unpickled"

    class Boom:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    header, arrays = _members(saved)
    arrays["classes"] = np.array([Boom()], dtype=object)
    _write(saved, header, arrays)
    _refused(saved)
    assert not marker.exists()


def test_members_the_format_does_not_use_are_never_read(saved):
    # An object array fails to load without pickle: the load succeeds only if
    # the member is never read (a large member, a zip bomb, would not be either).
    header, arrays = _members(saved)
    arrays["junk"] = np.array([{"a": 1}], dtype=object)
    model = load(_write(saved, header, arrays))
    assert isinstance(model, MLPClassifier)


def test_member_declaring_more_data_than_it_holds(saved):
    # A .npy header may claim any shape; nothing is allocated for a claim the
    # member's size cannot back.
    header, arrays = _members(saved)
    with zipfile.ZipFile(saved, "w") as zf:
        for key, value in arrays.items():
            buf = io.BytesIO()
            if key == "params":
                np.lib.format.write_array_header_1_0(
                    buf,
                    {"descr": "<f8", "fortran_order": False, "shape": (10**11,)},
                )
                buf.write(value.tobytes())
            else:
                np.save(buf, value)
            zf.writestr(key + ".npy", buf.getvalue())
        buf = io.BytesIO()
        np.save(buf, np.frombuffer(json.dumps(header).encode(), np.uint8))
        zf.writestr(HEADER_KEY + ".npy", buf.getvalue())
    _refused(saved, "damaged", "declares 800000000000 bytes")


def test_header_nested_too_deep(saved):
    _, arrays = _members(saved)
    text = b"[" * 200_000 + b"]" * 200_000
    with open(saved, "wb") as f:
        np.savez(f, **arrays, **{HEADER_KEY: np.frombuffer(text, np.uint8)})
    _refused(saved, "damaged", "nested too deep")


def test_newer_format_version(saved):
    header, arrays = _members(saved)
    header["format_version"] = FORMAT_VERSION + 1
    header["fastmlp_version"] = "9.0"
    message = _refused(
        _write(saved, header, arrays),
        "written by a newer fastmlp (9.0)",
        "format version %d" % (FORMAT_VERSION + 1),
    )
    assert "upgrade" in message


def test_wrong_class_name(saved):
    header, arrays = _members(saved)
    header["estimator"]["class"] = "os.system"
    _refused(_write(saved, header, arrays), "damaged", "'os.system'")


def test_foreign_format_name(saved):
    header, arrays = _members(saved)
    header["format"] = "something-else"
    _refused(_write(saved, header, arrays), "not a fastmlp model file")


def test_header_that_is_not_json(saved):
    _, arrays = _members(saved)
    with open(saved, "wb") as f:
        np.savez(f, **arrays, **{HEADER_KEY: np.frombuffer(b"{not json", np.uint8)})
    _refused(saved, "damaged", "header")


@pytest.mark.parametrize(
    "tamper",
    [
        "params-short",
        "params-dtype",
        "params-nan",
        "units",
        "classes",
        "y_type",
        "param-value",
        "missing-params",
        "out-activation",
        "loss-nan",
        "loss-curve-nan",
        "n-iter-huge",
    ],
)
def test_inconsistent_contents(saved, tamper):
    header, arrays = _members(saved)
    est = header["estimator"]
    if tamper == "params-short":
        arrays["params"] = arrays["params"][:-1]
    elif tamper == "params-dtype":
        arrays["params"] = arrays["params"].astype(np.float16)
    elif tamper == "params-nan":
        arrays["params"][3] = np.nan
    elif tamper == "units":
        est["layer_units"][1] += 1
    elif tamper == "classes":
        arrays["classes"] = arrays["classes"][:2]
    elif tamper == "y_type":
        est["label_binarizer"]["y_type_"] = "binary"
    elif tamper == "param-value":
        est["params"]["activation"] = "__import__('os')"
    elif tamper == "missing-params":
        del arrays["params"]
    elif tamper == "out-activation":  # a classifier's outputs as a regressor's
        est["fitted"]["out_activation_"] = "identity"
    elif tamper == "loss-nan":
        est["fitted"]["loss_"] = float("nan")
    elif tamper == "loss-curve-nan":
        arrays["loss_curve"][1] = np.nan
    elif tamper == "n-iter-huge":
        est["fitted"]["n_iter_"] = 10**400
    _refused(_write(saved, header, arrays), "damaged")


@pytest.mark.parametrize("attr, value", [("scale", 0.0), ("mean", np.nan)])
def test_scaler_statistics_that_fit_cannot_give(tmp_path, attr, value):
    # A scale of 0 or a NaN mean would make every prediction fail as if the
    # user's input held NaN.
    model, X, y = _case("multiclass")
    path = tmp_path / "pipe.fastmlp"
    save(make_pipeline(StandardScaler(), model).fit(X, y), path)
    header, arrays = _members(path)
    arrays["scaler_" + attr][0] = value
    _refused(_write(path, header, arrays), "damaged", "scaler's %s_" % attr)
