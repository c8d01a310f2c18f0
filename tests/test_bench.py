"""The benchmark's check of its run against the targets of BENCHMARKS.md."""

import sys
from pathlib import Path

import numpy as np

# The benchmark harness lives in the repository's benchmarks/ folder, outside
# the package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from compare import TARGETS, target_lines  # noqa: E402


def rows_meeting_every_target():
    return [
        dict(name="penguins", fastmlp=0.0068, sklearn=0.24, ratio=35.3),
        dict(name="digits", fastmlp=0.083, sklearn=0.42, ratio=5.06),
        dict(
            name="wide32", fastmlp=0.65, sklearn=2.1, ratio=3.2, roofline=1.1, torch=2.5
        ),
        dict(
            name="wide64", fastmlp=1.0, sklearn=3.1, ratio=3.1, roofline=1.2, torch=None
        ),
        dict(name="predict1", fastmlp=18e-6, sklearn=1e-4, ratio=5.5),
        dict(name="predict", fastmlp=0.062, sklearn=0.13, ratio=2.1),
        dict(name="coldstart", fastmlp=1.1, sklearn=1.2, ratio=1.09),
        dict(name="first-run", fastmlp=1.2, sklearn=np.nan, ratio=np.nan),
    ]


def test_every_target_met():
    lines = target_lines(rows_meeting_every_target())
    assert lines[-1] == "all targets met in this run"
    assert len(lines) == len(TARGETS) + 2
    assert sum(line.endswith(": met") for line in lines) == len(TARGETS)


def test_a_ratio_that_prints_as_the_target_but_is_below_it_is_missed():
    rows = rows_meeting_every_target()
    rows[1]["ratio"] = 4.98  # "5.0x" at one decimal
    rows[5]["ratio"] = 1.98
    lines = target_lines(rows)
    assert "  digits    4.98x            >= 5.00x: MISSED" in lines
    assert lines[-1] == "targets missed in this run: digits, predict"


def test_limits_on_time_and_what_was_not_measured():
    rows = rows_meeting_every_target()
    rows[4]["fastmlp"] = 31e-6
    rows[2]["torch"] = None  # PyTorch not installed
    del rows[7]  # a quick run has no first-run row
    lines = target_lines(rows)
    assert "  predict1  31.0 us          <= 30.0 us: MISSED" in lines
    assert "  wide32    torch            not measured" in lines
    assert lines[-1] == "targets missed in this run: wide32, predict1, first-run"
