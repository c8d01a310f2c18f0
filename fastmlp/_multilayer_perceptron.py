"""Multi-layer perceptron estimators with scikit-learn's API."""

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin, _fit_context
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import _check_partial_fit_first_call, type_of_target
from sklearn.utils.validation import assert_all_finite

from fastmlp._base import BaseMultilayerPerceptron
from fastmlp._sklearn_compat import (
    decode_labels,
    distinct_labels,
    fit_binarizer,
    one_hot,
    validation_accuracy,
    validation_r2,
)
from fastmlp._validation import orderable_labels

_PARAMETERS_DOC = """\
    hidden_layer_sizes : array-like of shape(n_layers - 2,), default=(100,)
        The ith element represents the number of neurons in the ith hidden layer.

    activation : {'identity', 'logistic', 'tanh', 'relu'}, default='relu'
        Activation function for the hidden layers.

    solver : {'lbfgs', 'sgd', 'adam'}, default='adam'
        The solver for weight optimization: 'lbfgs' (scipy's L-BFGS-B on the
        full batch), 'sgd' or 'adam'.

    alpha : float, default=0.0001
        Strength of the L2 regularization term, divided by the sample size
        when added to the loss.

    batch_size : int, default='auto'
        Size of minibatches for stochastic optimizers. 'auto' means
        ``min(200, n_samples)``.

    learning_rate : {'constant', 'invscaling', 'adaptive'}, default='constant'
        Learning rate schedule for weight updates (``solver='sgd'`` only).

    learning_rate_init : float, default=0.001
        The initial learning rate.

    power_t : float, default=0.5
        The exponent for inverse scaling learning rate.

    max_iter : int, default=200
        Maximum number of epochs.

    shuffle : bool, default=True
        Whether to shuffle samples in each epoch.

    random_state : int, RandomState instance, default=None
        Determines the weight initialization and the shuffling, drawn exactly
        as scikit-learn draws them.

    tol : float, default=1e-4
        Tolerance for the optimization: training stops when the loss does not
        improve by at least tol for ``n_iter_no_change`` consecutive epochs.

    verbose : bool, default=False
        Whether to print progress messages to stdout.

    warm_start : bool, default=False
        Reuse the solution of the previous call to fit as initialization.

    momentum : float, default=0.9
        Momentum for gradient descent update (``solver='sgd'``).

    nesterovs_momentum : bool, default=True
        Whether to use Nesterov's momentum (``solver='sgd'``, momentum > 0).

    early_stopping : bool, default=False
        Whether to set aside ``validation_fraction`` of the training data
        (stratified) and stop when the validation score stops improving; the
        best weights are restored at the end.

    validation_fraction : float, default=0.1
        The proportion of training data to set aside for early stopping.

    beta_1 : float, default=0.9
        Exponential decay rate for the first moment in adam.

    beta_2 : float, default=0.999
        Exponential decay rate for the second moment in adam.

    epsilon : float, default=1e-8
        Value for numerical stability in adam.

    n_iter_no_change : int, default=10
        Maximum number of epochs without ``tol`` improvement.

    max_fun : int, default=15000
        Maximum number of loss function calls (``solver='lbfgs'``).

"""

_CLASSIFIER_DOC = """Multi-layer Perceptron classifier.

    A drop-in for :class:`sklearn.neural_network.MLPClassifier`: the same
    parameters, methods and fitted attributes, and, in float64 with the same
    ``random_state``, the same model to rounding. Training and inference run
    in compiled kernels; float32 input is trained in float32.

    This model optimizes the log-loss function using stochastic gradient
    descent or Adam.

    Parameters
    ----------
{parameters}    Attributes
    ----------
    classes_ : ndarray or list of ndarray of shape (n_classes,)
        Class labels for each output.
    validation_scores_ : list of shape (`n_iter_`,) or None
        The accuracy on the validation set after each epoch (early_stopping only).
    best_validation_score_ : float or None
        The best validation accuracy (early_stopping only).
    loss_ : float
        The current loss computed with the loss function.
    best_loss_ : float or None
        The minimum loss reached by the solver throughout fitting.
    loss_curve_ : list of shape (`n_iter_`,)
        The loss at the end of each training epoch.
    t_ : int
        The number of training samples seen by the solver during fitting.
    coefs_ : list of shape (n_layers - 1,)
        The ith element is the weight matrix of layer i (a view into the flat
        parameter buffer).
    intercepts_ : list of shape (n_layers - 1,)
        The ith element is the bias vector of layer i + 1.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when X has string column names.
    n_iter_ : int
        The number of epochs the solver has run.
    n_layers_ : int
        Number of layers.
    n_outputs_ : int
        Number of outputs.
    out_activation_ : str
        Name of the output activation function.

    Examples
    --------
    >>> from fastmlp import MLPClassifier
    >>> from fastmlp.datasets import load_penguins
    >>> from sklearn.preprocessing import StandardScaler
    >>> X, y = load_penguins(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> clf = MLPClassifier((5, 5), max_iter=500, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:1]).shape
    (1, 3)
    """


class MLPClassifier(ClassifierMixin, BaseMultilayerPerceptron):
    # Labels that a fit or a later partial_fit call takes as they are (no
    # validate_data): 1-D integers, booleans or strings.
    _plain_y_kinds = "iubU"
    _plain_y_ndims = (1,)

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
    ):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            power_t=power_t,
            max_iter=max_iter,
            loss="log_loss",
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            verbose=verbose,
            warm_start=warm_start,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            n_iter_no_change=n_iter_no_change,
            max_fun=max_fun,
        )

    def _validate_input(self, X, y, incremental, reset):
        X, y, _ = self._validate_fit_data(X, y, reset)

        if (not hasattr(self, "classes_")) or (not self.warm_start and not incremental):
            with orderable_labels("y", y):
                self._label_binarizer = fit_binarizer(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            with orderable_labels("y", y):
                classes = distinct_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same "
                        "classes as in the previous call to fit. Previously "
                        f"got {self.classes_}, `y` has {classes}"
                    )
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(
                    "`y` has classes not in `self.classes_`. "
                    f"`self.classes_` has {self.classes_}. 'y' has {classes}."
                )
        return X, one_hot(self._label_binarizer, y)

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Update the model with a single epoch over the given data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,)
            The target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.
        classes : array of shape (n_classes,), default=None
            Classes across all calls to partial_fit; required on the first call.

        Returns
        -------
        self : object
            Trained MLP model.

        Notes
        -----
        Ctrl-C during the call lets the epoch under way finish and be
        recorded, then raises ``KeyboardInterrupt``, so that a loop of
        ``partial_fit`` calls stops (scikit-learn's partial_fit warns and returns).
        """
        with orderable_labels("classes"):
            if (
                classes is not None
                and getattr(self, "classes_", None) is not None
                and np.array_equal(self.classes_, distinct_labels(classes))
            ):
                first_call = False  # the classes of the first call, given again
            else:
                first_call = _check_partial_fit_first_call(self, classes)
        if first_call:
            self._label_binarizer = LabelBinarizer()
            with orderable_labels("y"):
                multilabel = type_of_target(y).startswith("multilabel")
            if multilabel:
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def predict(self, X):
        """Predict using the multi-layer perceptron classifier.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray, shape (n_samples,) or (n_samples, n_classes)
            The predicted classes.
        """
        self._check_is_fitted()
        return self._predict(X)

    def _predict(self, X, check_input=True):
        y_pred = self._forward_pass_fast(X, check_input=check_input)
        if self.n_outputs_ == 1:
            y_pred = y_pred.ravel()
        return decode_labels(self._label_binarizer, y_pred)

    def _score(self, X, y, sample_weight=None):
        return self._score_with_function(
            X, y, sample_weight=sample_weight, score_function=validation_accuracy
        )

    def predict_log_proba(self, X):
        """Return the log of probability estimates.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        log_y_prob : ndarray of shape (n_samples, n_classes)
            ``log(predict_proba(X))``, classes ordered as in ``classes_``.
        """
        y_prob = self.predict_proba(X)
        return np.log(y_prob, out=y_prob)

    def predict_proba(self, X):
        """Probability estimates.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y_prob : ndarray of shape (n_samples, n_classes)
            The predicted probability of each class, ordered as in ``classes_``.
        """
        self._check_is_fitted()
        y_pred = self._forward_pass_fast(X)
        if self.n_outputs_ == 1:
            y_pred = y_pred.ravel()
        if y_pred.ndim == 1:
            return np.vstack([1 - y_pred, y_pred]).T
        return y_pred

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


_REGRESSOR_DOC = """Multi-layer Perceptron regressor.

    A drop-in for :class:`sklearn.neural_network.MLPRegressor`: the same
    parameters, methods and fitted attributes, and, in float64 with the same
    ``random_state``, the same model to rounding. Training and inference run
    in compiled kernels; float32 input is trained in float32.

    This model optimizes the squared error (or the Poisson deviance) using
    L-BFGS, stochastic gradient descent or Adam.

    Parameters
    ----------
    loss : {{'squared_error', 'poisson'}}, default='squared_error'
        The loss function: half squared error with an identity output, or half
        Poisson deviance with an exponential output (log link), which requires
        ``y >= 0`` (checked: a negative target raises ValueError).

{parameters}    Attributes
    ----------
    loss_ : float
        The current loss computed with the loss function.
    best_loss_ : float or None
        The minimum loss reached by the solver throughout fitting.
    loss_curve_ : list of shape (`n_iter_`,)
        The loss at the end of each training epoch (stochastic solvers).
    validation_scores_ : list of shape (`n_iter_`,) or None
        The R2 score on the validation set after each epoch (early_stopping only).
    best_validation_score_ : float or None
        The best validation R2 score (early_stopping only).
    t_ : int
        The number of training samples seen by the solver during fitting.
    coefs_ : list of shape (n_layers - 1,)
        The ith element is the weight matrix of layer i (a view into the flat
        parameter buffer).
    intercepts_ : list of shape (n_layers - 1,)
        The ith element is the bias vector of layer i + 1.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when X has string column names.
    n_iter_ : int
        The number of iterations the solver has run.
    n_layers_ : int
        Number of layers.
    n_outputs_ : int
        Number of outputs.
    out_activation_ : str
        Name of the output activation function ('identity' or 'exp').

    Examples
    --------
    >>> from fastmlp import MLPRegressor
    >>> from sklearn.datasets import make_regression
    >>> X, y = make_regression(n_samples=200, random_state=1)
    >>> reg = MLPRegressor(random_state=1, max_iter=2000, tol=0.1).fit(X, y)
    >>> reg.predict(X[:2]).shape
    (2,)
    """


class MLPRegressor(RegressorMixin, BaseMultilayerPerceptron):
    # Targets that a fit or a later partial_fit call takes as they are (no
    # validate_data): numbers, one output or several.
    _plain_y_kinds = "fiu"
    _plain_y_ndims = (1, 2)

    _parameter_constraints: dict = {
        **BaseMultilayerPerceptron._parameter_constraints,
        "loss": [StrOptions({"squared_error", "poisson"})],
    }

    def __init__(
        self,
        loss="squared_error",
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
    ):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            power_t=power_t,
            max_iter=max_iter,
            loss=loss,
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            verbose=verbose,
            warm_start=warm_start,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            n_iter_no_change=n_iter_no_change,
            max_fun=max_fun,
        )

    def _validate_input(self, X, y, incremental, reset):
        X, y, checked = self._validate_fit_data(X, y, reset, y_numeric=True)
        if checked:
            # scikit-learn checks y for NaN before it converts an object array
            # to numbers, so a missing target given as None arrives here as NaN.
            assert_all_finite(y, input_name="y", estimator_name=type(self).__name__)
        if self.loss == "poisson" and np.any(y < 0):
            raise ValueError(
                "loss='poisson' requires non-negative targets y; got a minimum of "
                "%r." % (y.min(),)
            )
        return X, y

    def predict(self, X):
        """Predict using the multi-layer perceptron model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The predicted values.
        """
        self._check_is_fitted()
        return self._predict(X)

    def _predict(self, X, check_input=True):
        y_pred = self._forward_pass_fast(X, check_input=check_input)
        if y_pred.shape[1] == 1:
            return y_pred.ravel()
        return y_pred

    def _score(self, X, y, sample_weight=None):
        return self._score_with_function(
            X, y, sample_weight=sample_weight, score_function=validation_r2
        )

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Update the model with a single epoch over the given data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The input data.
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        self : object
            Trained MLP model.

        Notes
        -----
        Ctrl-C during the call lets the epoch under way finish and be
        recorded, then raises ``KeyboardInterrupt``, so that a loop of
        ``partial_fit`` calls stops (scikit-learn's partial_fit warns and returns).
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)


MLPClassifier.__doc__ = _CLASSIFIER_DOC.format(parameters=_PARAMETERS_DOC)
MLPRegressor.__doc__ = _REGRESSOR_DOC.format(parameters=_PARAMETERS_DOC)
