"""Model files that hold only arrays and JSON: ``fastmlp.save`` and ``fastmlp.load``.

A model file is a NumPy ``.npz`` archive (a zip of ``.npy`` arrays). One member,
``fastmlp_header``, is the UTF-8 bytes of a JSON document (stored as a uint8
array) that names the format and its version, the fastmlp version that wrote the
file, the estimator class, its ``get_params()`` and the fitted attributes that are
not arrays. The other members are plain numeric arrays: the parameters as one
flat vector ``[W0, b0, W1, b1, ...]`` in the model's dtype, the loss curve, the
validation scores, numeric class labels and a scaler's statistics.

Reading uses ``numpy.load(..., allow_pickle=False)`` and ``json``: loading a file
never unpickles anything and never runs code from it. Everything read is checked
(shapes, dtypes, layer sizes, parameter values) before a model is built from it.
"""

import json
import math
import os
import re
import reprlib
import tempfile
import zipfile
import zlib

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import LabelBinarizer, StandardScaler
from sklearn.utils.validation import check_is_fitted

FORMAT_NAME = "fastmlp-model"
FORMAT_VERSION = 1
HEADER_KEY = "fastmlp_header"

# The errors that reading a damaged or foreign archive can raise.
_READ_ERRORS = (
    ValueError,
    KeyError,
    TypeError,
    IndexError,
    EOFError,
    OSError,
    zipfile.BadZipFile,
    zlib.error,
    UnicodeDecodeError,
)

_OUT_ACTIVATIONS = {"identity", "logistic", "softmax", "exp"}
_Y_TYPES = {"binary", "multiclass", "multilabel-indicator"}
_UNICODE_DTYPE = re.compile(r"^[<>|=]?U[0-9]+$")


def _estimator_classes():
    from fastmlp._multilayer_perceptron import MLPClassifier, MLPRegressor

    return {"MLPClassifier": MLPClassifier, "MLPRegressor": MLPRegressor}


def _version():
    from fastmlp import __version__

    return __version__


# ----------------------------------------------------------------------
# Writing
# ----------------------------------------------------------------------
def _json_value(value, what):
    """``value`` as plain JSON data (numpy scalars become Python numbers)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.generic):
        return _json_value(value.item(), what)
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_json_value(v, what) for v in value]
    raise TypeError(
        "%s is a %s, which a fastmlp model file cannot hold (it holds only "
        "numbers, strings, booleans and lists of them)" % (what, type(value).__name__)
    )


def _estimator_params(est):
    params = {}
    for name, value in est.get_params(deep=False).items():
        if name == "random_state" and isinstance(value, np.random.RandomState):
            # Only the seed matters for refitting; a RandomState object is not
            # data. The fitted model does not depend on it any more.
            value = None
        params[name] = _json_value(value, "parameter %s" % name)
    hls = est.get_params(deep=False)["hidden_layer_sizes"]
    kind = "tuple" if isinstance(hls, tuple) else "int" if np.ndim(hls) == 0 else "list"
    return params, kind


def _labels_entry(labels, arrays, key, what):
    """Class labels: numbers go into an array, strings into the JSON header."""
    labels = np.asarray(labels)
    if labels.dtype.kind in "biuf":
        arrays[key] = labels
        return {"storage": "array"}
    if labels.dtype.kind == "U":
        return {"storage": "json", "dtype": labels.dtype.str, "values": labels.tolist()}
    if labels.dtype.kind == "O" and all(isinstance(v, str) for v in labels):
        return {"storage": "json", "dtype": "object", "values": labels.tolist()}
    raise TypeError(
        "%s of dtype %s cannot be stored in a fastmlp model file: only numbers "
        "and strings can" % (what, labels.dtype)
    )


def _estimator_entry(est, arrays):
    classes = _estimator_classes()
    name = type(est).__name__
    if classes.get(name) is not type(est):
        raise TypeError(
            "fastmlp.save writes fastmlp.MLPClassifier and fastmlp.MLPRegressor "
            "models (alone or after a StandardScaler in a Pipeline), not %s"
            % type(est).__qualname__
        )
    check_is_fitted(est)
    params, hls_kind = _estimator_params(est)

    coefs, intercepts = est.coefs_, est.intercepts_
    dtype = np.result_type(*coefs, *intercepts)
    units = [int(coefs[0].shape[0])] + [int(c.shape[1]) for c in coefs]
    parts = []
    for c, b in zip(coefs, intercepts, strict=True):
        parts.append(np.asarray(c, dtype=dtype).ravel())
        parts.append(np.asarray(b, dtype=dtype).ravel())
    arrays["params"] = np.ascontiguousarray(np.concatenate(parts))

    fitted = {}
    for attr in (
        "n_features_in_",
        "n_layers_",
        "n_outputs_",
        "out_activation_",
        "loss_",
        "best_loss_",
        "best_validation_score_",
        "n_iter_",
        "t_",
        "_no_improvement_count",
    ):
        if hasattr(est, attr):
            fitted[attr] = _json_value(getattr(est, attr), attr)
    if hasattr(est, "feature_names_in_"):
        fitted["feature_names_in_"] = [str(f) for f in est.feature_names_in_]
    curves = {}
    for attr, key in (
        ("loss_curve_", "loss_curve"),
        ("validation_scores_", "validation_scores"),
    ):
        if hasattr(est, attr):
            value = getattr(est, attr)
            if value is None:
                curves[attr] = None
            else:
                arrays[key] = np.asarray(value, dtype=np.float64).reshape(-1)
                curves[attr] = key

    entry = {
        "class": name,
        "params": params,
        "hidden_layer_sizes_type": hls_kind,
        "dtype": np.dtype(dtype).name,
        "layer_units": units,
        "n_parameters": int(arrays["params"].size),
        "fitted": fitted,
        "curves": curves,
    }
    if name == "MLPClassifier":
        lb = est._label_binarizer
        entry["classes"] = _labels_entry(est.classes_, arrays, "classes", "classes_")
        entry["label_binarizer"] = {
            "y_type_": str(lb.y_type_),
            "neg_label": _json_value(lb.neg_label, "neg_label"),
            "pos_label": _json_value(lb.pos_label, "pos_label"),
            "sparse_output": bool(lb.sparse_output),
            "sparse_input_": bool(getattr(lb, "sparse_input_", False)),
        }
    return entry


def _scaler_entry(scaler, arrays):
    if type(scaler) is not StandardScaler:
        raise TypeError(
            "fastmlp.save writes a Pipeline only when its first step is a "
            "sklearn.preprocessing.StandardScaler, not %s" % type(scaler).__qualname__
        )
    check_is_fitted(scaler)
    entry = {
        "params": {
            k: _json_value(v, "StandardScaler parameter %s" % k)
            for k, v in scaler.get_params(deep=False).items()
        },
        "n_features_in_": int(scaler.n_features_in_),
        "arrays": {},
    }
    if hasattr(scaler, "feature_names_in_"):
        entry["feature_names_in_"] = [str(f) for f in scaler.feature_names_in_]
    for attr in ("mean_", "var_", "scale_", "n_samples_seen_"):
        value = getattr(scaler, attr)
        if value is None:
            entry["arrays"][attr] = None
            continue
        key = "scaler_" + attr.rstrip("_")
        arrays[key] = np.asarray(value)
        # A Python int stays a Python int on load; numpy values keep their type.
        entry["arrays"][attr] = {
            "key": key,
            "python_int": isinstance(value, int) and not isinstance(value, bool),
        }
    return entry


def save(model, path, *, metadata=None):
    """Write a fitted model to a fastmlp model file (arrays and JSON only).

    Parameters
    ----------
    model : MLPClassifier, MLPRegressor or Pipeline
        A fitted fastmlp estimator, or a fitted ``sklearn.pipeline.Pipeline`` of
        two steps: a ``StandardScaler`` and a fastmlp estimator. ``load`` returns
        the same kind of object.
    path : str, os.PathLike or binary file object
        Where to write. The name is used as given (no suffix is added; the
        command line uses ``.fastmlp``). A file on disk is written to a
        temporary name first and then renamed, so a crash leaves no half file.
    metadata : dict, optional
        Extra JSON-serialisable information kept in the file's header (the
        command line stores the target column and the training data's name);
        ``fastmlp.model_info(path)["metadata"]`` returns it.

    Notes
    -----
    The file holds the network (its parameters, in its own dtype), the
    estimator's ``get_params()`` and the fitted attributes that ``predict``,
    ``predict_proba``, ``score`` and ``fastmlp info`` use: ``classes_`` and the
    label binarizer's state, ``n_features_in_``, ``feature_names_in_``,
    ``n_layers_``, ``n_outputs_``, ``out_activation_``, ``loss_``,
    ``loss_curve_``, ``best_loss_``, ``validation_scores_``,
    ``best_validation_score_``, ``n_iter_`` and ``t_``. It does not hold the
    optimizer's running state (Adam's moments, SGD's velocities): a loaded
    model continues training with ``warm_start=True`` exactly as the saved one
    would (``fit`` starts a fresh optimizer either way), while ``partial_fit``
    on a loaded model starts a fresh optimizer. Use pickle for a snapshot of
    everything.
    """
    arrays = {}
    header = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "fastmlp_version": _version(),
    }
    if isinstance(model, Pipeline):
        steps = model.steps
        if len(steps) != 2:
            raise TypeError(
                "fastmlp.save writes a Pipeline of exactly two steps, a "
                "StandardScaler and a fastmlp estimator; this one has %d" % len(steps)
            )
        if model.memory is not None or getattr(model, "transform_input", None):
            raise TypeError(
                "fastmlp.save writes a Pipeline without memory or transform_input"
            )
        header["pipeline"] = {
            "steps": [str(name) for name, _ in steps],
            "verbose": bool(model.verbose),
        }
        header["scaler"] = _scaler_entry(steps[0][1], arrays)
        header["estimator"] = _estimator_entry(steps[1][1], arrays)
    else:
        header["pipeline"] = None
        header["scaler"] = None
        header["estimator"] = _estimator_entry(model, arrays)
    if metadata is not None:
        if not isinstance(metadata, dict):
            raise TypeError("metadata must be a dict, not %s" % type(metadata))
        json.dumps(metadata)  # raises TypeError for anything JSON cannot hold
    header["metadata"] = metadata

    text = json.dumps(header, indent=1, sort_keys=True)
    arrays[HEADER_KEY] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)

    if hasattr(path, "write"):
        np.savez(path, **arrays)
        return
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(
        prefix=".%s." % os.path.basename(path), suffix=".tmp", dir=directory
    )
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


# ----------------------------------------------------------------------
# Reading
# ----------------------------------------------------------------------
class _Damaged(Exception):
    """A problem inside a file that is a fastmlp model file."""


def _describe(path):
    if hasattr(path, "read"):
        return str(getattr(path, "name", "<file object>"))
    return os.fspath(path)


# A header larger than this is not one that fastmlp wrote.
_MAX_HEADER_BYTES = 64 << 20


class _Members:
    """The archive's arrays, each read from the file only when the model asks
    for it by name: members that the format does not use are never read, and
    a member whose .npy header declares more data than the member holds is
    refused before anything is allocated for it."""

    def __init__(self, path, name, files):
        self._path = path
        self._name = name
        self._files = files
        self._read = {}

    def __contains__(self, key):
        return key in self._files

    def __getitem__(self, key):
        if key not in self._files:
            raise KeyError(key)
        if key not in self._read:
            self._read[key] = _read_member(self._path, self._name, key)
        return self._read[key]


def _read_member(path, name, key, max_bytes=None):
    """The array stored as key in the .npz archive at path."""
    try:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo(key + ".npy")
            if max_bytes is not None and info.file_size > max_bytes:
                raise ValueError("the member %s is too large" % key)
            with archive.open(info) as f:
                version = np.lib.format.read_magic(f)
                if version == (1, 0):
                    read_header = np.lib.format.read_array_header_1_0
                else:
                    read_header = np.lib.format.read_array_header_2_0
                shape, _, dtype = read_header(f)
                declared = dtype.itemsize * math.prod(shape)
                if declared > info.file_size:
                    raise ValueError(
                        "the member %s declares %d bytes and holds %d"
                        % (key, declared, info.file_size)
                    )
            with archive.open(info) as f:
                return np.lib.format.read_array(f, allow_pickle=False)
    except (MemoryError, OverflowError, *_READ_ERRORS) as exc:
        raise ValueError(
            "%s: damaged fastmlp model file (%s)" % (name, exc or type(exc).__name__)
        ) from None


def _open(path):
    """The archive's parsed header and its arrays (read when asked for)."""
    name = _describe(path)
    try:
        npz = np.load(path, allow_pickle=False)
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except EOFError:
        raise ValueError(
            "%s: not a fastmlp model file (the file is empty)" % name
        ) from None
    except zipfile.BadZipFile as exc:
        # numpy opens a zip archive only when the file starts like one.
        raise ValueError(
            "%s: not a readable fastmlp model file (a truncated or damaged zip "
            "archive: %s)" % (name, exc)
        ) from None
    except _READ_ERRORS:
        raise ValueError(
            "%s: not a fastmlp model file (not a NumPy .npz archive)" % name
        ) from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise ValueError(
            "%s: not a fastmlp model file (it holds a single NumPy array, not a "
            "model archive)" % name
        )
    with npz:
        files = set(npz.files)
    if HEADER_KEY not in files:
        raise ValueError(
            "%s: not a fastmlp model file (a zip or .npz archive without a "
            "fastmlp header)" % name
        )
    arrays = _Members(path, name, files - {HEADER_KEY})
    raw = _read_member(path, name, HEADER_KEY, max_bytes=_MAX_HEADER_BYTES)
    try:
        if not isinstance(raw, np.ndarray) or raw.dtype != np.uint8 or raw.ndim != 1:
            raise ValueError("the header is not a uint8 vector")
        try:
            header = json.loads(raw.tobytes().decode("utf-8"))
        except RecursionError:
            raise ValueError("the header's JSON is nested too deep") from None
        if not isinstance(header, dict):
            raise ValueError("the header is not a JSON object")
    except ValueError as exc:
        raise ValueError(
            "%s: damaged fastmlp model file (unreadable header: %s)" % (name, exc)
        ) from None
    if header.get("format") != FORMAT_NAME:
        raise ValueError(
            "%s: not a fastmlp model file (its header names the format %r)"
            % (name, header.get("format"))
        )
    version = header.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError(
            "%s: damaged fastmlp model file (format version %r)" % (name, version)
        )
    if version > FORMAT_VERSION:
        raise ValueError(
            "%s: written by a newer fastmlp (%s) in model file format version %d; "
            "this fastmlp (%s) reads format version %d: upgrade fastmlp to load it"
            % (
                name,
                header.get("fastmlp_version", "unknown version"),
                version,
                _version(),
                FORMAT_VERSION,
            )
        )
    return header, arrays


def _check(condition, message, *args):
    if not condition:
        raise _Damaged(message % args if args else message)


def _int(value, what, minimum=0):
    _check(
        isinstance(value, int)
        and not isinstance(value, bool)
        and minimum <= value < 2**63,
        "%s is %s, not an integer >= %d that fits 64 bits",
        what,
        reprlib.repr(value),
        minimum,
    )
    return value


def _float_or_none(value, what):
    _check(
        value is None
        or (
            isinstance(value, (int, float))
            and not isinstance(value, bool)
            and not math.isnan(value)
        ),
        "%s is %r, not a number",
        what,
        value,
    )
    return None if value is None else float(value)


def _array(arrays, key, what, kinds="f", ndim=1):
    _check(key in arrays, "the array %s (%s) is missing", key, what)
    a = arrays[key]
    _check(
        isinstance(a, np.ndarray) and a.dtype.kind in kinds and a.ndim == ndim,
        "the array %s (%s) has the wrong type or shape",
        key,
        what,
    )
    return a


def _names(value, n, what):
    _check(
        isinstance(value, list)
        and len(value) == n
        and all(isinstance(v, str) for v in value),
        "%s is not a list of %d strings",
        what,
        n,
    )
    return np.asarray(value, dtype=object)


def _labels(entry, arrays, key, what):
    _check(isinstance(entry, dict), "%s: no description", what)
    if entry.get("storage") == "array":
        labels = _array(arrays, key, what, kinds="biuf")
    else:
        _check(entry.get("storage") == "json", "%s: unknown storage", what)
        values = entry.get("values")
        _check(
            isinstance(values, list) and all(isinstance(v, str) for v in values),
            "%s: the labels are not strings",
            what,
        )
        dtype = entry.get("dtype")
        if dtype == "object":
            labels = np.asarray(values, dtype=object)
        else:
            _check(
                isinstance(dtype, str) and _UNICODE_DTYPE.match(dtype),
                "%s: unknown dtype %r",
                what,
                dtype,
            )
            labels = np.asarray(values, dtype=np.dtype(dtype))
    _check(labels.size >= 1, "%s: no labels", what)
    return labels


def _label_binarizer(entry, classes):
    """A LabelBinarizer fitted as the classifier's own was, from its classes."""
    _check(isinstance(entry, dict), "the label binarizer's state is missing")
    y_type = entry.get("y_type_")
    _check(y_type in _Y_TYPES, "unknown target type %r", y_type)
    neg, pos = entry.get("neg_label"), entry.get("pos_label")
    _check(
        all(isinstance(v, int) and not isinstance(v, bool) for v in (neg, pos))
        and neg < pos,
        "label binarizer labels %r, %r",
        neg,
        pos,
    )
    lb = LabelBinarizer(
        neg_label=neg, pos_label=pos, sparse_output=bool(entry.get("sparse_output"))
    )
    if y_type == "multilabel-indicator":
        # A multilabel classifier's binarizer was fitted on an indicator matrix;
        # its classes are the column numbers.
        n = classes.size
        _check(
            n >= 2 and np.array_equal(classes, np.arange(n)),
            "multilabel classes must be 0 .. n-1",
        )
        lb.fit(np.eye(n, dtype=np.int64))
    else:
        lb.fit(classes)
    _check(
        lb.y_type_ == y_type,
        "classes %s give target type %r, the file says %r",
        classes,
        lb.y_type_,
        y_type,
    )
    _check(
        lb.classes_.dtype == classes.dtype and np.array_equal(lb.classes_, classes),
        "the classes are not sorted and distinct",
    )
    lb.sparse_input_ = bool(entry.get("sparse_input_"))
    return lb


def _build_estimator(entry, arrays):
    """The estimator a model file describes, every value checked first."""
    _check(isinstance(entry, dict), "the estimator's description is missing")
    est, name, hidden = _estimator_with_params(entry)
    fitted = entry.get("fitted")
    _check(isinstance(fitted, dict), "the fitted attributes are missing")
    units, n_features, n_outputs, n_layers, out_activation = _layer_sizes(
        entry, fitted, hidden
    )
    flat = _flat_parameters(entry, arrays, units)
    if name == "MLPClassifier":
        _set_labels(est, entry, arrays, n_outputs)
    _set_fitted_attributes(est, fitted, n_features, n_outputs, n_layers, out_activation)
    _set_curves(est, entry, arrays)
    # The flat buffer and the coefs_/intercepts_ views into it, as after fit.
    est._params = np.array(flat, dtype=flat.dtype, order="C", copy=True)
    est._make_views(np.asarray(units, dtype=np.int64))
    # After fit the best weights and the model's weights are one buffer.
    est._best_params = est._params
    return est


def _estimator_with_params(entry):
    """(a new estimator of the file's class with its checked parameters, the
    class name, the hidden layer sizes as a list)."""
    classes = _estimator_classes()
    name = entry.get("class")
    if name not in classes:
        raise _Damaged(
            "it names the estimator class %r; fastmlp loads only %s"
            % (name, " and ".join(sorted(classes)))
        )
    cls = classes[name]

    params = dict(entry.get("params") or {})
    hls = params.get("hidden_layer_sizes")
    kind = entry.get("hidden_layer_sizes_type")
    if kind in ("tuple", "list"):
        _check(isinstance(hls, list), "hidden_layer_sizes is not a list")
        hls = tuple(hls) if kind == "tuple" else list(hls)
    params["hidden_layer_sizes"] = hls
    est = cls()
    try:
        est.set_params(**params)
        est._validate_params()
    except ValueError as exc:  # InvalidParameterError is a ValueError
        raise _Damaged("invalid estimator parameters: %s" % exc) from None
    hidden = [hls] if isinstance(hls, int) else list(hls)
    return est, name, hidden


def _layer_sizes(entry, fitted, hidden):
    """(layer units, n_features_in_, n_outputs_, n_layers_, out_activation_),
    checked against each other."""
    n_features = _int(fitted.get("n_features_in_"), "n_features_in_", 1)
    n_outputs = _int(fitted.get("n_outputs_"), "n_outputs_", 1)
    units = entry.get("layer_units")
    _check(
        isinstance(units, list)
        and len(units) >= 2
        and all(isinstance(u, int) and not isinstance(u, bool) for u in units)
        and min(units) >= 1,
        "layer_units is %r",
        units,
    )
    _check(
        units == [n_features] + hidden + [n_outputs],
        "the layer sizes %s do not match n_features_in_, hidden_layer_sizes and "
        "n_outputs_",
        units,
    )
    n_layers = _int(fitted.get("n_layers_"), "n_layers_", 2)
    _check(
        n_layers == len(units), "n_layers_ is %d for %d layers", n_layers, len(units)
    )
    out_activation = fitted.get("out_activation_")
    _check(
        out_activation in _OUT_ACTIVATIONS,
        "unknown out_activation_ %r",
        out_activation,
    )
    return units, n_features, n_outputs, n_layers, out_activation


def _flat_parameters(entry, arrays, units):
    """The network's flat parameter vector, of the header's dtype and the
    layer sizes' length, all finite."""
    flat = _array(arrays, "params", "the network's parameters")
    dtype = entry.get("dtype")
    _check(
        dtype in ("float32", "float64") and flat.dtype == np.dtype(dtype),
        "the parameters' dtype %s does not match the header's %r",
        flat.dtype,
        dtype,
    )
    n_params = sum(a * b + b for a, b in zip(units[:-1], units[1:], strict=True))
    _check(
        flat.size == n_params,
        "%d parameters where the layer sizes %s need %d (truncated?)",
        flat.size,
        units,
        n_params,
    )
    _check(bool(np.isfinite(flat).all()), "the parameters are not all finite")
    return flat


def _set_labels(est, entry, arrays, n_outputs):
    """A classifier's classes_ and label binarizer, matching its outputs."""
    labels = _labels(entry.get("classes"), arrays, "classes", "classes_")
    lb = _label_binarizer(entry.get("label_binarizer"), labels)
    if lb.y_type_ == "multiclass" or lb.y_type_ == "multilabel-indicator":
        expected = labels.size
    else:
        expected = 1
    _check(
        n_outputs == expected,
        "%d outputs for %d classes of a %s target",
        n_outputs,
        labels.size,
        lb.y_type_,
    )
    est._label_binarizer = lb
    est.classes_ = lb.classes_


def _set_fitted_attributes(
    est, fitted, n_features, n_outputs, n_layers, out_activation
):
    """The fitted attributes that describe the network and its training."""
    est.n_features_in_ = n_features
    if "feature_names_in_" in fitted:
        est.feature_names_in_ = _names(
            fitted["feature_names_in_"], n_features, "feature_names_in_"
        )
    est.n_outputs_ = n_outputs
    est.n_layers_ = n_layers
    # The output activation that fit chooses for this target and loss.
    if hasattr(est, "_label_binarizer"):
        multiclass = est._label_binarizer.y_type_ == "multiclass"
        expected = "softmax" if multiclass else "logistic"
    else:
        expected = "exp" if est.loss == "poisson" else "identity"
    _check(
        out_activation == expected,
        "out_activation_ is %r where fit gives this estimator %r",
        out_activation,
        expected,
    )
    est.out_activation_ = out_activation
    for attr in ("n_iter_", "t_", "_no_improvement_count"):
        if attr in fitted:
            setattr(est, attr, _int(fitted[attr], attr))
    for attr in ("loss_", "best_loss_", "best_validation_score_"):
        if attr in fitted:
            setattr(est, attr, _float_or_none(fitted[attr], attr))


def _set_curves(est, entry, arrays):
    """loss_curve_ and validation_scores_, as lists of finite floats."""
    curves = entry.get("curves") or {}
    _check(isinstance(curves, dict), "the curves' description is damaged")
    for attr, key in (
        ("loss_curve_", "loss_curve"),
        ("validation_scores_", "validation_scores"),
    ):
        if attr not in curves:
            continue
        if curves[attr] is None:
            setattr(est, attr, None)
        else:
            _check(curves[attr] == key, "the %s entry is damaged", attr)
            curve = _array(arrays, key, attr)
            _check(bool(np.isfinite(curve).all()), "%s is not all finite", attr)
            setattr(est, attr, curve.tolist())


def _build_scaler(entry, arrays, n_features):
    _check(isinstance(entry, dict), "the scaler's description is missing")
    scaler = StandardScaler()
    try:
        scaler.set_params(**dict(entry.get("params") or {}))
        scaler._validate_params()
    except ValueError as exc:
        raise _Damaged("invalid StandardScaler parameters: %s" % exc) from None
    n = _int(entry.get("n_features_in_"), "the scaler's n_features_in_", 1)
    _check(
        n == n_features,
        "the scaler has %d features, the network %d inputs",
        n,
        n_features,
    )
    scaler.n_features_in_ = n
    if "feature_names_in_" in entry:
        scaler.feature_names_in_ = _names(
            entry["feature_names_in_"], n, "the scaler's feature_names_in_"
        )
    stored = entry.get("arrays")
    _check(isinstance(stored, dict), "the scaler's arrays are missing")
    for attr in ("mean_", "var_", "scale_", "n_samples_seen_"):
        _check(attr in stored, "the scaler's %s is missing", attr)
        spec = stored[attr]
        if spec is None:
            _check(attr != "n_samples_seen_", "the scaler's n_samples_seen_ is missing")
            setattr(scaler, attr, None)
            continue
        _check(isinstance(spec, dict), "the scaler's %s entry is damaged", attr)
        key = spec.get("key")
        _check(key == "scaler_" + attr.rstrip("_"), "the scaler's %s is damaged", attr)
        _check(key in arrays, "the array %s is missing", key)
        value = arrays[key]
        _check(value.dtype.kind in "iuf", "the scaler's %s is not numeric", attr)
        if attr == "n_samples_seen_":
            _check(
                value.ndim == 0 or value.shape == (n,),
                "the scaler's n_samples_seen_ has the wrong shape",
            )
            if value.ndim == 0:
                value = int(value) if spec.get("python_int") else value[()]
        else:
            _check(value.shape == (n,), "the scaler's %s has the wrong shape", attr)
            # What StandardScaler's fit leaves: finite statistics, a variance
            # >= 0 and a scale > 0 (1 for a constant column).
            low = {"mean_": -np.inf, "var_": 0.0, "scale_": 0.0}[attr]
            ok = np.isfinite(value).all() and (value >= low).all()
            ok = ok and (attr != "scale_" or (value > 0).all())
            _check(bool(ok), "the scaler's %s holds values that fit cannot give", attr)
        setattr(scaler, attr, value)
    return scaler


def _read(path):
    header, arrays = _open(path)
    name = _describe(path)
    try:
        est = _build_estimator(header.get("estimator"), arrays)
        pipeline = header.get("pipeline")
        if pipeline is None:
            return header, est
        _check(isinstance(pipeline, dict), "the pipeline's description is damaged")
        steps = pipeline.get("steps")
        _check(
            isinstance(steps, list)
            and len(steps) == 2
            and all(isinstance(s, str) and s and "__" not in s for s in steps)
            and steps[0] != steps[1],
            "the pipeline's step names are damaged",
        )
        scaler = _build_scaler(header.get("scaler"), arrays, est.n_features_in_)
        model = Pipeline(
            [(steps[0], scaler), (steps[1], est)],
            verbose=bool(pipeline.get("verbose", False)),
        )
        return header, model
    except _Damaged as exc:
        raise ValueError("%s: damaged fastmlp model file (%s)" % (name, exc)) from None
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ValueError(
            "%s: damaged fastmlp model file (%s: %s)" % (name, type(exc).__name__, exc)
        ) from None


def load(path):
    """Read a model written by :func:`fastmlp.save`.

    Only arrays (``numpy.load`` with ``allow_pickle=False``) and JSON are read:
    loading never unpickles anything and never runs code from the file. The
    model is rebuilt from checked values, so that ``predict`` and
    ``predict_proba`` give exactly the results of the saved model, in its dtype.

    Parameters
    ----------
    path : str, os.PathLike or binary file object

    Returns
    -------
    model : MLPClassifier, MLPRegressor or Pipeline
        The same kind of object that was saved.

    Raises
    ------
    ValueError
        The file is not a fastmlp model file (empty, random bytes, a zip or
        ``.npz`` archive without a fastmlp header), is damaged or truncated, or
        was written by a newer fastmlp in a format version this one cannot read.
        The message names the file and the problem.
    FileNotFoundError, PermissionError
        The file cannot be opened.
    """
    return _read(path)[1]


def model_info(path):
    """The header of a fastmlp model file, after checking the whole file.

    Returns a dict with the keys ``format``, ``format_version``,
    ``fastmlp_version``, ``pipeline`` (step names, or None), ``scaler``,
    ``estimator`` (class, params, dtype, layer_units, n_parameters, fitted
    attributes, classes) and ``metadata`` (what ``save`` was given). Raises as
    :func:`load` does.
    """
    header, _ = _read(path)
    return header
