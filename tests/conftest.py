"""Shared fixtures. Kept light: nothing heavy is imported here."""

import numpy as np
import pytest


@pytest.fixture
def rng():
    """A freshly seeded NumPy Generator, the same draws in every test."""
    return np.random.default_rng(20240611)
