"""PHEindicatormethods test vectors, shared by the tests that check the PHE method set.

The vectors live in ../shared/reference/phe_test_vectors (its README gives the tolerance rules);
tests that read them skip when the folder is absent.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cwi.config import ROOT

VECTORS = ROOT.parent / "shared" / "reference" / "phe_test_vectors"
needs_vectors = pytest.mark.skipif(
    not VECTORS.is_dir(), reason=f"PHE test vectors not found at {VECTORS}"
)
TOL = 1.49e-8  # testthat edition 3 default: sqrt(.Machine$double.eps)


def waldo_close(x, y, tol: float = TOL) -> bool:
    """The waldo rule: mean |x - y| / mean |y| over differing non-NA elements below tol."""
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    assert np.array_equal(np.isnan(x), np.isnan(y)), "NA positions differ"
    ok = ~np.isnan(y) & (x != y)
    if not ok.any():
        return True
    denom = np.mean(np.abs(y[ok]))
    diff = np.mean(np.abs(x[ok] - y[ok]))
    return bool((diff / denom if denom > tol else diff) < tol)


def read_vector(name: str, **kw) -> pd.DataFrame:
    """One vector file, read with :func:`pandas.read_csv` (``kw`` passed on)."""
    return pd.read_csv(VECTORS / name, **kw)
