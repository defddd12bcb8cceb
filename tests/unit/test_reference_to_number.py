"""``to_number``'s direct path for plain whole numbers gives what the cleaning path gives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cwi.reference._io import to_number

VALUES = ["12", "007", " 12", "1,296", "", None, np.nan, "nan", "1e3", "+5", "-0", "x", "12 ",
          "3.50", "0", "999999999999999999", "9999999999999999999", 5, "\u0663"]  # fmt: skip


def cleaned(values: pd.Series) -> pd.Series:
    """The cleaning path: commas and spaces removed, blank -> NaN, then parsed."""
    text = values.astype(str).str.replace(",", "", regex=False).str.strip()
    return pd.to_numeric(text.replace({"": None}), errors="coerce")


@pytest.mark.parametrize("first", VALUES)
def test_every_pair_of_values_parses_as_the_cleaning_path(first):
    for second in VALUES:
        s = pd.Series([first, second], dtype=object, index=[3, 9], name="age_5")
        pd.testing.assert_series_equal(to_number(s), cleaned(s), check_exact=True)


def test_a_column_of_counts_is_int64_and_takes_the_direct_path(monkeypatch):
    s = pd.Series(["20", "14", "0", "018"], dtype=object, name="5")
    out = to_number(s)
    assert out.dtype == "int64" and out.tolist() == [20, 14, 0, 18]
    monkeypatch.setattr(pd, "to_numeric", lambda *a, **k: pytest.fail("cleaning path taken"))
    pd.testing.assert_series_equal(to_number(s), out)
