"""scikit-learn's estimator API conformance suite, run on both estimators."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from fastmlp import MLPClassifier, MLPRegressor


@parametrize_with_checks([MLPClassifier(), MLPRegressor()])
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
