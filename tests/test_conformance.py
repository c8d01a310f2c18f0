"""scikit-learn's estimator API conformance suite, run on both estimators
with scikit-learn's defaults: the classifier in the default run, the
regressor with the exhaustive tests (-m exhaustive), as CI runs them."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from fastmlp import MLPClassifier, MLPRegressor


@parametrize_with_checks([MLPClassifier()])
def test_sklearn_compatible_classifier(estimator, check):
    check(estimator)


@pytest.mark.exhaustive
@parametrize_with_checks([MLPRegressor()])
def test_sklearn_compatible_regressor(estimator, check):
    check(estimator)
