"""fastmlp.kernels: C-style Numba kernels for multi-layer perceptrons.

Arrays in, arrays out. Nothing here sees a Python object, a string or a dict,
and nothing here validates its input: the API layer (``fastmlp``) checks
everything before a kernel runs. Activations and deltas are stored
*feature-major* (units x batch) so that the innermost loops run over the batch,
which is long, rather than over the units, which can be very few.

Integer codes select the activation, the output/loss pair and the solver.
Every kernel is compiled with ``cache=True`` (a new process loads machine code
instead of compiling), ``nogil=True`` (threads run kernels side by side) and
NumPy's error model (no Python-style division checks, so divisions and square
roots vectorize; a non-finite result is detected by the caller instead).
"""

from .activations import (
    ACT_IDENTITY,
    ACT_LOGISTIC,
    ACT_RELU,
    ACT_TANH,
    activation_backward,
    activation_forward,
)
from .dense import (
    dense_backward,
    dense_backward_blas,
    dense_backward_blas_rows,
    dense_forward,
    dense_forward_blas,
    dense_forward_blas_rows,
    dense_forward_rows,
)
from .losses import (
    OUT_EXP,
    OUT_IDENTITY,
    OUT_LOGISTIC,
    OUT_SOFTMAX,
    output_forward,
    output_loss_backward,
)
from .optimizers import SOLVER_ADAM, SOLVER_SGD, adam_update, sgd_update
from .predict import (
    ROWS_MAX,
    predict_parallel,
    predict_serial,
)
from .sparse import sparse_dense_backward, sparse_dense_forward, sparse_rows_forward
from .train import (
    CHUNK_MIN_ROWS,
    DIVERGED,
    RAN_ALL,
    STOPPED,
    batch_gradient,
    chunk_count,
    chunk_workspace,
    finish_update,
    fit_epochs,
    forward_backward,
    forward_backward_split,
    param_layout_size,
    train_epoch,
    workspace_size,
)

# The kernels the estimators call (everything else here is a building block of
# these): the bad-input tests replace them all to prove that validation comes
# first, the concurrency tests check that they all release the GIL.
ENTRY_POINTS = (
    "fit_epochs",
    "forward_backward",
    "forward_backward_split",
    "predict_serial",
    "predict_parallel",
    "train_epoch",
)

__all__ = [
    "CHUNK_MIN_ROWS",
    "ENTRY_POINTS",
    "DIVERGED",
    "RAN_ALL",
    "ROWS_MAX",
    "STOPPED",
    "ACT_IDENTITY",
    "ACT_LOGISTIC",
    "ACT_RELU",
    "ACT_TANH",
    "OUT_EXP",
    "OUT_IDENTITY",
    "OUT_LOGISTIC",
    "OUT_SOFTMAX",
    "SOLVER_ADAM",
    "SOLVER_SGD",
    "activation_backward",
    "activation_forward",
    "adam_update",
    "dense_backward",
    "dense_backward_blas",
    "dense_backward_blas_rows",
    "dense_forward",
    "dense_forward_blas",
    "dense_forward_blas_rows",
    "dense_forward_rows",
    "batch_gradient",
    "chunk_count",
    "chunk_workspace",
    "fit_epochs",
    "forward_backward",
    "forward_backward_split",
    "finish_update",
    "output_forward",
    "output_loss_backward",
    "param_layout_size",
    "predict_parallel",
    "predict_serial",
    "sgd_update",
    "sparse_dense_backward",
    "sparse_dense_forward",
    "sparse_rows_forward",
    "train_epoch",
    "workspace_size",
]
