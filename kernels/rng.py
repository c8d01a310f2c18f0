"""NumPy's legacy ``RandomState.shuffle``, reproduced inside compiled code.

A fit's shuffles must be the very draws scikit-learn makes (the Mersenne
Twister behind ``numpy.random.RandomState``), yet calling back into Python once
per epoch costs more than a small network's whole epoch. So the generator's
state is taken out of the RandomState (``get_state``), advanced here with the
same algorithm (MT19937's generation and tempering, and numpy's masked
rejection ``random_interval`` for each draw), and put back
(``set_state``): the RandomState ends where it would have ended in Python.

State: ``key`` the 624 uint32 words, ``pos`` a 1-element int64 array.
"""

import numpy as np
from numba import njit

_N = 624
_M = 397


@njit(cache=True, nogil=True, error_model="numpy")
def _mt_generate(key):
    """Regenerate the 624 words (numpy's mt19937_gen)."""
    upper = np.uint64(0x80000000)
    lower = np.uint64(0x7FFFFFFF)
    matrix_a = np.uint64(0x9908B0DF)
    one = np.uint64(1)
    for i in range(_N):
        # Indices wrap: for i >= N - M the words read are this pass's new ones,
        # exactly as in the reference loop.
        y = (np.uint64(key[i]) & upper) | (np.uint64(key[(i + 1) % _N]) & lower)
        v = np.uint64(key[(i + _M) % _N]) ^ (y >> one)
        if y & one:
            v ^= matrix_a
        key[i] = np.uint32(v)


@njit(cache=True, nogil=True, error_model="numpy")
def shuffle(x, key, pos):
    """x[:] shuffled in place as RandomState.shuffle(x) does (1-D x, len < 2**32).

    Fisher-Yates from the end, j drawn by random_interval(i); the draw is written
    out here so that the generator's position stays in a register."""
    p = pos[0]
    for i in range(x.shape[0] - 1, 0, -1):
        m = np.uint64(i)
        mask = m
        mask |= mask >> np.uint64(1)
        mask |= mask >> np.uint64(2)
        mask |= mask >> np.uint64(4)
        mask |= mask >> np.uint64(8)
        mask |= mask >> np.uint64(16)
        while True:
            if p == _N:
                _mt_generate(key)
                p = 0
            y = np.uint64(key[p])
            p += 1
            y ^= y >> np.uint64(11)
            y ^= (y << np.uint64(7)) & np.uint64(0x9D2C5680)
            y ^= (y << np.uint64(15)) & np.uint64(0xEFC60000)
            y ^= y >> np.uint64(18)
            value = y & mask
            if value <= m:
                break
        j = np.int64(value)
        t = x[i]
        x[i] = x[j]
        x[j] = t
    pos[0] = p
