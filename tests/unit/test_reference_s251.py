"""Section 251 spending reader on the real tidy file, against the totals in PROVENANCE.md."""

from __future__ import annotations

import numpy as np
import pytest

from cwi.config import SHARED_PUBLIC
from cwi.reference.errors import ReferenceDataError
from cwi.reference.s251 import read_s251, s251_notes, spend_by_la

S251 = SHARED_PUBLIC / "s251" / "s251_childrens_social_care_by_la.csv"
pytestmark = pytest.mark.skipif(not S251.exists(), reason=f"no s251 file at {S251}")


@pytest.fixture(scope="module")
def s251():
    return read_s251(S251)


def test_england_totals_match_the_published_sums(s251):
    # PROVENANCE.md section 7a: derived CSC gross, sum of LA rows, GBP bn (2009 there includes
    # Bedfordshire and Cheshire, which have no LA code and are dropped here)
    published = {2010: 6.14, 2011: 6.25, 2012: 6.32, 2013: 6.54, 2014: 6.83, 2015: 7.06,
                 2016: 7.35, 2017: 7.67, 2018: 8.01, 2019: 8.59}  # fmt: skip
    tot = spend_by_la(s251).groupby("year")["gross_gbp"].sum() / 1e9
    for year, bn in published.items():
        assert tot[year] == pytest.approx(bn, abs=0.006), year
    cla = s251[(s251["year"] == 2019) & (s251["category"] == "children_looked_after")]
    assert cla["gross_gbp"].sum() / 1e9 == pytest.approx(4.881, abs=0.0006)
    assert cla["net_gbp"].sum() / 1e9 == pytest.approx(4.659, abs=0.0006)


def test_codes_units_and_the_missing_return(s251):
    assert s251["la_code"].str.match(r"^E(06|08|09|10)\d{6}$").all()
    y19 = spend_by_la(s251).query("year == 2019")
    assert y19["la_code"].nunique() == 152
    assert y19["gross_gbp"].median() > 1e7  # pounds, not thousands
    stockton = spend_by_la(s251).query("year == 2010 and la_code == 'E06000004'")
    assert np.isnan(stockton["gross_gbp"]).all()
    assert any("Stockton-on-Tees 2009-10" in n for n in s251_notes(s251))
    with pytest.raises(ValueError, match="category"):
        spend_by_la(s251, "no_such_line")


def test_a_wrong_file_is_refused_with_a_reason(tmp_path):
    bad = tmp_path / "s251.csv"
    bad.write_text("year,la\n2019,x\n", encoding="utf-8")
    with pytest.raises(ReferenceDataError, match="lacks column"):
        read_s251(bad)
