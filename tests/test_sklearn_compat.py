"""The stand-ins for scikit-learn helpers (fastmlp._sklearn_compat), each held
to the function it replaces: the same values, dtypes and errors on the inputs
it takes on, and those inputs it must leave to scikit-learn handed on.

plain_fit_arrays and reset_plain_features, which stand in for validate_data
on a fit's plain arrays, are held to it in tests/test_partial_fit.py, beside
the fits and partial_fit calls that take that path.
"""

import copy

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.metrics import accuracy_score, r2_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import unique_labels

import fastmlp._sklearn_compat as compat
from fastmlp import MLPClassifier


@pytest.mark.parametrize(
    "y",
    [
        np.array([2, 0, 1, 2, 1, 0, 0]),
        np.array([5, 7, 7, 5]),
        np.array([1.0, 3.0, 2.0, 1.0]),
        np.array(["b", "a", "c", "a"]),
        np.array(["no", "yes", "yes"], dtype=object),
        np.array([True, False, True]),
        np.array([-1, 1, 1, -1, 1]),
    ],
)
def test_one_hot_matches_label_binarizer(y):

    from fastmlp._sklearn_compat import one_hot as _one_hot

    lb = LabelBinarizer().fit(y)
    expected = lb.transform(y).astype(bool)
    got = _one_hot(lb, y)
    assert got.dtype == bool
    np.testing.assert_array_equal(got, expected)
    # A subset of the classes (partial_fit's later batches).
    np.testing.assert_array_equal(_one_hot(lb, y[:2]), lb.transform(y[:2]).astype(bool))


def test_one_hot_falls_back_for_other_targets():

    from fastmlp._sklearn_compat import one_hot as _one_hot

    multilabel = np.array([[1, 0, 1], [0, 1, 1]])
    lb = LabelBinarizer().fit(multilabel)
    np.testing.assert_array_equal(_one_hot(lb, multilabel), multilabel.astype(bool))
    single = LabelBinarizer().fit(np.array([3, 3, 3]))
    np.testing.assert_array_equal(
        _one_hot(single, np.array([3, 3])), single.transform([3, 3]).astype(bool)
    )
    # Labels outside classes_ are left to the binarizer (which ignores them).
    lb = LabelBinarizer().fit(np.array([0, 1, 2]))
    np.testing.assert_array_equal(
        _one_hot(lb, np.array([0, 9, 2])), lb.transform([0, 9, 2]).astype(bool)
    )


@pytest.mark.parametrize(
    "y",
    [
        np.array([2, 0, 1, 2, 1, 0, 0]),
        np.array([5, 7, 7, 5], dtype=np.int8),
        np.array([3, 3, 3], dtype=np.uint16),
        np.array([-1, 1, 1, -1, 1], dtype=np.int32),
        np.array([2**63 + 5, 7, 2**63 + 5], dtype=np.uint64),
        np.array([9]),
        np.array([1.0, 3.0, 2.0, 1.0]),
        np.array(["b", "a", "c", "a"]),
        np.array(["no", "yes", "yes"], dtype=object),
        np.array([True, False, True]),
        np.array([[1, 0, 1], [0, 1, 1]]),
    ],
    ids=lambda y: "%s-%s" % (y.dtype, y.shape),
)
def test_fit_binarizer_matches_label_binarizer(y):
    # Integer labels take a direct path; the fitted binarizer must be the one
    # LabelBinarizer.fit makes, in every attribute predict and partial_fit read.

    from fastmlp._sklearn_compat import fit_binarizer as _fit_binarizer

    want = LabelBinarizer().fit(y)
    got = _fit_binarizer(y)
    assert got.y_type_ == want.y_type_
    assert got.sparse_input_ == want.sparse_input_
    assert got.classes_.dtype == want.classes_.dtype
    np.testing.assert_array_equal(got.classes_, want.classes_)
    np.testing.assert_array_equal(got.transform(y), want.transform(y))
    Y = want.transform(y)
    np.testing.assert_array_equal(got.inverse_transform(Y), want.inverse_transform(Y))


def _network_outputs(rng, n, k, dtype):
    """Outputs as a network gives them, with the cases a decoder must not get
    wrong: ties for the largest value, NaN rows, values at the threshold."""
    y = rng.random((n, k)).astype(dtype)
    y[0] = 0.25  # a tie over every column
    y[1, : min(k, 2)] = 0.75  # a tie over the first two columns
    y[2] = np.nan
    y[3] = 0.5  # at the binary threshold
    y[4, -1] = np.nan  # NaN after a finite value
    return y


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "labels, kw",
    [
        (np.array([2, 0, 1, 2, 1]), {}),
        (np.array(["b", "a", "c", "d"]), {}),
        (np.array([5, 7, 7, 5], dtype=np.int8), {}),
        (np.array(["no", "yes", "yes"], dtype=object), {}),
        (np.array([1.0, 3.0, 1.0]), {}),
        (np.array([9, 9]), {}),
        (np.array([0, 1, 1]), {"neg_label": -1, "pos_label": 2}),
        (np.array([[1, 0, 1], [0, 1, 1]]), {}),
        (np.array([[1, 0, 1, 0], [0, 1, 1, 1]]), {"neg_label": -2, "pos_label": 3}),
    ],
    ids=lambda v: "%s-%s" % (v.dtype, v.shape) if isinstance(v, np.ndarray) else str(v),
)
def test_decode_labels_is_inverse_transform(labels, kw, dtype):
    # predict decodes the network's output itself; it must give what the label
    # binarizer's inverse_transform gives, values and dtype, for every target
    # type, whatever the outputs (ties, NaN, values at the threshold).

    from fastmlp._sklearn_compat import decode_labels as _decode_labels

    lb = LabelBinarizer(**kw).fit(labels)
    n_outputs = 1 if lb.y_type_ == "binary" else lb.classes_.shape[0]
    rng = np.random.default_rng(0)
    y = _network_outputs(rng, 40, n_outputs, dtype)
    outputs = [y.ravel()] if n_outputs == 1 else [y]
    if n_outputs == 1:
        outputs.append(y)  # (n, 1)
    if n_outputs == 1 and lb.classes_.shape[0] == 2:
        outputs.append(_network_outputs(rng, 40, 2, dtype))  # (n, 2)
    for out in outputs:
        want = lb.inverse_transform(out)
        got = _decode_labels(lb, out)
        assert got.dtype == want.dtype
        assert got.shape == want.shape
        np.testing.assert_array_equal(got, want)


def test_decode_labels_leaves_sparse_binarizers_to_sklearn():
    from sklearn.preprocessing import LabelBinarizer

    from fastmlp._sklearn_compat import decode_labels as _decode_labels

    lb = LabelBinarizer().fit(sp.csr_matrix(np.array([[1, 0, 1], [0, 1, 1]])))
    y = np.random.default_rng(0).random((5, 3))
    got = _decode_labels(lb, y)
    assert sp.issparse(got)
    np.testing.assert_array_equal(got.toarray(), lb.inverse_transform(y).toarray())


@pytest.mark.parametrize(
    "weights", [None, "float64", "float32"], ids=["unweighted", "f64", "f32"]
)
@pytest.mark.parametrize(
    "labels",
    [
        np.array([2, 0, 1, 2, 1, 0, 0, 1]),
        np.array(["b", "a", "c", "a", "b", "b", "c", "a"]),
        np.array([0, 1, 1, 0, 1, 0, 0, 1]),
        np.array([[1, 0, 1], [0, 1, 1], [0, 0, 1], [1, 1, 1]] * 2),
    ],
    ids=["multiclass", "strings", "binary", "multilabel"],
)
def test_validation_accuracy_is_accuracy_score(labels, weights):
    # Early stopping scores every epoch without accuracy_score's checks; the
    # score must be accuracy_score's to the bit.

    from fastmlp._sklearn_compat import validation_accuracy as _validation_accuracy

    rng = np.random.default_rng(1)
    w = None if weights is None else rng.uniform(0.1, 3.0, 8).astype(weights)
    for trial in range(20):
        pred = labels.copy()
        flip = rng.random(8) < trial / 20  # from all right to mostly wrong
        if labels.ndim == 2:
            pred[flip, rng.integers(0, 3)] ^= 1
        else:
            pred[flip] = labels[rng.permutation(8)][flip]
        want = accuracy_score(labels, pred, sample_weight=w)
        got = _validation_accuracy(labels, pred, sample_weight=w)
        assert type(got) is float
        assert got == want


def _r2_cases():
    rng = np.random.default_rng(3)
    y1 = rng.normal(size=12)
    y2 = rng.normal(size=(12, 3))
    const = np.full(12, 0.5)  # its (weighted) mean is exact: a zero denominator
    cases = {
        "1-d": (y1, y1 + rng.normal(scale=0.3, size=12)),
        "2-d": (y2, y2 + rng.normal(scale=0.3, size=(12, 3))),
        "2-d one column": (y2[:, :1], y2[:, :1] * 0.5),
        "perfect": (y1, y1.copy()),
        "constant, perfect": (const, const.copy()),
        "constant, off": (const, const + 0.1),
        "columns mixed": (
            np.column_stack([const, y1, y1]),
            np.column_stack([const + 0.2, y1, -y1]),
        ),
        "float32 prediction": (y1, (y1 * 0.9).astype(np.float32)),
        "both float32": (y1.astype(np.float32), (y1 * 0.9).astype(np.float32)),
    }
    return cases


@pytest.mark.parametrize(
    "weights", [None, "float64", "float32"], ids=["unweighted", "f64", "f32"]
)
@pytest.mark.parametrize("case", sorted(_r2_cases()))
def test_validation_r2_is_r2_score(case, weights):
    # Early stopping scores every epoch without r2_score's checks; the score
    # must be r2_score's to the bit, in every branch (zero numerators and
    # denominators, several outputs, mixed dtypes).

    from fastmlp._sklearn_compat import validation_r2 as _validation_r2

    y_true, y_pred = _r2_cases()[case]
    rng = np.random.default_rng(4)
    w = None if weights is None else rng.uniform(0.1, 3.0, 12).astype(weights)
    want = r2_score(y_true, y_pred, sample_weight=w)
    got = _validation_r2(y_true, y_pred, sample_weight=w)
    assert type(got) is float
    assert got == want or (np.isnan(got) and np.isnan(want))


# ----------------------------------------------------------------------
# class labels
# ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "y",
    [
        np.array([2, 0, 1, 2, 1, 0, 0]),
        np.array([5, 7, 7, 5], dtype=np.int8),
        np.array([3, 3, 3], dtype=np.uint16),
        np.array([2**63 + 5, 7, 2**63 + 5], dtype=np.uint64),
        np.array([True, False, True]),
        np.array([False, False]),
        np.array(["b", "a", "c", "a", "ab", "B"]),
        np.array(["é", "e", "z"]),
        np.array([9]),
        # unique_labels' own way
        np.array([1.0, 3.0, 2.0, 1.0]),
        np.array(["no", "yes", "yes"], dtype=object),
        np.array([[1, 0, 1], [0, 1, 1]]),
        [3, 1, 2],
        np.array([], dtype=np.int64),
    ],
    ids=lambda y: "%s-%s" % (np.asarray(y).dtype, np.shape(y)),
)
def test_distinct_labels_are_unique_labels(y):
    want = unique_labels(y)
    got = compat.distinct_labels(y)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(
    "y",
    [
        np.array([0.5, 1.5, 2.0]),
        np.array([1, "a"], dtype=object),
        np.array(["a", None], dtype=object),
        np.array([b"a", b"b"]),
    ],
    ids=["continuous", "str and int", "str and None", "bytes"],
)
def test_distinct_labels_leave_errors_to_unique_labels(y):
    def error(f):
        with pytest.raises((ValueError, TypeError)) as e:
            f(y)
        return type(e.value), str(e.value)

    assert error(compat.distinct_labels) == error(unique_labels)


# ----------------------------------------------------------------------
# the random state of each call
# ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(60, 5))
    y = np.arange(60) % 3
    return X, y


def same_state(a, b):
    sa, sb = a.get_state(), b.get_state()
    np.testing.assert_array_equal(sa[1], sb[1])
    assert sa[0] == sb[0] and sa[2:] == sb[2:]


def test_an_integer_seed_gives_a_fresh_state_every_call(data):
    X, y = data
    est = MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=11).fit(X, y)
    first = est._random_state
    first.uniform(size=7)
    first.standard_normal()  # leaves a cached Gaussian behind
    assert first.get_state()[3] == 1
    again = est._seeded_random_state()
    same_state(again, np.random.RandomState(11))
    est.set_params(random_state=12)
    same_state(est._seeded_random_state(), check_random_state(12))
    est.set_params(random_state=-1)
    with pytest.raises(ValueError, match=r"Seed must be between 0 and 2\*\*32 - 1"):
        est._seeded_random_state()
    with pytest.raises(ValueError, match=r"Seed must be between 0 and 2\*\*32 - 1"):
        check_random_state(-1)


def test_a_given_random_state_is_used_as_it_is():
    mine = np.random.RandomState(5)
    est = MLPClassifier(hidden_layer_sizes=(4,), random_state=mine)
    assert est._seeded_random_state() is mine
    mine.uniform(size=3)
    before = copy.deepcopy(mine)
    assert est._seeded_random_state() is mine
    same_state(mine, before)  # not seeded again
    est.set_params(random_state=0)
    own = est._seeded_random_state()
    assert own is not mine
    same_state(own, np.random.RandomState(0))
    est.set_params(random_state=mine)
    assert est._seeded_random_state() is mine
    same_state(mine, before)
    est.set_params(random_state=None)
    assert est._seeded_random_state() is np.random.mtrand._rand
