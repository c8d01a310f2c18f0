"""Shared fixtures. Kept light: nothing heavy is imported here."""

import numpy as np
import pytest


@pytest.fixture
def rng():
    """A freshly seeded NumPy Generator, the same draws in every test."""
    return np.random.default_rng(20240611)


@pytest.fixture(autouse=True)
def _default_settings():
    """Every test starts and ends with fastmlp's default settings: a test that
    changes a tunable does so with kernels.config.set, undone here."""
    yield
    import sys

    config = sys.modules.get("fastmlp.kernels.config")
    if config is not None:
        config.reset()
