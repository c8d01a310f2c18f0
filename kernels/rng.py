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

from .config import JIT

_N = 624
_M = 397


@njit(**JIT)
def _mt_generate(key):
    """Regenerate the 624 words (numpy's mt19937_gen), as three loops without
    index wrapping so that each vectorizes: words [0, N-M) read old words only,
    words [N-M, N-1) read words this pass already replaced, the last wraps."""
    upper = np.uint32(0x80000000)
    lower = np.uint32(0x7FFFFFFF)
    matrix_a = np.uint32(0x9908B0DF)
    one = np.uint32(1)
    for i in range(_N - _M):
        y = (key[i] & upper) | (key[i + 1] & lower)
        key[i] = key[i + _M] ^ (y >> one) ^ ((y & one) * matrix_a)
    for i in range(_N - _M, _N - 1):
        y = (key[i] & upper) | (key[i + 1] & lower)
        key[i] = key[i + _M - _N] ^ (y >> one) ^ ((y & one) * matrix_a)
    y = (key[_N - 1] & upper) | (key[0] & lower)
    key[_N - 1] = key[_M - 1] ^ (y >> one) ^ ((y & one) * matrix_a)


@njit(**JIT)
def _temper(out, key):
    """out = MT19937's tempering of every word of key (one vectorized pass)."""
    for q in range(_N):
        y = key[q]
        y ^= y >> np.uint32(11)
        y ^= (y << np.uint32(7)) & np.uint32(0x9D2C5680)
        y ^= (y << np.uint32(15)) & np.uint32(0xEFC60000)
        y ^= y >> np.uint32(18)
        out[q] = y


@njit(**JIT)
def shuffle(x, key, pos):
    """x[:] shuffled in place as RandomState.shuffle(x) does (1-D x, len < 2**32).

    Fisher-Yates from the end, j drawn by random_interval(i): the next 32-bit
    output masked to the bit length of i, redrawn while above i. The outputs of
    the current block of 624 words are tempered in one pass up front."""
    n = x.shape[0]
    if n < 2:
        return
    out = np.empty(_N, dtype=np.uint32)
    _temper(out, key)
    p = pos[0]
    mask = np.uint32(n - 1)
    mask |= mask >> np.uint32(1)
    mask |= mask >> np.uint32(2)
    mask |= mask >> np.uint32(4)
    mask |= mask >> np.uint32(8)
    mask |= mask >> np.uint32(16)
    # Branch-free rejection: a rejected draw swaps x[i] with itself and leaves
    # i where it is, so the ~25% of draws that fail cost no misprediction.
    i = n - 1
    while i > 0:
        m = np.uint32(i)
        # The mask is the smallest 2^b - 1 >= i: halve it as i drops below.
        if (mask >> np.uint32(1)) >= m:
            mask >>= np.uint32(1)
        if p == _N:
            _mt_generate(key)
            _temper(out, key)
            p = 0
        value = out[p] & mask
        p += 1
        ok = value <= m
        j = np.int64(value) if ok else i
        t = x[i]
        x[i] = x[j]
        x[j] = t
        i -= np.int64(ok)
    pos[0] = p
