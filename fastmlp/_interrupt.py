"""Ctrl-C and warnings as a user of the estimators meets them.

``deferred_interrupt`` holds Ctrl-C back until an epoch that Python drives is
recorded whole; ``warn`` attributes a warning to the user's line rather than
to fastmlp's or scikit-learn's frames.
"""

import os
import signal
import sys
import threading
import warnings

import sklearn

import fastmlp

try:  # signal's C module: the same calls without the wrappers' enum conversions
    import _signal as _sig
except ImportError:  # pragma: no cover
    _sig = signal

_SIGINT = int(signal.SIGINT)

_INTERNAL_DIRS = tuple(
    os.path.dirname(os.path.abspath(m.__file__)) + os.sep for m in (fastmlp, sklearn)
)


def warn(message, category=UserWarning):
    """warnings.warn pointing at the user's line: the first frame outside
    fastmlp and scikit-learn (whose fit wrapper sits between the user and us)."""
    level = 2
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_INTERNAL_DIRS):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level - 1 if frame is None else level)


class deferred_interrupt:
    """Ctrl-C held back until the block ends, then raised as KeyboardInterrupt.

    Around one epoch of a fit that Python drives epoch by epoch: Python runs
    a SIGINT handler only between bytecodes, so Ctrl-C pressed during the
    compiled call would otherwise raise as the call returns, after the weights
    moved but before the epoch was recorded (Adam's step count, t_, n_iter_,
    loss_curve_). Only in the main thread and only under Python's own SIGINT
    handler: elsewhere no KeyboardInterrupt arrives, or the user's handler
    stays in charge. An exception raised in the block wins over a held Ctrl-C.
    """

    __slots__ = ("received",)

    def _hold(self, signum, frame):
        self.received = True

    def __enter__(self):
        self.received = None  # None: not holding
        if (
            threading.current_thread() is threading.main_thread()
            and _sig.getsignal(_SIGINT) is signal.default_int_handler
        ):
            self.received = False
            _sig.signal(_SIGINT, self._hold)
        return self

    def __exit__(self, exc_type, exc, tb):
        if self.received is None:
            return False
        _sig.signal(_SIGINT, signal.default_int_handler)
        if self.received and exc_type is None:
            raise KeyboardInterrupt
        return False
