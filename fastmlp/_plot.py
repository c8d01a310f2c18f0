"""Loss curves with matplotlib (the optional ``plot`` extra)."""

from sklearn.base import is_classifier
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

_MATPLOTLIB_MISSING = (
    "fastmlp.plot_loss_curve needs matplotlib, which is not installed; install "
    "it with: pip install 'fastmlp[plot]'"
)

_LOSS_NAMES = {
    "log_loss": "log-loss",
    "squared_error": "half squared error",
    "poisson": "half Poisson deviance",
}


def _import_pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(_MATPLOTLIB_MISSING) from exc
    return plt


def plot_loss_curve(estimator, ax=None):
    """Draw a fitted model's training loss per epoch, and its validation score.

    Parameters
    ----------
    estimator : MLPClassifier, MLPRegressor or Pipeline
        A model fitted with a stochastic solver (``adam`` or ``sgd``; L-BFGS
        records no loss curve). For a pipeline, its last step is drawn.
    ax : matplotlib Axes, optional
        Where to draw; a new figure is made when omitted.

    Returns
    -------
    ax : matplotlib Axes
        The axes with the loss curve. With ``early_stopping=True`` the
        validation scores (accuracy or R2) are drawn on a twin y axis on the
        right, reachable as ``ax.right_ax``, with the best epoch marked.

    Raises
    ------
    ImportError
        matplotlib is not installed (``pip install 'fastmlp[plot]'``).
    ValueError
        The model has no loss curve (fitted with ``solver='lbfgs'``).
    """
    if isinstance(estimator, Pipeline):
        estimator = estimator.steps[-1][1]
    check_is_fitted(estimator)
    curve = getattr(estimator, "loss_curve_", None)
    if not curve:
        raise ValueError(
            "%s has no loss curve: only the stochastic solvers (adam, sgd) record "
            "one, and it was fitted with solver=%r"
            % (type(estimator).__name__, estimator.solver)
        )
    if ax is None:
        plt = _import_pyplot()
        _, ax = plt.subplots(figsize=(6.4, 4.0), layout="constrained")
    else:
        _import_pyplot()

    epochs = range(1, len(curve) + 1)
    loss_name = _LOSS_NAMES.get(estimator.loss, estimator.loss)
    (loss_line,) = ax.plot(epochs, curve, color="C0", label="training loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss (%s)" % loss_name)
    ax.grid(True, alpha=0.3)
    lines = [loss_line]

    scores = getattr(estimator, "validation_scores_", None)
    if scores:
        metric = "accuracy" if is_classifier(estimator) else "R²"
        right = ax.twinx()
        right.plot(
            epochs[: len(scores)],
            scores,
            color="C1",
            label="validation %s" % metric,
        )
        best = max(range(len(scores)), key=lambda i: scores[i])
        right.plot(
            [best + 1],
            [scores[best]],
            "o",
            color="C1",
            markerfacecolor="none",
            markersize=9,
            label="best: %.3f (epoch %d)" % (scores[best], best + 1),
        )
        right.set_ylabel("validation %s" % metric)
        lines += right.get_lines()
        ax.right_ax = right

    coefs = estimator.coefs_
    units = [coefs[0].shape[0]] + [c.shape[1] for c in coefs]
    ax.set_title(
        "%s: %s, %s, %d epochs"
        % (
            type(estimator).__name__,
            " -> ".join(str(u) for u in units),
            estimator.solver,
            len(curve),
        )
    )
    # Below the axes, where it hides neither curve.
    ax.legend(
        lines,
        [line.get_label() for line in lines],
        loc="upper center",
        bbox_to_anchor=(0.5, -0.14),
        ncols=len(lines),
        frameon=False,
    )
    return ax
